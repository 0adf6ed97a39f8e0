"""minet pki and the agent's CRL file, hardened (issue 9, defects 4, 6 and 10): a CA key that does not match its
certificate, CRLs dated like the certificates, leaf validity clamped to the CA, CRL URLs parsed strictly and
written as exactly one distribution point, a full disk during `pki issue`, a FIFO at --crl. Checked with openssl."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timezone

BIN = os.environ.get("MINET_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "bin"))
MINET = os.path.join(BIN, "minet")
AGENT = os.path.join(BIN, "minet-agent")


def run(*args, check=True, timeout=60):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}): {p.stderr}")
    return p


def pki(*args, check=True):
    return run(MINET, "pki", *args, check=check)


def openssl_time(s):
    """'Dec  4 05:14:27 2026 GMT' -> epoch seconds."""
    return datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc).timestamp()


def snapshot(d):
    """Every file under d with its bytes and mode: to show that nothing was written."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = (fh.read(), os.stat(p).st_mode)
    return out


class Base(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="minet-pkih-")
        self.addCleanup(shutil.rmtree, self.d, ignore_errors=True)
        self.ca = os.path.join(self.d, "ca")


class TestKeyMatchesCertificate(Base):
    """Defect 6: issue/revoke/crl with a ca.key that is not ca.pem's key exited 0 and published what no agent
    accepts."""

    def test_mismatched_ca_key_refused_nothing_written(self):
        other = os.path.join(self.d, "other")
        pki("init", self.ca)
        pki("issue", self.ca, "ops", "--role", "mgmt")
        pki("init", other)
        shutil.copy(f"{other}/ca.key", f"{self.ca}/ca.key")
        before = snapshot(self.ca)
        for args in (("issue", self.ca, "ops2", "--role", "mgmt"), ("revoke", self.ca, "ops"), ("crl", self.ca)):
            p = pki(*args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(f"{self.ca}/ca.key does not match {self.ca}/ca.pem", p.stderr)
            self.assertIn("nothing was written", p.stderr)
            after = snapshot(self.ca)
            after.pop(".lock", None)
            self.assertEqual(sorted(after), sorted(k for k in before if k != ".lock"), args)
            for k, v in after.items():
                self.assertEqual(v, before[k], (args, k))

    def test_intermediate_with_mismatched_parent_key(self):
        other = os.path.join(self.d, "other")
        pki("init", self.ca)
        pki("init", other)
        shutil.copy(f"{other}/ca.key", f"{self.ca}/ca.key")
        p = pki("init", os.path.join(self.d, "inter"), "--parent", self.ca, "--name", "inter", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("does not match", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.d, "inter", "ca.pem")))

    def test_matching_key_still_works(self):
        pki("init", self.ca)
        pki("issue", self.ca, "ops", "--role", "mgmt")
        pki("revoke", self.ca, "ops")
        pki("crl", self.ca)
        run("openssl", "crl", "-in", f"{self.ca}/crl.pem", "-CAfile", f"{self.ca}/ca.pem", "-noout")


class TestDates(Base):
    def test_crl_this_update_backdated_like_certificates(self):
        """Defect 4: thisUpdate was `now` while certificates start 60 s back; an agent a few seconds behind
        found the fresh CRL not yet valid."""
        pki("init", self.ca)
        t0 = time.time()
        pki("issue", self.ca, "ops", "--role", "mgmt")
        pki("revoke", self.ca, "ops")
        t1 = time.time()
        nb = openssl_time(run("openssl", "x509", "-in", f"{self.ca}/ops.pem", "-noout", "-startdate")
                          .stdout.split("=", 1)[1])
        for path in (f"{self.ca}/crl.pem",):
            lu = openssl_time(run("openssl", "crl", "-in", path, "-noout", "-lastupdate").stdout.split("=", 1)[1])
            # written between t0 and t1: backdated means at least 55 s before t1 (an undated CRL would be >= t0),
            # and the certificate's notBefore is backdated alike (they differ by at most the time between them;
            # fixed 5 s / 10 s windows failed when the two commands ran slowly under ASan on a loaded machine)
            self.assertLessEqual(lu, t1 - 55)
            self.assertLessEqual(abs(lu - nb), (t1 - t0) + 2)
        # a relying party 30 s behind accepts both
        at = str(int(time.time()) - 30)
        run("openssl", "verify", "-attime", at, "-CAfile", f"{self.ca}/ca.pem", "-crl_check", "-CRLfile",
            f"{self.ca}/crl.pem", f"{self.ca}/ca.pem")

    def test_leaf_clamped_to_ca_not_after(self):
        """Defect 10: --days 36500 made a leaf that outlived its CA."""
        pki("init", self.ca, "--days", "30")
        p = pki("issue", self.ca, "ops", "--role", "mgmt", "--days", "36500")
        self.assertIn("clamped to", p.stderr)
        ca_na = run("openssl", "x509", "-in", f"{self.ca}/ca.pem", "-noout", "-enddate").stdout
        leaf_na = run("openssl", "x509", "-in", f"{self.ca}/ops.pem", "-noout", "-enddate").stdout
        self.assertEqual(leaf_na, ca_na)
        st = json.loads(pki("list", self.ca, "--json").stdout)
        self.assertEqual(st[0]["status"], "valid")
        # within the CA's life: no note, untouched
        p = pki("issue", self.ca, "ops2", "--role", "mgmt", "--days", "10")
        self.assertNotIn("clamped", p.stderr)
        na = openssl_time(run("openssl", "x509", "-in", f"{self.ca}/ops2.pem", "-noout", "-enddate")
                          .stdout.split("=", 1)[1])
        self.assertAlmostEqual(na, time.time() + 10 * 86400, delta=120)

    def test_intermediate_leaf_clamped(self):
        pki("init", self.ca, "--days", "100")
        inter = os.path.join(self.d, "inter")
        pki("init", inter, "--parent", self.ca, "--name", "inter", "--days", "20")
        p = pki("issue", inter, "x", "--role", "mgmt", "--days", "365")
        self.assertIn("clamped", p.stderr)
        run("openssl", "verify", "-CAfile", f"{self.ca}/ca.pem", "-untrusted", f"{inter}/chain.pem",
            f"{inter}/x.pem")


class TestCrlUrl(Base):
    def test_malformed_url_refused_at_init(self):
        """Defect 10: 'http://[::1' was accepted and never fetched."""
        for bad in ("http://[::1", "http://exa mple/crl", "ftp://x/crl", "http:///crl", "http://u@h/crl",
                    "http://h/crl#frag", "http://h:99999/crl"):
            p = pki("init", self.ca, "--crl-url", bad, check=False)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn("--crl-url", p.stderr)
            self.assertFalse(os.path.exists(self.ca), bad)

    def test_malformed_url_in_state_refused_at_issue(self):
        pki("init", self.ca)
        with open(f"{self.ca}/state.json") as f:
            st = json.load(f)
        st["crl_url"] = "http://[::1"
        with open(f"{self.ca}/state.json", "w") as f:
            json.dump(st, f)
        before = snapshot(self.ca)
        p = pki("issue", self.ca, "ops", "--role", "mgmt", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("state.json: crl_url", p.stderr)
        self.assertFalse(os.path.exists(f"{self.ca}/ops.pem"))
        self.assertEqual(snapshot(self.ca)["state.json"], before["state.json"])

    def test_agent_refuses_malformed_url(self):
        p = run(AGENT, "--listen", "127.0.0.1:0", "--cert", "a", "--key", "b", "--ca", "c", "--crl", "d",
                "--crl-url", "http://[::1", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not a valid URL", p.stderr)

    def test_commas_cannot_add_distribution_points(self):
        """Defect 10: the URL went through OpenSSL's config syntax, where ',' starts another entry."""
        url = "http://198.18.0.1/crl.pem,URI:http://198.18.0.66/evil.pem"
        pki("init", self.ca, "--crl-url", url)
        pki("issue", self.ca, "ops", "--role", "mgmt")
        text = run("openssl", "x509", "-in", f"{self.ca}/ops.pem", "-noout", "-ext", "crlDistributionPoints").stdout
        uris = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("URI:")]
        self.assertEqual(uris, ["URI:" + url])
        self.assertEqual(text.count("Full Name"), 1)


class TestFifoCrl(Base):
    def test_fifo_at_crl_path_does_not_hang(self):
        """Defect 10: the agent opened --crl blocking, and a FIFO there hung startup forever."""
        pki("init", self.ca)
        pki("issue", self.ca, "node0", "--role", "agent")
        fifo = os.path.join(self.d, "crl.fifo")
        os.mkfifo(fifo)
        # a hang is what this catches (the old agent blocked forever): the subprocess timeout fails the test
        p = run(AGENT, "--check", "--cert", f"{self.ca}/node0.pem", "--key", f"{self.ca}/node0.key",
                "--ca", f"{self.ca}/ca.pem", "--crl", fifo, check=False, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{fifo}: not a regular file (a FIFO)", p.stderr)


# Run inside a private mount namespace (unshare -m): a small tmpfs, a CA in it, the disk filled up to leaving
# k pages free, then `pki issue`; reports what it left behind as JSON.
DISK_FULL = r"""
import json, os, subprocess, sys
mnt, minet = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "minet-test", mnt], check=True)
out = []
for k in range(0, 7):
    ca = os.path.join(mnt, "ca%d" % k)
    fill = os.path.join(mnt, "fill%d" % k)
    subprocess.run([minet, "pki", "init", ca], check=True, capture_output=True)
    for i in range(2):
        subprocess.run([minet, "pki", "issue", ca, "pre%d" % i, "--role", "mgmt"], check=True, capture_output=True)
    os.mkdir(fill)
    files = []
    while True:
        f = os.path.join(fill, str(len(files)))
        try:
            with open(f, "wb") as fh:
                fh.write(b"x" * 4096)
            files.append(f)
        except OSError:
            if os.path.exists(f) and os.path.getsize(f) < 4096:
                os.unlink(f)
            break
    for f in files[:k]:
        os.unlink(f)
    crl_before = open(os.path.join(ca, "crl.pem")).read()
    p = subprocess.run([minet, "pki", "issue", ca, "new", "--role", "mgmt"], capture_output=True, text=True)
    rv = subprocess.run([minet, "pki", "revoke", ca, "pre0"], capture_output=True, text=True)
    crl_after = open(os.path.join(ca, "crl.pem")).read()
    crl_text = subprocess.run(["openssl", "crl", "-noout", "-text", "-in", os.path.join(ca, "crl.pem")],
                              capture_output=True, text=True).stdout
    lst = subprocess.run([minet, "pki", "list", ca, "--json"], capture_output=True, text=True)
    names = sorted(os.listdir(ca))
    pem_ok = os.path.exists(os.path.join(ca, "new.pem")) and subprocess.run(
        ["openssl", "x509", "-noout", "-in", os.path.join(ca, "new.pem")], capture_output=True).returncode == 0
    key_ok = os.path.exists(os.path.join(ca, "new.key")) and subprocess.run(
        ["openssl", "pkey", "-noout", "-in", os.path.join(ca, "new.key")], capture_output=True).returncode == 0
    out.append({"k": k, "rc": p.returncode, "stderr": p.stderr, "list_rc": lst.returncode,
                "list": json.loads(lst.stdout) if lst.returncode == 0 else None, "files": names,
                "pem_ok": pem_ok, "key_ok": key_ok, "revoke_rc": rv.returncode, "revoke_stderr": rv.stderr,
                "crl_changed": crl_before != crl_after, "crl_text": crl_text})
    subprocess.run(["rm", "-rf", fill, ca])
print(json.dumps(out))
"""


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare (mount namespace)")
class TestDiskFull(Base):
    def test_issue_on_full_disk_never_leaves_live_name_without_files(self):
        """Defect 10: the state (naming the certificate live) was written before NAME.key and NAME.pem, so a full
        disk left a live name without its .pem."""
        mnt = os.path.join(self.d, "mnt")
        os.mkdir(mnt)
        p = run("unshare", "-m", "--propagation", "private", sys.executable, "-c", DISK_FULL, mnt, MINET,
                timeout=120)
        res = json.loads(p.stdout)
        failed = [r for r in res if r["rc"] != 0]
        ok = [r for r in res if r["rc"] == 0]
        self.assertTrue(failed, "the disk never filled up: the test proves nothing")
        self.assertTrue(ok, f"never succeeded even with free pages: {res}")
        self.assertTrue([r for r in res if r["revoke_rc"] != 0], "revoke never met a full disk")
        for r in res:
            self.assertEqual(r["list_rc"], 0, r)
            live = [c["name"] for c in r["list"] if c["status"] == "valid"]
            # revoke on the same full disk: either the state and crl.pem both say revoked, or neither changed
            self.assertIn("pre1", live, r)
            if r["revoke_rc"] == 0:
                self.assertNotIn("pre0", live, r)
                self.assertTrue(r["crl_changed"], r)
                self.assertIn("Serial Number: 1000", r["crl_text"], r)
            else:
                self.assertIn("No space left on device", r["revoke_stderr"], r)
                self.assertIn("pre0", live, r)
                self.assertFalse(r["crl_changed"], r)
            self.assertEqual([f for f in r["files"] if ".tmp." in f], [], r)
            if r["rc"] == 0:
                self.assertIn("new", live, r)
                self.assertTrue(r["pem_ok"] and r["key_ok"], r)
            else:
                self.assertEqual(r["rc"], 1, r)
                self.assertIn("No space left on device", r["stderr"], r)
                self.assertNotIn("new", live, r)
                self.assertNotIn("new.pem", r["files"], r)
                self.assertNotIn("new.key", r["files"], r)


if __name__ == "__main__":
    unittest.main()

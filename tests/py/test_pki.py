"""minet pki: the CA directory, checked with openssl itself (verify, x509, crl)."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

BIN = os.environ.get("MINET_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "bin"))
MINET = os.path.join(BIN, "minet")


def run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}): {p.stderr}")
    return p


def pki(*args, check=True):
    return run(MINET, "pki", *args, check=check)


def x509_text(path):
    return run("openssl", "x509", "-noout", "-text", "-in", path).stdout


class TestPki(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="minet-pki-")
        self.addCleanup(shutil.rmtree, self.d, ignore_errors=True)
        self.ca = os.path.join(self.d, "ca")

    def test_init_issue_verify(self):
        pki("init", self.ca, "--crl-url", "http://198.18.0.1/crl.pem")
        pki("issue", self.ca, "node0", "--role", "agent", "--san", "DNS:node0,IP:10.0.0.4")
        pki("issue", self.ca, "ops", "--role", "mgmt", "--days", "30")
        for f in ("ca.pem", "ca.key", "crl.pem", "node0.pem", "node0.key", "ops.pem", "ops.key"):
            self.assertTrue(os.path.exists(os.path.join(self.ca, f)), f)
        for f in ("ca.key", "node0.key", "ops.key"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.ca, f)).st_mode), 0o600, f)
        agent = x509_text(f"{self.ca}/node0.pem")
        self.assertIn("TLS Web Server Authentication", agent)
        self.assertNotIn("TLS Web Client Authentication", agent)
        self.assertIn("DNS:node0, IP Address:10.0.0.4", agent)
        self.assertIn("URI:http://198.18.0.1/crl.pem", agent)
        self.assertIn("prime256v1", agent)
        mgmt = x509_text(f"{self.ca}/ops.pem")
        self.assertIn("TLS Web Client Authentication", mgmt)
        self.assertNotIn("TLS Web Server Authentication", mgmt)
        for name, purpose in (("node0", "sslserver"), ("ops", "sslclient")):
            run("openssl", "verify", "-CAfile", f"{self.ca}/ca.pem", "-crl_check", "-CRLfile", f"{self.ca}/crl.pem",
                "-purpose", purpose, f"{self.ca}/{name}.pem")
        self.assertNotEqual(run("openssl", "verify", "-CAfile", f"{self.ca}/ca.pem", "-purpose", "sslclient",
                                f"{self.ca}/node0.pem", check=False).returncode, 0)

    def test_revoke_publishes_crl(self):
        pki("init", self.ca)
        pki("issue", self.ca, "ops", "--role", "mgmt")
        before = run("openssl", "crl", "-noout", "-crlnumber", "-in", f"{self.ca}/crl.pem").stdout
        pki("revoke", self.ca, "ops", "--reason", "keyCompromise")
        crl = run("openssl", "crl", "-noout", "-text", "-in", f"{self.ca}/crl.pem").stdout
        self.assertIn("Key Compromise", crl)
        self.assertNotEqual(before, run("openssl", "crl", "-noout", "-crlnumber", "-in", f"{self.ca}/crl.pem").stdout)
        p = run("openssl", "verify", "-CAfile", f"{self.ca}/ca.pem", "-crl_check", "-CRLfile", f"{self.ca}/crl.pem",
                f"{self.ca}/ops.pem", check=False)
        self.assertIn("certificate revoked", p.stdout + p.stderr)
        # the name can be reissued once revoked; the old serial stays on the CRL
        pki("issue", self.ca, "ops", "--role", "mgmt")
        listing = json.loads(pki("list", self.ca, "--json").stdout)
        self.assertEqual([c["status"] for c in listing], ["revoked", "valid"])
        self.assertEqual(listing[0]["reason"], "keyCompromise")
        pki("crl", self.ca, "--days", "2")
        crl = run("openssl", "crl", "-noout", "-text", "-in", f"{self.ca}/crl.pem").stdout
        self.assertIn("Serial Number: " + listing[0]["serial"].upper(), crl)

    def test_rsa(self):
        pki("init", self.ca, "--rsa")
        pki("issue", self.ca, "ops", "--role", "mgmt")
        self.assertIn("(3072 bit)", x509_text(f"{self.ca}/ops.pem"))
        self.assertIn("(3072 bit)", x509_text(f"{self.ca}/ca.pem"))

    def test_intermediate(self):
        inter = os.path.join(self.d, "inter")
        pki("init", self.ca)
        pki("init", inter, "--parent", self.ca, "--name", "inter")
        pki("issue", inter, "leaf", "--role", "mgmt")
        run("openssl", "verify", "-CAfile", f"{self.ca}/ca.pem", "-untrusted", f"{inter}/chain.pem",
            "-purpose", "sslclient", f"{inter}/leaf.pem")
        with open(f"{inter}/leaf.pem") as f:
            self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 2)  # leaf + intermediate
        self.assertEqual(json.loads(pki("list", self.ca, "--json").stdout)[0]["role"], "ca")

    def test_concurrent_issues_do_not_corrupt_state(self):
        pki("init", self.ca)
        names = [f"n{i}" for i in range(24)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda n: pki("issue", self.ca, n, "--role", "mgmt"), names))
        listing = json.loads(pki("list", self.ca, "--json").stdout)
        self.assertEqual(sorted(c["name"] for c in listing), sorted(names))
        serials = [c["serial"] for c in listing]
        self.assertEqual(len(set(serials)), len(serials))
        for n in names:
            s = run("openssl", "x509", "-noout", "-serial", "-in", f"{self.ca}/{n}.pem").stdout.strip()
            self.assertIn(s.split("=")[1].lower().lstrip("0"), serials)
        self.assertEqual([f for f in os.listdir(self.ca) if ".tmp." in f], [])

    def test_errors_and_usage(self):
        self.assertEqual(pki(check=False).returncode, 2)
        self.assertEqual(pki("--help").returncode, 0)
        self.assertEqual(pki("bogus", self.ca, check=False).returncode, 2)
        self.assertEqual(pki("issue", self.ca, "x", check=False).returncode, 2)  # no --role
        self.assertEqual(pki("issue", self.ca, "x", "--role", "king", check=False).returncode, 2)
        p = pki("issue", self.ca, "x", "--role", "mgmt", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(self.ca, p.stderr)
        pki("init", self.ca)
        self.assertEqual(pki("init", self.ca, check=False).returncode, 1)
        self.assertEqual(pki("issue", self.ca, "../evil", "--role", "mgmt", check=False).returncode, 1)
        pki("issue", self.ca, "x", "--role", "mgmt")
        p = pki("issue", self.ca, "x", "--role", "mgmt", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("revoke it first", p.stderr)
        self.assertEqual(pki("revoke", self.ca, "nobody-here", check=False).returncode, 1)
        self.assertEqual(pki("revoke", self.ca, "x", "--reason", "boredom", check=False).returncode, 1)
        self.assertEqual(pki("issue", self.ca, "y", "--role", "agent", "--san", "bogus", check=False).returncode, 1)
        self.assertEqual(pki("crl", self.ca, "--days", "0", check=False).returncode, 2)


if __name__ == "__main__":
    unittest.main()

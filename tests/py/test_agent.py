"""minet-agent end to end: the certificate matrix with real clients (curl, openssl s_client), revocation closing
live connections, SIGHUP rotation, hygiene. Every case asserts the refusal reason the agent logs.

Each agent runs in its own process group and is stopped (SIGTERM, then checked for a clean exit: under ASan a
leak makes the exit status non-zero) on every exit path."""
import http.server
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("MINET_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "bin"))
MINET = os.path.join(BIN, "minet")
AGENT = os.path.join(BIN, "minet-agent")
BADKEY = os.path.join(BIN, "tools", "tls-badkey")
NOBODY = pwd.getpwnam("nobody")


def run(*args, check=True, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}): {p.stderr}")
    return p


def pki(*args, **kw):
    return run(MINET, "pki", *args, **kw)


def cat(out, *files):
    with open(out, "w") as f:
        for x in files:
            with open(x) as g:
                f.write(g.read())


def make_world(d):
    """A root CA, an intermediate, another CA, and every certificate the matrix needs, in d."""
    os.chmod(d, 0o755)
    root, inter, other = (os.path.join(d, n) for n in ("root", "inter", "other"))
    pki("init", root)
    pki("issue", root, "node0", "--role", "agent", "--san", "DNS:node0,IP:127.0.0.1")
    for n in ("ops", "ops2", "ops3", "revoked", "badkey-other"):
        pki("issue", root, n, "--role", "mgmt")
    pki("issue", root, "expired", "--role", "mgmt", "--not-before", "-7200", "--not-after", "-3600")
    pki("issue", root, "notyet", "--role", "mgmt", "--not-before", "+3600", "--not-after", "+7200")
    pki("issue", root, "server-only", "--role", "agent")
    pki("revoke", root, "revoked", "--reason", "keyCompromise")
    pki("init", inter, "--parent", root, "--name", "inter")
    pki("issue", inter, "via-inter", "--role", "mgmt")
    pki("init", other)
    pki("issue", other, "stranger", "--role", "mgmt")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=selfie", "-addext", "extendedKeyUsage=clientAuth", "-days", "2",
        "-keyout", os.path.join(d, "selfie.key"), "-out", os.path.join(d, "selfie.pem"))
    cat(os.path.join(d, "cas.pem"), f"{root}/ca.pem", f"{inter}/ca.pem")
    cat(os.path.join(d, "crls.pem"), f"{root}/crl.pem", f"{inter}/crl.pem")
    # the agent drops to nobody, and must still read its key on SIGHUP
    os.chown(f"{root}/node0.key", NOBODY.pw_uid, NOBODY.pw_gid)
    return root, inter, other


class Agent:
    """One minet-agent on 127.0.0.1 with a port chosen by the kernel, read back from its log."""

    def __init__(self, cleanup, d, *extra, cert=None, key=None, ca=None, crl=None, expect_ready=True):
        self.log = os.path.join(d, f"agent-{time.monotonic_ns()}.log")
        self.stderr = open(self.log + ".stderr", "w")
        root = os.path.join(d, "root")
        args = [AGENT, "--listen", "127.0.0.1:0", "--cert", cert or f"{root}/node0.pem",
                "--key", key or f"{root}/node0.key", "--ca", ca or os.path.join(d, "cas.pem"),
                "--crl", crl or os.path.join(d, "crls.pem"), "--log", self.log, "--name", "node0", *extra]
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr, start_new_session=True)
        cleanup(self.stop)
        self.port = None
        if expect_ready:
            m = self.wait_for(r"listening on 127\.0\.0\.1:(\d+)")
            self.port = int(m.group(1))
            self.wait_for(r"ready: ")

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern, start=0, timeout=30):
        """The first match of pattern in the log (from offset start), polled until timeout s: a bound that only
        catches a hang, generous for the ASan build on a loaded machine (a match returns at once)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text()[start:])
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no /{pattern}/ in the agent log:\n{self.text()[-3000:]}\n"
                             f"stderr:\n{open(self.log + '.stderr').read()[-2000:]}")

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
                raise AssertionError("agent did not stop on SIGTERM")
        self.stderr.close()
        if self.p.returncode != 0:
            raise AssertionError(f"agent exited {self.p.returncode}:\n" + open(self.log + ".stderr").read()[-4000:])


def curl(port, ca, cert=None, key=None, path="/v1/health", extra=()):
    # --max-time only catches a hang (ASan on a loaded machine is slow): a refusal still ends curl at once
    args = ["curl", "-sS", "--max-time", "20", "--cacert", ca, *extra]
    if cert:
        args += ["--cert", cert, "--key", key]
    return run(*args, f"https://127.0.0.1:{port}{path}", check=False)


def tls_client(port, d, name, pkidir="root"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, "root", "ca.pem"))
    ctx.load_cert_chain(os.path.join(d, pkidir, name + ".pem"), os.path.join(d, pkidir, name + ".key"))
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="127.0.0.1")
    return s


def request(s, path="/v1/health"):
    s.settimeout(20)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: node0\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
    while len(body) < n:
        body += s.recv(4096)
    return int(head.split()[1]), body.decode()


def is_closed(s):
    s.settimeout(0.05)
    try:
        return s.recv(1) == b""
    except (socket.timeout, ssl.SSLWantReadError):
        return False
    except (OSError, ssl.SSLError):
        return True


class World(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp(prefix="minet-agent-")
        cls.addClassCleanup(shutil.rmtree, cls.d, ignore_errors=True)
        cls.root, cls.inter, cls.other = make_world(cls.d)
        cls.ca = os.path.join(cls.root, "ca.pem")

    def agent(self, *extra, **kw):
        return Agent(self.addCleanup, self.d, *extra, **kw)


class TestMatrix(World):
    """One agent, every client certificate case; each refusal names its reason in the log."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = Agent(cls.addClassCleanup, cls.d)

    def refused(self, client, slug, serial=None):
        start = len(self.a.text())
        client()
        line = self.a.wait_for(r"refused peer=127\.0\.0\.1:\d+ [^\n]*reason=" + slug + r"[^\n]*", start).group(0)
        if serial:
            self.assertIn(f"serial={serial}", line)
        return line

    def curl_as(self, name, pkidir=None):
        d = pkidir or self.root
        return lambda: self.assertNotEqual(
            curl(self.a.port, self.ca, f"{d}/{name}.pem", f"{d}/{name}.key").returncode, 0)

    def serial(self, name, d=None):
        out = run("openssl", "x509", "-noout", "-serial", "-in", f"{d or self.root}/{name}.pem").stdout
        return out.strip().split("=")[1].lower().lstrip("0")

    def test_valid(self):
        start = len(self.a.text())
        p = curl(self.a.port, self.ca, f"{self.root}/ops.pem", f"{self.root}/ops.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"status": "ok"})
        line = self.a.wait_for(r"accepted peer=[^\n]*", start).group(0)
        self.assertIn('subject="/O=minet/CN=ops"', line)
        self.assertIn(f"serial={self.serial('ops')}", line)
        self.assertIn("TLSv1.3", line)

    def test_valid_with_minet_mgmt(self):
        p = run(MINET, "mgmt", f"127.0.0.1:{self.a.port}", "GET", "/v1/status", "--cert", f"{self.root}/ops.pem",
                "--key", f"{self.root}/ops.key", "--ca", self.ca)
        st = json.loads(p.stdout)
        self.assertEqual(st["node"], "node0")
        self.assertEqual(st["certificate"]["serial"], self.serial("node0"))
        self.assertEqual(len(st["crl"]["crls"]), 2)
        self.assertGreaterEqual(st["connections"]["live"], 1)
        p = run(MINET, "mgmt", f"127.0.0.1:{self.a.port}", "DELETE", "/v1/status", "--cert",
                f"{self.root}/ops.pem", "--key", f"{self.root}/ops.key", "--ca", self.ca, check=False)
        self.assertEqual(p.returncode, 1)
        p = run(MINET, "mgmt", f"127.0.0.1:{self.a.port}", "GET", "/metrics", "--cert", f"{self.root}/ops.pem",
                "--key", f"{self.root}/ops.key", "--ca", self.ca)
        self.assertRegex(p.stdout, r'minet_agent_requests_total\{path="/v1/status",code="405"\} 1')
        self.assertRegex(p.stdout, r"minet_agent_handshakes_total [1-9]")

    def test_no_client_certificate(self):
        self.refused(lambda: curl(self.a.port, self.ca), "no_client_cert")

    def test_no_client_certificate_tls12(self):
        self.refused(lambda: curl(self.a.port, self.ca, extra=("--tls-max", "1.2")), "no_client_cert")

    def test_self_signed(self):
        self.refused(self.curl_as("selfie", self.d), "self_signed")

    def test_other_ca(self):
        self.refused(self.curl_as("stranger", self.other), "untrusted_issuer", self.serial("stranger", self.other))

    def test_expired(self):
        line = self.refused(self.curl_as("expired"), "cert_expired", self.serial("expired"))
        self.assertIn("certificate has expired", line)

    def test_not_yet_valid(self):
        self.refused(self.curl_as("notyet"), "cert_not_yet_valid", self.serial("notyet"))

    def test_revoked(self):
        self.refused(self.curl_as("revoked"), "revoked", self.serial("revoked"))

    def test_server_auth_only_certificate(self):
        self.refused(self.curl_as("server-only"), "no_client_auth", self.serial("server-only"))

    def test_key_not_matching_certificate(self):
        def client():
            p = run(BADKEY, "127.0.0.1", str(self.a.port), f"{self.root}/ops.pem", f"{self.root}/ops.key",
                    f"{self.root}/badkey-other.key", self.ca, check=False)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        line = self.refused(client, "bad_signature")
        self.assertIn("does not match its certificate", line)

    def test_tls11_client(self):
        def client():
            p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.a.port}", "-tls1_1", "-cipher",
                    "DEFAULT@SECLEVEL=0", "-cert", f"{self.root}/ops.pem", "-key", f"{self.root}/ops.key",
                    stdin=subprocess.DEVNULL, check=False)
            self.assertIn("Cipher is (NONE)", p.stdout)
        self.refused(client, "protocol_version")

    def test_chain_through_intermediate(self):
        p = curl(self.a.port, self.ca, f"{self.inter}/via-inter.pem", f"{self.inter}/via-inter.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.a.wait_for(r'accepted [^\n]*subject="/O=minet/CN=via-inter"')

    def test_s_client_valid_and_refused(self):
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.a.port}", "-CAfile", self.ca,
                "-cert", f"{self.root}/ops2.pem", "-key", f"{self.root}/ops2.key", "-quiet", "-verify_return_error",
                input="GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", check=False)
        self.assertIn('"status": "ok"', p.stdout)
        self.refused(lambda: run("openssl", "s_client", "-connect", f"127.0.0.1:{self.a.port}", "-CAfile",
                                 self.ca, "-cert", f"{self.root}/revoked.pem", "-key", f"{self.root}/revoked.key",
                                 input="", check=False), "revoked")


class TestChainSent(World):
    """The certificate chain the agent sends is built once at startup (not on every handshake): its own
    certificate and the intermediates up to, not including, the root."""

    def sent(self, a, n_expected, ca):
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{a.port}", "-showcerts", "-CAfile", ca,
                "-cert", f"{self.root}/ops.pem", "-key", f"{self.root}/ops.key", "-verify_return_error",
                input="", check=False)
        self.assertIn("Verification: OK", p.stdout, p.stderr)
        subjects = re.findall(r"^ *\d+ s:(.*)$", p.stdout, re.M)
        self.assertEqual(p.stdout.count("BEGIN CERTIFICATE"), n_expected, subjects)
        return subjects

    def test_leaf_of_the_root_alone(self):
        subjects = self.sent(self.agent(), 1, self.ca)
        self.assertIn("node0", subjects[0])

    def test_intermediate_from_the_ca_bundle(self):
        pki("issue", self.inter, "node-i", "--role", "agent", "--san", "DNS:node0,IP:127.0.0.1")
        a = self.agent(cert=f"{self.inter}/node-i.pem", key=f"{self.inter}/node-i.key")
        subjects = self.sent(a, 2, self.ca)  # node-i, then inter (from cas.pem); never the root
        self.assertIn("node-i", subjects[0])
        self.assertIn("inter", subjects[1])


class TestCrlFailClosed(World):
    def test_crl_expired(self):
        d = os.path.join(self.d, "stale")
        shutil.copytree(self.root, d)
        pki("crl", d, "--this-update", "-7200", "--next-update", "-3600")
        a = self.agent(crl=f"{d}/crl.pem", ca=self.ca)
        p = curl(a.port, self.ca, f"{self.root}/ops.pem", f"{self.root}/ops.key")
        self.assertNotEqual(p.returncode, 0)
        a.wait_for(r"refused [^\n]*reason=crl_expired")

    def test_crl_expired_within_grace(self):
        d = os.path.join(self.d, "stale-grace")
        shutil.copytree(self.root, d)
        pki("crl", d, "--this-update", "-7200", "--next-update", "-3600")
        a = self.agent("--grace", "86400", crl=f"{d}/crl.pem", ca=self.ca)
        p = curl(a.port, self.ca, f"{self.root}/ops.pem", f"{self.root}/ops.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        a.wait_for(r"warning: accepting [^\n]*past its nextUpdate \(--grace 86400\)")

    def test_crl_signed_by_another_ca(self):
        a = self.agent(crl=f"{self.other}/crl.pem", ca=self.ca)
        a.wait_for(r"CRL from [^\n]* rejected: CRL signature does not verify")
        p = curl(a.port, self.ca, f"{self.root}/ops.pem", f"{self.root}/ops.key")
        self.assertNotEqual(p.returncode, 0)
        line = a.wait_for(r"refused [^\n]*reason=crl_invalid[^\n]*").group(0)
        self.assertIn("CRL signature does not verify", line)

    def test_no_crl_file(self):
        a = self.agent(crl=os.path.join(self.d, "missing.pem"), ca=self.ca)
        p = curl(a.port, self.ca, f"{self.root}/ops.pem", f"{self.root}/ops.key")
        self.assertNotEqual(p.returncode, 0)
        a.wait_for(r"refused [^\n]*reason=crl_invalid[^\n]*No such file")

    def test_intermediate_without_its_crl(self):
        a = self.agent(crl=f"{self.root}/crl.pem")  # cas.pem has the intermediate, crl only the root's
        p = curl(a.port, self.ca, f"{self.inter}/via-inter.pem", f"{self.inter}/via-inter.key")
        self.assertNotEqual(p.returncode, 0)
        a.wait_for(r"refused [^\n]*CN=via-inter[^\n]*reason=crl_invalid")


class CrlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


class TestRevocationCloses(World):
    def serve(self, directory):
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=directory, **k)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        srv = CrlServer(("127.0.0.1", 0), handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(t.join, 5)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def test_revoked_client_is_disconnected_others_stay(self):
        d = os.path.join(self.d, "live")
        shutil.copytree(self.root, d)
        os.chown(f"{d}/node0.key", NOBODY.pw_uid, NOBODY.pw_gid)
        shutil.copy(f"{d}/crl.pem", f"{d}/crl-initial.pem")
        port = self.serve(d)
        a = self.agent("--crl-url", f"http://127.0.0.1:{port}/crl.pem", "--crl-refresh", "1",
                       cert=f"{d}/node0.pem", key=f"{d}/node0.key", ca=f"{d}/ca.pem", crl=f"{d}/crl-initial.pem")
        victim = tls_client(a.port, self.d, "ops", "live")
        self.addCleanup(victim.close)
        bystander = tls_client(a.port, self.d, "ops2", "live")
        self.addCleanup(bystander.close)
        self.assertEqual(request(victim)[0], 200)
        self.assertEqual(request(bystander)[0], 200)
        start = len(a.text())
        pki("revoke", d, "ops", "--reason", "keyCompromise")
        # the refresh runs every second and the victim is closed by the one that fetches the new CRL; the bound only
        # catches an agent that never closes it (with ASan on a loaded machine a refresh can take seconds)
        deadline = time.monotonic() + 30
        while not is_closed(victim):
            self.assertLess(time.monotonic(), deadline, "revoked client still connected")
        line = a.wait_for(r"closed [^\n]*CN=ops\"[^\n]*reason=revoked", start).group(0)
        self.assertIn("serial=", line)
        self.assertFalse(is_closed(bystander))
        code, body = request(bystander, "/metrics")
        self.assertEqual(code, 200)
        self.assertIn("minet_agent_revocation_closes_total 1", body)
        # and it cannot come back
        p = curl(a.port, f"{d}/ca.pem", f"{d}/ops.pem", f"{d}/ops.key")
        self.assertNotEqual(p.returncode, 0)

    def test_sighup_reloads_crl_and_rotates_certificate_keeping_connections(self):
        d = os.path.join(self.d, "hup")
        shutil.copytree(self.root, d)
        os.chown(f"{d}/node0.key", NOBODY.pw_uid, NOBODY.pw_gid)
        a = self.agent("--crl-refresh", "3600", cert=f"{d}/node0.pem", key=f"{d}/node0.key", ca=f"{d}/ca.pem",
                       crl=f"{d}/crl.pem")
        keep = tls_client(a.port, self.d, "ops2", "hup")
        self.addCleanup(keep.close)
        gone = tls_client(a.port, self.d, "ops3", "hup")
        self.addCleanup(gone.close)
        self.assertEqual(request(keep)[0], 200)
        old = json.loads(request(keep, "/v1/status")[1])["certificate"]["serial"]
        pki("revoke", d, "node0", "--reason", "superseded")
        pki("issue", d, "node0", "--role", "agent", "--san", "DNS:node0,IP:127.0.0.1")
        os.chown(f"{d}/node0.key", NOBODY.pw_uid, NOBODY.pw_gid)
        start = len(a.text())
        pki("revoke", d, "ops3")  # the parent sees crl.pem change (inotify) at once, SIGHUP or not
        os.killpg(a.p.pid, signal.SIGHUP)
        a.wait_for(r"SIGHUP: certificate, key and CA reloaded", start)
        a.wait_for(r"closed [^\n]*CN=ops3\"[^\n]*reason=revoked", start)
        deadline = time.monotonic() + 20  # only catches a hang: the worker closes right after it logs
        while not is_closed(gone):
            self.assertLess(time.monotonic(), deadline)
        code, body = request(keep, "/v1/status")  # the healthy connection survived the rotation
        self.assertEqual(code, 200)
        new = tls_client(a.port, self.d, "ops2", "hup")
        self.addCleanup(new.close)
        st = json.loads(request(new, "/v1/status")[1])
        self.assertNotEqual(st["certificate"]["serial"], old)
        self.assertEqual(new.getpeercert()["serialNumber"].lower().lstrip("0"), st["certificate"]["serial"])


class TestHygiene(World):
    def test_refuses_key_readable_by_others(self):
        d = os.path.join(self.d, "loose")
        shutil.copytree(self.root, d)
        os.chmod(f"{d}/node0.key", 0o644)
        p = run(AGENT, "--listen", "127.0.0.1:0", "--cert", f"{d}/node0.pem", "--key", f"{d}/node0.key",
                "--ca", self.ca, "--crl", f"{d}/crl.pem", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("accessible by group or others", p.stderr)

    def test_usage(self):
        self.assertEqual(run(AGENT, check=False).returncode, 2)
        self.assertEqual(run(AGENT, "--listen", "nonsense", "--cert", "a", "--key", "b", "--ca", "c", "--crl",
                             "d", check=False).returncode, 1)
        self.assertEqual(run(AGENT, "--help").returncode, 0)
        self.assertEqual(run(AGENT, "--crl-url", "ftp://x", check=False).returncode, 2)

    def test_check_mode(self):
        p = run(AGENT, "--check", "--cert", f"{self.root}/node0.pem", "--key", f"{self.root}/node0.key",
                "--ca", os.path.join(self.d, "cas.pem"), "--crl", os.path.join(self.d, "crls.pem"), check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(AGENT, "--check", "--cert", f"{self.root}/node0.pem", "--key", f"{self.root}/node0.key",
                "--ca", self.ca, "--crl", f"{self.other}/crl.pem", check=False)
        self.assertEqual(p.returncode, 1)

    def test_drops_privileges(self):
        """The parent keeps root (to read the files); the workers run as minet-agent, never nobody."""
        a = self.agent()
        # "ready" is logged by the parent once it forked the workers; each worker logs "started" only after it
        # dropped its privileges, so wait for every one of them before looking at their uids
        n = int(a.wait_for(r"listening on [^\n]*\((\d+) workers?, SO_REUSEPORT\)").group(1))
        for i in range(n):
            a.wait_for(rf"worker {i} started")
        worker = pwd.getpwnam("minet-agent").pw_uid
        with open(f"/proc/{a.p.pid}/task/{a.p.pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
        self.assertEqual(len(kids), n)
        for pid in [a.p.pid] + kids:
            with open(f"/proc/{pid}/status") as f:
                uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M)
            self.assertEqual({int(x) for x in uid.groups()}, {0 if pid == a.p.pid else worker})
            if pid != a.p.pid:
                self.assertEqual(os.readlink(f"/proc/{pid}/root"), "/var/empty")

    def test_handshake_timeout(self):
        a = self.agent("--handshake-timeout", "1")
        s = socket.create_connection(("127.0.0.1", a.port))
        self.addCleanup(s.close)
        a.wait_for(r"refused [^\n]*reason=handshake_timeout")
        s.settimeout(2)
        self.assertEqual(s.recv(1), b"")


if __name__ == "__main__":
    unittest.main()

"""minet-agent privilege separation and resilience (issue 9): a root parent that reads the files, unprivileged
chrooted workers (one per core) that get the bytes over IPC; revocation under a 0700 PKI directory, worker
restarts, CRL status, coalesced SIGHUPs, descriptor exhaustion, per-source handshake rate limit, whole-request
deadline, log reopening and escaping. Each test fails on the agent before this change."""
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
import time
import unittest

import test_agent as ta

ROOT_HOME = "/root" if os.path.isdir("/root") and os.access("/root", os.W_OK) else None


def proc_children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" (\d+(?:\.\d+)?)$", text, re.M)
    return float(m.group(1)) if m else None


@unittest.skipUnless(os.geteuid() == 0, "privilege separation needs root")
class PrivsepWorld(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # as an operator would: the PKI under root's home, in a directory nobody else may enter
        cls.d = tempfile.mkdtemp(prefix="minet-privsep-", dir=ROOT_HOME)
        cls.addClassCleanup(shutil.rmtree, cls.d, ignore_errors=True)
        os.chmod(cls.d, 0o700)
        cls.p = os.path.join(cls.d, "pki")
        ta.pki("init", cls.p)
        ta.pki("issue", cls.p, "node0", "--role", "agent", "--san", "DNS:node0,IP:127.0.0.1")
        for n in ("ops", "ops2", "ops3", "ops4", "victim", "victim2"):
            ta.pki("issue", cls.p, n, "--role", "mgmt")
        cls.ca = os.path.join(cls.p, "ca.pem")

    def agent(self, *extra, crl=None, **kw):
        return ta.Agent(self.addCleanup, self.d, *extra, cert=f"{self.p}/node0.pem", key=f"{self.p}/node0.key",
                        ca=self.ca, crl=crl or f"{self.p}/crl.pem", **kw)

    def curl(self, a, name, path="/v1/health", extra=()):
        return ta.curl(a.port, self.ca, f"{self.p}/{name}.pem", f"{self.p}/{name}.key", path=path, extra=extra)

    def get(self, a, path, name="ops"):
        p = self.curl(a, name, path)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def tls(self, a, name):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.ca)
        ctx.load_cert_chain(f"{self.p}/{name}.pem", f"{self.p}/{name}.key")
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", a.port), timeout=5), server_hostname="127.0.0.1")
        return s

    def refused_within(self, a, name, seconds):
        """Poll with curl until name is refused; fails after `seconds` (a bound that catches a hang only)."""
        t0 = time.monotonic()
        while self.curl(a, name).returncode == 0:
            self.assertLess(time.monotonic() - t0, seconds, f"{name} still accepted after {seconds} s")
            time.sleep(0.05)
        return time.monotonic() - t0


class TestRevocationAsRoot(PrivsepWorld):
    def test_revoked_client_refused_without_a_refresh_pki_under_0700_dir(self):
        """THE acceptance test: before, the agent had dropped to nobody, could not read crl.pem, and kept 200.
        With --crl-refresh 3600 only inotify (or SIGHUP) can bring the new CRL in: the 20 s bound proves that and
        only catches a hang (under ASan on a loaded machine one curl alone can take a second; no timed tests)."""
        a = self.agent("--crl-refresh", "3600")
        self.assertEqual(self.curl(a, "victim").returncode, 0)
        ta.pki("revoke", self.p, "victim", "--reason", "keyCompromise")  # rewrites crl.pem: no signal at all
        self.refused_within(a, "victim", 20)
        a.wait_for(r"refused [^\n]*CN=victim\"[^\n]*reason=revoked")
        self.assertEqual(self.curl(a, "ops").returncode, 0)
        # and through SIGHUP
        self.assertEqual(self.curl(a, "victim2").returncode, 0)
        ta.pki("revoke", self.p, "victim2")
        os.kill(a.p.pid, signal.SIGHUP)
        self.refused_within(a, "victim2", 20)
        a.wait_for(r"refused [^\n]*CN=victim2\"[^\n]*reason=revoked")
        self.assertNotIn("Permission denied", a.text())


class TestProcesses(PrivsepWorld):
    def test_one_worker_per_core_chrooted_and_restarted(self):
        a = self.agent()
        n = os.cpu_count()
        a.wait_for(rf"listening on 127\.0\.0\.1:\d+ \({n} workers?, SO_REUSEPORT\)")
        for i in range(n):
            a.wait_for(rf"worker {i} started: pid \d+, uid {pwd.getpwnam('minet-agent').pw_uid}, chroot /var/empty")
        kids = proc_children(a.p.pid)
        self.assertEqual(len(kids), n)
        for k in kids:
            self.assertEqual(os.readlink(f"/proc/{k}/root"), "/var/empty")
            # the worker holds no file but its log: no certificate, key, CA or CRL descriptor
            targets = [os.readlink(f"/proc/{k}/fd/{fd}") for fd in os.listdir(f"/proc/{k}/fd")]
            self.assertFalse([t for t in targets if t.startswith(self.d) and not t.endswith((".log", ".stderr"))], targets)
        os.kill(kids[0], signal.SIGKILL)
        a.wait_for(rf"error: worker \d+ \(pid {kids[0]}\) killed by signal 9; restarting it")
        deadline = time.monotonic() + 30  # restarted after 1 s; the bound only catches a hang
        while len(proc_children(a.p.pid)) < n or kids[0] in proc_children(a.p.pid):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        for _ in range(6):  # whichever worker the kernel picks answers
            self.assertEqual(self.curl(a, "ops").returncode, 0)
        self.assertIn("minet_agent_worker_restarts_total 1", self.get(a, "/metrics"))

    def test_workers_exit_when_the_parent_dies(self):
        a = self.agent()
        a.wait_for(r"worker 0 started")
        kids = proc_children(a.p.pid)
        self.assertTrue(kids)
        os.kill(a.p.pid, signal.SIGKILL)
        a.p.wait()
        deadline = time.monotonic() + 20  # an ASan worker runs its leak check on the way out
        for k in kids:
            while os.path.exists(f"/proc/{k}") and open(f"/proc/{k}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                self.assertLess(time.monotonic(), deadline, f"worker {k} outlived its parent")
                time.sleep(0.05)
        a.p.returncode = 0  # killed on purpose

    def test_user_option(self):
        p = ta.run(ta.AGENT, "--listen", "127.0.0.1:0", "--cert", f"{self.p}/node0.pem", "--key",
                   f"{self.p}/node0.key", "--ca", self.ca, "--crl", f"{self.p}/crl.pem", "--user", "no-such-user-x",
                   check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no user 'no-such-user-x'", p.stderr)
        p = ta.run(ta.AGENT, "--listen", "127.0.0.1:0", "--cert", f"{self.p}/node0.pem", "--key",
                   f"{self.p}/node0.key", "--ca", self.ca, "--crl", f"{self.p}/crl.pem", "--user", "root",
                   check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("will not run the workers as root", p.stderr)


class TestCrlStatus(PrivsepWorld):
    def test_status_and_metrics_report_the_crl_in_force_and_the_last_error(self):
        d = os.path.join(self.d, "status")
        shutil.copytree(self.p, d)
        a = self.agent("--crl-refresh", "3600", crl=f"{d}/crl.pem")
        st = json.loads(self.get(a, "/v1/status"))
        crl = st["crl"]
        self.assertEqual(crl["source"], f"{d}/crl.pem")
        self.assertEqual(crl["crls"][0]["number"], "01")
        self.assertIn("this_update", crl["crls"][0])
        self.assertIn("next_update", crl["crls"][0])
        self.assertGreaterEqual(crl["crls"][0]["age_seconds"], 0)
        self.assertIsNone(crl["last_error"])
        with open(f"{d}/crl.pem", "w") as f:
            f.write("-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n")
        a.wait_for(r"error: CRL from [^\n]*crl\.pem rejected: [^\n]*keeping the CRL in force")
        # the parent logs the rejection, then publishes it to the shared state the workers answer from
        deadline = time.monotonic() + 20
        while (st := json.loads(self.get(a, "/v1/status")))["crl"]["last_error"] is None:
            self.assertLess(time.monotonic(), deadline, "the rejection never reached /v1/status")
            time.sleep(0.05)
        self.assertIn("crl.pem", st["crl"]["last_error"])
        self.assertEqual(st["crl"]["crls"][0]["number"], "01")  # still in force
        self.assertGreaterEqual(st["crl"]["loads_failed"], 1)
        m = self.get(a, "/metrics")
        self.assertGreater(metric(m, "minet_agent_crl_last_error_seconds"), 0)
        self.assertIsNotNone(metric(m, "minet_agent_crl_age_seconds"))
        self.assertIn(f'minet_agent_crl_info{{source="{d}/crl.pem"}} 1', m)


class TestSighupStorm(PrivsepWorld):
    def test_sighups_are_coalesced(self):
        """Defect 7: 28,600 SIGHUPs made 9,800 reloads; now a storm is a handful of reloads, requests still served."""
        a = self.agent("--crl-refresh", "3600")
        keep = self.tls(a, "ops")
        self.addCleanup(keep.close)
        # Pending signals of one kind do not queue: how many of the kill()s reach the agent depends on how often it
        # gets a CPU. So the storm lasts at least 1.5 s and until the agent has counted more than 100 of them
        # (the count is published at each reload and every second), and the reloads are bounded by the time the
        # storm really took (one reload at most per 100 ms window), not by a fixed 1.5 s.
        t0 = time.monotonic()
        sent = 0
        while True:
            for _ in range(200):
                os.kill(a.p.pid, signal.SIGHUP)
                sent += 1
            code, body = ta.request(keep, "/metrics")
            self.assertEqual(code, 200)
            if time.monotonic() - t0 >= 1.5 and metric(body, "minet_agent_sighup_total") > 100:
                break
            self.assertLess(time.monotonic() - t0, 60, f"the agent counted too few of {sent} SIGHUPs:\n{body}")
        deadline = time.monotonic() + 20
        while (reloads := metric(m := self.get(a, "/metrics"), "minet_agent_reloads_total")) < 1:
            self.assertLess(time.monotonic(), deadline, "no reload")
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        self.assertGreater(metric(m, "minet_agent_sighup_total"), 100)
        self.assertLessEqual(reloads, elapsed / 0.1 + 3, f"{reloads} reloads for {sent} SIGHUPs in {elapsed:.1f} s")


class TestDescriptors(PrivsepWorld):
    def test_out_of_descriptors_pauses_instead_of_spinning(self):
        """Defect 2: with the fd limit below --max-conns the agent spun at 100% CPU logging ~650k lines/s."""
        # ta.Agent cannot set limits: start the agent under prlimit, 64 descriptors (soft and hard)
        log = os.path.join(self.d, f"fd-{time.monotonic_ns()}.log")
        p = subprocess.Popen(["prlimit", "--nofile=64:64", ta.AGENT, "--listen", "127.0.0.1:0", "--cert",
                              f"{self.p}/node0.pem", "--key", f"{self.p}/node0.key", "--ca", self.ca, "--crl",
                              f"{self.p}/crl.pem", "--log", log, "--max-conns", "100000", "--workers", "1",
                              "--handshake-timeout", "30", "--handshake-rate", "0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(lambda: (p.poll() is None and os.killpg(p.pid, signal.SIGTERM), p.wait(20)))
        text = lambda: open(log).read() if os.path.exists(log) else ""
        deadline = time.monotonic() + 30
        while not re.search(r"worker 0 started[^\n]*up to (\d+) connections", text()):
            self.assertLess(time.monotonic(), deadline, text())
            time.sleep(0.05)
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text()).group(1))
        self.assertEqual(re.search(r"up to (\d+) connections", text()).group(1), str(64 - 32))
        worker = proc_children(p.pid)[0]
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(150):  # far more than the worker can hold
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
        # measure only once the worker is full (it says so), not while it is still accepting (slow under ASan)
        deadline = time.monotonic() + 30
        while not re.search(r"warning: worker 0: \d+ connections, its limit: not accepting", text()):
            self.assertLess(time.monotonic(), deadline, text()[-3000:])
            time.sleep(0.05)
        t0, c0, n0 = time.monotonic(), cpu_ticks(worker), len(text())
        time.sleep(2)
        used = (cpu_ticks(worker) - c0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0)
        self.assertLess(used, 0.2, f"worker busy {used:.0%} while full")
        self.assertLess(text().count("\n", n0), 20)
        for s in socks:
            s.close()
        socks.clear()
        deadline = time.monotonic() + 30
        while ta.curl(port, self.ca, f"{self.p}/ops.pem", f"{self.p}/ops.key").returncode != 0:
            self.assertLess(time.monotonic(), deadline, "never accepted again")
            time.sleep(0.2)


class TestRateLimit(PrivsepWorld):
    def test_flooding_source_limited_others_served(self):
        """Defect 5: a source opening handshakes faster than --handshake-rate is cut before any key exchange."""
        a = self.agent("--handshake-rate", "4", "--handshake-burst", "4")
        n = int(a.wait_for(r"listening on [^\n]*\((\d+) workers?, SO_REUSEPORT\)").group(1))
        # Each worker keeps its own bucket: in t seconds at most n * (4 + 4 t) handshakes get through. A fixed 40
        # attempts only proved that on a fast machine (under ASan with a loaded CPU 40 handshakes take long enough
        # to earn 20 tokens); go on until 21 were refused (a deadline catches a missing limit), then check the
        # handshakes let through against the time taken.
        refused = tries = 0
        t0 = time.monotonic()
        while refused <= 20:
            self.assertLess(time.monotonic() - t0, 60, f"only {refused} of {tries} handshakes refused")
            tries += 1
            s = socket.create_connection(("127.0.0.1", a.port), timeout=20)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                ctx.wrap_socket(s).close()
            except (ssl.SSLError, OSError):
                refused += 1
            s.close()
        elapsed = time.monotonic() - t0
        self.assertLessEqual(tries - refused, n * (4 + 4 * elapsed) + 1, f"{tries - refused} of {tries} let through "
                             f"in {elapsed:.1f} s by {n} workers")
        a.wait_for(r"refused peer=127\.0\.0\.1:\d+ [^\n]*reason=rate_limited")
        # another source is not affected
        p = self.curl(a, "ops", extra=("--interface", "127.0.0.2"))
        self.assertEqual(p.returncode, 0, p.stderr)
        m = ta.curl(a.port, self.ca, f"{self.p}/ops.pem", f"{self.p}/ops.key", path="/metrics",
                    extra=("--interface", "127.0.0.3")).stdout
        self.assertGreater(float(re.search(r'reason="rate_limited"\} (\d+)', m).group(1)), 20)


class TestRequestDeadline(PrivsepWorld):
    def test_slow_authenticated_client_closed_at_the_request_deadline(self):
        """Defect 8: --idle-timeout restarts on every byte; a byte every 0.4 s kept a connection forever."""
        a = self.agent("--request-timeout", "2", "--idle-timeout", "60")
        s = self.tls(a, "ops")
        self.addCleanup(s.close)
        self.assertEqual(ta.request(s)[0], 200)  # a whole request in time is fine, and keep-alive goes on
        t0 = time.monotonic()
        closed = None
        for ch in b"GET /v1/health HTTP/1.1\r\nHost: node0\r\nX-Slow: " + b"a" * 100:
            try:
                s.sendall(bytes([ch]))
            except OSError:
                closed = time.monotonic() - t0
                break
            if ta.is_closed(s):
                closed = time.monotonic() - t0
                break
            time.sleep(0.35)
        self.assertIsNotNone(closed, "the slow request was never cut")
        # --request-timeout 2 s; the bound (not a timing) only tells it from --idle-timeout 60, which a byte every
        # 0.4 s never trips: under ASan on a loaded machine the cut may come late
        self.assertLess(closed, 30.0)
        a.wait_for(r"closed [^\n]*CN=ops\"[^\n]*reason=request_timeout")


class TestLogging(PrivsepWorld):
    def test_sighup_reopens_the_log(self):
        """Defect 9: logrotate moves the file and sends SIGHUP; the agent must write to the new file."""
        a = self.agent("--crl-refresh", "3600")
        n = int(a.wait_for(r"listening on [^\n]*\((\d+) workers?, SO_REUSEPORT\)").group(1))
        for i in range(n):
            a.wait_for(rf"worker {i} started")
        os.rename(a.log, a.log + ".1")
        os.kill(a.p.pid, signal.SIGHUP)
        deadline = time.monotonic() + 20
        while not os.path.exists(a.log):
            self.assertLess(time.monotonic(), deadline, "no new log file")
            time.sleep(0.05)
        # The parent reopens the file, then hands it to each worker over a socket: a worker takes it up when its
        # event loop gets there. Wait until every worker holds the new file and none the old one.
        def holds(pid, path):
            try:
                return any(os.readlink(f"/proc/{pid}/fd/{fd}") == path for fd in os.listdir(f"/proc/{pid}/fd"))
            except FileNotFoundError:
                return False
        kids = proc_children(a.p.pid)
        self.assertEqual(len(kids), n)
        while not all(holds(k, a.log) and not holds(k, a.log + ".1") for k in kids):
            self.assertLess(time.monotonic(), deadline, "a worker kept writing to the rotated log")
            time.sleep(0.05)
        for _ in range(4):  # reach every worker
            self.assertEqual(self.curl(a, "ops").returncode, 0)
        a.wait_for(r"accepted peer=[^\n]*CN=ops\"")
        self.assertEqual(a.text().count("accepted peer="), 4)

    def test_certificate_subject_escaped(self):
        """Defect 9: a subject with quotes and a newline could forge fields and lines in the log."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
        import datetime
        with open(f"{self.p}/ca.key", "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(self.ca, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        evil = 'evil" reason=ok\n2026-01-01T00:00:00.000Z minet-agent[1]: accepted peer=6.6.6.6:1 subject="x'
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, evil)]))
                .issuer_name(ca.subject).public_key(key.public_key()).serial_number(0x7e57ab1e)
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        cp, kp = os.path.join(self.d, "evil.pem"), os.path.join(self.d, "evil.key")
        with open(cp, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kp, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        a = self.agent()
        p = ta.curl(a.port, self.ca, cp, kp)
        self.assertEqual(p.returncode, 0, p.stderr)
        line = a.wait_for(r"accepted peer=127[^\n]*").group(0)
        self.assertIn('subject="/CN=evil\\" reason=ok\\x0a2026', line)
        self.assertEqual(len(re.findall(r'(?<!\\)"', line)), 2)  # only the field's own quotes are bare
        self.assertNotIn("6.6.6.6", a.text().split(line)[1] if line in a.text() else "")
        self.assertFalse(re.search(r"^2026-01-01", a.text(), re.M))


if __name__ == "__main__":
    unittest.main()

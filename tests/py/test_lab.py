"""The running lab (`minet up`, issue 4) with real packets and real tools: nmap, curl, minet mgmt, TCP/UDP/ICMP
probes between hosts, compared with what `minet flow` / `minet route` / `minet verify` predict.

Every cluster gets a unique per-run name ("t" + 4 random hex + "-" + a suffix); each test class brings its own
cluster up in setUpClass and down in tearDownClass (also when setUpClass fails half-way), and tearDownModule is a
safety net that downs every name this module used and deletes the extra namespaces it made. Traffic goes only to
hosts in those namespaces. Needs root (skipped otherwise), nmap, curl and nft.
"""
import errno
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from cli_common import MINET, ROOT

RUN = secrets.token_hex(2)
MGMT_IP = "198.51.100.10"
HOST_VIP = "198.18.0.16"
LB_PORTS = {9000, 9003, 1438, 1440, 1452}
OTHER_PORTS = {22, 80, 443, 1433, 3342, 5022}
NVA_IP = "10.0.2.4"
STATE = "/run/minet"
GOLDEN = os.path.join(ROOT, "tests", "golden", "compile-default.txt")

IS_ROOT = os.geteuid() == 0
HAVE_TOOLS = all(shutil.which(t) for t in ("nmap", "curl", "nft", "ip"))
need_root = unittest.skipUnless(IS_ROOT and HAVE_TOOLS, "lab tests need root, nmap, curl, nft and ip")

_names = set()       # every cluster name this module used
_extra_ns = set()    # namespaces the tests made themselves
_procs = []          # processes the tests started (Popen)


def cname(suffix):
    n = f"t{RUN}-{suffix}"
    assert len(n) <= 12 and all(c.isalnum() or c == "-" for c in n), n
    _names.add(n)
    return n


def minet(*args, timeout=60, stdin=None):
    return subprocess.run([MINET] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          input=stdin)


def sh(*args, timeout=60, stdin=None):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, input=stdin)


def ex(name, host, *cmd, timeout=60, stdin=None):
    return minet("exec", host, "--name", name, "--", *cmd, timeout=timeout, stdin=stdin)


def namespaces(prefix):
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith(prefix))
    except FileNotFoundError:
        return []


def cluster_processes(name):
    """pids whose command line belongs to cluster `name` (agents name its state dir; lbd has --name N)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv)
        if f"{STATE}/{name}/".encode() in text or (b"lbd" in argv and name.encode() in argv):
            out.append(int(pid))
    return out


def leftovers(name):
    """What of cluster `name` is still there: namespaces, state dir, processes."""
    return {"namespaces": namespaces(f"minet-{name}-"), "state": os.path.exists(f"{STATE}/{name}"),
            "processes": cluster_processes(name)}


NOTHING = {"namespaces": [], "state": False, "processes": []}


def sanitizer_reports(name):
    """ASan/UBSan reports in the cluster's process logs (agents, prober), before down removes them."""
    out, d = [], f"{STATE}/{name}/logs"
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        text = read_text(os.path.join(d, f))
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                i = text.index(marker)
                out.append(f"{f}: {text[max(0, i - 200):i + 1500]}")
    return out


def down(name):
    return minet("down", "--name", name, timeout=60)


def up(name, topology=None, timeout=60):
    r = minet("up", *([topology] if topology else []), "--name", name, timeout=timeout)
    if r.returncode != 0:
        down(name)
        raise AssertionError(f"minet up --name {name} failed ({r.returncode}): {r.stderr}")
    return r


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_text(path):
    with open(path) as f:
        return f.read()


def state(name):
    return read_json(f"{STATE}/{name}/state.json")


def lb_status(name):
    try:
        return read_json(f"{STATE}/{name}/lb.json")
    except (OSError, ValueError):
        return None


def pki(name, what):
    return f"{STATE}/{name}/pki/{what}"


def mgmt(name, host, port=9000, target=MGMT_IP, timeout=10):
    """A full mTLS request through the load balancer from host; returns (exit status, parsed body or None).
    The default timeout is for requests that must succeed (ASan agents on a loaded machine are slow); a request
    expected to fail gives a short one."""
    r = ex(name, host, MINET, "mgmt", f"{target}:{port}", "GET", "/v1/status", "--cert", pki(name, "operator.pem"),
           "--key", pki(name, "operator.key"), "--ca", pki(name, "ca.pem"), "--timeout", timeout,
           timeout=timeout + 10)
    try:
        body = json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError:
        body = None
    return r.returncode, body


def curl(name, host, port=9000, local_port=None, connect_timeout=5):
    # a connection the firewall drops fails at connect_timeout (callers expecting that give 1 s); once connected,
    # the TLS handshake and request get 10 s more, which only catches a hang
    args = ["curl", "-sS", "--connect-timeout", connect_timeout, "--max-time", connect_timeout + 10,
            "--cert", pki(name, "operator.pem"), "--key", pki(name, "operator.key"), "--cacert", pki(name, "ca.pem")]
    if local_port:
        args += ["--local-port", local_port]
    r = ex(name, host, *args, f"https://{MGMT_IP}:{port}/v1/status", timeout=connect_timeout + 10)
    try:
        return r.returncode, json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError:
        return r.returncode, None


def nmap_open(name, host, ports, target=MGMT_IP):
    # -T5 waits as little as 50 ms for an answer: an nmap starved of CPU for longer (a loaded machine) could call
    # an open port filtered; an answer within 500 ms is always taken (a dropped probe costs 2 x 0.5 s)
    r = ex(name, host, "nmap", "-Pn", "-n", "-T5", "--min-rtt-timeout", "500ms", "--max-rtt-timeout", "1s",
           "--max-retries", "1", "-p", ",".join(map(str, sorted(ports))),
           "-oG", "-", target, timeout=120)
    assert r.returncode == 0, r.stderr
    line = next((l for l in r.stdout.splitlines() if "Ports:" in l), None)
    assert line, r.stdout
    found = {}
    for item in line.split("Ports:", 1)[1].split("\t")[0].split(","):
        fields = item.strip().split("/")
        found[int(fields[0])] = fields[1]
    assert set(found) == set(ports), found
    return {p for p, s in found.items() if s == "open"}


def fabric_ruleset(name):
    r = ex(name, "fabric", "nft", "list", "ruleset")
    assert r.returncode == 0, r.stderr
    return r.stdout


def fabric_routing(name):
    r = ex(name, "fabric", "sh", "-c", "ip rule; ip route show table all | grep -v '^local\\|table local'")
    return r.stdout


def apply_routes(name, path):
    return minet("apply", "--name", name, "--routes", path)


def apply_nsg(name, path):
    return minet("apply", "--name", name, "--nsg", path)


def export_default(dirpath):
    r = minet("topology", "--default", "--export", dirpath)
    assert r.returncode == 0, r.stderr
    return {k: os.path.join(dirpath, f"{k}.json") for k in ("tags", "nsg", "routes")}


def write_json(dirpath, fname, obj):
    p = os.path.join(dirpath, fname)
    with open(p, "w") as f:
        json.dump(obj, f, indent=1)
    return p


def nsg_rule(name, prio, direction, access, proto, src, dst, dport="*", sport="*"):
    p = {"protocol": proto, "access": access, "priority": prio, "direction": direction,
         "sourceAddressPrefix": src, "destinationAddressPrefix": dst, "sourcePortRange": sport}
    if isinstance(dport, list):
        p["destinationPortRanges"] = dport
    else:
        p["destinationPortRange"] = dport
    return {"name": name, "properties": p}


def nsg_doc(rules, name="lab-nsg"):
    return {"name": name, "properties": {"securityRules": rules}}


def route_entry(name, prefix, hop, ip=None):
    p = {"addressPrefix": prefix, "nextHopType": hop}
    if ip:
        p["nextHopIpAddress"] = ip
    return {"name": name, "properties": p}


def with_route(routes_doc, *extra, drop=()):
    doc = json.loads(json.dumps(routes_doc))
    doc["properties"]["routes"] = [r for r in doc["properties"]["routes"] if r["name"] not in drop] + list(extra)
    return doc


FORCED = route_entry("forced-tunnel", "0.0.0.0/0", "VirtualAppliance", NVA_IP)


def start_bg(name, host, *cmd):
    """A long-running command inside host; returns the Popen (its pid is the command's: minet exec execs)."""
    p = subprocess.Popen([MINET, "exec", host, "--name", name, "--", *map(str, cmd)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    _procs.append(p)
    return p


def stop_bg(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if p.stdout:
        p.stdout.close()


# ---- scripts run inside the hosts ----

PEER_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
print("ready", flush=True)
s.settimeout(20)
c, a = s.accept()
print(a[0], flush=True)
c.close()
"""

CONNECT = r"""
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
"""

UDP_ECHO = r"""
import select, socket, sys
ss = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(p))); ss.append(s)
print("ready", flush=True)
while True:
    for s in select.select(ss, [], [])[0]:
        d, a = s.recvfrom(4096)
        s.sendto(d, a)
"""

# One process per source host: the probes from it, in parallel threads. stdin: a JSON list of
# {"id", "proto", "dst", "dport", "sport"}; stdout: {"id": "reached" | "blocked" | "other:..."}.
PROBER = r"""
import errno, json, os, socket, struct, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
T = float(sys.argv[1])
jobs = json.load(sys.stdin)

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff

def icmp(j):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        ident = j["sport"] & 0xffff
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"minet-lab-probe"
        pkt = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
        s.sendto(pkt, (j["dst"], 0))
        end = time.time() + T
        while True:
            left = end - time.time()
            if left <= 0:
                return "blocked"
            s.settimeout(left)
            try:
                d, a = s.recvfrom(2048)
            except socket.timeout:
                return "blocked"
            ihl = (d[0] & 15) * 4
            t, code, _, rid, _ = struct.unpack("!BBHHH", d[ihl:ihl + 8])
            if t == 0 and rid == ident and a[0] == j["dst"]:
                return "reached"
    finally:
        s.close()

def one(j):
    try:
        if j["proto"] == "icmp":
            return icmp(j)
        tcp = j["proto"] == "tcp"
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", j["sport"]))
            s.settimeout(T)
            if tcp:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                try:
                    e = s.connect_ex((j["dst"], j["dport"]))
                except socket.timeout:
                    return "blocked"
                if e in (0, errno.ECONNREFUSED):
                    return "reached"
                if e in (errno.EAGAIN, errno.ETIMEDOUT, errno.EINPROGRESS):
                    return "blocked"
                return "other:" + errno.errorcode.get(e, str(e))
            s.connect((j["dst"], j["dport"]))
            s.send(b"minet-lab-probe")
            try:
                s.recv(4096)
                return "reached"
            except socket.timeout:
                return "blocked"
            except ConnectionRefusedError:
                return "reached"
        finally:
            s.close()
    except OSError as e:
        return "other:%s" % e

with ThreadPoolExecutor(max_workers=min(64, max(1, len(jobs)))) as pool:
    res = list(pool.map(one, jobs))
print(json.dumps({j["id"]: r for j, r in zip(jobs, res)}))
"""


def setUpModule():
    if IS_ROOT:
        os.makedirs(STATE, exist_ok=True)


def tearDownModule():
    for p in _procs:
        stop_bg(p)
    for n in sorted(_names):
        if os.path.exists(f"{STATE}/{n}") or namespaces(f"minet-{n}-"):
            down(n)
    for ns in sorted(_extra_ns):
        if os.path.exists(f"/run/netns/{ns}"):
            sh("ip", "netns", "del", ns)


class ClusterCase(unittest.TestCase):
    """A test class with its own running cluster (suffix SUFFIX), down again however the class ends."""
    SUFFIX = None

    @classmethod
    def setUpClass(cls):
        cls.name = cname(cls.SUFFIX)
        cls.tmp = tempfile.mkdtemp(prefix="minet-lab-")
        try:
            up(cls.name)
            cls.files = export_default(cls.tmp)
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        try:
            reports = sanitizer_reports(cls.name)
            down(cls.name)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer reports in the cluster's logs:\n" + "\n".join(reports)[:4000])


# ---------------------------------------------------------------------------------------------------------------

@need_root
class TestManagementEndpoint(ClusterCase):
    """The seed's firewall test, a full mTLS request, outbound NAT, status."""
    SUFFIX = "ep"

    def test_nmap_from_each_source(self):
        ports = LB_PORTS | OTHER_PORTS
        expect = {"internet": set(), "sqlmgmt": LB_PORTS, "corpsaw": {9000, 9003}, "corppublic": {9000, 9003}}
        with ThreadPoolExecutor(4) as pool:
            got = dict(zip(expect, pool.map(lambda h: nmap_open(self.name, h, ports), expect)))
        self.assertEqual(got, expect)

    def test_mtls_through_the_balancer(self):
        seen = set()
        for port in sorted(LB_PORTS):
            rc, body = mgmt(self.name, "sqlmgmt", port)
            self.assertEqual(rc, 0, f"minet mgmt via port {port}")
            self.assertIn(body.get("node"), ("node0", "node1"))
            seen.add(body["node"])
            rc, body = curl(self.name, "sqlmgmt", port)
            self.assertEqual(rc, 0, f"curl via port {port}")
            self.assertIn(body.get("node"), ("node0", "node1"))
        for host in ("corpsaw", "corppublic"):
            rc, body = curl(self.name, host, 9003)
            self.assertEqual((rc, body and body.get("node") in ("node0", "node1")), (0, True), host)
            rc, _ = curl(self.name, host, 1440, connect_timeout=1)
            self.assertNotEqual(rc, 0, f"{host} must not reach 1440")
        rc, _ = curl(self.name, "internet", 9000, connect_timeout=1)
        self.assertNotEqual(rc, 0)

    def peer_seen_by(self, server, client, addr, port=12000):  # 443 on storage hosts is Azurite (test_storage.py)
        p = start_bg(self.name, server, "python3", "-c", PEER_SERVER, port)
        try:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            r = ex(self.name, client, "python3", "-c", CONNECT, addr, port)
            self.assertEqual(r.returncode, 0, r.stderr)
            return p.stdout.readline().strip()
        finally:
            stop_bg(p)

    def test_outbound_nat(self):
        # pair region: SNAT to the management IP; own region (AzureCloud.westeurope): the node's own address
        self.assertEqual(self.peer_seen_by("storage-ne", "node0", "198.18.20.10"), MGMT_IP)
        self.assertEqual(self.peer_seen_by("storage-we", "node0", "198.18.10.10"), "10.0.0.4")
        self.assertEqual(self.peer_seen_by("storage-we", "node1", "198.18.10.10"), "10.0.0.5")
        # SqlManagement is AzureCloud but not the region's: NATed too
        self.assertEqual(self.peer_seen_by("sqlmgmt", "node1", "198.18.1.10"), MGMT_IP)

    def test_status_json(self):
        r = minet("status", "--name", self.name, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)
        self.assertEqual(st["managementIp"], MGMT_IP)
        hosts = {h["name"]: h for h in st["hosts"]}
        self.assertEqual(set(hosts), {"fabric", "node0", "node1", "sqlmgmt", "corpsaw", "corppublic", "internet",
                                      "storage-we", "storage-ne", "app", "nva",
                                      "aad", "monitor", "eventhub-we", "eventhub-ne", "cloud-we"})  # dependencies
        self.assertEqual(hosts["node0"]["addresses"][0], "10.0.0.4")
        self.assertEqual(hosts["node1"]["role"], "node")
        self.assertEqual(hosts["nva"]["addresses"], [NVA_IP])
        self.assertEqual(sorted(namespaces(f"minet-{self.name}-")),
                         sorted(f"minet-{self.name}-{h}" for h in hosts))


@need_root
class TestWhichLayer(ClusterCase):
    """NSG open to the management ports from Any: the built-in firewall still stops the internet host;
    without it (one node, then both) the ports open."""
    SUFFIX = "fw"

    def test_builtin_firewall_does_the_work(self):
        doc = read_json(self.files["nsg"])
        for r in doc["properties"]["securityRules"]:
            if r["name"] == "allow_management_inbound":
                r["properties"]["sourceAddressPrefix"] = "*"
        r = apply_nsg(self.name, write_json(self.tmp, "nsg-any.json", doc))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(nmap_open(self.name, "internet", LB_PORTS | {22, 443}), set())
        self.assertEqual(nmap_open(self.name, "sqlmgmt", LB_PORTS | {22, 443}), LB_PORTS)

        # node0 without its built-in firewall: connections the balancer sends to node0 get through, to node1 not
        r = ex(self.name, "node0", "nft", "delete", "table", "inet", "builtin_fw")
        self.assertEqual(r.returncode, 0, r.stderr)
        results = []
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda lp: curl(self.name, "internet", 9000, local_port=lp, connect_timeout=1),
                                    range(41000, 41016)))
        nodes = [body.get("node") for rc, body in results if rc == 0]
        self.assertTrue(nodes, "no connection from the internet reached node0")
        self.assertEqual(set(nodes), {"node0"})
        self.assertLess(len(nodes), len(results), "every connection reached node0: the balancer used only one node?")

        # the rules flushed in node1 too: the policy stays drop, so nothing gets in even from sqlmgmt...
        r = ex(self.name, "node1", "nft", "flush", "chain", "inet", "builtin_fw", "input")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ex(self.name, "node1", "nft", "delete", "table", "inet", "builtin_fw")
        self.assertEqual(r.returncode, 0, r.stderr)
        # ...and without the table at all: every management port open from the internet
        self.assertEqual(nmap_open(self.name, "internet", LB_PORTS | {22, 443}), LB_PORTS)
        rc, body = mgmt(self.name, "internet", 1452)
        self.assertEqual(rc, 0)
        # the NSG back to the seed's: the NSG now does the work alone
        r = apply_nsg(self.name, self.files["nsg"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(nmap_open(self.name, "internet", LB_PORTS | {22, 443}), set())
        self.assertEqual(nmap_open(self.name, "corpsaw", LB_PORTS | {22, 443}), {9000, 9003})


VERIFY_ARGS = ["--host-vip", HOST_VIP, "--vnet", "10.0.0.0/16", "--subnet", "10.0.0.0/24", "--region", "westeurope",
               "--pair", "northeurope"]


@need_root
class TestForcedTunnelling(ClusterCase):
    SUFFIX = "ft"

    def verify(self, routes):
        r = minet("verify", "--tags", self.files["tags"], *VERIFY_ARGS, "--nsg", self.files["nsg"], "--routes", routes,
                  "--json")
        self.assertIn(r.returncode, (0, 1), r.stderr)
        doc = json.loads(r.stdout)
        return r.returncode, {c["id"]: c["holds"] for c in doc["contracts"]}

    def mgmt_ok(self, port, wait):
        """Does a management request through the balancer succeed (retrying for `wait` seconds)?"""
        end = time.time() + wait
        while True:
            rc, body = mgmt(self.name, "sqlmgmt", port, timeout=3)
            if rc == 0 or time.time() > end:
                return rc == 0 and body.get("node") in ("node0", "node1")
            time.sleep(0.2)

    def works(self, port):
        """A request that must succeed: retried with a bound that only catches a hang (after a route change the
        prober may have taken the nodes out: threshold x interval to put them back, slower under ASan and load)."""
        return self.mgmt_ok(port, 30)

    def test_forced_tunnelling(self):
        routes = read_json(self.files["routes"])
        bad = write_json(self.tmp, "rt-bad.json", {"name": "ft", "properties": {"routes": [FORCED]}})
        good = write_json(self.tmp, "rt-good.json", with_route(routes, FORCED))
        # the prediction
        rc, holds = self.verify(bad)
        self.assertEqual(rc, 1)
        self.assertFalse(holds["route-sqlmanagement"])
        self.assertFalse(holds["route-corpnetsaw"])
        rc, holds = self.verify(good)
        self.assertEqual(rc, 0)
        self.assertTrue(holds["route-sqlmanagement"])
        # what happens
        self.assertTrue(self.works(9000))
        r = apply_routes(self.name, bad)
        self.assertEqual(r.returncode, 0, r.stderr)
        for port in (9000, 1452):
            self.assertFalse(self.mgmt_ok(port, 0), f"port {port} works though replies go through the nva")
        # outbound connections still start through the appliance (it saw them start)
        self.assertEqual(ex(self.name, "node0", "python3", "-c", CONNECT, "198.18.10.10", 1).returncode, 1)
        r = apply_routes(self.name, good)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the prober may have taken the nodes out meanwhile (the probe replies went to the nva too): allow it
        # threshold x interval to put them back
        for port in (9000, 1452):
            self.assertTrue(self.works(port), f"port {port} still broken with the mandatory routes")
        r = apply_routes(self.name, bad)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.mgmt_ok(9003, 0))
        r = apply_routes(self.name, self.files["routes"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.works(9003))


@need_root
class TestApplyRoutesNamespace(ClusterCase):
    SUFFIX = "ar"

    def test_apply_routes_leaves_the_callers_namespace_alone(self):
        """`minet apply --routes` must change the fabric's routing tables only, whatever namespace it runs in.
        Run from a bystander namespace that has routes in tables 100 and 101 (as the root namespace might)."""
        by = f"t{RUN}-by"
        _extra_ns.add(by)
        self.addCleanup(sh, "ip", "netns", "del", by)
        self.assertEqual(sh("ip", "netns", "add", by).returncode, 0)
        for cmd in (["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"], ["ip", "link", "set", "d0", "up"],
                    ["ip", "link", "set", "d1", "up"],
                    ["ip", "route", "add", "192.0.2.0/24", "dev", "d0", "table", "100"],
                    ["ip", "route", "add", "0.0.0.0/0", "dev", "d0", "table", "100"],
                    ["ip", "route", "add", "192.0.2.0/24", "dev", "d0", "table", "101"],
                    # routes the fabric's table 100 has too (another tool's policy routing might)
                    ["ip", "route", "add", "throw", "198.18.1.0/24", "table", "100", "proto", "static"],
                    ["ip", "route", "add", "blackhole", "10.0.0.0/8", "table", "100", "proto", "static"]):
            r = sh("ip", "netns", "exec", by, *cmd)
            self.assertEqual(r.returncode, 0, r.stderr)
        before = sh("ip", "netns", "exec", by, "ip", "route", "show", "table", "all").stdout
        expected_fabric = fabric_routing(self.name)
        good = write_json(self.tmp, "rt-good2.json", with_route(read_json(self.files["routes"]), FORCED))
        for f in (good, self.files["routes"]):
            r = sh("ip", "netns", "exec", by, MINET, "apply", "--name", self.name, "--routes", f)
            self.assertEqual(sh("ip", "netns", "exec", by, "ip", "route", "show", "table", "all").stdout, before,
                             f"minet apply --routes {os.path.basename(f)} deleted routes in the namespace it was "
                             "run from")
            self.assertEqual(r.returncode, 0, f"apply {os.path.basename(f)} from another namespace: {r.stderr}")
        self.assertEqual(fabric_routing(self.name), expected_fabric,
                         "after applying X then the original routes, the fabric's routing differs")


# ---- the differential: minet flow / minet route against real packets ----

def nsg_b(default_nsg):
    """An NSG with Any management access, per-address and per-protocol rules, a source-port rule, and the
    default rules left to decide the rest."""
    sub = "10.0.0.0/24"
    return nsg_doc([
        nsg_rule("mgmt_any", 100, "Inbound", "Allow", "Tcp", "*", sub, ["9000", "9003", "1438", "1440", "1452"]),
        nsg_rule("no_udp_9000_from_vnet", 110, "Inbound", "Deny", "Udp", "VirtualNetwork", "*", "9000"),
        nsg_rule("udp_5000_from_internet", 120, "Inbound", "Allow", "Udp", "Internet", sub, "5000"),
        nsg_rule("icmp_to_node0", 130, "Inbound", "Allow", "Icmp", "198.18.0.0/16", "10.0.0.4"),
        nsg_rule("no_ssh_from_app", 140, "Inbound", "Deny", "Tcp", "10.0.1.0/24", "*", "22"),
        nsg_rule("nva_ssh_low_ports", 150, "Inbound", "Allow", "Tcp", NVA_IP, sub, ["22", "1433"], "20000-24999"),
        nsg_rule("nva_rest", 160, "Inbound", "Deny", "*", NVA_IP, "*"),
        nsg_rule("corp_443", 170, "Inbound", "Allow", "Tcp", "CorpNetSaw", sub, "443"),
        nsg_rule("deny_public_tcp", 200, "Inbound", "Deny", "Tcp", "Internet", "*", "*"),
        nsg_rule("out_mgmt", 100, "Outbound", "Allow", "Tcp", sub, "AzureCloud", ["443", "12000"]),
        nsg_rule("out_no_storage_ne", 105, "Outbound", "Deny", "*", sub, "Storage.northeurope"),
        nsg_rule("out_icmp", 110, "Outbound", "Allow", "Icmp", sub, "Internet"),
        nsg_rule("out_udp_lab", 120, "Outbound", "Allow", "Udp", sub, "198.18.0.0/15", "5000"),
        nsg_rule("out_not_node1", 130, "Outbound", "Deny", "*", "*", "10.0.0.5", "*"),
        nsg_rule("out_tcp_22", 140, "Outbound", "Deny", "Tcp", "*", "*", "22"),
    ], name="nsg-b")


def routes_c(default_routes):
    return with_route(default_routes, FORCED,
                      route_entry("app-via-nva", "10.0.1.0/24", "VirtualAppliance", NVA_IP),
                      route_entry("corppublic-missing-nva", "CorpNetPublic", "VirtualAppliance", "10.0.9.9"),
                      route_entry("aad-none", "198.18.13.0/24", "None"),
                      route_entry("node1-none", "10.0.0.5/32", "None"),
                      drop=("mi-corpnetpublic-internet",))


class Differential:
    """Predicts what a real probe meets, from `minet flow` (the NSG) and `minet route` (the route table), plus
    what the lab adds: the load balancer's DNAT, the fabric that answers nothing itself, the public/private split,
    a stateful appliance, and (optionally) the nodes' built-in firewall."""

    def __init__(self, hosts, files, nsg, routes, builtin):
        self.hosts = hosts          # name -> (address, kind: node | vnet | public)
        self.addr_kind = {a: k for a, k in hosts.values()}
        self.files, self.nsg, self.routes, self.builtin = files, nsg, routes, builtin
        self.nodes = sorted(a for a, k in hosts.values() if k == "node")
        self.hop_cache = {}

    def hop(self, addr):
        if addr not in self.hop_cache:
            r = minet("route", "--host-vip", HOST_VIP, "--tags", self.files["tags"], "--vnet", "10.0.0.0/16",
                      "--routes", self.routes, "--dst", addr, "--json")
            assert r.returncode == 0, r.stderr
            d = json.loads(r.stdout)
            t = d["nextHopType"]
            if t in ("Internet", "VnetLocal"):
                self.hop_cache[addr] = "direct"
            elif t == "VirtualAppliance" and d["nextHopIpAddress"] == NVA_IP:
                self.hop_cache[addr] = "nva"
            else:
                self.hop_cache[addr] = "drop"
        return self.hop_cache[addr]

    def nsg_queries(self, f):
        """The NSG evaluations a flow needs: (direction, proto, src, sport, dst, dport)."""
        qs = []
        for d in self.final_dsts(f):
            if self.addr_kind.get(f["src"]) == "node":
                qs.append(("outbound", f["proto"], f["src"], f["sport"], d, f["dport"]))
            if self.addr_kind.get(d) == "node":
                qs.append(("inbound", f["proto"], f["src"], f["sport"], d, f["dport"]))
        return qs

    def final_dsts(self, f):
        if f["dst"] == MGMT_IP:
            return self.nodes if f["proto"] == "tcp" and f["dport"] in LB_PORTS else []
        return [f["dst"]]

    @staticmethod
    def line(q):
        d, p, s, sp, t, tp = q
        return f"{d} {p} {s}:{sp} {t}:{tp}" if p in ("tcp", "udp") else f"{d} {p} {s} {t}"

    def evaluate(self, flows):
        qs = sorted({q for f in flows for q in self.nsg_queries(f)})
        r = minet("flow", "--host-vip", HOST_VIP, "--tags", self.files["tags"], "--vnet", "10.0.0.0/16",
                  "--nsg", self.nsg, "--routes", self.routes, "--batch", "-",
                  stdin="".join(self.line(q) + "\n" for q in qs))
        assert r.returncode == 0, r.stderr
        out = r.stdout.splitlines()
        assert len(out) == len(qs), (len(out), len(qs), r.stderr)
        self.allowed = {}
        for q, o in zip(qs, out):
            assert o.split("\t")[0] in ("Allow", "Deny"), o
            self.allowed[q] = o.startswith("Allow")
        return {f["id"]: self.predict(f) for f in flows}

    def builtin_allows(self, src, proto, dport):
        if not self.builtin:
            return True
        if src == HOST_VIP or src.startswith("10.0.0."):
            return True
        if proto != "tcp":
            return False
        if src.startswith("198.18.1."):
            return dport in LB_PORTS
        if src.startswith(("198.18.2.", "198.18.3.")):
            return dport in (9000, 9003)
        return False

    def predict(self, f):
        dsts = self.final_dsts(f)
        if not dsts:
            return "blocked"  # the fabric itself answers nothing but the balancer's ports
        answers = {self.predict_to(f, d, via_lb=f["dst"] == MGMT_IP) for d in dsts}
        return answers.pop() if len(answers) == 1 else None  # None: depends on the balancer's choice

    def predict_to(self, f, dst, via_lb):
        skind, dkind = self.addr_kind[f["src"]], self.addr_kind[dst]
        proto, src = f["proto"], f["src"]
        if skind == "public" and dkind != "public" and not via_lb:
            return "blocked"  # private addresses are not reachable from the Internet
        for q in self.nsg_queries(dict(f, dst=dst)):
            if not self.allowed[q]:
                return "blocked"
        if dkind == "node" and not self.builtin_allows(src, proto, f["dport"]):
            return "blocked"
        # the subnet's route table steers what leaves a node: forward packets when the source is a node,
        # reply packets when the destination is one
        fwd = self.hop(dst) if skind == "node" else "direct"
        rev = self.hop(src) if dkind == "node" else "direct"
        if "drop" in (fwd, rev):
            return "blocked"
        if rev == "nva" and fwd != "nva":
            # the appliance sees only replies: it drops TCP (no SYN) and ICMP echo replies; UDP is new to it
            return "reached" if proto == "udp" else "blocked"
        return "reached"


@need_root
class TestDifferential(ClusterCase):
    SUFFIX = "df"
    TCP_PORTS = (9000, 1433, 22, 443)
    UDP_PORTS = (5000, 9000)
    TIMEOUT = 3.0  # no answer within it: "blocked". 1 s could miss a reply from a starved echo server (load, ASan)

    @classmethod
    def prepare(cls):
        st = json.loads(minet("status", "--name", cls.name, "--json").stdout)
        kind = {"node": "node", "app": "vnet", "nva": "vnet"}
        cls.hosts = {h["name"]: (h["addresses"][0], kind.get(h["role"], "public"))
                     for h in st["hosts"] if h["role"] != "fabric"}
        cls.echo = []
        for h in cls.hosts:
            p = start_bg(cls.name, h, "python3", "-c", UDP_ECHO, *cls.UDP_PORTS)
            cls.echo.append(p)
        for p in cls.echo:
            assert p.stdout.readline().strip() == "ready"
        cls.sport = 20000

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, "echo", []):
            stop_bg(p)
        super().tearDownClass()

    def flows(self):
        out = []
        for sname, (saddr, skind) in sorted(self.hosts.items()):
            dsts = [a for n, (a, _) in sorted(self.hosts.items()) if n != sname]
            if skind != "node":
                dsts.append(MGMT_IP)  # (a node to the management IP would hairpin: not modelled)
            for d in dsts:
                for proto, ports in (("tcp", self.TCP_PORTS), ("udp", self.UDP_PORTS), ("icmp", (0,))):
                    for port in ports:
                        self.__class__.sport += 1
                        out.append({"id": f"{sname}>{d}/{proto}/{port}#{self.sport}", "host": sname,
                                    "proto": proto, "src": saddr, "dst": d, "dport": port, "sport": self.sport})
        return out

    def probe(self, flows):
        by_host = {}
        for f in flows:
            by_host.setdefault(f["host"], []).append(
                {k: f[k] for k in ("id", "proto", "dst", "dport", "sport")})

        def run(item):
            host, jobs = item
            r = ex(self.name, host, "python3", "-c", PROBER, self.TIMEOUT, stdin=json.dumps(jobs), timeout=120)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

        res = {}
        with ThreadPoolExecutor(len(by_host)) as pool:
            for part in pool.map(run, by_host.items()):
                res.update(part)
        return res

    def check_config(self, label, nsg, routes, builtin):
        flows = self.flows()
        pred = Differential(self.hosts, self.files, nsg, routes, builtin).evaluate(flows)
        real = self.probe(flows)
        compared = [f for f in flows if pred[f["id"]] is not None]
        wrong = [(f["id"], pred[f["id"]], real[f["id"]]) for f in compared if pred[f["id"]] != real[f["id"]]]
        reached = sum(1 for f in compared if real[f["id"]] == "reached")
        return compared, reached, wrong

    def test_flow_and_route_predict_real_packets(self):
        routes = read_json(self.files["routes"])
        nsgb = write_json(self.tmp, "nsg-b.json", nsg_b(read_json(self.files["nsg"])))
        rc = write_json(self.tmp, "rt-c.json", routes_c(routes))
        rbad = write_json(self.tmp, "rt-bad.json", {"name": "ft", "properties": {"routes": [FORCED]}})
        configs = [("A: seed NSG and routes, built-in firewall", None, None, True),
                   ("B: NSG-B, seed routes", nsgb, None, False),
                   ("C: NSG-B, forced tunnel + UDRs", None, rc, False),
                   ("D: seed NSG, forced tunnel without the mandatory routes", self.files["nsg"], rbad, False)]
        total, report, cur_nsg, cur_routes = 0, [], self.files["nsg"], self.files["routes"]
        counts = []
        for label, nsg, routes_f, builtin in configs:
            if not builtin:
                for n in ("node0", "node1"):
                    ex(self.name, n, "nft", "delete", "table", "inet", "builtin_fw")
            if routes_f:
                r = apply_routes(self.name, routes_f)
                self.assertEqual(r.returncode, 0, r.stderr)
                cur_routes = routes_f
            if nsg:
                r = apply_nsg(self.name, nsg)
                self.assertEqual(r.returncode, 0, r.stderr)
                cur_nsg = nsg
            compared, reached, wrong = self.check_config(label, cur_nsg, cur_routes, builtin)
            total += len(compared)
            counts.append((label, len(compared), reached))
            report += [f"{label}: {w[0]}: predicted {w[1]}, real {w[2]}" for w in wrong]
        print(f"\n  differential: {total} flows: " + "; ".join(f"{l.split(':')[0]} {n} ({r} reached)"
                                                            for l, n, r in counts), end=" ", flush=True)
        self.assertGreaterEqual(total, 200)
        for label, n, r in counts:
            self.assertTrue(0 < r < n, f"{label}: {r} of {n} reached: not a discriminating configuration")
        self.assertEqual(report, [], f"{len(report)} mismatches:\n" + "\n".join(report[:60]))


# ---- faults ----

@need_root
class TestAgentFailure(ClusterCase):
    SUFFIX = "ag"
    INTERVAL, THRESHOLD = 1.0, 3

    def wait_health(self, node, healthy, limit):
        t0 = time.time()
        while time.time() - t0 < limit:
            lb = lb_status(self.name)
            if lb:
                b = {x["name"]: x["healthy"] for x in lb["backends"]}
                if b.get(node) == healthy:
                    return time.time() - t0
            time.sleep(0.05)
        return None

    def test_kill_agent_repeatedly(self):
        # 3 probe intervals (+ phase) is when a dead agent leaves the balancer on an idle machine; the bounds here only
        # catch a balancer that never acts (no timed tests: the prober and a restarted ASan agent run late under load)
        limit = 30
        for cycle, node in enumerate(("node0", "node1", "node0")):
            other = "node1" if node == "node0" else "node0"
            pid = state(self.name)["pids"][node] if cycle < 2 else self.restarted[node].pid
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0") if a]
            os.kill(pid, signal.SIGKILL)
            if cycle >= 2:
                self.restarted[node].wait(30)
            took = self.wait_health(node, False, limit)
            self.assertIsNotNone(took, f"cycle {cycle}: {node} never left the balancer")
            lb = lb_status(self.name)
            self.assertEqual(lb["healthy"], 1)
            for port in (9000, 9003, 1452):
                for _ in range(2):
                    rc, body = mgmt(self.name, "sqlmgmt", port)
                    self.assertEqual(rc, 0, f"cycle {cycle}: port {port} failed with {node} down")
                    self.assertEqual(body["node"], other)
            # bring the agent back (same command line, in the node) and wait until it is in the balancer again
            self.restarted[node] = start_bg(self.name, node, *argv)
            took = self.wait_health(node, True, limit)
            self.assertIsNotNone(took, f"cycle {cycle}: restarted {node} not back in the balancer")
        seen = {mgmt(self.name, "sqlmgmt", 9000)[1]["node"] for _ in range(12)}
        self.assertEqual(seen, {"node0", "node1"})

    @classmethod
    def prepare(cls):
        cls.restarted = {}

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, "restarted", {}).values():
            stop_bg(p)
        super().tearDownClass()


@need_root
class TestBadApply(ClusterCase):
    SUFFIX = "ba"

    def test_bad_nsg_changes_nothing(self):
        good = read_json(self.files["nsg"])
        rules = good["properties"]["securityRules"]

        def variant(fn):
            d = json.loads(json.dumps(good))
            fn(d["properties"]["securityRules"])
            return d

        def set_field(i, k, v):
            return lambda rs: rs[i]["properties"].__setitem__(k, v)

        bad = {
            "truncated.json": json.dumps(good)[:200],
            "not-an-object.json": "[1, 2]",
            "priority-out-of-range.json": variant(set_field(0, "priority", 5000)),
            "unknown-tag.json": variant(set_field(1, "sourceAddressPrefix", "NoSuchServiceTag")),
            "bad-protocol.json": variant(set_field(2, "protocol", "Sctp")),
            "bad-port.json": variant(set_field(5, "destinationPortRange", "70000")),
            "bad-access.json": variant(set_field(3, "access", "Maybe")),
            "duplicate-priority.json": variant(lambda rs: rs.append(dict(rs[0], name="again"))),
            "bad-prefix.json": variant(set_field(4, "sourceAddressPrefix", "10.0.0.0/33")),
        }
        self.assertGreater(len(rules), 5)
        before = fabric_ruleset(self.name)
        topo = read_text(f"{STATE}/{self.name}/topology.json")
        for fname, doc in bad.items():
            path = os.path.join(self.tmp, fname)
            with open(path, "w") as f:
                f.write(doc if isinstance(doc, str) else json.dumps(doc))
            r = apply_nsg(self.name, path)
            self.assertEqual(r.returncode, 2, f"{fname}: exit {r.returncode}: {r.stderr}")
            self.assertTrue(r.stderr.strip(), f"{fname}: no message")
            self.assertEqual(fabric_ruleset(self.name), before, f"{fname} changed the fabric's ruleset")
        self.assertEqual(read_text(f"{STATE}/{self.name}/topology.json"), topo)
        self.assertEqual(mgmt(self.name, "sqlmgmt", 9000)[0], 0)
        # a missing file, and a bad route table
        routing = fabric_routing(self.name)
        self.assertEqual(apply_nsg(self.name, os.path.join(self.tmp, "nonexistent.json")).returncode, 2)
        broute = write_json(self.tmp, "bad-routes.json",
                            with_route(read_json(self.files["routes"]),
                                       route_entry("x", "0.0.0.0/0", "VirtualAppliance")))  # no next hop IP
        r = apply_routes(self.name, broute)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(fabric_routing(self.name), routing)
        self.assertEqual(fabric_ruleset(self.name), before)


@need_root
class TestUpDown(unittest.TestCase):
    def assertNothingLeft(self, name):
        deadline = time.time() + 20  # killed processes may take a moment to be reaped (a hang bound)
        while leftovers(name) != NOTHING and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(leftovers(name), NOTHING)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="minet-lab-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_up_refuses_when_a_namespace_exists_and_leaves_it_alone(self):
        name = cname("rb1")
        self.addCleanup(down, name)
        ns = f"minet-{name}-nva"  # not made by minet: up must neither use nor remove it
        _extra_ns.add(ns)
        self.addCleanup(sh, "ip", "netns", "del", ns)
        self.assertEqual(sh("ip", "netns", "add", ns).returncode, 0)
        r = minet("up", "--name", name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(ns + " exists already", r.stderr)
        self.assertEqual(namespaces(f"minet-{name}-"), [ns])
        self.assertFalse(os.path.exists(f"/run/minet/{name}"))

    def test_bad_host_name_is_refused_before_anything_is_made(self):
        # a host named like an interface the fabric has (lo): refused by validation, exit 2, nothing made
        name = cname("rb2")
        self.addCleanup(down, name)
        topo = json.loads(minet("topology", "--default").stdout)
        topo["hosts"].append({"name": "lo", "role": "app", "address": "10.0.3.4"})
        r = minet("up", write_json(self.tmp, "topo.json", topo), "--name", name)
        self.assertEqual(r.returncode, 2)
        self.assertIn("hosts[%d]: name 'lo'" % (len(topo["hosts"]) - 1), r.stderr)
        self.assertNothingLeft(name)

    def test_rollback_when_agents_do_not_answer(self):
        # agents that start but never listen: up gives up after its wait, and must stop them
        name = cname("rb3")
        self.addCleanup(down, name)
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        shutil.copy(MINET, bindir)
        with open(os.path.join(bindir, "minet-agent"), "w") as f:
            f.write("#!/bin/sh\nexec sleep 300\n")
        os.chmod(os.path.join(bindir, "minet-agent"), 0o755)
        # up waits 15 s for the agents (AGENT_READY_S), then rolls back; the fake agents sleep 300 s, so a timeout well under that
        # proves up gave up by itself (a hang bound, not a timing)
        r = subprocess.run([os.path.join(bindir, "minet"), "up", "--name", name], capture_output=True, text=True,
                           timeout=200)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not answer", r.stderr)
        self.assertNothingLeft(name)

    def test_down_after_kill_9(self):
        name = cname("k9")
        self.addCleanup(down, name)
        up(name)
        pids = set(state(name)["pids"].values()) | set(cluster_processes(name))
        self.assertGreaterEqual(len(pids), 3)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        r = down(name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNothingLeft(name)

    def test_two_clusters_coexist(self):
        a, b = cname("c1"), cname("c2")
        self.addCleanup(down, a)
        self.addCleanup(down, b)
        up(a)
        up(b)
        for n in (a, b):
            rc, body = mgmt(n, "sqlmgmt", 9000)
            self.assertEqual((rc, body["node"] in ("node0", "node1")), (0, True), n)
            self.assertEqual(len(namespaces(f"minet-{n}-")), 16)  # fabric, 2 nodes, 13 hosts
        # the other cluster's certificates are not trusted here
        r = ex(a, "sqlmgmt", MINET, "mgmt", f"{MGMT_IP}:9000", "GET", "/v1/status", "--cert", pki(b, "operator.pem"),
               "--key", pki(b, "operator.key"), "--ca", pki(a, "ca.pem"), "--timeout", 2)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(down(a).returncode, 0)
        self.assertNothingLeft(a)
        self.assertEqual(mgmt(b, "sqlmgmt", 1440)[0], 0)
        self.assertEqual(len(namespaces(f"minet-{b}-")), 16)

    def test_up_twice_same_name(self):
        name = cname("tw")
        self.addCleanup(down, name)
        up(name)
        r = minet("up", "--name", name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already up", r.stderr)
        self.assertEqual(mgmt(name, "sqlmgmt", 9000)[0], 0, "a second up broke the running cluster")


@unittest.skipUnless(shutil.which("setpriv") and IS_ROOT, "needs setpriv and root (to drop privileges)")
class TestRootRequired(unittest.TestCase):
    def test_non_root_is_refused_clearly(self):
        name = cname("nr")
        self.addCleanup(down, name)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", MINET]
        for args in (["up", "--name", name], ["down", "--name", name], ["apply", "--name", name, "--nsg", "/dev/null"],
                     ["exec", "sqlmgmt", "--name", name, "--", "true"]):
            r = subprocess.run(nobody + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, f"{args[0]}: {r.stderr}")
            self.assertIn("needs root", r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertEqual(leftovers(name), NOTHING)


class TestCompileGolden(unittest.TestCase):
    def test_compile_default_is_the_golden_file(self):
        r = minet("compile")
        self.assertEqual(r.returncode, 0, r.stderr)
        if os.environ.get("MINET_UPDATE_GOLDEN"):
            with open(GOLDEN, "w") as f:
                f.write(r.stdout)
        with open(GOLDEN) as f:
            golden = f.read()
        if r.stdout != golden:
            import difflib
            diff = "".join(difflib.unified_diff(golden.splitlines(True), r.stdout.splitlines(True), "golden",
                                                "minet compile", n=1))
            self.fail("minet compile differs from tests/golden/compile-default.txt (if intended, regenerate with "
                      "MINET_UPDATE_GOLDEN=1 tests/run test_lab):\n" + diff[:6000])

    def test_compile_is_deterministic_and_names_the_cluster(self):
        a, b = minet("compile", "--name", "zz9"), minet("compile", "--name", "zz9")
        self.assertEqual(a.stdout, b.stdout)
        self.assertIn("# ==== minet-zz9-fabric", a.stdout)
        self.assertIn("# ==== minet-zz9-node1: nftables", a.stdout)


if __name__ == "__main__":
    unittest.main()

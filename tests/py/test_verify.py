"""End-to-end tests of `minet verify` (issue 3) on fixtures written from the seed's tables.

tests/fixtures/verify/ holds the inputs (see its README.md): a small tags file with hand-countable contents
(lab-tags.json), the seed's mandatory NSG and route table, the rule set the service provisions (§5.4, v10 names),
the v9 Terraform copy and the aztfmod stacked v9+v10 copy, the terraform-provider-azurerm acceptance-test
configuration, and a route table without UDRs. Every expected size below is counted by hand from lab-tags.json
(packets = sources × source ports × destinations × destination ports, per protocol; ICMP has no ports), and every
counterexample is replayed through `minet flow` / `minet route`.
"""
import copy
import gzip
import json
import urllib.parse
import os
import unittest

from cli_common import (FIXTURES, TAGS_2022, EXAMPLES, nsg_arm, route, routes_arm, rule, run,
                        tempdir)

FIX = os.path.join(FIXTURES, "verify")
LAB = os.path.join(FIX, "lab-tags.json")
CORPNET = os.path.join(EXAMPLES, "corpnet-tags.json")
VNET, SUBNET = "10.0.0.0/16", "10.0.0.0/24"
MGMT = ["9000", "9003", "1438", "1440", "1452"]

# Address counts of lab-tags.json, by hand.
P = 65536                          # ports
S = 256                            # the /24 subnet
SQL = 32 + 32                      # 13.104.248.32/27, 20.50.3.0/27
SAW = 256 + 65536                  # 65.55.188.0/24, 167.220.0.0/16
PUB = 256 + 65536                  # 94.245.87.0/24, 131.107.0.0/16
AC = 2 ** 21 + 2 ** 24 + 2 ** 22 + 2 ** 24   # /11, /8, /10, /8
ROUTE_TAG_SIZE = {                 # addresses of each route contract's tag
    "route-azurecloud-region": 2 * 65536, "route-azurecloud-pair": 2 * 65536, "route-azuremonitor": 256 + 65536,
    "route-corpnetpublic": PUB, "route-corpnetsaw": SAW, "route-eventhub-region": 256, "route-eventhub-pair": 256,
    "route-sqlmanagement": SQL, "route-storage": 2 * 65536, "route-storage-region": 512,
    "route-storage-pair": 256, "route-azureactivedirectory": 2 * 16384,
}
NSG_IDS = ["in-sqlmanagement", "in-corpnetsaw", "in-corpnetpublic", "in-mi-subnet", "in-health-probe",
           "out-azurecloud", "out-mi-subnet"]
ROUTE_IDS = ["route-subnet-vnetlocal"] + list(ROUTE_TAG_SIZE)
ALL_IDS = NSG_IDS + ROUTE_IDS


def load(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def r(name, prio, d="Inbound", proto="Tcp", src="*", dst="*", ports="*", access="Deny", sport="*"):
    kw = {}
    if isinstance(ports, list):
        kw["destinationPortRanges"], ports = ports, None
    return rule(name, prio, direction=d, access=access, proto=proto, src=src, dst=dst, dport=ports, sport=sport,
                **kw)


def arm_rule(n, p):
    return {"name": n, "properties": p}


class VerifyBase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempdir(self)
        self.n = 0

    def write(self, obj, stem="f"):
        self.n += 1
        return self.tmp.write("%s%d.json" % (stem, self.n), obj)

    @staticmethod
    def shadowed(v):
        """The shadowed-rule warnings (the other kind of warning is the note on VirtualNetwork)."""
        return [w for w in v["warnings"] if w["kind"] == "shadowed"]

    def nsg(self, extra=(), base="mandatory-nsg.json", shift=10, drop=(), name=None):
        """The fixture NSG with every priority raised by shift, rules named in drop removed, extra rules
        (rule() tuples) added; written to a temp file."""
        g = load(base)
        rules = g["properties"]["securityRules"]
        rules[:] = [x for x in rules if x["name"] not in drop]
        for x in rules:
            if x["properties"]["priority"] < 4000:  # deny-all at 4096 stays last
                x["properties"]["priority"] += shift
        rules += [arm_rule(n, p) for n, p in extra]
        if name:
            g["name"] = name
        return self.write(g, "nsg")

    def routes(self, extra=(), base="mandatory-routes.json", drop=(), keep=None):
        t = load(base)
        rs = t["properties"]["routes"]
        rs[:] = [x for x in rs if x["name"] not in drop and (keep is None or x["name"] in keep)]
        rs += [{"name": n, "properties": p} for n, p in extra]
        return self.write(t, "rt")

    def args(self, nsg, routes=None, nic=None, tags=(LAB,), subnet=SUBNET, vnet=VNET, region="westeurope",
             pair="northeurope", extra=()):
        a = ["verify"]
        for t in tags:
            a += ["--tags", t]
        a += ["--vnet", vnet, "--subnet", subnet, "--region", region, "--pair", pair, "--nsg", nsg]
        if nic:
            a += ["--nic-nsg", nic]
        if routes:
            a += ["--routes", routes]
        return a + list(extra)

    def verify(self, nsg, routes=None, nic=None, tags=(LAB,), want_rc=None, extra=(), **kw):
        """--json report; checks the exit code against `compliant`, stderr empty, contract list complete."""
        p = run(self.args(nsg, routes, nic, tags, extra=list(extra) + ["--json"], **kw))
        self.assertEqual(p.stderr, "", p.stderr)
        self.assertIn(p.returncode, (0, 1), p.stdout)
        v = json.loads(p.stdout)
        self.assertEqual(p.returncode, 0 if v["compliant"] else 1)
        self.assertEqual(v["compliant"], not v["violations"])
        self.assertEqual([c["id"] for c in v["contracts"]], ALL_IDS)
        self.assertEqual([c["kind"] for c in v["contracts"]], ["nsg"] * 7 + ["route"] * 13)
        failing = {x["contract"] for x in v["violations"]}
        self.assertEqual({c["id"] for c in v["contracts"] if not c["holds"]}, failing)
        if want_rc is not None:
            self.assertEqual(p.returncode, want_rc, json.dumps(v["violations"], indent=1))
        # Replay every counterexample.
        for x in v["violations"]:
            if x["kind"] == "nsg":
                self.confirm_flow(x, nsg, nic, routes, tags)
            elif x["kind"] == "route":
                self.confirm_route(x, routes, tags)
        return v

    def failing(self, v):
        return sorted({x["contract"] for x in v["violations"]})

    def confirm_flow(self, x, nsg, nic, routes, tags):
        e = x["example"]
        a = ["flow"]
        for t in tags:
            a += ["--tags", t]
        a += ["--vnet", VNET, "--nsg", nsg]
        if nic:
            a += ["--nic-nsg", nic]
        if routes:
            a += ["--routes", routes]
        src = e["src"] + ("" if e["srcPort"] is None else ":%d" % e["srcPort"])
        dst = e["dst"] + ("" if e["dstPort"] is None else ":%d" % e["dstPort"])
        self.assertEqual(e["srcPort"] is None, e["protocol"] == "icmp", e)
        self.assertEqual(e["dstPort"] is None, e["protocol"] == "icmp", e)
        a += ["--direction", "inbound" if x["contract"].startswith("in-") else "outbound", "--protocol",
              e["protocol"], "--src", src, "--dst", dst, "--json"]
        p = run(a)
        self.assertEqual(p.returncode, 1, (x, p.stdout, p.stderr))
        f = json.loads(p.stdout)
        self.assertEqual((f["access"], f["rule"], f["priority"], f["nsg"]),
                         ("Deny", x["rule"], x["priority"], x["nsg"]), x)

    def confirm_route(self, x, routes, tags):
        a = ["route"]
        for t in tags:
            a += ["--tags", t]
        a += ["--vnet", VNET]
        if routes:
            a += ["--routes", routes]
        p = run(a + ["--dst", x["example"]["dst"], "--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        h = json.loads(p.stdout)
        self.assertEqual((h["nextHopType"], h["route"], h["addressPrefix"], h["source"]),
                         (x["example"]["nextHopType"], x["route"], x["addressPrefix"], x["source"]), x)

    def one(self, v, contract):
        xs = [x for x in v["violations"] if x["contract"] == contract]
        self.assertEqual(len(xs), 1, xs)
        return xs[0]


class TestCompliant(VerifyBase):
    def test_exact_mandatory_configuration(self):
        nsg, rt = os.path.join(FIX, "mandatory-nsg.json"), os.path.join(FIX, "mandatory-routes.json")
        for extra in ([], ["--strict"], ["--contracts", "documented"]):
            v = self.verify(nsg, rt, want_rc=0, extra=extra)
            self.assertEqual((v["subnet"], v["region"], v["pair"]), (SUBNET, "westeurope", "northeurope"))
            self.assertTrue(all(c["holds"] for c in v["contracts"]))
            self.assertEqual((v["violations"], self.shadowed(v)), ([], []))
            # the mandatory Internet routes join VirtualNetwork (§1.5): minet says so once
            notes = [w for w in v["warnings"] if w["kind"] == "virtualnetwork"]
            self.assertEqual(len(notes), 1)
            self.assertIn("AllowVnetInBound", notes[0]["message"])

    def test_mandatory_with_customer_rules_and_deny_all(self):
        v = self.verify(os.path.join(FIX, "documented-nsg.json"), os.path.join(FIX, "mandatory-routes.json"),
                        want_rc=0, extra=["--strict"])
        self.assertEqual(self.shadowed(v), [])

    def test_text_output(self):
        p = run(self.args(os.path.join(FIX, "mandatory-nsg.json"), os.path.join(FIX, "mandatory-routes.json")))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("\033[", p.stdout)  # not a terminal: no colour
        for cid in ALL_IDS:
            self.assertRegex(p.stdout, r"(?m)^%s +(nsg|route) .* holds$" % cid)
        self.assertIn("compliant: every contract holds", p.stdout)

    def test_text_examples_are_hosts(self):
        """The example packet of a failure is a host inside the failing region (the subnet's first VM address,
        an address of the source range past its network address) with an ephemeral source port, never x.x.x.0
        or port 0; `minet flow` confirms it."""
        nsg, rt = os.path.join(FIX, "documented-nsg.json"), os.path.join(FIX, "empty-routes.json")
        p = run(self.args(nsg, rt, extra=["--contracts", "provisioned"]))
        self.assertEqual(p.returncode, 1, p.stderr)
        line = [x for x in p.stdout.splitlines() if x.startswith("  in-corpnetsaw ")]
        self.assertEqual(len(line), 1, p.stdout)
        self.assertTrue(line[0].endswith("; e.g. Tcp 65.55.188.4:49152 -> 10.0.0.4:1440"), line[0])
        v = self.verify(nsg, rt, want_rc=1, extra=["--contracts", "provisioned"])
        self.assertEqual(self.one(v, "in-corpnetsaw")["example"],
                         {"protocol": "tcp", "src": "65.55.188.4", "srcPort": 49152, "dst": "10.0.0.4", "dstPort": 1440})
        # Any-port contracts too: a denied subnet-internal range gives a host and a non-zero port.
        g = self.nsg([r("deny_low", 100, proto="*", src=SUBNET, dst=SUBNET, ports="0-79")])
        v = self.verify(g, os.path.join(FIX, "mandatory-routes.json"), want_rc=1)
        ex = [x["example"] for x in v["violations"] if x["contract"] == "in-mi-subnet" and x["example"]["srcPort"]]
        self.assertTrue(ex, v["violations"])
        for e in ex:
            self.assertEqual((e["src"], e["dst"], e["srcPort"]), ("10.0.0.4", "10.0.0.4", 49152))
            self.assertTrue(1 <= e["dstPort"] <= 79, e)
        for x in v["violations"]:
            self.assertNotRegex(x["message"], r"\.0(:0)? ")
            self.assertNotIn(":0 ", x["message"])

    def test_real_tags_2022(self):
        tags = (TAGS_2022, CORPNET)
        nsg, rt = os.path.join(FIX, "documented-nsg.json"), os.path.join(FIX, "mandatory-routes.json")
        self.verify(nsg, rt, tags=tags, want_rc=0, extra=["--strict"])
        self.verify(os.path.join(FIX, "provisioned-nsg.json"), os.path.join(FIX, "provisioned-routes.json"),
                    tags=tags, want_rc=0, extra=["--strict", "--contracts", "provisioned"])


class TestDenyBreaksContract(VerifyBase):
    """Each NSG contract broken by a deny of exactly its space, placed before the mandatory rules."""
    CASES = [
        ("in-sqlmanagement", r("deny_x", 100, src="SqlManagement", dst=SUBNET, ports=MGMT), SQL * P * S * 5),
        ("in-corpnetsaw", r("deny_x", 100, src="CorpNetSaw", dst=SUBNET, ports=["9000", "9003"]), SAW * P * S * 2),
        ("in-corpnetpublic", r("deny_x", 100, src="CorpNetPublic", dst=SUBNET, ports=["9000", "9003"]),
         PUB * P * S * 2),
        ("in-mi-subnet", r("deny_x", 100, proto="*", src=SUBNET, dst=SUBNET), 2 * S * P * S * P + S * S),
        ("in-health-probe", r("deny_x", 100, proto="*", src="AzureLoadBalancer", dst=SUBNET),
         2 * 1 * P * S * P + 1 * S),
        ("out-azurecloud", r("deny_x", 100, "Outbound", src=SUBNET, dst="AzureCloud", ports=["443", "12000"]),
         S * P * AC * 2),
        ("out-mi-subnet", r("deny_x", 100, "Outbound", proto="*", src=SUBNET, dst=SUBNET),
         2 * S * P * S * P + S * S),
    ]

    def test_each_contract(self):
        rt = os.path.join(FIX, "mandatory-routes.json")
        for cid, deny, size in self.CASES:
            with self.subTest(cid):
                v = self.verify(self.nsg([deny]), rt, want_rc=1)
                self.assertEqual(self.failing(v), [cid])
                x = self.one(v, cid)
                self.assertEqual((x["kind"], x["rule"], x["priority"], x["nsg"], x["size"]),
                                 ("nsg", "deny_x", 100, "mi-nsg", str(size)))
                self.assertTrue(x["file"].endswith(".json"))
                self.assertIn("deny_x", x["message"])

    def test_removing_a_mandatory_rule_falls_to_deny_all(self):
        rt = os.path.join(FIX, "mandatory-routes.json")
        nsg = self.nsg(base="documented-nsg.json", shift=0, drop=("management",))
        v = self.verify(nsg, rt, want_rc=1)
        self.assertEqual(self.failing(v), ["in-sqlmanagement"])
        x = self.one(v, "in-sqlmanagement")
        self.assertEqual((x["rule"], x["priority"], x["size"]), ("deny_all_inbound", 4096, str(SQL * P * S * 5)))

    def test_removing_outbound_rule_falls_to_default_rules(self):
        # Without deny_all_outbound and without the mandatory rule, AllowVnetOutBound lets the subnet reach the
        # VirtualNetwork part of AzureCloud (the UDR prefixes: AzureCloud.westeurope/northeurope, AzureMonitor,
        # EventHub.*, Storage*, AAD, SqlManagement's 20.50.3.0/27 inside them), AllowInternetOutBound the rest:
        # nothing is denied. The default rules keep the traffic flowing.
        nsg = self.nsg(shift=0, drop=("management_outbound",))
        self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), want_rc=0)

    def test_one_rule_breaks_several_contracts(self):
        # Deny all TCP 9000 inbound: SqlManagement, CorpNetSaw, CorpNetPublic, the subnet itself and the probe VIP.
        v = self.verify(self.nsg([r("deny_9000", 100, ports="9000")]), os.path.join(FIX, "mandatory-routes.json"),
                        want_rc=1)
        self.assertEqual(self.failing(v), ["in-corpnetpublic", "in-corpnetsaw", "in-health-probe", "in-mi-subnet",
                                           "in-sqlmanagement"])
        sizes = {x["contract"]: x["size"] for x in v["violations"]}
        self.assertEqual(sizes, {"in-sqlmanagement": str(SQL * P * S), "in-corpnetsaw": str(SAW * P * S),
                                 "in-corpnetpublic": str(PUB * P * S), "in-mi-subnet": str(S * P * S),
                                 "in-health-probe": str(1 * P * S)})

    def test_two_rules_share_one_contract(self):
        v = self.verify(self.nsg([r("deny_a", 100, src="13.104.248.32/27", dst=SUBNET, ports="1438"),
                                  r("deny_b", 101, src="20.50.3.0/27", dst=SUBNET, ports="9000-9003")]),
                        os.path.join(FIX, "mandatory-routes.json"), want_rc=1)
        xs = sorted((x["rule"], x["size"]) for x in v["violations"])
        self.assertEqual(xs, [("deny_a", str(32 * P * S)), ("deny_b", str(32 * P * S * 2))])


class TestNarrowRules(VerifyBase):
    """A rule touching one /32 or one port only: the exact failing region, never sampled."""
    CASES = [
        # (contract, rule, size)
        ("in-sqlmanagement", r("deny_one", 100, src="13.104.248.40/32", dst=SUBNET, ports="1440"), 1 * P * S * 1),
        ("in-sqlmanagement", r("deny_one", 100, src="SqlManagement", dst="10.0.0.200/32", ports="9003"),
         SQL * P * 1 * 1),
        ("in-sqlmanagement", r("deny_one", 100, src="SqlManagement", dst=SUBNET, ports="1452", sport="50000"),
         SQL * 1 * S * 1),
        ("in-corpnetsaw", r("deny_one", 100, src="CorpNetSaw", dst="10.0.0.7/32", ports="9003"), SAW * P * 1 * 1),
        ("in-corpnetpublic", r("deny_one", 100, src="94.245.87.1", dst=SUBNET, ports="9000"), 1 * P * S * 1),
        ("in-mi-subnet", r("deny_one", 100, proto="Udp", src=SUBNET, dst=SUBNET, ports="53"), S * P * S * 1),
        ("in-mi-subnet", r("deny_one", 100, proto="Icmp", src="10.0.0.1/32", dst="10.0.0.2/32"), 1),
        ("in-health-probe", r("deny_one", 100, proto="Icmp", src="AzureLoadBalancer", dst="10.0.0.9/32"), 1),
        ("in-health-probe", r("deny_one", 100, proto="Tcp", src="168.63.129.16", dst=SUBNET, ports="80"),
         1 * P * S * 1),
        ("out-azurecloud", r("deny_one", 100, "Outbound", src=SUBNET, dst="20.50.0.1/32", ports="12000"),
         S * P * 1 * 1),
        ("out-azurecloud", r("deny_one", 100, "Outbound", src="10.0.0.5/32", dst="AzureCloud", ports="443"),
         1 * P * AC * 1),
        ("out-mi-subnet", r("deny_one", 100, "Outbound", proto="Tcp", src=SUBNET, dst=SUBNET, ports="1433"),
         S * P * S * 1),
    ]

    def test_each(self):
        rt = os.path.join(FIX, "mandatory-routes.json")
        for cid, deny, size in self.CASES:
            with self.subTest(cid=cid, rule=deny[1]):
                v = self.verify(self.nsg([deny]), rt, want_rc=1)
                self.assertEqual(self.failing(v), [cid])
                x = self.one(v, cid)
                self.assertEqual((x["rule"], x["size"]), ("deny_one", str(size)))

    def test_example_is_inside_the_narrow_rule(self):
        v = self.verify(self.nsg([r("deny_one", 100, src="13.104.248.40/32", dst="10.0.0.200", ports="1440",
                                    sport="61000")]), os.path.join(FIX, "mandatory-routes.json"), want_rc=1)
        self.assertEqual(self.one(v, "in-sqlmanagement")["example"],
                         {"protocol": "tcp", "src": "13.104.248.40", "srcPort": 61000, "dst": "10.0.0.200",
                          "dstPort": 1440})

    def test_real_tags_one_sqlmanagement_address(self):
        with gzip.open(TAGS_2022, "rt") as f:
            doc = json.load(f)
        sqlm = [v for v in doc["values"] if v["name"] == "SqlManagement"][0]["properties"]["addressPrefixes"]
        one = [p for p in sqlm if p.endswith("/32") and ":" not in p][0]
        v = self.verify(self.nsg([r("deny_one", 100, src=one, dst=SUBNET, ports="1440")], base="documented-nsg.json"),
                        os.path.join(FIX, "mandatory-routes.json"), tags=(TAGS_2022, CORPNET), want_rc=1)
        self.assertEqual(self.failing(v), ["in-sqlmanagement"])
        self.assertEqual(self.one(v, "in-sqlmanagement")["size"], "16777216")  # 1 × 65536 × 256 × 1

    def test_real_tags_whole_sqlmanagement(self):
        # The IPv4 part of SqlManagement, counted here from the file (IPv6 sources cannot reach an IPv4 subnet).
        with gzip.open(TAGS_2022, "rt") as f:
            doc = json.load(f)
        sqlm = [v for v in doc["values"] if v["name"] == "SqlManagement"][0]["properties"]["addressPrefixes"]
        n4 = count_v4(sqlm)
        v = self.verify(self.nsg([r("deny_x", 100, src="SqlManagement", dst=SUBNET, ports=MGMT)],
                                 base="documented-nsg.json"),
                        os.path.join(FIX, "mandatory-routes.json"), tags=(TAGS_2022, CORPNET), want_rc=1)
        self.assertEqual(self.one(v, "in-sqlmanagement")["size"], str(n4 * P * S * 5))


def v4_intervals(prefixes):
    out = []
    for p in prefixes:
        if ":" in p:
            continue
        a, l = p.split("/")
        n = 0
        for o in a.split("."):
            n = n * 256 + int(o)
        size = 1 << (32 - int(l))
        n &= ~(size - 1)
        out.append((n, n + size - 1))
    out.sort()
    merged = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def count_v4(prefixes):
    return sum(hi - lo + 1 for lo, hi in v4_intervals(prefixes))


class TestNoFalseAlarm(VerifyBase):
    DENIES = [
        r("deny_tds", 100, src="SqlManagement", dst=SUBNET, ports="1433"),              # other port
        r("deny_udp", 101, proto="Udp", src="SqlManagement", dst=SUBNET, ports=MGMT),    # other protocol
        r("deny_icmp_corp", 102, proto="Icmp", src="CorpNetSaw", dst=SUBNET),           # other protocol
        r("deny_google", 103, src="8.8.8.0/24", dst=SUBNET, ports=MGMT),                # other source
        r("deny_other_subnet", 104, src="SqlManagement", dst="10.0.1.0/24", ports=MGMT),  # other destination
        r("deny_corp_1440", 105, src="CorpNetPublic", dst=SUBNET, ports="1438-1452"),   # documented: not 9000/9003
        r("deny_lb_from_other", 106, proto="*", src="168.63.129.17", dst=SUBNET),       # next to the probe VIP
        r("deny_out_80", 100, "Outbound", src=SUBNET, dst="AzureCloud", ports="80"),
        r("deny_out_google", 101, "Outbound", src=SUBNET, dst="8.8.8.0/24", ports=["443", "12000"]),
        r("deny_out_other_src", 102, "Outbound", proto="*", src="10.0.1.0/24", dst="*"),
        r("deny_out_esp", 103, "Outbound", proto="Esp", src=SUBNET, dst=SUBNET),        # not in "any"
        r("deny_out_13_104", 104, "Outbound", src=SUBNET, dst="13.104.248.32/27", ports="443"),  # not AzureCloud
    ]

    def test_denies_that_do_not_intersect(self):
        v = self.verify(self.nsg(self.DENIES), os.path.join(FIX, "mandatory-routes.json"), want_rc=0)
        self.assertEqual(v["violations"], [])

    def test_routes_that_do_not_intersect(self):
        rt = self.routes([route("google-to-fw", "8.8.8.0/24", "VirtualAppliance", "10.0.1.4"),
                          route("spoke-to-fw", "10.0.1.0/24", "VirtualAppliance", "10.0.1.4"),
                          route("az20-to-fw", "20.0.0.0/8", "VirtualAppliance", "10.0.1.4"),
                          route("sqlm-neighbour", "13.104.248.64/27", "None"),
                          route("onprem", "192.168.0.0/16", "VirtualNetworkGateway")])
        self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=0)

    def test_documented_contracts_ignore_corpnetsaw_1440(self):
        nsg = self.nsg([r("deny_saw_1440", 100, src="CorpNetSaw", dst=SUBNET, ports="1440")],
                       base="provisioned-nsg.json")
        self.verify(nsg, os.path.join(FIX, "provisioned-routes.json"), want_rc=0)
        v = self.verify(nsg, os.path.join(FIX, "provisioned-routes.json"), want_rc=1,
                        extra=["--contracts", "provisioned"])
        self.assertEqual(self.one(v, "in-corpnetsaw")["size"], str(SAW * P * S))


class TestRoutes(VerifyBase):
    # A /28 inside each contract's tag (nested tags: EventHub.* inside AzureCloud.*, Storage.* inside Storage).
    SPECIFIC = {
        "route-subnet-vnetlocal": ("10.0.0.0/28", []),
        "route-azurecloud-region": ("40.68.5.0/28", []),
        "route-azurecloud-pair": ("40.69.5.0/28", []),
        "route-azuremonitor": ("52.100.5.0/28", []),
        "route-corpnetpublic": ("94.245.87.16/28", []),
        "route-corpnetsaw": ("65.55.188.16/28", []),
        "route-eventhub-region": ("20.50.2.16/28", ["route-azurecloud-region"]),
        "route-eventhub-pair": ("20.54.2.16/28", ["route-azurecloud-pair"]),
        "route-sqlmanagement": ("13.104.248.32/28", []),
        "route-storage": ("52.239.5.0/28", []),
        "route-storage-region": ("52.239.1.16/28", ["route-storage"]),
        "route-storage-pair": ("20.60.2.16/28", ["route-storage"]),
        "route-azureactivedirectory": ("40.126.5.0/28", []),
    }

    def test_more_specific_route_to_appliance(self):
        nsg = os.path.join(FIX, "mandatory-nsg.json")
        for cid, (prefix, also) in self.SPECIFIC.items():
            with self.subTest(cid):
                rt = self.routes([route("to-fw", prefix, "VirtualAppliance", "10.0.1.4")])
                v = self.verify(nsg, rt, want_rc=1)
                self.assertEqual(self.failing(v), sorted([cid] + also))
                for x in v["violations"]:
                    self.assertEqual((x["kind"], x["route"], x["addressPrefix"], x["source"], x["size"],
                                      x["example"]["nextHopType"]),
                                     ("route", "to-fw", prefix, "User", "16", "VirtualAppliance"))

    def test_default_to_appliance_with_mandatory_routes(self):
        rt = self.routes([route("default-to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")])
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=0, extra=["--strict"])
        self.assertEqual(v["violations"], [])

    def test_default_to_appliance_without_mandatory_routes(self):
        rt = self.routes([route("default-to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")],
                         keep=("subnet-to-vnetlocal",))
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=1)
        self.assertEqual(self.failing(v), sorted(ROUTE_TAG_SIZE))
        for x in v["violations"]:
            self.assertEqual((x["kind"], x["route"], x["addressPrefix"], x["source"], x["size"]),
                             ("route", "default-to-fw", "0.0.0.0/0", "User", str(ROUTE_TAG_SIZE[x["contract"]])), x)
        # The inbound management sources: the message explains the asymmetric-routing trap.
        self.assertIn("asymmetric routing", self.one(v, "route-sqlmanagement")["message"])
        self.assertNotIn("asymmetric", self.one(v, "route-storage")["message"])

    def test_default_to_appliance_missing_one_mandatory_route(self):
        rt = self.routes([route("default-to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")],
                         drop=("mi-sqlmanagement-internet",))
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=1)
        self.assertEqual(self.failing(v), ["route-sqlmanagement"])
        # 20.50.3.0/27 lies in AzureCloud.westeurope, whose route still sends it to Internet: only
        # 13.104.248.32/27 follows 0.0.0.0/0.
        self.assertEqual(self.one(v, "route-sqlmanagement")["size"], "32")

    def test_route_to_none_on_subnet(self):
        rt = self.routes([route("blackhole", "10.0.0.0/25", "None")])
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=1)
        x = self.one(v, "route-subnet-vnetlocal")
        self.assertEqual((x["route"], x["size"], x["example"]["nextHopType"]), ("blackhole", "128", "None"))

    def test_explicit_prefix_beats_equal_tag_route(self):
        rt = self.routes([route("eh-to-fw", "20.50.2.0/24", "VirtualAppliance", "10.0.1.4")])
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, want_rc=1)
        self.assertEqual(self.failing(v), ["route-azurecloud-region", "route-eventhub-region"])
        self.assertEqual({x["size"] for x in v["violations"]}, {"256"})

    def test_system_route_violation(self):
        # A CorpNetSaw range in private space, no route for it: the system route 172.16.0.0/12 -> None wins.
        tags = load("lab-tags.json")
        for t in tags["values"]:
            if t["name"] == "CorpNetSaw":
                t["properties"]["addressPrefixes"].append("172.16.5.0/24")
        tf = self.write(tags, "tags")
        rt = self.routes(drop=("mi-corpnetsaw-internet",))
        v = self.verify(os.path.join(FIX, "mandatory-nsg.json"), rt, tags=(tf,), want_rc=1)
        self.assertEqual(self.failing(v), ["route-corpnetsaw"])
        x = self.one(v, "route-corpnetsaw")
        self.assertEqual((x["route"], x["addressPrefix"], x["source"], x["size"], x["example"]),
                         (None, "172.16.0.0/12", "Default", "256", {"dst": "172.16.5.4", "nextHopType": "None"}))

    def test_no_udrs_at_all(self):
        nsg, rt = os.path.join(FIX, "mandatory-nsg.json"), os.path.join(FIX, "empty-routes.json")
        v = self.verify(nsg, rt, want_rc=0)
        self.assertEqual(v["violations"], [])
        self.verify(nsg, None, want_rc=0)  # no route table at all
        v = self.verify(nsg, rt, want_rc=1, extra=["--strict"])
        self.assertEqual(self.failing(v), sorted(ROUTE_IDS))
        for x in v["violations"]:
            self.assertEqual(x["kind"], "intent")
            self.assertIsNone(x["route"])
            self.assertIn("VnetSubnetConflictWithIntendedPolicy", x["message"])
            self.assertNotIn("size", x)


class TestIntent(VerifyBase):
    def test_split_management_ports(self):
        nsg = self.nsg([r("mgmt_a", 100, src="SqlManagement", dst=SUBNET, ports=["9000", "9003"], access="Allow"),
                        r("mgmt_b", 101, src="SqlManagement", dst=SUBNET, ports=["1438", "1440", "1452"],
                          access="Allow")], drop=("management",))
        rt = os.path.join(FIX, "mandatory-routes.json")
        self.verify(nsg, rt, want_rc=0)
        v = self.verify(nsg, rt, want_rc=1, extra=["--strict"])
        self.assertEqual(self.failing(v), ["in-sqlmanagement"])
        x = self.one(v, "in-sqlmanagement")
        self.assertEqual(x["kind"], "intent")
        self.assertIsNone(x["rule"])
        self.assertTrue(x["message"].startswith("VnetSubnetConflictWithIntendedPolicy"), x["message"])
        self.assertIn("9000,9003,1438,1440,1452", x["message"])

    def test_split_outbound_ports(self):
        nsg = self.nsg([r("out_443", 100, "Outbound", src=SUBNET, dst="AzureCloud", ports="443", access="Allow"),
                        r("out_12000", 101, "Outbound", src=SUBNET, dst="AzureCloud", ports="12000",
                          access="Allow")], drop=("management_outbound",))
        rt = os.path.join(FIX, "mandatory-routes.json")
        self.verify(nsg, rt, want_rc=0)
        v = self.verify(nsg, rt, want_rc=1, extra=["--strict"])
        self.assertEqual(self.failing(v), ["out-azurecloud"])
        self.assertEqual(self.one(v, "out-azurecloud")["kind"], "intent")

    def test_deny_before_mandatory_rule_names_the_decider(self):
        nsg = self.nsg([r("deny_one", 100, src="13.104.248.40/32", dst=SUBNET, ports="1440")])
        v = self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), want_rc=1, extra=["--strict"])
        kinds = sorted((x["kind"], x["rule"]) for x in v["violations"])
        self.assertEqual(kinds, [("intent", "deny_one"), ("nsg", "deny_one")])


class TestShippedConfigurations(VerifyBase):
    """§5.4: the rule sets the service provisioned and their IaC copies."""

    def test_provisioned_rule_set(self):
        nsg, rt = os.path.join(FIX, "provisioned-nsg.json"), os.path.join(FIX, "provisioned-routes.json")
        for cs in ("documented", "provisioned"):
            for strict in ([], ["--strict"]):
                with self.subTest(contracts=cs, strict=strict):
                    v = self.verify(nsg, rt, want_rc=0, extra=["--contracts", cs] + strict)
                    self.assertEqual(self.shadowed(v), [])

    def test_documented_shape_fails_provisioned_contracts(self):
        nsg, rt = os.path.join(FIX, "documented-nsg.json"), os.path.join(FIX, "mandatory-routes.json")
        self.verify(nsg, rt, want_rc=0)
        v = self.verify(nsg, rt, want_rc=1, extra=["--contracts", "provisioned"])
        self.assertEqual(self.failing(v), ["in-corpnetsaw"])
        x = self.one(v, "in-corpnetsaw")
        self.assertEqual((x["rule"], x["priority"], x["size"], x["example"]["dstPort"], x["example"]["protocol"]),
                         ("deny_all_inbound", 4096, str(SAW * P * S * 1), 1440, "tcp"))

    def test_udr_prefixes_join_virtualnetwork(self):
        # §1.5: VirtualNetwork includes the prefixes of the subnet's UDRs. With the mandatory routes, CorpNetSaw is
        # such a prefix, so AllowVnetInBound (65000) lets CorpNetSaw reach 1440 even though no user rule does;
        # without UDRs the default DenyAllInBound stops it.
        nsg = os.path.join(FIX, "mandatory-nsg.json")
        self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), want_rc=0, extra=["--contracts", "provisioned"])
        v = self.verify(nsg, os.path.join(FIX, "empty-routes.json"), want_rc=1, extra=["--contracts", "provisioned"])
        x = self.one(v, "in-corpnetsaw")
        self.assertEqual((x["rule"], x["priority"], x["nsg"], x["size"]),
                         ("DenyAllInBound", 65500, "mi-nsg", str(SAW * P * S)))

    def test_terraform_v9_copy(self):
        self.verify(os.path.join(FIX, "terraform-v9-nsg.json"), os.path.join(FIX, "provisioned-routes.json"),
                    want_rc=0, extra=["--contracts", "provisioned", "--strict"])

    def test_aztfmod_stacked_versions_warn_shadowed(self):
        v = self.verify(os.path.join(FIX, "aztfmod-stacked-nsg.json"), os.path.join(FIX, "provisioned-routes.json"),
                        want_rc=0, extra=["--contracts", "provisioned", "--strict"])
        pre = "Microsoft.Sql-managedInstances_UseOnly_mi-"
        want = sorted([(pre + k + "-10-0-0-0-24-v9", p) for k, p in
                       [("sqlmgmt-in", 105), ("corpsaw-in", 106), ("corppublic-in", 107), ("healthprobe-in", 108),
                        ("internal-in", 109), ("internal-out", 102)]])
        self.assertEqual(sorted((w["rule"], w["priority"]) for w in self.shadowed(v)), want)
        for w in self.shadowed(v):
            self.assertEqual((w["kind"], w["nsg"]), ("shadowed", "mi-nsg-stacked"))
            self.assertNotIn("contract", w)
            self.assertIn("can never match", w["message"])

    def test_service_rules_with_prefix_lists(self):
        """The service's own Corpnet rules written as prefix lists (a February 2020 deployment, azure-docs #48205):
        the exact contracts hold; --strict accepts them by name with the provisioned contracts only."""
        nsg, rt = os.path.join(FIX, "provisioned-iplist-nsg.json"), os.path.join(FIX, "provisioned-routes.json")
        for cs in ("documented", "provisioned"):
            self.verify(nsg, rt, want_rc=0, extra=["--contracts", cs])
        self.verify(nsg, rt, want_rc=0, extra=["--contracts", "provisioned", "--strict"])
        v = self.verify(nsg, rt, want_rc=1, extra=["--contracts", "documented", "--strict"])
        self.assertEqual(self.failing(v), ["in-corpnetpublic", "in-corpnetsaw"])
        self.assertEqual({x["kind"] for x in v["violations"]}, {"intent"})

    def test_service_rule_name_is_what_is_accepted(self):
        doc = load("provisioned-iplist-nsg.json")
        rules = doc["properties"]["securityRules"]
        saw = [x for x in rules if "_mi-corpsaw-in-" in x["name"]][0]
        rt = os.path.join(FIX, "provisioned-routes.json")
        # Renamed: the same rule is no longer the service's, and the prefix list does not name CorpNetSaw.
        saw["name"] = "corpsaw_by_hand"
        v = self.verify(self.write(doc, "renamed"), rt, want_rc=1, extra=["--contracts", "provisioned", "--strict"])
        self.assertEqual(self.failing(v), ["in-corpnetsaw"])
        self.assertEqual(self.one(v, "in-corpnetsaw")["kind"], "intent")
        # Named as the service's rule but without 1440: the name does not excuse missing ports (and the exact
        # contract fails too).
        saw["name"] = "Microsoft.Sql-managedInstances_UseOnly_mi-corpsaw-in-10-0-0-0-24-v9"
        saw["properties"]["destinationPortRanges"] = ["9000", "9003"]
        v = self.verify(self.write(doc, "noports"), rt, want_rc=1, extra=["--contracts", "provisioned", "--strict"])
        self.assertEqual(self.failing(v), ["in-corpnetsaw"])
        self.assertEqual(sorted(x["kind"] for x in v["violations"]), ["intent", "nsg"])
        # Another kind's name does not stand in for this contract.
        saw["name"] = "Microsoft.Sql-managedInstances_UseOnly_mi-corppublic-in-10-0-0-0-24-v8"
        saw["properties"]["destinationPortRanges"] = ["9000", "9003", "1440"]
        v = self.verify(self.write(doc, "otherkind"), rt, want_rc=1, extra=["--contracts", "provisioned", "--strict"])
        self.assertEqual(self.failing(v), ["in-corpnetsaw"])

    def test_terraform_azurerm_acceptance_config(self):
        nsg, rt = os.path.join(FIX, "azurerm-test-nsg.json"), os.path.join(FIX, "azurerm-test-routes.json")
        for cs in ("documented", "provisioned"):
            self.verify(nsg, rt, want_rc=0, extra=["--contracts", cs])
        # Only subnet-to-vnetlocal is declared (the service adds the rest): the intent check misses 12 routes.
        v = self.verify(nsg, rt, want_rc=1, extra=["--strict"])
        self.assertEqual(self.failing(v), sorted(ROUTE_TAG_SIZE))
        self.assertEqual({x["kind"] for x in v["violations"]}, {"intent"})

    def test_terraform_azurerm_acceptance_config_real_tags(self):
        self.verify(os.path.join(FIX, "azurerm-test-nsg.json"), os.path.join(FIX, "azurerm-test-routes.json"),
                    tags=(TAGS_2022, CORPNET), want_rc=0, extra=["--contracts", "provisioned"])


class TestNicAndWarnings(VerifyBase):
    def test_nic_nsg_deny_is_attributed_to_nic(self):
        nic = self.write(nsg_arm([r("nic_deny_1440", 100, src="SqlManagement", dst="*", ports="1440"),
                                  r("nic_deny_12000", 101, "Outbound", src="*", dst="AzureCloud", ports="12000"),
                                  r("nic_allow_in", 4000, proto="*", access="Allow"),
                                  r("nic_allow_out", 4001, "Outbound", proto="*", access="Allow")], "nic-nsg"))
        nsg = os.path.join(FIX, "mandatory-nsg.json")
        v = self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), nic=nic, want_rc=1)
        self.assertEqual(self.failing(v), ["in-sqlmanagement", "out-azurecloud"])
        x = self.one(v, "in-sqlmanagement")
        self.assertEqual((x["rule"], x["nsg"], x["file"], x["size"]), ("nic_deny_1440", "nic-nsg", nic, str(SQL * P * S)))
        x = self.one(v, "out-azurecloud")
        self.assertEqual((x["rule"], x["nsg"], x["size"]), ("nic_deny_12000", "nic-nsg", str(S * P * AC)))

    def test_subnet_deny_first_inbound(self):
        # Inbound the subnet's NSG decides first: a packet both deny is charged to the subnet NSG's rule.
        nic = self.write(nsg_arm([r("nic_deny", 100, src="SqlManagement", ports="1440"),
                                  r("nic_allow_in", 4000, proto="*", access="Allow")], "nic-nsg"))
        nsg = self.nsg([r("subnet_deny", 100, src="SqlManagement", dst=SUBNET, ports="1440")])
        v = self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), nic=nic, want_rc=1)
        self.assertEqual([(x["rule"], x["nsg"]) for x in v["violations"]], [("subnet_deny", "mi-nsg")])

    def test_shadowed_rule_warning(self):
        nsg = self.nsg([r("allow_sqlm_again", 300, src="SqlManagement", dst="10.0.0.0/25", ports="1440",
                          access="Allow"),
                        r("deny_partly_shadowed", 301, src="SqlManagement", dst="10.0.0.0/16", ports="1440")])
        v = self.verify(nsg, os.path.join(FIX, "mandatory-routes.json"), want_rc=0)
        self.assertEqual([(w["kind"], w["rule"], w["priority"], w["nsg"]) for w in self.shadowed(v)],
                         [("shadowed", "allow_sqlm_again", 300, "mi-nsg")])
        self.assertIn("management", self.shadowed(v)[0]["message"])  # names the covering rule


class TestBadInput(VerifyBase):
    def bad(self, args, msg):
        p = run(args)
        self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
        self.assertEqual(p.stdout, "")
        self.assertIn(msg, p.stderr)

    def test_subnet_outside_vnet(self):
        self.bad(self.args(os.path.join(FIX, "mandatory-nsg.json"), subnet="10.1.0.0/24"),
                 "--subnet 10.1.0.0/24 is not inside the virtual network")
        self.bad(self.args(os.path.join(FIX, "mandatory-nsg.json"), subnet="10.0.0.0/15"), "not inside")

    def test_unknown_region(self):
        self.bad(self.args(os.path.join(FIX, "mandatory-nsg.json"), region="atlantis"),
                 "unknown region 'atlantis'")
        self.bad(self.args(os.path.join(FIX, "mandatory-nsg.json"), pair="lemuria"), "unknown pair region 'lemuria'")

    def test_bad_files_and_usage(self):
        nsg = os.path.join(FIX, "mandatory-nsg.json")
        self.bad(self.args(os.path.join(FIX, "no-such.json")), "no-such.json")
        self.bad(self.args(nsg, routes=os.path.join(FIX, "lab-tags.json")), "routes")
        self.bad(self.args(nsg, extra=["--json", "--sarif"]), "exclude")
        self.bad(self.args(nsg, extra=["--contracts", "wishful"]), "--contracts 'wishful'")
        self.bad(["verify", "--tags", LAB, "--vnet", VNET, "--nsg", nsg], "required")

    def test_missing_tag(self):
        # A tags file without CorpNetSaw: the NSG references it, so loading fails before any verdict.
        self.bad(self.args(os.path.join(FIX, "mandatory-nsg.json"), tags=(self.write(
            {"changeNumber": 1, "cloud": "Public", "values": []}, "tags"),)), "CorpNetSaw")


class TestSarif(VerifyBase):
    def sarif(self, *a, **kw):
        p = run(self.args(*a, extra=kw.pop("extra", []) + ["--sarif"], **kw))
        self.assertEqual(p.stderr, "")
        return p.returncode, json.loads(p.stdout)

    def line_of(self, path, name):
        with open(path) as f:
            for i, line in enumerate(f, 1):
                if '"name": "%s"' % name in line:
                    return i
        self.fail("%s not in %s" % (name, path))

    def check_shape(self, s, notes=False):
        self.assertEqual(s["version"], "2.1.0")
        self.assertIn("sarif", s["$schema"])
        self.assertEqual(len(s["runs"]), 1)
        drv = s["runs"][0]["tool"]["driver"]
        self.assertEqual(drv["name"], "minet")
        ids = [x["id"] for x in drv["rules"]]
        for cid in ALL_IDS:
            self.assertIn(cid, ids)
        for res in s["runs"][0]["results"]:
            self.assertIn(res["level"], ("error", "warning"))
            self.assertIn(res["ruleId"], ids)
            self.assertTrue(res["message"]["text"])
        res = s["runs"][0]["results"]
        return res if notes else [x for x in res if x["ruleId"] != "virtualnetwork-tag"]

    def test_nsg_violation_points_at_rule(self):
        nsg = os.path.join(FIX, "documented-nsg.json")
        rc, s = self.sarif(nsg, os.path.join(FIX, "mandatory-routes.json"), extra=["--contracts", "provisioned"])
        self.assertEqual(rc, 1)
        res = self.check_shape(s)
        self.assertEqual(len(res), 1)
        self.assertEqual((res[0]["ruleId"], res[0]["level"]), ("in-corpnetsaw", "error"))
        loc = res[0]["locations"][0]["physicalLocation"]
        self.assertEqual(loc["artifactLocation"]["uri"], "file://" + urllib.parse.quote(nsg))
        self.assertRegionHolds(loc["region"], self.line_of(nsg, "deny_all_inbound"))

    def test_route_violation_and_warning(self):
        rt = self.routes([route("to-fw", "52.100.5.0/28", "VirtualAppliance", "10.0.1.4")])
        nsg = self.nsg([r("allow_sqlm_again", 300, src="SqlManagement", dst=SUBNET, ports="1440", access="Allow")])
        rc, s = self.sarif(nsg, rt)
        self.assertEqual(rc, 1)
        res = self.check_shape(s)
        self.assertEqual(sorted((x["ruleId"], x["level"]) for x in res),
                         [("route-azuremonitor", "error"), ("shadowed-rule", "warning")])
        for x in res:
            loc = x["locations"][0]["physicalLocation"]
            path, name = (rt, "to-fw") if x["level"] == "error" else (nsg, "allow_sqlm_again")
            self.assertEqual(loc["artifactLocation"]["uri"], "file://" + urllib.parse.quote(path))
            self.assertRegionHolds(loc["region"], self.line_of(path, name))

    def assertRegionHolds(self, region, line):
        """The region is the rule's (or route's) JSON object: it begins on or just before its "name" line."""
        self.assertIn(region["startLine"], (line - 1, line))
        self.assertGreater(region["endLine"], line)

    def test_region_is_the_rule_not_a_same_named_resource(self):
        # the NSG itself named like the offending rule: the location must still be the rule's
        g = load("documented-nsg.json")
        g["name"] = "deny_all_inbound"
        path = self.write(g, "samename")
        rc, s = self.sarif(path, os.path.join(FIX, "mandatory-routes.json"), extra=["--contracts", "provisioned"])
        self.assertEqual(rc, 1)
        loc = self.check_shape(s)[0]["locations"][0]["physicalLocation"]
        self.assertGreater(loc["region"]["startLine"], 3)
        with open(path) as f:
            text = f.read().splitlines()
        self.assertIn('"deny_all_inbound"', text[loc["region"]["startLine"]])  # the name, inside the rule

    def test_compliant_has_no_results(self):
        rc, s = self.sarif(os.path.join(FIX, "mandatory-nsg.json"), os.path.join(FIX, "mandatory-routes.json"))
        self.assertEqual(rc, 0)
        self.assertEqual([(x["ruleId"], x["level"]) for x in self.check_shape(s, notes=True)],
                         [("virtualnetwork-tag", "warning")])


if __name__ == "__main__":
    unittest.main()

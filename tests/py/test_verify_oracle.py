"""An independent oracle for `minet verify`: the same contracts encoded for Z3 (SecGuru-style bit-vectors), run on
random mutations of the mandatory configuration; every contract's verdict must agree, and every counterexample
minet prints must satisfy the Z3 violation formula and be decided by the rule or route minet names.

Encoding (nothing shared with minet's code):
* a packet is src, dst: BitVec(32); srcPort, dstPort: BitVec(16); protocol: Int (0 tcp, 1 udp, 2 icmp). A rule
  matches when protocol, both address fields and both port fields match; ICMP has no ports, so it matches only
  rules whose port fields cover every port (as `minet flow` evaluates it). An address field is a disjunction of
  prefix constraints; VirtualNetwork = VNet ∪ 168.63.129.16 ∪ every UDR prefix (tags expanded), Internet = ¬
  (VirtualNetwork ∪ 0/8 ∪ 10/8 ∪ 100.64/10 ∪ 172.16/12 ∪ 192.168/16): the ranges Azure's expansion of the tag
  leaves out (docs/azure-semantics-notes.md §1, written down here from that document, not taken from minet).
* first match: "some packet of the contract space is denied" = OR over the Deny rules i of one NSG
  (match_i ∧ ∧_{j<i} ¬match_j), default rules included; subnet NSG and NIC NSG: denied by either.
* routes: one BitVec(32) address a; every route prefix (system routes of §3.1, user prefixes, tag prefixes) is a
  candidate (the system None routes include 25.33.80.0/20 and 25.41.3.0/25, notes §3); c wins for a iff a ∈ c and no better candidate holds a, better = longer prefix, then rank (explicit 0,
  regional tag 1, global tag 2, AzureCloud.<region> 3, AzureCloud 4, system 9), then table order. A route contract
  fails iff ∃ a ∈ tag set whose winner's next hop is not the required one.

The tags file is small and synthetic (IPv4 only, nested and exactly-equal prefixes across tags so ties happen).
MINET_ORACLE_SEED and MINET_ORACLE_N change the random seed and the number of mutations (default 240).
"""
import ipaddress
import json
import os
import random
import subprocess
import time
import unittest

import z3

from cli_common import MINET, tags_doc, tempdir

VNET, SUBNET, REGION, PAIR = "10.0.0.0/16", "10.0.0.0/24", "westeurope", "northeurope"
LB = "168.63.129.16/32"
TAGS = {  # name: (region, prefixes)
    "SqlManagement": ("", ["13.104.248.32/27", "20.50.3.0/27", "20.60.1.0/24", "52.239.7.0/24"]),
    "CorpNetSaw": ("", ["65.55.188.0/24", "167.220.0.0/16"]),
    "CorpNetPublic": ("", ["94.245.87.0/24", "167.220.8.0/24"]),
    "AzureCloud": ("", ["13.64.0.0/11", "20.0.0.0/8", "40.64.0.0/10", "20.60.1.0/24"]),
    "AzureCloud.westeurope": (REGION, ["20.50.0.0/16", "40.68.0.0/16", "20.60.1.0/24"]),
    "AzureCloud.northeurope": (PAIR, ["20.54.0.0/16", "40.69.0.0/16"]),
    "AzureMonitor": ("", ["20.50.1.0/24", "40.68.4.0/22", "20.60.1.0/24", "52.239.7.0/24"]),
    "EventHub.westeurope": (REGION, ["20.50.2.0/24", "20.50.1.0/24"]),
    "EventHub.northeurope": (PAIR, ["20.54.2.0/24"]),
    "Storage": ("", ["20.60.0.0/16", "20.60.1.0/24", "52.239.0.0/16", "52.239.7.0/24"]),
    "Storage.westeurope": (REGION, ["20.60.1.0/24", "52.239.1.0/24"]),
    "Storage.northeurope": (PAIR, ["20.60.2.0/24"]),
    "AzureActiveDirectory": ("", ["20.190.128.0/18", "40.126.0.0/18", "20.50.2.0/24"]),
}
MGMT = [9000, 9003, 1438, 1440, 1452]
TCP, UDP, ICMP = 0, 1, 2
ANY = (TCP, UDP, ICMP)


def contracts(provisioned):
    """(id, kind, src, dst, protocols, destination ports or None) / (id, 'route', tag-or-S, hop)."""
    S = "S"
    return [
        ("in-sqlmanagement", "in", "SqlManagement", S, (TCP,), MGMT),
        ("in-corpnetsaw", "in", "CorpNetSaw", S, (TCP,), [9000, 9003] + ([1440] if provisioned else [])),
        ("in-corpnetpublic", "in", "CorpNetPublic", S, (TCP,), [9000, 9003]),
        ("in-mi-subnet", "in", S, S, ANY, None),
        ("in-health-probe", "in", "AzureLoadBalancer", S, ANY, None),
        ("out-azurecloud", "out", S, "AzureCloud", (TCP,), [443, 12000]),
        ("out-mi-subnet", "out", S, S, ANY, None),
    ], [
        ("route-subnet-vnetlocal", S, "VnetLocal"),
        ("route-azurecloud-region", "AzureCloud." + REGION, "Internet"),
        ("route-azurecloud-pair", "AzureCloud." + PAIR, "Internet"),
        ("route-azuremonitor", "AzureMonitor", "Internet"),
        ("route-corpnetpublic", "CorpNetPublic", "Internet"),
        ("route-corpnetsaw", "CorpNetSaw", "Internet"),
        ("route-eventhub-region", "EventHub." + REGION, "Internet"),
        ("route-eventhub-pair", "EventHub." + PAIR, "Internet"),
        ("route-sqlmanagement", "SqlManagement", "Internet"),
        ("route-storage", "Storage", "Internet"),
        ("route-storage-region", "Storage." + REGION, "Internet"),
        ("route-storage-pair", "Storage." + PAIR, "Internet"),
        ("route-azureactivedirectory", "AzureActiveDirectory", "Internet"),
    ]


def net(p):
    n = ipaddress.ip_network(p, strict=False)
    return int(n.network_address), n.prefixlen


# ---- the mandatory configuration, as plain data ----

def rule(name, prio, d, access, proto, src, dst, dports="*", sports="*"):
    return {"name": name, "priority": prio, "direction": d, "access": access, "protocol": proto, "src": src,
            "dst": dst, "sports": sports, "dports": dports}


def mandatory_nsg(deny_all):
    m = [str(p) for p in MGMT]
    rs = [
        rule("management", 200, "Inbound", "Allow", "Tcp", "SqlManagement", SUBNET, m),
        rule("management_corpnetsaw", 201, "Inbound", "Allow", "Tcp", "CorpNetSaw", SUBNET, ["9000", "9003"]),
        rule("management_corpnetpublic", 202, "Inbound", "Allow", "Tcp", "CorpNetPublic", SUBNET, ["9000", "9003"]),
        rule("mi_subnet", 203, "Inbound", "Allow", "*", SUBNET, SUBNET),
        rule("health_probe", 204, "Inbound", "Allow", "*", "AzureLoadBalancer", SUBNET),
        rule("management_outbound", 200, "Outbound", "Allow", "Tcp", SUBNET, "AzureCloud", ["443", "12000"]),
        rule("mi_subnet_outbound", 201, "Outbound", "Allow", "*", SUBNET, SUBNET),
    ]
    if deny_all:
        rs += [rule("deny_all_inbound", 4096, "Inbound", "Deny", "*", "*", "*"),
               rule("deny_all_outbound", 4096, "Outbound", "Deny", "*", "*", "*")]
    return rs


def mandatory_routes():
    rs = [{"name": "subnet-to-vnetlocal", "prefix": SUBNET, "hop": "VnetLocal"}]
    for tag in ["AzureCloud." + REGION, "AzureCloud." + PAIR, "AzureMonitor", "CorpNetPublic", "CorpNetSaw",
                "EventHub." + REGION, "EventHub." + PAIR, "SqlManagement", "Storage", "Storage." + REGION,
                "Storage." + PAIR, "AzureActiveDirectory"]:
        rs.append({"name": "mi-%s-internet" % tag.lower().replace(".", "-"), "prefix": tag, "hop": "Internet"})
    return rs


def nsg_json(rules, name):
    out = []
    for r in rules:
        p = {"protocol": r["protocol"], "access": r["access"], "priority": r["priority"], "direction": r["direction"],
             "sourceAddressPrefix": r["src"], "destinationAddressPrefix": r["dst"]}
        for one, many, v in (("sourcePortRange", "sourcePortRanges", r["sports"]),
                             ("destinationPortRange", "destinationPortRanges", r["dports"])):
            if isinstance(v, list):
                p[many] = v
            else:
                p[one] = v
        out.append({"name": r["name"], "properties": p})
    return {"name": name, "type": "Microsoft.Network/networkSecurityGroups", "location": REGION,
            "properties": {"securityRules": out}}


def routes_json(routes):
    out = []
    for r in routes:
        p = {"addressPrefix": r["prefix"], "nextHopType": r["hop"]}
        if r["hop"] == "VirtualAppliance":
            p["nextHopIpAddress"] = "10.0.1.4"
        out.append({"name": r["name"], "properties": p})
    return {"name": "rt", "type": "Microsoft.Network/routeTables", "location": REGION,
            "properties": {"disableBgpRoutePropagation": False, "routes": out}}


# ---- random mutations ----

PORT_CHOICES = ["*", "9000", "9003", "1438", "1440", "1452", "443", "12000", "80", "1433", "1400-1500",
                "9000-9003", "12000-12001", "0-1023", "1024-65535", "0-65535", ["1440", "9003"],
                ["443", "9000-9010"], ["53", "123"]]


class Mutator:
    def __init__(self, rnd):
        self.rnd = rnd

    def cidr_inside(self, prefix):
        base, plen = net(prefix)
        ln = self.rnd.randint(plen, 32)
        off = self.rnd.randrange(1 << (32 - plen)) if plen < 32 else 0
        a = (base + off) & ~((1 << (32 - ln)) - 1) & 0xFFFFFFFF
        return "%s/%d" % (ipaddress.IPv4Address(a), ln) if ln < 32 else str(ipaddress.IPv4Address(a))

    def addr(self):
        k = self.rnd.random()
        if k < 0.35:
            return self.rnd.choice(list(TAGS))
        if k < 0.45:
            return self.rnd.choice(["*", "VirtualNetwork", "Internet", "AzureLoadBalancer", SUBNET])
        if k < 0.85:
            pool = [p for _, ps in TAGS.values() for p in ps] + [SUBNET, SUBNET, LB]
            return self.cidr_inside(self.rnd.choice(pool))
        return self.cidr_inside(self.rnd.choice(["0.0.0.0/0", "10.0.0.0/16", "8.8.0.0/16"]))

    def ports(self, sport):
        if sport:
            return "*" if self.rnd.random() < 0.8 else self.rnd.choice(["50000", "1024-65535", "0-1023", "*"])
        return self.rnd.choice(PORT_CHOICES)

    def new_rule(self, rules, name, d=None):
        d = d or self.rnd.choice(["Inbound", "Outbound"])
        used = {r["priority"] for r in rules if r["direction"] == d}
        while True:
            prio = self.rnd.choice([self.rnd.randint(100, 199), self.rnd.randint(100, 4095),
                                    self.rnd.randint(205, 260)])
            if prio not in used:
                break
        src, dst = self.addr(), self.addr()
        if self.rnd.random() < 0.5:  # point it at the subnet half the time, so it touches the contracts
            if d == "Inbound":
                dst = self.rnd.choice([SUBNET, self.cidr_inside(SUBNET), "*", "VirtualNetwork"])
            else:
                src = self.rnd.choice([SUBNET, self.cidr_inside(SUBNET), "*", "VirtualNetwork"])
        return rule(name, prio, d, "Deny" if self.rnd.random() < 0.7 else "Allow",
                    self.rnd.choice(["Tcp", "Tcp", "Udp", "Icmp", "*", "*"]), src, dst, self.ports(False),
                    self.ports(True))

    def targeted_rule(self, rules, name):
        """A rule cut out of one contract's space: part of its source, destination, protocols and ports."""
        c = self.rnd.choice(contracts(True)[0])
        _, d, src, dst, protos, ports = c
        d = "Inbound" if d == "in" else "Outbound"

        def part(field):
            ps = [SUBNET] if field == "S" else ([LB] if field == "AzureLoadBalancer" else tag_prefixes(field))
            whole = SUBNET if field == "S" else field
            return whole if self.rnd.random() < 0.3 else self.cidr_inside(self.rnd.choice(ps))
        proto = self.rnd.choice({(TCP,): ["Tcp", "Tcp", "*"], ANY: ["Tcp", "Udp", "Icmp", "Icmp", "*"]}[protos])
        if ports and self.rnd.random() < 0.8:
            dports = [str(p) for p in self.rnd.sample(ports, self.rnd.randint(1, len(ports)))]
        else:
            dports = "*" if proto == "Icmp" or self.rnd.random() < 0.5 else self.rnd.choice(PORT_CHOICES)
        r = self.new_rule(rules, name, d)
        r.update(src=part(src), dst=part(dst), protocol=proto, dports=dports,
                 sports="*" if proto == "Icmp" else r["sports"])
        return r

    def new_route(self, routes, name):
        used = {r["prefix"].lower() for r in routes}
        ntags = sum(1 for r in routes if r["prefix"] in TAGS)
        for _ in range(50):
            k = self.rnd.random()
            if k < 0.25 and ntags < 25:
                prefix = self.rnd.choice(list(TAGS) + ["AzureCloud"])
            elif k < 0.35:
                prefix = "0.0.0.0/0"
            elif k < 0.45:
                prefix = self.cidr_inside(SUBNET)
            else:
                pool = [p for _, ps in TAGS.values() for p in ps] + ["20.0.0.0/8"]
                prefix = self.cidr_inside(self.rnd.choice(pool))
            if "/" not in prefix and prefix not in TAGS:
                prefix += "/32"
            if prefix.lower() not in used and not any(
                    prefix not in TAGS and r["prefix"] not in TAGS and net(r["prefix"]) == net(prefix) for r in routes):
                hop = self.rnd.choice(["VirtualAppliance", "VirtualAppliance", "None", "Internet", "VnetLocal",
                                       "VirtualNetworkGateway"])
                return {"name": name, "prefix": prefix, "hop": hop}
        return None

    def mutate(self, i):
        rnd = self.rnd
        nsg = mandatory_nsg(rnd.random() < 0.6)
        routes = mandatory_routes() if rnd.random() < 0.85 else []
        nic = None
        ops = []
        for k in range(rnd.randint(1, 4)):
            op = rnd.choices(["rule", "target", "delrule", "route", "delroute", "rehop"], [3, 3, 1, 3, 1, 1])[0]
            if op == "rule":
                nsg.append(self.new_rule(nsg, "x%d_%d" % (i, k)))
            elif op == "target":
                nsg.append(self.targeted_rule(nsg, "x%d_%d" % (i, k)))
            elif op == "delrule":
                mand = [r for r in nsg if not r["name"].startswith("x")]
                if mand:
                    nsg.remove(rnd.choice(mand))
            elif op == "route":
                r = self.new_route(routes, "r%d_%d" % (i, k))
                if r:
                    routes.append(r)
            elif op == "rehop" and routes:
                rnd.choice(routes)["hop"] = rnd.choice(["VirtualAppliance", "None", "VirtualNetworkGateway"])
            elif op == "delroute" and routes:
                routes.remove(rnd.choice(routes))
            ops.append(op)
        if rnd.random() < 0.2:
            nic = []
            for k in range(rnd.randint(1, 3)):
                nic.append((self.targeted_rule if rnd.random() < 0.5 else self.new_rule)(nic, "nic%d_%d" % (i, k)))
            if rnd.random() < 0.7:
                nic += [rule("nic_allow_in", 4090, "Inbound", "Allow", "*", "*", "*"),
                        rule("nic_allow_out", 4090, "Outbound", "Allow", "*", "*", "*")]
            rnd.shuffle(nic)
        rnd.shuffle(nsg)  # file order must not matter
        return nsg, nic, (None if rnd.random() < 0.05 else routes), ops


# ---- the Z3 model ----

SRC, DST = z3.BitVec("src", 32), z3.BitVec("dst", 32)
SPORT, DPORT = z3.BitVec("sport", 16), z3.BitVec("dport", 16)
PROTO = z3.Int("proto")
ADDR = z3.BitVec("a", 32)


def in_prefix(x, p):
    base, ln = net(p)
    if ln == 0:
        return z3.BoolVal(True)
    mask = (0xFFFFFFFF << (32 - ln)) & 0xFFFFFFFF
    return (x & mask) == base


# Never Internet, wherever the VNet is (docs/azure-semantics-notes.md §1).
NOT_INTERNET = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"]
# The system routes to None (azure-semantics.md §3.1 plus the two seen in real effective routes, notes §3).
SYSTEM_NONE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "25.33.80.0/20", "25.41.3.0/25"]


def tag_prefixes(name):
    for t, (_, ps) in TAGS.items():
        if t.lower() == name.lower():
            return ps
    return None


class World:
    """Address sets for one mutation (VirtualNetwork depends on the route table)."""

    def __init__(self, routes):
        udr = []
        for r in routes or []:
            udr += tag_prefixes(r["prefix"]) or [r["prefix"]]
        self.vnet_tag = [VNET, LB] + udr

    def prefixes(self, field):
        """list of prefixes, or None for `Internet` (handled as a complement)."""
        f = field.lower()
        if field == "*":
            return ["0.0.0.0/0"]
        if f == "virtualnetwork":
            return self.vnet_tag
        if f == "azureloadbalancer":
            return [LB]
        if f == "internet":
            return None
        ps = tag_prefixes(field)
        return ps if ps is not None else [field]

    def addr(self, x, field):
        ps = self.prefixes(field)
        if ps is None:
            return z3.Not(z3.Or([in_prefix(x, p) for p in self.vnet_tag + NOT_INTERNET]))
        return z3.Or([in_prefix(x, p) for p in ps])


def port_ranges(v):
    if v == "*":
        return [(0, 65535)]
    out = []
    for s in (v if isinstance(v, list) else [v]):
        lo, _, hi = s.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def covers_all(ranges):
    pos = 0
    for lo, hi in sorted(ranges):
        if lo > pos:
            return False
        pos = max(pos, hi + 1)
    return pos > 65535


def port_in(x, ranges):
    return z3.Or([z3.And(z3.ULE(lo, x), z3.ULE(x, hi)) if lo != hi else x == lo for lo, hi in ranges])


PROTO_NUM = {"tcp": [TCP], "udp": [UDP], "icmp": [ICMP], "*": [TCP, UDP, ICMP]}

DEFAULTS = {
    "Inbound": [rule("AllowVnetInBound", 65000, "Inbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork"),
                rule("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "*", "AzureLoadBalancer", "*"),
                rule("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "*")],
    "Outbound": [rule("AllowVnetOutBound", 65000, "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork"),
                 rule("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "*", "Internet"),
                 rule("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "*")],
}


def match(w, r):
    protos = PROTO_NUM[r["protocol"].lower()]
    sp, dp = port_ranges(r["sports"]), port_ranges(r["dports"])
    ported = z3.And(port_in(SPORT, sp), port_in(DPORT, dp))
    icmp_ok = z3.BoolVal(covers_all(sp) and covers_all(dp))
    return z3.And(z3.Or([PROTO == p for p in protos]), w.addr(SRC, r["src"]), w.addr(DST, r["dst"]),
                  z3.If(PROTO == ICMP, icmp_ok, ported))


class Stage:
    """One NSG in one direction: rules by priority, defaults last."""

    def __init__(self, w, rules, d, name):
        self.name = name
        self.rules = sorted([r for r in rules if r["direction"] == d], key=lambda r: r["priority"]) + DEFAULTS[d]
        self.m = [match(w, r) for r in self.rules]

    def decides(self, i):
        return z3.And([self.m[i]] + [z3.Not(m) for m in self.m[:i]])

    def denied(self):
        return z3.Or([self.decides(i) for i, r in enumerate(self.rules) if r["access"] == "Deny"])


def space(w, c):
    _, d, src, dst, protos, ports = c
    f = [z3.Or([PROTO == p for p in protos]),
         w.addr(SRC, SUBNET if src == "S" else src), w.addr(DST, SUBNET if dst == "S" else dst)]
    if ports is not None:
        f.append(z3.Or([DPORT == p for p in ports]))
    return z3.And(f)


RANK_SYSTEM = 9


def route_rank(prefix):
    if prefix not in TAGS and tag_prefixes(prefix) is None:
        return 0
    region = TAGS[[t for t in TAGS if t.lower() == prefix.lower()][0]][0]
    regional = bool(region) or "." in prefix
    if prefix.lower().split(".")[0] == "azurecloud":
        return 3 if regional else 4
    return 1 if regional else 2


def candidates(routes):
    """(prefix, len, rank, order, hop, route name or None, route prefix text)."""
    cs = [(VNET, 16, RANK_SYSTEM, 0, "VnetLocal", None, VNET), ("0.0.0.0/0", 0, RANK_SYSTEM, 1, "Internet", None,
                                                                 "0.0.0.0/0")]
    vb, vl = net(VNET)
    for i, p in enumerate(SYSTEM_NONE):
        b, ln = net(p)
        inside_vnet = vl <= ln and (b >> (32 - vl)) == (vb >> (32 - vl))
        if not inside_vnet:
            cs.append((p, ln, RANK_SYSTEM, 2 + i, "None", None, p))
    for i, r in enumerate(routes or []):
        ps = tag_prefixes(r["prefix"])
        rank = route_rank(r["prefix"])
        for p in (ps if ps is not None else [r["prefix"]]):
            cs.append((p, net(p)[1], rank, 100 + i, r["hop"], r["name"], r["prefix"]))
    return cs


def inside(a, b):
    """prefix a ⊆ prefix b"""
    ab, al = net(a)
    bb, bl = net(b)
    return al >= bl and (bl == 0 or (ab >> (32 - bl)) == (bb >> (32 - bl)))


def wins(cs, k):
    c = cs[k]
    key = lambda x: (-x[1], x[2], x[3])
    beat = [in_prefix(ADDR, d[0]) for d in cs if key(d) < key(c) and inside(d[0], c[0])]
    return z3.And([in_prefix(ADDR, c[0])] + [z3.Not(b) for b in beat])


class OracleTest(unittest.TestCase):
    N = int(os.environ.get("MINET_ORACLE_N", "300"))
    SEED = int(os.environ.get("MINET_ORACLE_SEED", "20221107"))

    def test_random_mutations_agree_with_z3(self):
        tmp = tempdir(self)
        tags = tmp.write("tags.json", tags_doc([(n, ps, reg) for n, (reg, ps) in TAGS.items()]))
        rnd = random.Random(self.SEED)
        mut = Mutator(rnd)
        solver = z3.Solver()
        stats = {"violated": 0, "held": 0, "minet_s": 0.0, "z3_s": 0.0, "mutations": 0, "examples": 0}
        seen_fail = set()
        t0 = time.time()
        for i in range(self.N):
            nsg, nic, routes, ops = mut.mutate(i)
            provisioned = rnd.random() < 0.3
            nsg_path = tmp.write("nsg.json", nsg_json(nsg, "subnet-nsg"))
            args = [MINET, "verify", "--tags", tags, "--vnet", VNET, "--subnet", SUBNET, "--region", REGION,
                    "--pair", PAIR, "--nsg", nsg_path, "--json"]
            if nic is not None:
                args += ["--nic-nsg", tmp.write("nic.json", nsg_json(nic, "nic-nsg"))]
            if routes is not None:
                args += ["--routes", tmp.write("rt.json", routes_json(routes))]
            if provisioned:
                args += ["--contracts", "provisioned"]
            t1 = time.time()
            p = subprocess.run(args, capture_output=True, text=True, timeout=60)
            stats["minet_s"] += time.time() - t1
            ctx = "mutation %d (seed %d) ops=%s\nnsg=%s\nnic=%s\nroutes=%s\nstderr=%s" % (
                i, self.SEED, ops, json.dumps(nsg), json.dumps(nic), json.dumps(routes), p.stderr)
            self.assertIn(p.returncode, (0, 1), ctx)
            rep = json.loads(p.stdout)
            holds = {c["id"]: c["holds"] for c in rep["contracts"]}
            viol = {}
            for x in rep["violations"]:
                viol.setdefault(x["contract"], []).append(x)

            t1 = time.time()
            w = World(routes)
            ncs, rcs = contracts(provisioned)
            stages = {}
            for d in ("Inbound", "Outbound"):
                st = [Stage(w, nsg, d, "subnet-nsg")]
                if nic is not None:
                    st.append(Stage(w, nic, d, "nic-nsg"))
                if d == "Outbound":
                    st.reverse()  # NIC first outbound (§1.6)
                stages[d] = st
            for c in ncs:
                st = stages["Inbound" if c[1] == "in" else "Outbound"]
                sp = space(w, c)
                bad = z3.Or([s.denied() for s in st])
                solver.push()
                solver.add(sp, bad)
                r = solver.check()
                solver.pop()
                self.assertNotEqual(r, z3.unknown, ctx)
                z3_fails = r == z3.sat
                self.assertEqual(holds[c[0]], not z3_fails, "%s: minet holds=%s, z3 violated=%s\n%s" % (
                    c[0], holds[c[0]], z3_fails, ctx))
                for x in viol.get(c[0], []):
                    stats["examples"] += 1
                    e = x["example"]
                    sub = [(SRC, z3.BitVecVal(int(ipaddress.IPv4Address(e["src"])), 32)),
                           (DST, z3.BitVecVal(int(ipaddress.IPv4Address(e["dst"])), 32)),
                           (PROTO, z3.IntVal({"tcp": TCP, "udp": UDP, "icmp": ICMP}[e["protocol"]])),
                           (SPORT, z3.BitVecVal(e["srcPort"] or 0, 16)), (DPORT, z3.BitVecVal(e["dstPort"] or 0, 16))]
                    self.assertEqual(e["srcPort"] is None, e["protocol"] == "icmp", x)
                    self.assertTrue(z3.is_true(z3.simplify(z3.substitute(z3.And(sp, bad), *sub))),
                                    "%s: example %s is not a violation\n%s" % (c[0], e, ctx))
                    # The named rule decides it: earlier stages allow, its stage's first match is that rule.
                    k = [s.name for s in st].index(x["nsg"])
                    idx = [r["name"] for r in st[k].rules].index(x["rule"])
                    decided = z3.And([z3.Not(s.denied()) for s in st[:k]] + [st[k].decides(idx)])
                    self.assertEqual(st[k].rules[idx]["access"], "Deny", x)
                    self.assertTrue(z3.is_true(z3.simplify(z3.substitute(decided, *sub))),
                                    "%s: rule %s does not decide %s\n%s" % (c[0], x["rule"], e, ctx))
                (seen_fail.add(c[0]) if z3_fails else None)
                stats["violated" if z3_fails else "held"] += 1

            cs = candidates(routes)
            win = [wins(cs, k) for k in range(len(cs))]
            for cid, tag, hop in rcs:
                tset = [SUBNET] if tag == "S" else tag_prefixes(tag)
                in_t = z3.Or([in_prefix(ADDR, p) for p in tset])
                bad = z3.Or([z3.And(in_t, win[k]) for k, cand in enumerate(cs) if cand[4] != hop] or [z3.BoolVal(False)])
                solver.push()
                solver.add(bad)
                r = solver.check()
                solver.pop()
                z3_fails = r == z3.sat
                self.assertEqual(holds[cid], not z3_fails, "%s: minet holds=%s, z3 violated=%s\n%s" % (
                    cid, holds[cid], z3_fails, ctx))
                for x in viol.get(cid, []):
                    stats["examples"] += 1
                    a = [(ADDR, z3.BitVecVal(int(ipaddress.IPv4Address(x["example"]["dst"])), 32))]
                    self.assertTrue(z3.is_true(z3.simplify(z3.substitute(bad, *a))), (cid, x, ctx))
                    mine = z3.Or([win[k] for k, cand in enumerate(cs)
                                  if cand[5] == x["route"] and cand[4] == x["example"]["nextHopType"]
                                  and (x["route"] is not None or cand[6] == x["addressPrefix"])])
                    self.assertTrue(z3.is_true(z3.simplify(z3.substitute(mine, *a))),
                                    "%s: %s is not the winning route\n%s" % (cid, x, ctx))
                (seen_fail.add(cid) if z3_fails else None)
                stats["violated" if z3_fails else "held"] += 1
            stats["z3_s"] += time.time() - t1
            stats["mutations"] += 1
        # The mutations must exercise both verdicts of most contracts, or the agreement means little.
        self.assertGreaterEqual(len(seen_fail), 15, sorted(seen_fail))
        self.assertGreater(stats["held"], stats["violated"] // 4)
        if os.environ.get("MINET_ORACLE_STATS"):
            print("\noracle: %s, %d contracts ever failed, %.1fs" % (stats, len(seen_fail), time.time() - t0))


if __name__ == "__main__":
    unittest.main()

"""Effective output read unchanged (model/effective.c): `az network nic list-effective-nsg` and
`az network nic show-effective-route-table` (and their REST example and PowerShell forms). The real files are in
tests/fixtures/effective (README there: public origins, and the verdicts and next hops the sources state); the
generated ones here vary one thing each: the two association levels and their order, expanded prefixes, tagMap,
Invalid routes, peering/service-endpoint/gateway next hops, and bad input (one error with its JSON path, exit 2).
"""
import json
import os
import unittest

from cli_common import EXAMPLES, FIXTURES, TAGS_2025, run, tags_doc, tempdir

EFF = os.path.join(FIXTURES, "effective")
REST_NSG = os.path.join(EFF, "NetworkInterfaceEffectiveNSGList.json")
REST_RT = os.path.join(EFF, "NetworkInterfaceEffectiveRouteTableList.json")
TAGS = tags_doc([("Storage", ["20.38.96.0/19"])])


def erule(name, prio, direction="Inbound", access="Allow", proto="All", src="0.0.0.0/0", dst="0.0.0.0/0",
          sport="0-65535", dport="0-65535", **extra):
    r = {"name": name, "protocol": proto, "sourcePortRange": sport, "destinationPortRange": dport,
         "sourceAddressPrefix": src, "destinationAddressPrefix": dst, "access": access, "priority": prio,
         "direction": direction}
    r.update(extra)
    return r


DEFAULTS = [
    erule("defaultSecurityRules/AllowVnetInBound", 65000, src="VirtualNetwork", dst="VirtualNetwork",
          expandedSourceAddressPrefix=["10.0.0.0/16", "168.63.129.16/32"],
          expandedDestinationAddressPrefix=["10.0.0.0/16", "168.63.129.16/32"]),
    erule("defaultSecurityRules/AllowAzureLoadBalancerInBound", 65001, src="AzureLoadBalancer",
          expandedSourceAddressPrefix=["168.63.129.16/32"]),
    erule("defaultSecurityRules/DenyAllInBound", 65500, access="Deny"),
    erule("defaultSecurityRules/AllowVnetOutBound", 65000, "Outbound", src="VirtualNetwork", dst="VirtualNetwork",
          expandedSourceAddressPrefix=["10.0.0.0/16", "168.63.129.16/32"],
          expandedDestinationAddressPrefix=["10.0.0.0/16", "168.63.129.16/32"]),
    erule("defaultSecurityRules/AllowInternetOutBound", 65001, "Outbound", dst="Internet",
          expandedDestinationAddressPrefix=["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/7", "11.0.0.0/8",
                                            "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2",
                                            "128.0.0.0/1"]),
    erule("defaultSecurityRules/DenyAllOutBound", 65500, "Outbound", access="Deny"),
]

SUB_ID = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/web"
NIC_ID = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/vm1-nic"


def entry(level, rules, nsg="nsg", tag_map=None):
    e = {"association": {"subnet": {"id": SUB_ID} if level == "subnet" else None,
                         "networkInterface": {"id": NIC_ID} if level == "nic" else None},
         "effectiveSecurityRules": rules + DEFAULTS,
         "networkSecurityGroup": {"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/"
                                        "networkSecurityGroups/" + nsg},
         "tagMap": tag_map if tag_map is not None else {}}
    return e


def eroute(prefixes, hop, source="Default", state="Active", ips=(), name=None):
    return {"addressPrefix": list(prefixes), "destinationServiceTags": [], "disableBgpRoutePropagation": False,
            "hasBgpOverride": False, "name": name, "nextHopIpAddress": list(ips), "nextHopType": hop,
            "source": source, "state": state, "tagMap": {}}


SYSTEM = [eroute(["10.0.0.0/16"], "VnetLocal"), eroute(["0.0.0.0/0"], "Internet"),
          eroute(["10.0.0.0/8"], "None"), eroute(["100.64.0.0/10"], "None"), eroute(["192.168.0.0/16"], "None"),
          eroute(["25.33.80.0/20"], "None"), eroute(["25.41.3.0/25"], "None")]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)
        self.tags = self.tmp.write("tags.json", TAGS)
        self.n = 0

    def file(self, doc):
        self.n += 1
        return self.tmp.write("f%d.json" % self.n, doc)

    def flow(self, nsg, direction, src, dst, proto="tcp", vnet="10.0.0.0/16", extra=()):
        r = run(["flow", "--tags", self.tags, "--vnet", vnet, "--nsg", nsg, "--direction", direction,
                 "--protocol", proto, "--src", src, "--dst", dst, "--json"] + list(extra))
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return json.loads(r.stdout)

    def route(self, rt, dst, vnet=None, text=False):
        args = ["route", "--tags", self.tags, "--routes", rt, "--dst", dst]
        if vnet:
            args += ["--vnet", vnet]
        r = run(args + ([] if text else ["--json"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout if text else json.loads(r.stdout)

    def bad(self, args, want):
        r = run(args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.splitlines(), want)


class TestRealFiles(Base):
    """The REST API examples, unchanged (azure-rest-api-specs, README here)."""

    def test_rest_example_nsg(self):
        # default-allow-rdp: Tcp from 1.1.1.1/32 to 0.0.0.0/0 port 3389, Allow, priority 1000.
        v = self.flow(REST_NSG, "inbound", "1.1.1.1:50000", "10.0.0.4:3389")
        self.assertEqual((v["access"], v["rule"], v["priority"]), ("Allow", "default-allow-rdp", 1000))
        self.assertTrue(v["nsg"].startswith("test-nsg ("))
        # Any other source meets no listed inbound rule: Azure's DenyAllInBound (added: the example is abridged).
        v = self.flow(REST_NSG, "inbound", "1.1.1.2:50000", "10.0.0.4:3389")
        self.assertEqual((v["access"], v["rule"]), ("Deny", "DenyAllInBound"))
        # rule1: Tcp 0.0.0.0/32:456 -> 0.0.0.0/32:6579.
        v = self.flow(REST_NSG, "inbound", "0.0.0.0:456", "0.0.0.0:6579")
        self.assertEqual((v["access"], v["rule"], v["priority"]), ("Allow", "rule1", 234))
        # AllowInternetOutBound as Azure expanded it here (32/3, 4/6, 2/7, 1/8): 33.1.1.1 is in, 13.107.21.200 not.
        v = self.flow(REST_NSG, "outbound", "10.0.0.4:50000", "33.1.1.1:443")
        self.assertEqual((v["access"], v["rule"], v["priority"]), ("Allow", "AllowInternetOutBound", 65001))
        v = self.flow(REST_NSG, "outbound", "10.0.0.4:50000", "13.107.21.200:443")
        self.assertEqual((v["access"], v["rule"]), ("Deny", "DenyAllOutBound"))

    def test_rest_example_routes(self):
        # The example's table: 172.20.2.0/24 VnetLocal, 0.0.0.0/0 Internet, the four private ranges None.
        for dst, hop, prefix in (("172.20.2.9", "VnetLocal", "172.20.2.0/24"), ("8.8.8.8", "Internet", "0.0.0.0/0"),
                                 ("10.1.2.3", "None", "10.0.0.0/8"), ("172.20.3.1", "None", "172.16.0.0/12"),
                                 ("100.64.0.1", "None", "100.64.0.0/10"), ("192.168.1.1", "None", "192.168.0.0/16")):
            r = self.route(REST_RT, dst)
            self.assertEqual((r["nextHopType"], r["addressPrefix"], r["source"], r["effective"]),
                             (hop, prefix, "Default", True), dst)
        # --vnet left out: the VnetLocal route gives it. No system route is added to an effective table: IPv6
        # has no route here, so it is dropped.
        r = self.route(REST_RT, "2001:db8::1")
        self.assertEqual((r["nextHopType"], r["addressPrefix"]), ("None", None))
        out = self.route(REST_RT, "172.20.2.9", text=True)
        self.assertIn("effective route, source Default, addressPrefix 172.20.2.0/24", out)
        self.assertIn("responses.200.body.value[0].addressPrefix[0]", out)


class TestEffectiveNsg(Base):
    def test_both_levels_in_azure_order(self):
        sub = entry("subnet", [erule("securityRules/AllowWebIn", 100, proto="Tcp", dport="80-80",
                                     src="Internet", expandedSourceAddressPrefix=["198.18.0.0/15"])],
                    nsg="subnet-nsg")
        nic = entry("nic", [erule("securityRules/DenyWebFromBad", 100, access="Deny", proto="Tcp",
                                  src="198.19.0.0/16", dport="80-80"),
                            erule("securityRules/AllowWeb", 200, proto="Tcp", dport="80-80", src="Internet",
                                  expandedSourceAddressPrefix=["198.18.0.0/15"])], nsg="nic-nsg")
        doc = {"value": [nic, sub]}  # listed NIC first: the order of evaluation is Azure's, not the file's
        f = self.file(doc)
        v = self.flow(f, "inbound", "198.18.0.9:50000", "10.0.0.4:80")
        self.assertEqual(v["access"], "Allow")
        self.assertEqual([(e["rule"], e["nsg"]) for e in v["evaluated"]],
                         [("AllowWebIn", "subnet-nsg (subnet web)"), ("AllowWeb", "nic-nsg (network interface vm1-nic)")])
        # Inbound: the subnet allows, the NIC denies: denied by the NIC's rule.
        v = self.flow(f, "inbound", "198.19.0.9:50000", "10.0.0.4:80")
        self.assertEqual((v["access"], v["rule"], v["nsg"]),
                         ("Deny", "DenyWebFromBad", "nic-nsg (network interface vm1-nic)"))
        # Outbound to the Internet: the NIC first, then the subnet; both allow by AllowInternetOutBound.
        v = self.flow(f, "outbound", "10.0.0.4:50000", "8.8.8.8:443")
        self.assertEqual([e["nsg"] for e in v["evaluated"]],
                         ["nic-nsg (network interface vm1-nic)", "subnet-nsg (subnet web)"])
        # The expanded list is what matches: 198.20.0.1 is Internet to minet but not in this rule's expansion.
        v = self.flow(f, "inbound", "198.20.0.1:50000", "10.0.0.4:80")
        self.assertEqual((v["access"], v["rule"]), ("Deny", "DenyAllInBound"))

    def test_readable_names_and_text(self):
        f = self.file({"value": [entry("nic", [erule("securityRules/AllowSsh", 300, proto="Tcp", dport="22-22",
                                                      src="10.1.0.0/16")])]})
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", f, "--direction", "inbound",
                 "--protocol", "tcp", "--src", "203.0.113.5:40000", "--dst", "10.0.0.4:22"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("denied by default rule 'DenyAllInBound', priority 65500", r.stdout)
        self.assertIn("AllowSsh", r.stdout)
        self.assertNotIn("securityRules/", r.stdout)
        self.assertIn("not in VirtualNetwork (as Azure expanded it: 2 prefixes)", r.stdout)

    def test_tag_map_and_powershell_case(self):
        # No expanded list: the tagMap's expansion of the tag is used. PowerShell's PascalCase keys.
        rules = [{"Name": "securityRules/ToStorage", "Protocol": "Tcp", "SourcePortRange": "0-65535",
                  "DestinationPortRange": "443-443", "SourceAddressPrefix": "VirtualNetwork",
                  "ExpandedSourceAddressPrefix": ["10.0.0.0/16"], "DestinationAddressPrefix": "Storage",
                  "ExpandedDestinationAddressPrefix": [], "Access": "Deny", "Priority": 100,
                  "Direction": "Outbound"}]
        e = {"Association": {"NetworkInterface": {"Id": NIC_ID}}, "EffectiveSecurityRules": rules,
             "TagMap": json.dumps({"Storage": ["52.239.0.0/16"]})}
        f = self.file([e])
        v = self.flow(f, "outbound", "10.0.0.4:50000", "52.239.1.1:443")
        self.assertEqual((v["access"], v["rule"]), ("Deny", "ToStorage"))
        # The --tags file's Storage (20.38.96.0/19) is not used: the file says what Azure expanded.
        v = self.flow(f, "outbound", "10.0.0.4:50000", "20.38.96.1:443")
        self.assertEqual(v["access"], "Allow")

    def test_star_written_as_zero_prefix(self):
        # The listing writes "*" as 0.0.0.0/0: an IPv6 flow matches it too (the REST example's shape).
        f = self.file({"value": [entry("nic", [erule("securityRules/AllowHttps", 100, proto="Tcp",
                                                      dport="443-443")])]})
        v = self.flow(f, "inbound", "[2001:db8::9]:40000", "[fd00:db8::4]:443", vnet="10.0.0.0/16,fd00:db8::/48")
        self.assertEqual((v["access"], v["rule"]), ("Allow", "AllowHttps"))

    def test_listing_without_catch_all(self):
        # A (hand-edited) listing whose rule at 65500 does not cover everything still ends in Azure's DenyAll.
        rules = [erule("securityRules/OnlyTen", 65500, access="Deny", src="10.0.0.0/8")]
        e = {"association": {"networkInterface": {"id": NIC_ID}}, "effectiveSecurityRules": rules}
        f = self.file({"value": [e]})
        v = self.flow(f, "inbound", "198.18.0.1:40000", "10.0.0.4:443")
        self.assertEqual((v["access"], v["rule"], v["priority"]), ("Deny", "DenyAllInBound", 65535))

    def test_verify_reads_effective_output(self):
        # A NIC-only listing and an effective route table: verify runs on them (exit 1: the mandatory rules are
        # missing) and names the NSG by its level.
        f = self.file({"value": [entry("nic", [])]})
        rt = self.file({"value": SYSTEM})
        r = run(["verify", "--tags", TAGS_2025, "--tags", os.path.join(EXAMPLES, "corpnet-tags.json"), "--vnet", "10.0.0.0/16", "--subnet", "10.0.0.0/24", "--region",
                 "westeurope", "--pair", "northeurope", "--nsg", f, "--routes", rt, "--json"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("nsg (network interface vm1-nic)", r.stdout)

    def test_nic_nsg_refused_with_effective(self):
        f = self.file({"value": [entry("nic", [])]})
        self.bad(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", f, "--nic-nsg", f, "--direction",
                  "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"],
                 [f + ": holds the effective rules of the subnet and the network interface; leave out --nic-nsg"])
        nsg = self.file({"name": "n", "properties": {"securityRules": []}})
        self.bad(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--nic-nsg", f, "--direction",
                  "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"],
                 [f + ": effective security rules hold the subnet's and the network interface's NSG: give them with "
                      "--nsg alone"])


class TestDifferential(Base):
    """The same rules as two NSGs (--nsg, --nic-nsg) and as Azure's effective listing of them give the same verdict
    and deciding rule for every flow of a batch (random rules with prefix lists, port ranges and both directions)."""

    def test_same_verdicts(self):
        import random
        rnd = random.Random(11)

        def pfx():
            return "%d.%d.0.0/16" % (rnd.choice([10, 198, 203]), rnd.randrange(0, 4))

        levels = {}
        for level in ("subnet", "nic"):
            rules = []
            for i in range(40):
                lo = rnd.randrange(0, 1000)
                srcs = sorted({pfx() for _ in range(rnd.randrange(1, 3))})
                rules.append(dict(name="%s%d" % (level, i), prio=100 + i, dir=rnd.choice(["Inbound", "Outbound"]),
                                  access=rnd.choice(["Allow", "Deny"]), proto=rnd.choice(["Tcp", "Udp", "*"]),
                                  srcs=srcs, dst=pfx(), ports=(lo, lo + rnd.randrange(0, 50))))
            levels[level] = rules
        files = {}
        for level, rules in levels.items():
            arm = [{"name": r["name"], "properties": {
                "protocol": r["proto"], "sourcePortRange": "*", "destinationPortRange": "%d-%d" % r["ports"],
                "sourceAddressPrefixes": r["srcs"], "destinationAddressPrefix": r["dst"], "access": r["access"],
                "priority": r["prio"], "direction": r["dir"]}} for r in rules]
            files[level] = self.file({"name": level, "properties": {"securityRules": arm}})
        entries = []
        for level, rules in levels.items():
            eff = [erule("securityRules/" + r["name"], r["prio"], r["dir"], r["access"],
                         "All" if r["proto"] == "*" else r["proto"], src="", dst=r["dst"],
                         dport="%d-%d" % r["ports"], sourceAddressPrefixes=r["srcs"],
                         expandedSourceAddressPrefix=r["srcs"]) for r in rules]
            entries.append(entry(level, eff, nsg=level))
        eff_file = self.file({"value": entries})
        lines = []
        def host(prefix):
            return prefix.replace("0.0/16", "%d.%d" % (rnd.randrange(256), rnd.randrange(1, 255)))

        all_rules = levels["subnet"] + levels["nic"]
        for _ in range(600):
            r = rnd.choice(all_rules)  # aimed at a rule most of the time, so that user rules decide too
            if rnd.random() < 0.7:
                d, a, b, port = r["dir"].lower(), host(rnd.choice(r["srcs"])), host(r["dst"]), rnd.randint(*r["ports"])
            else:
                d, a, b, port = rnd.choice(["inbound", "outbound"]), host(pfx()), host(pfx()), rnd.randrange(0, 1100)
            proto = rnd.choice(["tcp", "udp"]) if r["proto"] == "*" else r["proto"].lower()
            lines.append("%s %s %s:%d %s:%d" % (d, proto, a, rnd.randrange(1, 65536), b, port))
        flows = "\n".join(lines) + "\n"
        base = ["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--batch", "-"]
        a = run(base + ["--nsg", files["subnet"], "--nic-nsg", files["nic"]], stdin=flows)
        b = run(base + ["--nsg", eff_file], stdin=flows)
        self.assertEqual((a.returncode, b.returncode), (0, 0), a.stderr + b.stderr)
        # access, rule, priority, and the NSG that decided ("subnet" / "subnet (subnet web)")
        va = [l.split("\t") for l in a.stdout.splitlines()]
        vb = [l.split("\t") for l in b.stdout.splitlines()]
        vb = [v[:3] + [v[3].split(" ")[0]] for v in vb]
        self.assertEqual(len(va), 600)
        self.assertEqual(va, vb)
        self.assertGreater(sum(v[0] == "Allow" for v in va), 20)
        self.assertGreater(sum(not v[1].startswith(("Deny", "Allow")) for v in va), 50)  # user rules decide too
        self.assertEqual({v[3] for v in va}, {"subnet", "nic"})


class TestEffectiveRoutes(Base):
    def rt(self, routes, wrap=True):
        return self.file({"nextLink": None, "value": routes} if wrap else routes)

    def test_peering_service_endpoint_gateway_user_invalid(self):
        routes = SYSTEM + [
            eroute(["10.1.0.0/16"], "VNetPeering"),
            eroute(["20.38.96.0/19", "52.239.0.0/16"], "VirtualNetworkServiceEndpoint"),
            eroute(["192.168.10.0/24"], "VirtualNetworkGateway", source="VirtualNetworkGateway",
                   ips=["10.0.255.4", "10.0.255.5"]),
            eroute(["0.0.0.0/0"], "VirtualAppliance", source="User", ips=["10.0.2.4"], name="to-fw"),
        ]
        routes[1]["state"] = "Invalid"  # the default route to the Internet, overridden by the user's
        f = self.rt(routes)
        r = self.route(f, "10.1.2.3")
        self.assertEqual((r["nextHopType"], r["addressPrefix"]), ("VNetPeering", "10.1.0.0/16"))
        r = self.route(f, "52.239.7.7")
        self.assertEqual((r["nextHopType"], r["addressPrefix"], r["at"]),
                         ("VirtualNetworkServiceEndpoint", "52.239.0.0/16", "value[8].addressPrefix[1]"))
        r = self.route(f, "192.168.10.9")
        self.assertEqual((r["nextHopType"], r["nextHopIpAddress"], r["source"]),
                         ("VirtualNetworkGateway", "10.0.255.4, 10.0.255.5", "VirtualNetworkGateway"))
        r = self.route(f, "8.8.8.8")
        self.assertEqual((r["nextHopType"], r["nextHopIpAddress"], r["route"], r["source"]),
                         ("VirtualAppliance", "10.0.2.4", "to-fw", "User"))
        # 192.168.99.1: the None route of 192.168.0.0/16 (the gateway's /24 does not cover it).
        self.assertEqual(self.route(f, "192.168.99.1")["nextHopType"], "None")
        # The same file without the user route: the Invalid default route stays out, so nothing covers 8.8.8.8.
        f2 = self.rt(routes[:-1])
        r = self.route(f2, "8.8.8.8")
        self.assertEqual((r["nextHopType"], r["addressPrefix"]), ("None", None))

    def test_whole_fib_no_system_routes(self):
        # An effective table without the 10.0.0.0/8 None route: minet adds no system route of its own.
        f = self.rt([eroute(["10.0.0.0/16"], "VnetLocal"), eroute(["0.0.0.0/0"], "Internet")])
        self.assertEqual(self.route(f, "10.5.0.1", vnet="10.0.0.0/16")["nextHopType"], "Internet")

    def test_peered_space_is_virtual_network(self):
        # Peered address space is VirtualNetwork for the default rules; a service endpoint's prefixes are not.
        f = self.rt(SYSTEM + [eroute(["10.1.0.0/16"], "VNetPeering"),
                              eroute(["52.239.0.0/16"], "VirtualNetworkServiceEndpoint")])
        nsg = self.file({"value": [{"association": {"subnet": {"id": SUB_ID}},
                                    "effectiveSecurityRules": [
                                        erule("defaultSecurityRules/AllowVnetInBound", 65000, src="VirtualNetwork",
                                              dst="VirtualNetwork"),
                                        erule("defaultSecurityRules/DenyAllInBound", 65500, access="Deny")]}]})
        base = ["flow", "--tags", self.tags, "--routes", f, "--nsg", nsg, "--direction", "inbound",
                "--protocol", "tcp", "--dst", "10.0.0.4:22", "--json"]
        r = run(base + ["--src", "10.1.0.5:40000"])
        self.assertEqual((r.returncode, json.loads(r.stdout)["rule"]), (0, "AllowVnetInBound"), r.stderr)
        r = run(base + ["--src", "52.239.0.5:40000"])
        self.assertEqual((r.returncode, json.loads(r.stdout)["rule"]), (1, "DenyAllInBound"), r.stderr)

    def test_powershell_array(self):
        ps = [{"Name": None, "DisableBgpRoutePropagation": False, "State": "Active", "Source": "Default",
               "AddressPrefix": ["10.0.0.0/16"], "NextHopType": "VnetLocal", "NextHopIpAddress": []},
              {"Name": None, "DisableBgpRoutePropagation": False, "State": "Active", "Source": "Default",
               "AddressPrefix": ["0.0.0.0/0"], "NextHopType": "Internet", "NextHopIpAddress": []}]
        f = self.rt(ps, wrap=False)
        self.assertEqual(self.route(f, "10.0.3.3")["nextHopType"], "VnetLocal")
        self.assertEqual(self.route(f, "1.1.1.1")["nextHopType"], "Internet")


class TestBadInput(Base):
    """Truncated and wrong-typed variants: one clear error naming the JSON path, exit 2, nothing on stdout."""

    def nsg_bad(self, doc, want):
        f = self.file(doc) if not isinstance(doc, str) else self.tmp.write("t.json", doc)
        self.bad(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", f, "--direction", "inbound",
                  "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"],
                 [f + ": " + w for w in want])

    def rt_bad(self, doc, want):
        f = self.file(doc)
        self.bad(["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--routes", f, "--dst", "1.1.1.1"],
                 [f + ": " + w for w in want])

    def test_nsg_wrong_types(self):
        e = entry("nic", [erule("securityRules/A", 100, priority="100")])
        e["effectiveSecurityRules"][0]["priority"] = "100"
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules[0].priority: expected an integer, found a string"])
        e = entry("nic", [erule("securityRules/A", 100, expandedSourceAddressPrefix="10.0.0.0/8")])
        self.nsg_bad({"value": [e]},
                     ["value[0].effectiveSecurityRules[0].expandedSourceAddressPrefix: expected an array, found a string"])
        e = entry("nic", [erule("securityRules/A", 100, expandedSourceAddressPrefix=["10.0.0.300/8"])])
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules[0].expandedSourceAddressPrefix[0]: "
                                      "'10.0.0.300/8': not an IP address or CIDR prefix"])
        e = entry("nic", [erule("securityRules/A", 100, proto="Gre")])
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules[0].protocol: 'Gre' is not one of Tcp, Udp, "
                                      "Icmp, Esp, Ah, All, *"])
        e = entry("nic", [])
        e["effectiveSecurityRules"] = {"a": 1}
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules: expected an array, found an object"])

    def test_nsg_missing_and_levels(self):
        e = entry("nic", [erule("securityRules/A", 100)])
        del e["effectiveSecurityRules"][0]["access"]
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules[0].access: missing"])
        e = entry("nic", [])
        e["association"] = {"networkManager": {"id": "x"}}
        self.nsg_bad({"value": [e]}, ["value[0].association: names neither a subnet nor a networkInterface"])
        self.nsg_bad({"value": [entry("nic", []), entry("nic", [])]},
                     ["value[1]: a second NSG for the network interface (the first is value[0])"])
        e = entry("nic", [erule("securityRules/A", 100, src="NoSuchTag")])
        self.nsg_bad({"value": [e]}, ["value[0].effectiveSecurityRules[0].sourceAddressPrefix: unknown service tag "
                                      "'NoSuchTag' (not expanded in the file, not in its tagMap, not built in and not "
                                      "in any --tags file)"])

    def test_nsg_truncated(self):
        text = json.dumps({"value": [entry("nic", [])]}, indent=1)
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", self.tmp.write("t.json", text[:200]),
                 "--direction", "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"])
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"t\.json: line \d+, column \d+: ")

    def test_routes_bad(self):
        self.rt_bad({"value": [eroute(["10.0.0.0/16"], "VnetLocal"), eroute(["1.0.0.0/8"], "Teleport")]},
                    ["value[1].nextHopType: 'Teleport' is not one of VirtualNetworkGateway, VnetLocal, Internet, "
                     "VirtualAppliance, None, VNetPeering, VNetGlobalPeering, VirtualNetworkServiceEndpoint"])
        self.rt_bad({"value": [eroute(["10.0.0.0/16"], "VnetLocal"), eroute(["1.0.0.0/33"], "None")]},
                    ["value[1].addressPrefix[0]: '1.0.0.0/33': prefix length must be 0-32"])
        r = eroute(["10.0.0.0/16"], "VnetLocal")
        r["addressPrefix"] = 7
        self.rt_bad({"value": [eroute(["0.0.0.0/0"], "Internet", source="Default"), r]},
                    ["value[1].addressPrefix: expected an array of strings, found an integer"])
        r = eroute(["10.0.0.0/16"], "VnetLocal", state="Maybe")
        self.rt_bad({"value": [r]}, ["value[0].state: 'Maybe' is not Active or Invalid"])
        r = eroute(["10.0.0.0/16"], "VirtualAppliance", ips=["10.0.0.400"])
        self.rt_bad({"value": [r]}, ["value[0].nextHopIpAddress[0]: '10.0.0.400' is not an IP address"])


if __name__ == "__main__":
    unittest.main()

"""--nsg and --routes read every input shape (src/model/shapes.c), unchanged, and answer as on the REST resource.

Differential: the same NSG / route table written in every shape (shape_gen.py) gives byte-identical answers from
`minet flow --batch`, `minet route` and `minet verify` (each file is called nsg.json / rt.json in its own
directory, so the reports match to the byte). Real files (tests/fixtures/real, README there) give the verdicts
Azure documents for them. Several NSGs in one file need FILE#NAME.
"""
import gzip
import ipaddress
import json
import os
import random
import unittest

from cli_common import EXAMPLES, FIXTURES, TAGS_2025, nsg_arm, route, routes_arm, rule, run, tempdir
import shape_gen

REAL = os.path.join(FIXTURES, "real")
CORPNET = os.path.join(EXAMPLES, "corpnet-tags.json")


def rich_nsg(name="web-nsg"):
    """Rules of every kind: ports, port lists and ranges, prefix lists, tags, both directions, Deny over Allow."""
    return nsg_arm([
        rule("deny_bad_host", 100, access="Deny", src="198.51.100.7"),
        rule("allow_http", 110, proto="Tcp", src="Internet", dst="10.0.1.0/24", dport="80"),
        rule("allow_mgmt", 120, proto="Tcp", src=None, dst="10.0.1.4", dport=None,
             sourceAddressPrefixes=["203.0.113.0/25", "192.0.2.10"], destinationPortRanges=["22", "3389", "8000-8100"]),
        rule("allow_storage", 130, direction="Outbound", proto="Tcp", src="10.0.1.0/24", dst="Storage", dport="443"),
        rule("deny_udp_out", 140, direction="Outbound", access="Deny", proto="Udp", dst="Internet", dport="1-1000",
             sport="1024-65535"),
        rule("allow_icmp", 150, proto="Icmp", src="VirtualNetwork"),
        rule("deny_web_out", 4000, direction="Outbound", access="Deny", proto="Tcp", dst="Internet", dport="80"),
    ], name=name)


def rich_routes(name="web-rt"):
    return routes_arm([
        route("to-nva", "0.0.0.0/0", "VirtualAppliance", "10.0.2.4"),
        route("onprem", "192.168.0.0/16", "VirtualNetworkGateway"),
        route("blackhole", "203.0.113.0/24", "None"),
        route("storage", "Storage", "Internet"),
        route("local", "10.0.1.0/24", "VnetLocal"),
    ], name=name)


def _storage_ip():
    """An address of the Storage tag in the bundled 2025 file."""
    with gzip.open(TAGS_2025, "rt") as f:
        tags = json.load(f)
    for v in tags["values"]:
        if v["name"] == "Storage":
            p = next(x for x in v["properties"]["addressPrefixes"] if ":" not in x)
            return str(ipaddress.ip_network(p)[1])
    raise AssertionError("no Storage tag")


STORAGE_IP = _storage_ip()


def flows(seed=8, n=300):
    """Random flows over the addresses and ports the rules draw, plus fixed ones."""
    rnd = random.Random(seed)
    addrs = ["198.51.100.7", "203.0.113.5", "203.0.113.200", "192.0.2.10", "192.0.2.11", "8.8.8.8", "10.0.1.4",
             "10.0.1.5", "10.0.2.9", "10.0.0.4", "13.107.21.200", "20.60.1.1", "172.16.0.1"]
    ports = [0, 1, 22, 53, 79, 80, 81, 443, 1000, 1001, 1023, 1024, 3389, 7999, 8000, 8050, 8100, 8101, 65535]
    out = ["inbound tcp 8.8.8.8:40000 10.0.1.4:80", "inbound tcp 8.8.8.8:40000 10.0.1.5:80",
           "inbound tcp 10.0.2.9:40000 10.0.1.5:80", "inbound tcp 203.0.113.5:1 10.0.1.4:22",
           "inbound tcp 192.0.2.10:1 10.0.1.4:8100", "inbound tcp 192.0.2.11:1 10.0.1.4:8100",
           "inbound udp 203.0.113.5:1 10.0.1.4:22", "outbound tcp 10.0.1.4:5000 %s:443" % STORAGE_IP,
           "outbound tcp 10.0.1.4:5000 %s:80" % STORAGE_IP, "outbound tcp 10.0.2.4:5000 %s:443" % STORAGE_IP,
           "outbound udp 10.0.1.4:5000 8.8.8.8:53", "outbound udp 10.0.1.4:53 8.8.8.8:53",
           "outbound tcp 10.0.1.4:5000 8.8.8.8:80", "inbound icmp 10.0.2.9 10.0.1.4"]
    for _ in range(n - len(out)):
        d = rnd.choice(["inbound", "outbound"])
        p = rnd.choice(["tcp", "udp", "icmp", "esp"])
        s, t = rnd.choice(addrs), rnd.choice(addrs)
        if p in ("tcp", "udp"):
            s, t = "%s:%d" % (s, rnd.choice(ports)), "%s:%d" % (t, rnd.choice(ports))
        out.append("%s %s %s %s" % (d, p, s, t))
    return "\n".join(out) + "\n"


class TestNsgShapes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)

    def write(self, sub, name, doc):
        os.makedirs(os.path.join(self.tmp.path, sub), exist_ok=True)
        return self.tmp.write(os.path.join(sub, name), doc)

    def flow_batch(self, nsg, batch, cwd):
        return run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--batch", "-"],
                   stdin=batch, cwd=cwd)

    def test_every_shape_same_verdicts(self):
        g = rich_nsg()
        batch = flows()
        ref_dir = os.path.join(self.tmp.path, "ref")
        self.write("ref", "nsg.json", g)
        ref = self.flow_batch("nsg.json", batch, ref_dir)
        self.assertEqual(ref.stderr, "")
        lines = ref.stdout.splitlines()
        self.assertEqual(len(lines), 300)
        # The batch exercises every rule, Allow and Deny.
        for name in ("deny_bad_host", "allow_http", "allow_mgmt", "allow_storage", "deny_udp_out", "allow_icmp",
                     "DenyAllInBound", "AllowInternetOutBound"):
            self.assertTrue(any("\t%s\t" % name in l for l in lines), name)
        for shape, make in shape_gen.NSG_SHAPES.items():
            with self.subTest(shape=shape):
                self.write(shape, "nsg.json", make(g))
                p = self.flow_batch("nsg.json", batch, os.path.join(self.tmp.path, shape))
                self.assertEqual((p.returncode, p.stderr), (ref.returncode, ""))
                self.assertEqual(p.stdout, ref.stdout)

    def test_every_shape_same_text_report(self):
        # The full text report names the NSG and its file: identical in every shape.
        g = rich_nsg()
        args = ["--direction", "inbound", "--protocol", "tcp", "--src", "203.0.113.5:5000", "--dst", "10.0.1.4:22"]
        self.write("ref", "nsg.json", g)
        ref = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", "nsg.json"] + args,
                  cwd=os.path.join(self.tmp.path, "ref"))
        self.assertIn("allow_mgmt", ref.stdout)
        for shape, make in shape_gen.NSG_SHAPES.items():
            with self.subTest(shape=shape):
                self.write(shape, "nsg.json", make(g))
                p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", "nsg.json"] + args,
                        cwd=os.path.join(self.tmp.path, shape))
                self.assertEqual((p.returncode, p.stdout, p.stderr), (ref.returncode, ref.stdout, ref.stderr))

    def test_nic_nsg_in_another_shape(self):
        # Subnet NSG as Terraform, NIC NSG as PowerShell: both must allow.
        sub = self.tmp.write("sub.json", shape_gen.nsg_tf_plan(rich_nsg("subnet-nsg")))
        nic = self.tmp.write("nic.json", shape_gen.nsg_powershell(nsg_arm([
            rule("deny_http", 100, access="Deny", proto="Tcp", dport="80")], name="nic-nsg")))
        base = ["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", sub, "--nic-nsg", nic,
                "--direction", "inbound", "--protocol", "tcp", "--src", "8.8.8.8:4000", "--json"]
        p = run(base + ["--dst", "10.0.1.4:80"])
        self.assertEqual(p.returncode, 1, p.stderr)
        v = json.loads(p.stdout)
        self.assertEqual((v["access"], v["rule"], v["nsg"]), ("Deny", "deny_http", "nic-nsg"))

    def test_several_need_a_name(self):
        a, b = rich_nsg("nsg-a"), nsg_arm([rule("deny_all", 100, access="Deny")], name="nsg-b")
        args = ["--direction", "inbound", "--protocol", "tcp", "--src", "8.8.8.8:4000", "--dst", "10.0.1.4:80",
                "--json"]
        for shape, doc in {"value-list": shape_gen.nsg_value_list(a, [b]),
                           "az-list": shape_gen.nsg_az_list(a, [b]),
                           "powershell-list": [shape_gen.nsg_powershell(a), shape_gen.nsg_powershell(b)]}.items():
            with self.subTest(shape=shape):
                f = self.tmp.write(shape + ".json", doc)
                p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", f] + args)
                self.assertEqual((p.returncode, p.stdout), (2, ""))
                self.assertEqual(p.stderr, "%s: this file holds 2 network security groups (nsg-a, nsg-b); name one "
                                 "as %s#NAME\n" % (f, f))
                p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", f + "#nsg-b"] + args)
                self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (1, "deny_all"), p.stderr)
                p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", f + "#NSG-A"] + args)
                self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (0, "allow_http"), p.stderr)
                p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", f + "#nsg-c"] + args)
                self.assertEqual((p.returncode, p.stdout), (2, ""))
                self.assertEqual(p.stderr, "%s#nsg-c: no network security group named 'nsg-c' in this file; it "
                                 "holds: nsg-a, nsg-b\n" % f)

    def test_terraform_two_nsgs_by_address(self):
        plan = shape_gen.nsg_tf_plan(rich_nsg("nsg-a"))
        other = shape_gen.nsg_tf_plan(nsg_arm([rule("deny_all", 100, access="Deny")], name="nsg-b"))
        r = other["planned_values"]["root_module"]["resources"][1]
        r["address"] = r["name"] = "azurerm_network_security_group.other"
        plan["planned_values"]["root_module"]["resources"].append(r)
        f = self.tmp.write("plan.json", plan)
        args = ["--direction", "inbound", "--protocol", "tcp", "--src", "8.8.8.8:4000", "--dst", "10.0.1.4:80"]
        p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", f] + args)
        self.assertIn("holds 2 network security groups (nsg-a, nsg-b)", p.stderr)
        p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg",
                 f + "#azurerm_network_security_group.other"] + args)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("deny_all", p.stdout)

    def test_terraform_mixed_inline_and_standalone(self):
        # azurerm_network_security_rule resources join the NSG they name, after its inline rules.
        g = rich_nsg()
        rules = [(r["name"], r["properties"]) for r in g["properties"]["securityRules"]]
        plan = shape_gen.nsg_tf_plan(nsg_arm(rules[:3], name=g["name"]))
        rest = shape_gen.nsg_tf_standalone_rules(nsg_arm(rules[3:], name=g["name"]))
        plan["planned_values"]["root_module"]["resources"] += rest["planned_values"]["root_module"]["resources"][2:]
        self.write("mixed", "nsg.json", plan)
        self.write("ref", "nsg.json", g)
        batch = flows(seed=3, n=120)
        ref = self.flow_batch("nsg.json", batch, os.path.join(self.tmp.path, "ref"))
        p = self.flow_batch("nsg.json", batch, os.path.join(self.tmp.path, "mixed"))
        self.assertEqual((p.stdout, p.stderr), (ref.stdout, ""))


class TestRouteShapes(unittest.TestCase):
    DSTS = ["8.8.8.8", "192.168.4.4", "203.0.113.9", "10.0.1.7", "10.0.3.3", "20.60.1.1", "172.16.0.1",
            "100.64.0.1"]

    def setUp(self):
        self.tmp = tempdir(self)

    def routes(self, rt, cwd):
        out = []
        for dst in self.DSTS:
            p = run(["route", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--routes", rt, "--dst", dst], cwd=cwd)
            out.append((p.returncode, p.stdout, p.stderr))
        return out

    def test_every_shape_same_routes(self):
        t = rich_routes()
        os.makedirs(os.path.join(self.tmp.path, "ref"))
        self.tmp.write("ref/rt.json", t)
        ref = self.routes("rt.json", os.path.join(self.tmp.path, "ref"))
        hops = " ".join(o for _, o, _ in ref)
        for hop in ("VirtualAppliance", "VirtualNetworkGateway", "None", "Internet", "VnetLocal"):
            self.assertIn("next hop " + hop, hops)
        for shape, make in shape_gen.RT_SHAPES.items():
            with self.subTest(shape=shape):
                os.makedirs(os.path.join(self.tmp.path, shape))
                self.tmp.write(shape + "/rt.json", make(t))
                self.assertEqual(self.routes("rt.json", os.path.join(self.tmp.path, shape)), ref)

    def test_nsg_and_route_table_in_one_plan(self):
        plan = shape_gen.nsg_tf_plan(rich_nsg())
        plan["planned_values"]["root_module"]["resources"] += \
            shape_gen.rt_tf_plan(rich_routes())["planned_values"]["root_module"]["resources"][1:]
        f = self.tmp.write("plan.json", plan)
        p = run(["route", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--routes", f, "--dst", "8.8.8.8"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("next hop VirtualAppliance", p.stdout)
        p = run(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--routes", f, "--nsg", f, "--direction",
                 "inbound", "--protocol", "tcp", "--src", "8.8.8.8:1", "--dst", "10.0.1.4:80"])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_bgp_propagation_both_spellings(self):
        # azurerm 3.x disable_bgp_route_propagation and 4.x bgp_route_propagation_enabled read alike.
        t = rich_routes()
        t["properties"]["disableBgpRoutePropagation"] = True
        v4 = shape_gen.rt_tf_plan(t)
        v3 = shape_gen.rt_tf_plan(t)
        vals = v3["planned_values"]["root_module"]["resources"][1]["values"]
        del vals["bgp_route_propagation_enabled"]
        vals["disable_bgp_route_propagation"] = True
        self.assertFalse(v4["planned_values"]["root_module"]["resources"][1]["values"]
                         ["bgp_route_propagation_enabled"])
        outs = []
        for name, doc in (("rest", t), ("v3", v3), ("v4", v4)):
            os.makedirs(os.path.join(self.tmp.path, name))
            self.tmp.write(name + "/rt.json", doc)
            outs.append(self.routes("rt.json", os.path.join(self.tmp.path, name)))
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])


class TestVerifyShapes(unittest.TestCase):
    """minet verify on the seed's NSG and route table (examples/) in other shapes: the same report."""

    def setUp(self):
        self.tmp = tempdir(self)

    def verify(self, d):
        return run(["verify", "--tags", TAGS_2025, "--tags", CORPNET, "--vnet", "10.0.0.0/16", "--subnet",
                    "10.0.0.0/24", "--region", "westeurope", "--pair", "northeurope", "--nsg", "nsg.json",
                    "--routes", "rt.json"], cwd=d)

    def test_same_report(self):
        with open(os.path.join(EXAMPLES, "mi-nsg.json")) as f:
            g = json.load(f)
        with open(os.path.join(EXAMPLES, "mi-routes.json")) as f:
            t = json.load(f)
        # One mandatory rule removed, so the report has a violation to name.
        g["properties"]["securityRules"] = [r for r in g["properties"]["securityRules"]
                                            if r["name"] != "allow_corpnetsaw_inbound"]
        os.makedirs(os.path.join(self.tmp.path, "ref"))
        self.tmp.write("ref/nsg.json", g)
        self.tmp.write("ref/rt.json", t)
        ref = self.verify(os.path.join(self.tmp.path, "ref"))
        self.assertEqual(ref.returncode, 1, ref.stderr)
        self.assertIn("in-corpnetsaw", ref.stdout)
        for shape in ("rest-example", "az-show", "powershell", "tf-plan", "tf-state"):
            with self.subTest(shape=shape):
                d = os.path.join(self.tmp.path, shape)
                os.makedirs(d)
                self.tmp.write(shape + "/nsg.json", shape_gen.NSG_SHAPES[shape](g))
                self.tmp.write(shape + "/rt.json", shape_gen.RT_SHAPES[shape](t))
                p = self.verify(d)
                self.assertEqual((p.returncode, p.stdout, p.stderr), (ref.returncode, ref.stdout, ref.stderr))


class TestRealFiles(unittest.TestCase):
    """Files nobody on this project wrote (tests/fixtures/real/README.md), read unchanged."""

    def flow(self, nsg, *args):
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", os.path.join(REAL, nsg), "--json"] + list(args))
        self.assertEqual(p.stderr, "")
        return p.returncode, json.loads(p.stdout)

    def route(self, rt, dst):
        p = run(["route", "--vnet", "10.1.0.0/16", "--routes", os.path.join(REAL, rt), "--dst", dst, "--json"])
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        return json.loads(p.stdout)

    def test_nsg_get(self):
        # rule1: any protocol, any source, destination port 80, Allow, priority 130, Inbound.
        for f in ("rest-NetworkSecurityGroupGet.json", "rest-NetworkSecurityGroupRuleList.json"):
            with self.subTest(file=f):
                rc, v = self.flow(f, "--direction", "inbound", "--protocol", "tcp", "--src", "198.51.100.1:40000",
                                  "--dst", "10.0.0.4:80")
                self.assertEqual((rc, v["access"], v["rule"], v["priority"], v["nsg"]),
                                 (0, "Allow", "rule1", 130, "testnsg"))
                rc, v = self.flow(f, "--direction", "inbound", "--protocol", "tcp", "--src", "198.51.100.1:40000",
                                  "--dst", "10.0.0.4:22")
                self.assertEqual((rc, v["access"], v["rule"]), (1, "Deny", "DenyAllInBound"))
                rc, v = self.flow(f, "--direction", "inbound", "--protocol", "udp", "--src", "198.51.100.1:40000",
                                  "--dst", "10.0.0.4:80")
                self.assertEqual((rc, v["rule"]), (0, "rule1"))

    def test_nsg_list_needs_a_name(self):
        f = os.path.join(REAL, "rest-NetworkSecurityGroupList.json")
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", f, "--direction", "inbound", "--protocol", "tcp",
                 "--src", "198.51.100.1:1", "--dst", "10.0.0.4:80"])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(p.stderr, "%s: this file holds 2 network security groups (nsg1, nsg3); name one as %s#NAME\n"
                         % (f, f))
        for name in ("nsg1", "nsg3"):
            rc, v = self.flow("rest-NetworkSecurityGroupList.json#" + name, "--direction", "inbound", "--protocol",
                              "tcp", "--src", "198.51.100.1:1", "--dst", "10.0.0.4:80")
            self.assertEqual((rc, v["rule"], v["nsg"]), (1, "DenyAllInBound", name))
            rc, v = self.flow("rest-NetworkSecurityGroupList.json#" + name, "--direction", "inbound", "--protocol",
                              "tcp", "--src", "10.0.1.1:1", "--dst", "10.0.0.4:80")
            self.assertEqual((rc, v["rule"]), (0, "AllowVnetInBound"))

    def test_route_table_get(self):
        v = self.route("rest-RouteTableGet.json", "10.0.3.5")
        self.assertEqual((v["nextHopType"], v["route"], v["addressPrefix"]),
                         ("VirtualNetworkGateway", "route1", "10.0.3.0/24"))
        v = self.route("rest-RouteTableGet.json", "10.0.4.5")
        self.assertEqual((v["nextHopType"], v["source"]), ("None", "Default"))

    def test_route_table_list(self):
        v = self.route("rest-RouteTableList.json#testrt", "10.0.3.5")
        self.assertEqual((v["nextHopType"], v["route"]), ("VirtualNetworkGateway", "route1"))
        v = self.route("rest-RouteTableList.json#testrt2", "10.0.3.5")  # an empty table: the system routes
        self.assertEqual((v["nextHopType"], v["route"], v["addressPrefix"]), ("None", None, "10.0.0.0/8"))

    def test_quickstart_route_table(self):
        # The SQL MI quickstart's route table (fixtures/semantics) through the shapes layer too.
        v = run(["route", "--vnet", "10.0.0.0/16", "--routes",
                 os.path.join(FIXTURES, "semantics", "quickstart-route-table.json"), "--dst", "8.8.8.8", "--json"])
        self.assertEqual(v.returncode, 0, v.stderr)


if __name__ == "__main__":
    unittest.main()


class TestArmTemplates(unittest.TestCase):
    """ARM templates and Bicep output (tests/fixtures/arm, README there) through --nsg / --routes / --parameters."""
    ARM = os.path.join(FIXTURES, "arm")

    def flow(self, nsg, src, dst, extra=()):
        return run(["flow", "--vnet", "10.0.0.0/16", "--nsg", os.path.join(self.ARM, nsg), "--direction", "inbound",
                    "--protocol", "tcp", "--src", src, "--dst", dst, "--json"] + list(extra))

    def test_mi_quickstart_with_parameters(self):
        params = ["--parameters", os.path.join(self.ARM, "mi-new-vnet.parameters.json")]
        p = self.flow("mi-new-vnet.json", "8.8.8.8:50000", "10.0.0.4:1433", params)
        self.assertEqual(p.returncode, 1, p.stderr)
        v = json.loads(p.stdout)
        self.assertEqual((v["access"], v["rule"], v["priority"], v["nsg"]),
                         ("Deny", "deny_all_inbound", 4096, "SQLMI-mi-demo-NSG"))
        p = self.flow("mi-new-vnet.json", "10.0.1.5:50000", "10.0.0.4:1433", params)
        self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (0, "allow_tds_inbound"), p.stderr)
        p = self.flow("mi-new-vnet.json", "10.0.1.5:50000", "10.0.0.4:11005", params)
        self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (0, "allow_redirect_inbound"), p.stderr)
        # Its route table has no routes: the system routes decide.
        p = run(["route", "--vnet", "10.0.0.0/16", "--routes", os.path.join(self.ARM, "mi-new-vnet.json"),
                 "--dst", "8.8.8.8", "--json"] + params)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((json.loads(p.stdout)["nextHopType"], json.loads(p.stdout)["source"]), ("Internet", "Default"))

    def test_mi_quickstart_without_parameters(self):
        p = self.flow("mi-new-vnet.json", "8.8.8.8:50000", "10.0.0.4:1433")
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("parameters.managedInstanceName: parameter 'managedInstanceName' needs a value", p.stderr)

    def test_several_need_a_name(self):
        p = self.flow("bicep-module.json", "8.8.8.8:1", "10.0.0.4:80")
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("this file holds 2 network security groups (app-nsg, data-nsg); name one as", p.stderr)
        p = self.flow("bicep-module.json#app-nsg", "8.8.8.8:1", "10.0.0.4:80")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        self.assertEqual(json.loads(p.stdout)["nsg"], "app-nsg")

    def test_expression_it_cannot_evaluate(self):
        p = self.flow("redis-nsg-reference.json", "8.8.8.8:1", "10.0.0.4:80")
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertRegex(p.stderr, r"resources\[0\]\.properties\.securityRules\[0\]\.properties\."
                                   r"destinationAddressPrefix: cannot evaluate \[reference\(")

    def test_values_written_back_as_json(self):
        """A parameter outside its allowedValues, and string() of an array, print JSON text made by jansson
        (json_dumps); flow reads on its own allocator (cli/heap.h), and that text is freed with it, not free()."""
        t = tempdir(self)
        tmpl = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "parameters": {"access": {"type": "string", "allowedValues": ["Allow", "Deny"],
                                          "defaultValue": "Allow"}},
                "variables": {"ports": ["80", "443"]},
                "resources": [{"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01",
                               "name": "t-nsg", "location": "westeurope",
                               "properties": {"securityRules": [{"name": "web", "properties": {
                                   "protocol": "Tcp", "sourcePortRange": "*",
                                   "destinationPortRange": "[string(variables('ports'))]",
                                   "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
                                   "access": "[parameters('access')]", "priority": 100,
                                   "direction": "Inbound"}}]}}]}
        pf = t.write("p.json", {"contentVersion": "1.0.0.0", "parameters": {"access": {"value": "Maybe"}}})
        args = ["flow", "--vnet", "10.0.0.0/16", "--nsg", t.write("t.json", tmpl), "--direction", "inbound",
                "--protocol", "tcp", "--src", "1.2.3.4:5", "--dst", "10.0.0.4:80"]
        p = run(args)
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("destinationPortRange: '[\"80\",\"443\"]': must be a port", p.stderr)
        p = run(args + ["--parameters", pf])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("parameter 'access' (from the parameters file) is not one of the allowedValues "
                      "[\"Allow\",\"Deny\"]", p.stderr)

    def test_parameters_file_misplaced(self):
        pf = os.path.join(self.ARM, "mi-new-vnet.parameters.json")
        p = self.flow("mi-new-vnet.parameters.json", "8.8.8.8:1", "10.0.0.4:80")
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(p.stderr, "%s: this is an ARM parameters file, not a network security group (for --nsg or "
                         "--nic-nsg); give it with --parameters, and the template itself with --nsg / --routes\n" % pf)
        tmpl = os.path.join(self.ARM, "mi-new-vnet.json")
        p = self.flow("mi-new-vnet.json", "8.8.8.8:1", "10.0.0.4:80", ["--parameters", tmpl])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(p.stderr, "%s: parameters: not an ARM parameters file (deploymentParameters: "
                         "{\"parameters\": {\"NAME\": {\"value\": …}}})\n" % tmpl)

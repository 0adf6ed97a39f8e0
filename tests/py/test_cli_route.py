"""End-to-end tests of `minet route`: JSON fields, longest prefix match, user over system, the exact-prefix tie
order (explicit > regional tag > global tag > AzureCloud.<region> > AzureCloud), system routes with the VNet
adjustments of azure-semantics.md §3.1, VirtualAppliance, tag routes, both route-table shapes, exit codes.
"""
import json
import re
import os
import unittest

from cli_common import (EXAMPLES, TAGS_2022, route, routes_arm, routes_az, run, tags_doc, tempdir)

SEMANTICS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "semantics")

# Every tag holds 40.1.0.0/24 exactly, so routes naming them tie on that prefix.
TIE_TAGS = tags_doc([
    ("Foo.westeurope", ["40.1.0.0/24"], "westeurope"),
    ("Foo", ["40.1.0.0/24", "40.3.0.0/16"]),
    ("AzureCloud.westeurope", ["40.1.0.0/24"], "westeurope"),
    ("AzureCloud", ["40.1.0.0/24", "40.2.0.0/25", "2603:1000::/24"]),
    ("SqlManagement", ["13.104.248.32/27", "13.104.248.96/27"]),
])


class RouteBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)
        self.tags = self.tmp.write("tags.json", TIE_TAGS)
        self.n = 0

    def table(self, routes, shape=routes_arm, name="rt"):
        self.n += 1
        return self.tmp.write("rt%d.json" % self.n, shape(routes, name))

    def route(self, dst, rt=None, vnet="10.0.0.0/16", tags=None, json_out=True, extra=()):
        args = ["route"]
        for t in (tags if tags is not None else [self.tags]):
            args += ["--tags", t]
        args += ["--vnet", vnet]
        if rt:
            args += ["--routes", rt]
        args += ["--dst", dst]
        if json_out:
            args.append("--json")
        return run(args + list(extra))

    def hop(self, dst, rt=None, **kw):
        p = self.route(dst, rt, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return json.loads(p.stdout)

    def short(self, dst, rt=None, **kw):
        """(nextHopType, route, addressPrefix)"""
        h = self.hop(dst, rt, **kw)
        return h["nextHopType"], h["route"], h["addressPrefix"]


class TestJsonFields(RouteBase):
    def test_user_virtual_appliance(self):
        rt = self.table([route("to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")])
        h = self.hop("8.8.8.8", rt)
        self.assertEqual((h["nextHopType"], h["nextHopIpAddress"], h["route"], h["source"], h["addressPrefix"]),
                         ("VirtualAppliance", "10.0.1.4", "to-fw", "User", "0.0.0.0/0"))

    def test_system_route(self):
        h = self.hop("8.8.8.8")
        self.assertEqual((h["nextHopType"], h["nextHopIpAddress"], h["route"], h["source"], h["addressPrefix"]),
                         ("Internet", None, None, "Default", "0.0.0.0/0"))
        for k in ("nextHopType", "nextHopIpAddress", "route", "source", "addressPrefix"):
            self.assertIn(k, h)

    def test_null_hop_ip_unless_appliance(self):
        rt = self.table([route("gw", "192.0.2.0/24", "VirtualNetworkGateway"), route("drop", "198.51.100.0/24", "None"),
                         route("inet", "203.0.113.0/24", "Internet"), route("local", "10.9.0.0/16", "VnetLocal")])
        for dst, hop, name in [("192.0.2.1", "VirtualNetworkGateway", "gw"), ("198.51.100.1", "None", "drop"),
                               ("203.0.113.1", "Internet", "inet"), ("10.9.0.1", "VnetLocal", "local")]:
            h = self.hop(dst, rt)
            self.assertEqual((h["nextHopType"], h["nextHopIpAddress"], h["route"], h["source"]),
                             (hop, None, name, "User"))

    def test_text_output(self):
        rt = self.table([route("to-fw", "192.0.2.0/24", "VirtualAppliance", "10.0.1.4"),
                         route("mi-sqlmanagement-internet", "SqlManagement", "Internet")])
        p = self.route("192.0.2.9", rt, json_out=False)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, "192.0.2.9  next hop VirtualAppliance 10.0.1.4\n"
                                   "  user route 'to-fw' (%s), addressPrefix 192.0.2.0/24\n"
                                   "  matched prefix length /24\n" % rt)
        p = self.route("13.104.248.100", rt, json_out=False)
        self.assertEqual(p.stdout, "13.104.248.100  next hop Internet\n"
                                   "  user route 'mi-sqlmanagement-internet' (%s), addressPrefix SqlManagement "
                                   "(service tag)\n  matched prefix length /27\n" % rt)
        p = self.route("172.16.0.1", rt, json_out=False)
        self.assertEqual(p.stdout, "172.16.0.1  next hop None\n  system route 172.16.0.0/12\n"
                                   "  matched prefix length /12\n")


class TestSelection(RouteBase):
    def test_longest_prefix_match(self):
        rt = self.table([route("wide", "10.1.0.0/16", "VirtualAppliance", "10.0.1.4"),
                         route("narrow", "10.1.2.0/24", "None"),
                         route("host", "10.1.2.3/32", "Internet")])
        self.assertEqual(self.short("10.1.2.3", rt), ("Internet", "host", "10.1.2.3/32"))
        self.assertEqual(self.short("10.1.2.4", rt), ("None", "narrow", "10.1.2.0/24"))
        self.assertEqual(self.short("10.1.3.4", rt), ("VirtualAppliance", "wide", "10.1.0.0/16"))
        self.assertEqual(self.short("10.2.0.1", rt), ("None", None, "10.0.0.0/8"))
        self.assertEqual(self.hop("10.1.2.3", rt)["prefixLength"], 32)

    def test_user_beats_system_on_equal_prefix(self):
        rt = self.table([route("default-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"),
                         route("ten", "10.0.0.0/8", "Internet"),
                         route("vnet-override", "10.0.0.0/16", "None")])
        self.assertEqual(self.short("8.8.8.8", rt), ("VirtualAppliance", "default-fw", "0.0.0.0/0"))
        self.assertEqual(self.hop("8.8.8.8", rt)["source"], "User")
        self.assertEqual(self.short("10.5.0.1", rt), ("Internet", "ten", "10.0.0.0/8"))
        self.assertEqual(self.short("10.0.0.4", rt), ("None", "vnet-override", "10.0.0.0/16"))
        # A more specific system route still beats a shorter user route.
        self.assertEqual(self.short("172.16.0.1", rt), ("None", None, "172.16.0.0/12"))

    def test_exact_tie_order(self):
        routes = [route("r-azurecloud", "AzureCloud", "VnetLocal"),
                  route("r-azurecloud-we", "AzureCloud.westeurope", "VirtualNetworkGateway"),
                  route("r-foo", "Foo", "None"),
                  route("r-foo-we", "Foo.westeurope", "Internet"),
                  route("r-explicit", "40.1.0.0/24", "VirtualAppliance", "10.0.1.4")]
        want = ["r-explicit", "r-foo-we", "r-foo", "r-azurecloud-we", "r-azurecloud"]
        for k in range(len(want)):
            present = [r for r in routes if r[0] not in want[:k]]
            for order in (present, present[::-1]):  # table order must not matter
                with self.subTest(k=k, first=order[0][0]):
                    h = self.hop("40.1.0.77", self.table(order))
                    self.assertEqual((h["route"], h["source"]), (want[k], "User"))
                    self.assertEqual(h["addressPrefix"], dict(routes)[want[k]]["addressPrefix"])

    def test_tie_rank_is_by_tag_not_case(self):
        rt = self.table([route("g", "foo", "None"), route("r", "foo.WESTEUROPE", "Internet")])
        self.assertEqual(self.short("40.1.0.1", rt), ("Internet", "r", "foo.WESTEUROPE"))

    def test_longer_tag_prefix_beats_explicit(self):
        rt = self.table([route("explicit", "40.2.0.0/24", "VirtualAppliance", "10.0.1.4"),
                         route("cloud", "AzureCloud", "Internet")])
        self.assertEqual(self.short("40.2.0.1", rt), ("Internet", "cloud", "AzureCloud"))
        self.assertEqual(self.hop("40.2.0.1", rt)["prefixLength"], 25)
        self.assertEqual(self.short("40.2.0.200", rt), ("VirtualAppliance", "explicit", "40.2.0.0/24"))
        # Foo's /16 loses to the explicit /24 inside it, wins around it.
        rt2 = self.table([route("foo", "Foo", "None"), route("hole", "40.3.7.0/24", "Internet")])
        self.assertEqual(self.short("40.3.7.1", rt2), ("Internet", "hole", "40.3.7.0/24"))
        self.assertEqual(self.short("40.3.8.1", rt2), ("None", "foo", "Foo"))

    def test_tag_route(self):
        rt = self.table([route("mi-sqlmanagement-internet", "SqlManagement", "Internet"),
                         route("default-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")])
        self.assertEqual(self.short("13.104.248.40", rt), ("Internet", "mi-sqlmanagement-internet", "SqlManagement"))
        self.assertEqual(self.short("13.104.248.127", rt), ("Internet", "mi-sqlmanagement-internet", "SqlManagement"))
        self.assertEqual(self.short("13.104.248.64", rt), ("VirtualAppliance", "default-fw", "0.0.0.0/0"))
        self.assertEqual(self.hop("13.104.248.64", rt)["nextHopIpAddress"], "10.0.1.4")

    def test_az_shape_same_as_arm(self):
        routes = [route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"), route("sqlm", "SqlManagement", "Internet"),
                  route("vnetlocal", "10.0.0.0/24", "VnetLocal")]
        arm, az = self.table(routes), self.table(routes, shape=routes_az)
        for dst in ("8.8.8.8", "13.104.248.33", "10.0.0.9", "10.0.1.9", "172.20.0.1"):
            self.assertEqual(self.hop(dst, arm), self.hop(dst, az), dst)

    def test_ipv6(self):
        rt = self.table([route("v6fw", "2001:db8::/32", "VirtualAppliance", "fd00::4")])
        self.assertEqual(self.short("2001:db8::1", rt), ("VirtualAppliance", "v6fw", "2001:db8::/32"))
        self.assertEqual(self.hop("2001:db8::1", rt)["nextHopIpAddress"], "fd00::4")
        self.assertEqual(self.short("2001:db9::1", rt), ("Internet", None, "::/0"))
        self.assertEqual(self.short("fd00:1::5", rt, vnet="10.0.0.0/16,fd00:1::/48"), ("VnetLocal", None, "fd00:1::/48"))
        # AzureCloud's IPv6 prefix routes as a tag.
        rt2 = self.table([route("cloud", "AzureCloud", "None")])
        self.assertEqual(self.short("2603:1000::9", rt2), ("None", "cloud", "AzureCloud"))


class TestEmptyRouteTable(RouteBase):
    """A route table with no routes (absent, [] or null) is a valid empty table: the SQL MI quickstart ships one
    (Azure/azure-quickstart-templates quickstarts/microsoft.sql/sqlmi-new-vnet, only disableBgpRoutePropagation)."""

    def test_quickstart_route_table(self):
        rt = os.path.join(SEMANTICS, "quickstart-route-table.json")
        for dst, want in [("8.8.8.8", ("Internet", None, "0.0.0.0/0")), ("10.0.0.5", ("VnetLocal", None, "10.0.0.0/16")),
                          ("10.1.0.5", ("None", None, "10.0.0.0/8"))]:
            with self.subTest(dst=dst):
                self.assertEqual(self.short(dst, rt), want)

    def test_absent_empty_null(self):
        shapes = {"absent-typed": {"name": "a", "type": "Microsoft.Network/routeTables", "properties": {}},
                  "absent-bgp": {"name": "b", "properties": {"disableBgpRoutePropagation": True}},
                  "absent-flat": {"name": "c", "disableBgpRoutePropagation": False},
                  "empty": {"name": "d", "properties": {"routes": []}},
                  "null": {"name": "e", "properties": {"routes": None}},
                  "null-flat": {"name": "f", "routes": None}}
        for name, doc in shapes.items():
            with self.subTest(shape=name):
                rt = self.tmp.write(name + ".json", json.dumps(doc))
                self.assertEqual(self.short("192.168.1.1", rt), ("None", None, "192.168.0.0/16"))
                self.assertEqual(self.short("13.107.21.200", rt), ("Internet", None, "0.0.0.0/0"))

    def test_not_a_route_table_still_refused(self):
        for name, doc in {"vnet": {"name": "v", "type": "Microsoft.Network/virtualNetworks", "properties": {}},
                          "nsg": {"name": "g", "properties": {"securityRules": []}}}.items():
            with self.subTest(shape=name):
                rt = self.tmp.write(name + ".json", json.dumps(doc))
                p = run(["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--routes", rt, "--dst", "8.8.8.8"])
                self.assertEqual((p.returncode, p.stdout), (2, ""))
                self.assertRegex(p.stderr, r"^%s: this is a (virtual network|network security group), not a route "
                                           r"table( \(for --routes\))?; give it.*\n$" % re.escape(rt))


class TestSystemRoutes(RouteBase):
    def test_defaults(self):
        vnet = "11.0.0.0/16"
        for dst, want in [("11.0.5.5", ("VnetLocal", None, "11.0.0.0/16")), ("8.8.8.8", ("Internet", None, "0.0.0.0/0")),
                          ("10.1.1.1", ("None", None, "10.0.0.0/8")), ("172.31.255.255", ("None", None, "172.16.0.0/12")),
                          ("172.32.0.1", ("Internet", None, "0.0.0.0/0")),
                          ("192.168.0.1", ("None", None, "192.168.0.0/16")),
                          ("100.64.0.1", ("None", None, "100.64.0.0/10")), ("100.128.0.1", ("Internet", None, "0.0.0.0/0")),
                          ("::1", ("Internet", None, "::/0"))]:
            with self.subTest(dst=dst):
                h = self.hop(dst, vnet=vnet)
                self.assertEqual((h["nextHopType"], h["route"], h["addressPrefix"]), want)
                self.assertEqual((h["source"], h["nextHopIpAddress"]), ("Default", None))

    def test_effective_route_none_routes(self):
        """25.33.80.0/20 and 25.41.3.0/25 -> None, as every real `az network nic show-effective-route-table` of
        2019-2021 shows them (microsoft/WhatTheHack 036-BGP/Coach/02-enable_bgp.md; docs/azure-semantics-notes.md §3)."""
        for dst, want in [("25.33.80.0", ("None", None, "25.33.80.0/20")), ("25.33.95.255", ("None", None, "25.33.80.0/20")),
                          ("25.33.79.255", ("Internet", None, "0.0.0.0/0")), ("25.33.96.0", ("Internet", None, "0.0.0.0/0")),
                          ("25.41.3.0", ("None", None, "25.41.3.0/25")), ("25.41.3.127", ("None", None, "25.41.3.0/25")),
                          ("25.41.3.128", ("Internet", None, "0.0.0.0/0"))]:
            with self.subTest(dst=dst):
                h = self.hop(dst)
                self.assertEqual((h["nextHopType"], h["route"], h["addressPrefix"], h["source"]), want + ("Default",))
        # A user route overrides them (longest prefix match), and a VNet range holding one removes it.
        rt = self.table([route("uk", "25.33.80.0/24", "Internet")])
        self.assertEqual(self.short("25.33.80.9", rt), ("Internet", "uk", "25.33.80.0/24"))
        self.assertEqual(self.short("25.41.3.9", vnet="25.41.0.0/16"), ("VnetLocal", None, "25.41.0.0/16"))
        p = run(["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--dst", "25.41.3.1"])
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(p.stdout, "25.41.3.1  next hop None\n  system route 25.41.3.0/25\n  matched prefix length /25\n")

    def test_vnet_equal_to_reserved(self):
        self.assertEqual(self.short("10.200.0.1", vnet="10.0.0.0/8"), ("VnetLocal", None, "10.0.0.0/8"))
        self.assertEqual(self.short("100.100.0.1", vnet="100.64.0.0/10"), ("VnetLocal", None, "100.64.0.0/10"))

    def test_vnet_containing_reserved_removes_none_route(self):
        self.assertEqual(self.short("100.64.0.1", vnet="100.0.0.0/8"), ("VnetLocal", None, "100.0.0.0/8"))
        self.assertEqual(self.short("100.127.255.255", vnet="100.0.0.0/8"), ("VnetLocal", None, "100.0.0.0/8"))
        self.assertEqual(self.short("172.16.0.1", vnet="172.0.0.0/8"), ("VnetLocal", None, "172.0.0.0/8"))
        # The other reserved ranges keep their None routes.
        self.assertEqual(self.short("10.0.0.1", vnet="100.0.0.0/8"), ("None", None, "10.0.0.0/8"))

    def test_vnet_inside_reserved(self):
        vnet = "10.1.0.0/16,192.168.5.0/24"
        self.assertEqual(self.short("10.1.0.1", vnet=vnet), ("VnetLocal", None, "10.1.0.0/16"))
        self.assertEqual(self.short("10.2.0.1", vnet=vnet), ("None", None, "10.0.0.0/8"))
        self.assertEqual(self.short("192.168.5.9", vnet=vnet), ("VnetLocal", None, "192.168.5.0/24"))
        self.assertEqual(self.short("192.168.6.9", vnet=vnet), ("None", None, "192.168.0.0/16"))


class TestErrors(RouteBase):
    def test_exit2(self):
        rt = self.table([route("a", "10.1.0.0/16", "VirtualAppliance", "10.0.1.4")])
        cases = {
            "bad dst": ["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--dst", "10.0.0"],
            "dst with port": ["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--dst", "10.0.0.1:80"],
            "no dst": ["route", "--tags", self.tags, "--vnet", "10.0.0.0/16"],
            "no vnet": ["route", "--tags", self.tags, "--dst", "10.0.0.1"],
            "nsg given": ["route", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", rt, "--dst", "1.1.1.1"],
            "unknown option": ["route", "--vnet", "10.0.0.0/16", "--dst", "1.1.1.1", "--bogus"],
            "missing routes file": ["route", "--vnet", "10.0.0.0/16", "--routes", rt + ".x", "--dst", "1.1.1.1"],
            "overlapping vnet": ["route", "--vnet", "10.0.0.0/16,10.0.1.0/24", "--dst", "1.1.1.1"],
        }
        for what, args in cases.items():
            with self.subTest(what):
                p = run(args)
                self.assertEqual(p.returncode, 2, p.stdout)
                self.assertEqual(p.stdout, "")
                self.assertNotEqual(p.stderr, "")

    def test_messages(self):
        p = run(["route", "--vnet", "10.0.0.0/16", "--dst", "10.0.0.1:80"])
        self.assertEqual(p.stderr, "minet route: --dst: '10.0.0.1:80' is not an IP address\n")
        p = run(["route", "--vnet", "10.0.0.0/16,10.0.1.0/24", "--dst", "1.1.1.1"])
        self.assertEqual(p.stderr, "--vnet: address space '10.0.1.0/24' overlaps '10.0.0.0/16'\n")

    def test_bad_table_reports_every_error(self):
        rt = self.table([route("fw", "10.1.0.0/16", "VirtualAppliance"),
                         route("inet", "10.2.0.0/16", "Internet", "10.0.1.4"),
                         route("tag", "NoSuchTag", "Internet")])
        p = self.route("1.1.1.1", rt)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines(), [
            rt + ": properties.routes[0].properties.nextHopIpAddress: missing: a VirtualAppliance route needs the "
                 "appliance's address",
            rt + ": properties.routes[1].properties.nextHopIpAddress: only allowed when nextHopType is "
                 "VirtualAppliance, not Internet",
            rt + ": properties.routes[2].properties.addressPrefix: unknown service tag 'NoSuchTag' (not in any "
                 "--tags file)",
        ])

    def test_help(self):
        p = run(["route", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: minet route", p.stdout)


class TestRealTables(RouteBase):
    def test_example_mi_routes(self):
        tags = [TAGS_2022, os.path.join(EXAMPLES, "corpnet-tags.json")]
        rt = os.path.join(EXAMPLES, "mi-routes.json")
        self.assertEqual(self.short("13.104.248.40", rt, tags=tags),
                         ("Internet", "mi-sqlmanagement-internet", "SqlManagement"))
        self.assertEqual(self.short("10.0.0.9", rt, tags=tags), ("VnetLocal", "subnet-to-vnetlocal", "10.0.0.0/24"))
        self.assertEqual(self.short("10.0.1.9", rt, tags=tags), ("VnetLocal", None, "10.0.0.0/16"))
        self.assertEqual(self.short("167.220.1.1", rt, tags=tags), ("Internet", "mi-corpnetsaw-internet", "CorpNetSaw"))
        self.assertEqual(self.short("8.8.8.8", rt, tags=tags), ("Internet", None, "0.0.0.0/0"))

    def test_real_file_regional_vs_global(self):
        # AzureCloud.westeurope is regional AzureCloud (rank 3), Storage global (rank 2): on an exact tie Storage wins;
        # a more specific prefix wins regardless.
        rt = self.table([route("cloud-we", "AzureCloud.westeurope", "None"), route("cloud", "AzureCloud", "VnetLocal"),
                         route("sqlm", "SqlManagement", "Internet")])
        self.assertEqual(self.short("13.104.248.40", rt, tags=[TAGS_2022]), ("Internet", "sqlm", "SqlManagement"))
        h = self.hop("13.104.248.64", rt, tags=[TAGS_2022])  # in neither AzureCloud nor SqlManagement
        self.assertEqual((h["route"], h["source"]), (None, "Default"))


if __name__ == "__main__":
    unittest.main()

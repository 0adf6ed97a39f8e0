"""End-to-end tests of `minet flow` (issue 2's command-line contract) through the real binary.

Exit codes, --json fields, the text explanation, --batch, both NSG shapes, subnet + NIC order, default rules,
the built-in tags (VirtualNetwork with 168.63.129.16 and UDR prefixes, Internet = outside VirtualNetwork and the
private/reserved ranges of docs/azure-semantics-notes.md §1), tag
spelling, augmented rules, IPv6, ICMP, and Service Tags loading (the real published files bundled in data/servicetags).
"""
import gzip
import hashlib
import json
import os
import subprocess
import unittest

from cli_common import (MINET, EXAMPLES, TAGS_2020, TAGS_2022, TAGS_2025, nsg_arm, nsg_az, route, routes_arm,
                        rule, run, tags_doc, tempdir)

VNET = "10.0.0.0/16"
SEMANTICS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "semantics")

# A small tags file: regional/global tags with known contents (fast to load).
LAB_TAGS = tags_doc([
    ("SqlManagement", ["13.104.248.32/27", "2603:1000:4:402::380/122"]),
    ("AzureCloud", ["13.64.0.0/11", "20.0.0.0/8", "2603:1000::/24"]),
    ("AzureCloud.westeurope", ["20.50.0.0/16"], "westeurope"),
    ("Storage", ["20.60.0.0/16"]),
])


class FlowBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)
        self.tags = self.tmp.write("lab-tags.json", LAB_TAGS)

    def nsg(self, rules, name="nsg", shape=nsg_arm, fname=None):
        return self.tmp.write(fname or name + ".json", shape(rules, name))

    def flow(self, nsg, direction, proto, src, dst, json_out=False, tags=None, vnet=VNET, routes=None, nic=None,
             extra=()):
        args = ["flow"]
        for t in (tags if tags is not None else [self.tags]):
            args += ["--tags", t]
        args += ["--vnet", vnet]
        if routes:
            args += ["--routes", routes]
        if nsg:
            args += ["--nsg", nsg]
        if nic:
            args += ["--nic-nsg", nic]
        args += ["--direction", direction, "--protocol", proto, "--src", src, "--dst", dst]
        if json_out:
            args.append("--json")
        return run(args + list(extra))

    def verdict(self, *a, **kw):
        """--json verdict as a dict; asserts exit code agrees with access and stderr is empty."""
        p = self.flow(*a, json_out=True, **kw)
        self.assertEqual(p.stderr, "", p.stderr)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1, p.stdout)
        v = json.loads(lines[0])
        self.assertEqual(p.returncode, 0 if v["access"] == "Allow" else 1)
        return v

    def decided(self, *a, **kw):
        v = self.verdict(*a, **kw)
        return v["access"], v["rule"], v["priority"]


class TestExitAndJson(FlowBase):
    def setUp(self):
        super().setUp()
        self.g = self.nsg([
            rule("allow_tds", 1000, proto="Tcp", src="VirtualNetwork", dst="10.0.0.0/24", dport="1433"),
            rule("deny_all_in", 4096, access="Deny"),
        ], name="mi-nsg")

    def test_allow_exit0_json_fields(self):
        p = self.flow(self.g, "inbound", "tcp", "10.0.1.5:50000", "10.0.0.4:1433", json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        v = json.loads(p.stdout)
        self.assertEqual((v["access"], v["rule"], v["priority"], v["nsg"]), ("Allow", "allow_tds", 1000, "mi-nsg"))

    def test_deny_exit1_json_fields(self):
        p = self.flow(self.g, "inbound", "tcp", "8.8.8.8:50000", "10.0.0.4:1433", json_out=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        v = json.loads(p.stdout)
        self.assertEqual((v["access"], v["rule"], v["priority"], v["nsg"]), ("Deny", "deny_all_in", 4096, "mi-nsg"))

    def test_text_exit_codes_match_json(self):
        self.assertEqual(self.flow(self.g, "inbound", "tcp", "10.0.1.5:1", "10.0.0.4:1433").returncode, 0)
        self.assertEqual(self.flow(self.g, "inbound", "tcp", "10.0.1.5:1", "10.0.0.4:1434").returncode, 1)

    def test_usage_errors_exit2(self):
        base = ["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.g]
        flow = ["--direction", "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:1433"]
        cases = {
            "no direction": base + flow[2:],
            "bad direction": base + ["--direction", "sideways"] + flow[2:],
            "bad protocol": base + flow[:2] + ["--protocol", "sctp"] + flow[4:],
            "protocol *": base + flow[:2] + ["--protocol", "*"] + flow[4:],
            "bad src": base + flow[:4] + ["--src", "1.2.3"] + flow[6:],
            "bad dst port": base + flow[:6] + ["--dst", "10.0.0.4:65536"],
            "mixed families": base + flow[:6] + ["--dst", "[fd00::1]:1433"],
            "unknown option": base + flow + ["--frobnicate"],
            "stray argument": base + flow + ["extra"],
            "no nsg": ["flow", "--tags", self.tags, "--vnet", VNET] + flow,
            "no vnet": ["flow", "--tags", self.tags, "--nsg", self.g] + flow,
            "bad vnet": ["flow", "--tags", self.tags, "--vnet", "10.0.0.1/16", "--nsg", self.g] + flow,
            "missing nsg file": ["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.g + ".nope"] + flow,
            "missing tags file": ["flow", "--tags", self.tags + ".nope", "--vnet", VNET, "--nsg", self.g] + flow,
        }
        for what, args in cases.items():
            with self.subTest(what):
                p = run(args)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertEqual(p.stdout, "")
                self.assertNotEqual(p.stderr.strip(), "")

    def test_help_exit0(self):
        p = run(["flow", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("--batch", p.stdout)
        self.assertIn("Exit: 0 allowed, 1 denied, 2 bad input or usage.", p.stdout)

    def test_bad_cli_messages(self):
        p = run(["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.g, "--direction", "in",
                 "--protocol", "sctp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:1"])
        self.assertEqual(p.stderr, "minet flow: --protocol: 'sctp' is not one of tcp, udp, icmp, esp, ah\n")
        p = run(["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.g, "--direction", "in",
                 "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.x"])
        self.assertEqual(p.stderr, "minet flow: --dst: '10.0.0.x' is not IP, IP:PORT or [IPv6]:PORT\n")

    def test_port_left_out(self):
        # The verdict does not depend on the source port: answered, srcPort null.
        v = self.verdict(self.g, "inbound", "tcp", "10.0.1.5", "10.0.0.4:1433")
        self.assertEqual((v["rule"], v["flow"]["srcPort"], v["flow"]["dstPort"]), ("allow_tds", None, 1433))
        # It depends on the destination port: refused (exit 2), the message names both outcomes.
        p = self.flow(self.g, "inbound", "tcp", "10.0.1.5:1", "10.0.0.4", json_out=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("the verdict depends on the destination port", p.stderr)
        self.assertIn("port 1433: Allow by allow_tds (", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_port_left_out_message_names_ports_and_rules(self):
        """Which ports get which verdict, by which rule and priority: never "0 -> 0"."""
        g = self.nsg([rule("allow_http", 100, access="Allow", proto="Tcp", dport="80")], "http")
        p = self.flow(g, "inbound", "tcp", "8.8.8.8", "10.0.0.4")
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(p.stderr, "minet flow: the verdict depends on the destination port: ports 0-79 and 81-65535: "
                                   "Deny by DenyAllInBound (65500); port 80: Allow by allow_http (100); give IP:PORT\n")
        g = self.nsg([rule("deny_low_src", 100, access="Deny", proto="Tcp", sport="0-1023"),
                      rule("deny_rdp_ssh", 150, access="Deny", proto="Tcp", dport=None, destinationPortRanges=["22", "3389"]),
                      rule("allow_all", 200, access="Allow")], "sp")
        p = self.flow(g, "inbound", "tcp", "8.8.8.8", "10.0.0.4:443")
        self.assertEqual(p.stderr, "minet flow: the verdict depends on the source port: ports 0-1023: Deny by "
                                   "deny_low_src (100); ports 1024-65535: Allow by allow_all (200); give IP:PORT\n")
        p = self.flow(g, "inbound", "tcp", "8.8.8.8:5000", "10.0.0.4")
        self.assertEqual(p.stderr, "minet flow: the verdict depends on the destination port: ports 0-21, 23-3388 and "
                                   "3390-65535: Allow by allow_all (200); ports 22 and 3389: Deny by deny_rdp_ssh (150); "
                                   "give IP:PORT\n")
        # Both ports left out: the side that changes the verdict first, at a plain port of the other side.
        p = self.flow(g, "inbound", "tcp", "8.8.8.8", "10.0.0.4", json_out=True)
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"^minet flow: the verdict depends on the source port \(destination port [1-9]\d*\): "
                                   r"ports 0-1023: Deny by deny_low_src \(100\); ports 1024-65535: Allow by allow_all "
                                   r"\(200\); give IP:PORT\n$")


class TestTextExplanation(FlowBase):
    def test_each_field_named(self):
        g = self.nsg([
            rule("r_proto", 100, proto="Udp"),
            rule("r_src", 110, src="10.9.0.0/16"),
            rule("r_sport", 120, sport="1000-2000"),
            rule("r_dst", 130, dst="10.0.5.0/24"),
            rule("r_dport", 140, dport="80"),
            rule("r_two", 150, proto="Icmp", dport="443"),
            rule("r_hit", 200, access="Deny", proto="Tcp", src="Internet"),
            rule("r_after", 300, access="Allow"),
        ])
        p = self.flow(g, "inbound", "tcp", "8.8.8.8:5", "10.0.0.4:1433")
        self.assertEqual(p.returncode, 1, p.stderr)
        out = p.stdout.splitlines()
        self.assertEqual(out[0], "Deny  inbound Tcp 8.8.8.8:5 -> 10.0.0.4:1433")
        self.assertEqual(out[1], "  NSG 'nsg' (%s): denied by rule 'r_hit', priority 200" % g)
        self.assertEqual(out[2], "    earlier rules that did not match:")
        rows = {l.split()[1]: l.split(None, 2)[2] for l in out[3:]}
        self.assertEqual(list(rows), ["r_proto", "r_src", "r_sport", "r_dst", "r_dport", "r_two"])
        self.assertEqual(rows["r_proto"], "protocol Tcp is not Udp")
        self.assertEqual(rows["r_src"], "source 8.8.8.8 is not in 10.9.0.0/16")
        self.assertEqual(rows["r_sport"], "source port 5 is not in 1000-2000")
        self.assertEqual(rows["r_dst"], "destination 10.0.0.4 is not in 10.0.5.0/24")
        self.assertEqual(rows["r_dport"], "destination port 1433 is not in 80")
        self.assertEqual(rows["r_two"], "protocol Tcp is not Icmp; destination port 1433 is not in 443")
        self.assertNotIn("r_after", p.stdout)

    def test_default_rule_named_in_text(self):
        g = self.nsg([rule("only", 100, dport="22", proto="Tcp")])
        p = self.flow(g, "inbound", "tcp", "8.8.8.8:5", "10.0.0.4:1433")
        self.assertEqual(p.returncode, 1)
        self.assertIn("denied by default rule 'DenyAllInBound', priority 65500", p.stdout)
        # Default rules evaluated before the decider are explained too.
        self.assertRegex(p.stdout, r"65000  AllowVnetInBound +source 8\.8\.8\.8 is not in VirtualNetwork")
        self.assertRegex(p.stdout, r"65001  AllowAzureLoadBalancerInBound +source 8\.8\.8\.8 is not in AzureLoadBalancer")


class TestDefaultRules(FlowBase):
    def setUp(self):
        super().setUp()
        self.g = self.nsg([])

    def test_inbound_defaults(self):
        self.assertEqual(self.decided(self.g, "inbound", "tcp", "10.0.3.3:1", "10.0.0.4:22"),
                         ("Allow", "AllowVnetInBound", 65000))
        # 168.63.129.16 is in VirtualNetwork too, so to reach the LB rule the destination must be outside it.
        self.assertEqual(self.decided(self.g, "inbound", "tcp", "168.63.129.16:1", "8.8.4.4:80"),
                         ("Allow", "AllowAzureLoadBalancerInBound", 65001))
        self.assertEqual(self.decided(self.g, "inbound", "tcp", "168.63.129.16:1", "10.0.0.4:80"),
                         ("Allow", "AllowVnetInBound", 65000))
        self.assertEqual(self.decided(self.g, "inbound", "udp", "8.8.8.8:53", "10.0.0.4:53"),
                         ("Deny", "DenyAllInBound", 65500))

    def test_outbound_defaults(self):
        self.assertEqual(self.decided(self.g, "outbound", "tcp", "10.0.0.4:1", "10.0.200.1:443"),
                         ("Allow", "AllowVnetOutBound", 65000))
        self.assertEqual(self.decided(self.g, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:443"),
                         ("Allow", "AllowInternetOutBound", 65001))
        # Destination in VirtualNetwork, source not: neither allow rule matches.
        self.assertEqual(self.decided(self.g, "outbound", "tcp", "8.8.8.8:1", "10.0.0.4:443"),
                         ("Deny", "DenyAllOutBound", 65500))

    def test_json_marks_default(self):
        v = self.verdict(self.g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:1")
        self.assertEqual(v["nsg"], "nsg")
        self.assertEqual(v["evaluated"][0]["defaultRule"], True)
        v = self.verdict(self.nsg([rule("u", 100)], name="n2"), "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:1")
        self.assertEqual((v["rule"], v["evaluated"][0]["defaultRule"]), ("u", False))

    def test_user_rule_overrides_default(self):
        g = self.nsg([rule("deny_vnet", 4096, access="Deny", src="VirtualNetwork", dst="VirtualNetwork")], "n3")
        self.assertEqual(self.decided(g, "inbound", "tcp", "10.0.3.3:1", "10.0.0.4:22"), ("Deny", "deny_vnet", 4096))

    def test_first_match_by_priority_not_file_order(self):
        g = self.nsg([rule("late_allow", 300, proto="Tcp"), rule("early_deny", 200, access="Deny", dport="22"),
                      rule("mid", 250, access="Deny")], "n4")
        self.assertEqual(self.decided(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22"), ("Deny", "early_deny", 200))
        self.assertEqual(self.decided(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:23"), ("Deny", "mid", 250))


class TestBuiltinTags(FlowBase):
    def test_virtual_network_includes_host_vip(self):
        g = self.nsg([rule("deny_internet_out", 100, "Outbound", "Deny", dst="Internet")])
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:1", "168.63.129.16:53"),
                         ("Allow", "AllowVnetOutBound", 65000))
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:1", "168.63.129.17:53"),
                         ("Deny", "deny_internet_out", 100))

    def test_internet_is_not_virtual_network(self):
        g = self.nsg([rule("inet", 100, "Outbound", "Deny", dst="Internet")])
        self.assertEqual(self.decided(g, "outbound", "udp", "10.0.0.4:1", "8.8.8.8:53")[1], "inet")
        # Public but inside the VNet's address space: VirtualNetwork, not Internet.
        self.assertEqual(self.decided(g, "outbound", "udp", "11.0.0.4:1", "11.0.255.255:53", vnet="11.0.0.0/16")[1],
                         "AllowVnetOutBound")
        self.assertEqual(self.decided(g, "outbound", "udp", "11.0.0.4:1", "11.1.0.1:53", vnet="11.0.0.0/16")[1], "inet")
        # With a second address-space range, that range leaves Internet.
        self.assertEqual(self.decided(g, "outbound", "udp", "11.0.0.4:1", "11.1.0.1:53",
                                      vnet="11.0.0.0/16,11.1.0.0/16")[1], "AllowVnetOutBound")

    def test_internet_excludes_private_ranges(self):
        """Azure's expansion of Internet skips 0/8 and 10/8, and 172.31.0.100 is no Internet address (the
        quickstart's verdict): an address in each excluded range is neither VirtualNetwork nor Internet."""
        g = self.nsg([rule("inet", 100, "Outbound", "Deny", dst="Internet")])
        for dst in ("0.1.2.3", "10.1.0.1", "10.255.255.254", "100.64.0.1", "100.127.255.254", "172.16.0.1",
                    "172.31.0.100", "192.168.0.1", "192.168.255.254"):
            with self.subTest(dst=dst):
                self.assertEqual(self.decided(g, "outbound", "udp", "10.0.0.4:1", dst + ":53"),
                                 ("Deny", "DenyAllOutBound", 65500))
        # Just outside each excluded range: Internet again.
        for dst in ("1.0.0.1", "9.255.255.255", "11.0.0.1", "100.63.255.254", "100.128.0.1", "172.15.255.254",
                    "172.32.0.1", "192.167.255.254", "192.169.0.1", "8.8.8.8"):
            with self.subTest(dst=dst):
                self.assertEqual(self.decided(g, "outbound", "udp", "10.0.0.4:1", dst + ":53")[1], "inet")
        # A VNet inside an excluded range is still VirtualNetwork.
        self.assertEqual(self.decided(g, "outbound", "udp", "192.168.5.4:1", "192.168.5.9:53", vnet="192.168.5.0/24")[1],
                         "AllowVnetOutBound")

    def test_network_watcher_quickstart(self):
        """MicrosoftDocs/azure-docs articles/network-watcher/diagnose-vm-network-traffic-filtering-problem-cli.md:
        a VM at 10.0.0.4 (VNet 10.0.0.0/16) whose NSG has only the default rules. 13.107.21.200:80 is allowed by
        AllowInternetOutBound; 172.31.0.100:80 outbound is denied by DenyAllOutBound; inbound from 172.31.0.100
        to port 80 by DenyAllInBound."""
        g = os.path.join(SEMANTICS, "quickstart-default-nsg.json")
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:60000", "13.107.21.200:80"),
                         ("Allow", "AllowInternetOutBound", 65001))
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:60000", "172.31.0.100:80"),
                         ("Deny", "DenyAllOutBound", 65500))
        self.assertEqual(self.decided(g, "inbound", "tcp", "172.31.0.100:60000", "10.0.0.4:80"),
                         ("Deny", "DenyAllInBound", 65500))

    def test_udr_prefixes_join_virtual_network(self):
        g = self.nsg([])
        rt = self.tmp.write("rt.json", routes_arm([route("to-nva", "192.168.50.0/24", "VirtualAppliance",
                                                         "10.0.1.4")]))
        self.assertEqual(self.decided(g, "inbound", "tcp", "192.168.50.7:1", "10.0.0.4:22")[1], "DenyAllInBound")
        self.assertEqual(self.decided(g, "inbound", "tcp", "192.168.50.7:1", "10.0.0.4:22", routes=rt)[1],
                         "AllowVnetInBound")
        self.assertEqual(self.decided(g, "inbound", "tcp", "192.168.51.7:1", "10.0.0.4:22", routes=rt)[1],
                         "DenyAllInBound")

    def test_default_route_udr_makes_virtual_network_everything(self):
        g = self.nsg([])
        rt = self.tmp.write("rt0.json", routes_arm([route("default-nva", "0.0.0.0/0", "VirtualAppliance",
                                                          "10.0.1.4")]))
        self.assertEqual(self.decided(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", routes=rt),
                         ("Allow", "AllowVnetInBound", 65000))
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:443", routes=rt),
                         ("Allow", "AllowVnetOutBound", 65000))
        # A rule on Internet no longer matches any IPv4 address.
        g2 = self.nsg([rule("deny_inet", 100, "Outbound", "Deny", dst="Internet")], "n2")
        self.assertEqual(self.decided(g2, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:443", routes=rt)[1],
                         "AllowVnetOutBound")
        self.assertEqual(self.decided(g2, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:443")[1], "deny_inet")

    def test_tag_route_joins_virtual_network(self):
        g = self.nsg([])
        rt = self.tmp.write("rtt.json", routes_arm([route("mi-sqlmanagement-internet", "SqlManagement", "Internet")]))
        self.assertEqual(self.decided(g, "inbound", "tcp", "13.104.248.40:1", "10.0.0.4:9000", routes=rt)[1],
                         "AllowVnetInBound")
        self.assertEqual(self.decided(g, "inbound", "tcp", "13.104.248.40:1", "10.0.0.4:9000")[1], "DenyAllInBound")

    def test_tag_names_case_insensitive_and_classic(self):
        spellings = [("virtualnetwork", "10.0.9.9"), ("VIRTUAL_NETWORK", "10.0.9.9"), ("INTERNET", "8.8.8.8"),
                     ("internet", "8.8.8.8"), ("AZURE_LOADBALANCER", "168.63.129.16"),
                     ("azureloadbalancer", "168.63.129.16"), ("sqlmanagement", "13.104.248.33"),
                     ("SQLMANAGEMENT", "13.104.248.63"), ("azurecloud.WESTEUROPE", "20.50.1.1"),
                     ("storage", "20.60.0.1")]
        for i, (tag, inside) in enumerate(spellings):
            with self.subTest(tag):
                g = self.nsg([rule("deny_tag", 100, access="Deny", src=tag)], "t%d" % i)
                self.assertEqual(self.decided(g, "inbound", "tcp", inside + ":1", "10.0.0.4:1")[1], "deny_tag")
                outside = "13.104.248.64" if tag.lower() != "internet" else "172.16.0.9"
                self.assertNotEqual(self.decided(g, "inbound", "tcp", outside + ":1", "10.0.0.4:1")[1], "deny_tag")

    def test_unknown_tag_is_error(self):
        g = self.nsg([rule("r", 100, src="SqlManagemnt")])
        p = self.flow(g, "inbound", "tcp", "1.2.3.4:1", "10.0.0.4:1")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr, "%s: properties.securityRules[0].properties.sourceAddressPrefix: unknown service "
                                   "tag 'SqlManagemnt' (not built in and not in any --tags file)\n" % g)


class TestRuleFields(FlowBase):
    def test_augmented_lists(self):
        g = self.nsg([
            rule("aug", 100, proto="Tcp", src=None, dport=None,
                 sourceAddressPrefixes=["10.9.0.0/16", "8.8.8.8", "192.0.2.0/24"],
                 destinationPortRanges=["9000", "9003", "1438-1440", "1452"]),
            rule("deny", 4000, access="Deny"),
        ])
        for src, dport, want in [("8.8.8.8", 9000, "aug"), ("192.0.2.200", 1439, "aug"), ("10.9.255.1", 1452, "aug"),
                                 ("8.8.8.9", 9000, "deny"), ("8.8.8.8", 9001, "deny"), ("8.8.8.8", 1441, "deny")]:
            with self.subTest(src=src, dport=dport):
                self.assertEqual(self.decided(g, "inbound", "tcp", "%s:1" % src, "10.0.0.4:%d" % dport)[1], want)
        p = self.flow(g, "inbound", "tcp", "8.8.8.9:1", "10.0.0.4:9001")
        self.assertIn("source 8.8.8.9 is not in 10.9.0.0/16, 8.8.8.8, 192.0.2.0/24; "
                      "destination port 9001 is not in 9000, 9003, 1438-1440, 1452", p.stdout)

    def test_source_port_ranges_list(self):
        g = self.nsg([rule("sp", 100, proto="Udp", sport=None, sourcePortRanges=["53", "123"], access="Deny")])
        self.assertEqual(self.decided(g, "inbound", "udp", "8.8.8.8:123", "10.0.0.4:1")[1], "sp")
        self.assertEqual(self.decided(g, "inbound", "udp", "8.8.8.8:124", "10.0.0.4:1")[1], "DenyAllInBound")
        self.assertEqual(self.decided(g, "inbound", "tcp", "10.0.1.1:53", "10.0.0.4:1")[1], "AllowVnetInBound")

    def test_port_range_bounds(self):
        g = self.nsg([rule("rng", 100, proto="Tcp", dport="11000-11999")])
        for port, want in [(10999, "DenyAllInBound"), (11000, "rng"), (11999, "rng"), (12000, "DenyAllInBound")]:
            self.assertEqual(self.decided(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:%d" % port)[1], want)

    def test_protocols(self):
        g = self.nsg([rule("esp", 100, proto="Esp"), rule("ah", 110, proto="Ah"), rule("udp", 120, proto="Udp"),
                      rule("any", 130, proto="*", access="Deny")])
        self.assertEqual(self.decided(g, "inbound", "esp", "8.8.8.8", "10.0.0.4")[1], "esp")
        self.assertEqual(self.decided(g, "inbound", "ah", "8.8.8.8", "10.0.0.4")[1], "ah")
        self.assertEqual(self.decided(g, "inbound", "udp", "8.8.8.8:1", "10.0.0.4:2")[1], "udp")
        self.assertEqual(self.decided(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:2")[1], "any")
        self.assertEqual(self.decided(g, "inbound", "icmp", "8.8.8.8", "10.0.0.4")[1], "any")

    def test_icmp_matches_only_star_ports(self):
        g = self.nsg([
            rule("tcp_any", 100, proto="Tcp"),
            rule("any_port80", 110, proto="*", dport="80"),
            rule("any_sport_range", 120, proto="*", sport="0-65535"),  # covers every port: like *
            rule("icmp_deny", 200, proto="Icmp", access="Deny"),
        ])
        p = self.flow(g, "inbound", "icmp", "8.8.8.8", "10.0.0.4", json_out=True)
        v = json.loads(p.stdout)
        self.assertEqual(v["rule"], "any_sport_range")
        self.assertEqual((v["flow"]["srcPort"], v["flow"]["dstPort"]), (None, None))
        t = self.flow(g, "inbound", "icmp", "8.8.8.8", "10.0.0.4").stdout
        self.assertIn("protocol Icmp is not Tcp", t)
        self.assertIn("Icmp has no ports; destinationPortRange is 80", t)
        g2 = self.nsg([rule("any_port80", 110, proto="*", dport="80"), rule("icmp_deny", 200, proto="Icmp",
                                                                            access="Deny")], "n2")
        self.assertEqual(self.decided(g2, "inbound", "icmp", "8.8.8.8", "10.0.0.4"), ("Deny", "icmp_deny", 200))
        # ICMP with a port is a usage error.
        self.assertEqual(self.flow(g2, "inbound", "icmp", "8.8.8.8:1", "10.0.0.4").returncode, 2)

    def test_ipv6(self):
        vnet = "10.0.0.0/16,fd00:db8::/48"
        g = self.nsg([
            rule("v6_mgmt", 100, proto="Tcp", src="2001:db8::/32", dport="443"),
            rule("v4_only", 110, proto="Tcp", src="0.0.0.0/0", access="Deny"),
            rule("sqlm", 120, proto="Tcp", src="SqlManagement", dport="9000"),
        ])
        self.assertEqual(self.decided(g, "inbound", "tcp", "[2001:db8::1]:5000", "[fd00:db8::4]:443", vnet=vnet)[1],
                         "v6_mgmt")
        # 0.0.0.0/0 is IPv4 only: an IPv6 source passes it.
        self.assertEqual(self.decided(g, "inbound", "tcp", "[2001:db9::1]:5000", "[fd00:db8::4]:443", vnet=vnet)[1],
                         "DenyAllInBound")
        self.assertEqual(self.decided(g, "inbound", "tcp", "[2603:1000:4:402::3bf]:1", "[fd00:db8::4]:9000",
                                      vnet=vnet)[1], "sqlm")
        self.assertEqual(self.decided(g, "inbound", "tcp", "[fd00:db8:0:1::9]:1", "[fd00:db8::4]:22", vnet=vnet)[1],
                         "AllowVnetInBound")
        self.assertEqual(self.decided(g, "outbound", "tcp", "[fd00:db8::4]:1", "[2001:4860::8888]:443", vnet=vnet)[1],
                         "AllowInternetOutBound")
        p = self.flow(g, "inbound", "tcp", "[2001:db8::1]:5000", "[fd00:db8::4]:443", vnet=vnet)
        self.assertTrue(p.stdout.startswith("Allow  inbound Tcp [2001:db8::1]:5000 -> [fd00:db8::4]:443\n"), p.stdout)

    def test_duplicate_priority_across_directions_is_fine(self):
        g = self.nsg([rule("in100", 100, "Inbound", "Deny"), rule("out100", 100, "Outbound", "Deny")])
        self.assertEqual(self.decided(g, "inbound", "tcp", "10.0.0.9:1", "10.0.0.4:1"), ("Deny", "in100", 100))
        self.assertEqual(self.decided(g, "outbound", "tcp", "10.0.0.4:1", "10.0.0.9:1"), ("Deny", "out100", 100))


class TestShapes(FlowBase):
    RULES = [
        rule("mgmt", 100, proto="Tcp", src="SqlManagement", dst="10.0.0.0/24", dport=None,
             destinationPortRanges=["9000", "9003", "1438", "1440", "1452"]),
        rule("lists", 110, proto="Udp", src=None, sport=None, sourceAddressPrefixes=["8.8.8.0/24", "1.1.1.1"],
             sourcePortRanges=["53", "5000-5100"], access="Deny"),
        rule("probe", 120, src="AZURE_LOADBALANCER"),
        rule("deny_in", 4096, access="Deny"),
        rule("svc_out", 100, "Outbound", proto="Tcp", dst="AzureCloud", dport=None, destinationPortRanges=["443",
                                                                                                          "12000"]),
        rule("deny_out", 4096, "Outbound", "Deny", dst="Internet"),
    ]
    FLOWS = """
inbound tcp 13.104.248.40:1 10.0.0.4:9003
inbound tcp 13.104.248.40:1 10.0.1.4:9003
inbound tcp 13.104.248.64:1 10.0.0.4:9003
inbound udp 8.8.8.9:53 10.0.0.4:1
inbound udp 8.8.8.9:54 10.0.0.4:1
inbound udp 1.1.1.1:5100 10.0.0.4:1
inbound icmp 168.63.129.16 10.0.0.4
inbound esp 10.0.3.3 10.0.0.4
outbound tcp 10.0.0.4:1 20.1.2.3:443
outbound tcp 10.0.0.4:1 20.1.2.3:444
outbound udp 10.0.0.4:1 10.0.0.5:1
outbound tcp [fd00::4]:1 [2603:1000::1]:12000
""".strip()

    def test_arm_and_az_shapes_same_verdicts(self):
        arm = self.tmp.write("arm.json", nsg_arm(self.RULES, "same"))
        az = self.tmp.write("az.json", nsg_az(self.RULES, "same"))
        fl = self.tmp.write("flows.txt", self.FLOWS + "\n")
        outs = []
        for g in (arm, az):
            p = run(["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", g, "--batch", fl])
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertEqual(outs[0], outs[1])
        rules = [l.split("\t")[1] for l in outs[0].splitlines()]
        self.assertEqual(rules, ["mgmt", "deny_in", "deny_in", "lists", "deny_in", "lists", "probe",
                                 "deny_in", "svc_out", "deny_out", "AllowVnetOutBound", "svc_out"])

    def test_example_files(self):
        # examples/mi-nsg.json (ARM shape) with the real tags: SqlManagement management ports open, 1433 from outside not.
        common = ["flow", "--tags", TAGS_2022, "--tags", os.path.join(EXAMPLES, "corpnet-tags.json"), "--vnet", VNET,
                  "--routes", os.path.join(EXAMPLES, "mi-routes.json"), "--nsg", os.path.join(EXAMPLES, "mi-nsg.json"),
                  "--json", "--direction", "inbound", "--protocol", "tcp"]
        p = run(common + ["--src", "13.104.248.40:50000", "--dst", "10.0.0.4:9000"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["rule"], "allow_management_inbound")
        p = run(common + ["--src", "8.8.8.8:50000", "--dst", "10.0.0.4:1433"])
        self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (1, "deny_all_inbound"))


class TestNicNsg(FlowBase):
    def setUp(self):
        super().setUp()
        allow_all = [rule("allow_all_in", 100), rule("allow_all_out", 100, "Outbound")]
        deny_22 = [rule("deny_22_in", 100, access="Deny", dport="22"),
                   rule("deny_22_out", 100, "Outbound", "Deny", dport="22"),
                   rule("allow_in", 200), rule("allow_out", 200, "Outbound")]
        self.subnet_allow = self.nsg(allow_all, "subnet-nsg", fname="sa.json")
        self.subnet_deny = self.nsg(deny_22, "subnet-nsg", fname="sd.json")
        self.nic_allow = self.nsg(allow_all, "nic-nsg", fname="na.json")
        self.nic_deny = self.nsg(deny_22, "nic-nsg", fname="nd.json")

    def test_inbound_subnet_then_nic(self):
        v = self.verdict(self.subnet_allow, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", nic=self.nic_allow)
        self.assertEqual((v["access"], v["nsg"], v["rule"]), ("Allow", "nic-nsg", "allow_all_in"))
        self.assertEqual([(e["nsg"], e["rule"]) for e in v["evaluated"]],
                         [("subnet-nsg", "allow_all_in"), ("nic-nsg", "allow_all_in")])
        v = self.verdict(self.subnet_deny, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", nic=self.nic_allow)
        self.assertEqual((v["access"], v["nsg"], v["rule"], len(v["evaluated"])), ("Deny", "subnet-nsg", "deny_22_in", 1))
        v = self.verdict(self.subnet_allow, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", nic=self.nic_deny)
        self.assertEqual((v["access"], v["nsg"], v["rule"]), ("Deny", "nic-nsg", "deny_22_in"))
        v = self.verdict(self.subnet_deny, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", nic=self.nic_deny)
        self.assertEqual((v["nsg"], len(v["evaluated"])), ("subnet-nsg", 1))

    def test_outbound_nic_then_subnet(self):
        v = self.verdict(self.subnet_allow, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:22", nic=self.nic_allow)
        self.assertEqual((v["access"], v["nsg"]), ("Allow", "subnet-nsg"))
        self.assertEqual([e["nsg"] for e in v["evaluated"]], ["nic-nsg", "subnet-nsg"])
        v = self.verdict(self.subnet_deny, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:22", nic=self.nic_deny)
        self.assertEqual((v["access"], v["nsg"], v["rule"], len(v["evaluated"])), ("Deny", "nic-nsg", "deny_22_out", 1))
        v = self.verdict(self.subnet_deny, "outbound", "tcp", "10.0.0.4:1", "8.8.8.8:22", nic=self.nic_allow)
        self.assertEqual((v["access"], v["nsg"], v["rule"]), ("Deny", "subnet-nsg", "deny_22_out"))

    def test_text_shows_both_levels(self):
        p = self.flow(self.subnet_allow, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:22", nic=self.nic_deny)
        self.assertEqual(p.returncode, 1)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[1], "  NSG 'subnet-nsg' (%s): allowed by rule 'allow_all_in', priority 100"
                         % self.subnet_allow)
        self.assertEqual(lines[2], "  NSG 'nic-nsg' (%s): denied by rule 'deny_22_in', priority 100" % self.nic_deny)

    def test_batch_agrees(self):
        flows = ["inbound tcp 8.8.8.8:1 10.0.0.4:22", "inbound tcp 8.8.8.8:1 10.0.0.4:23",
                 "outbound tcp 10.0.0.4:1 8.8.8.8:22", "outbound tcp 10.0.0.4:1 8.8.8.8:23"]
        p = run(["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.subnet_allow, "--nic-nsg", self.nic_deny,
                 "--batch", "-"], stdin="\n".join(flows) + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ["Deny\tdeny_22_in\t100\tnic-nsg", "Allow\tallow_in\t200\tnic-nsg",
                                                 "Deny\tdeny_22_out\t100\tnic-nsg",
                                                 "Allow\tallow_all_out\t100\tsubnet-nsg"])


class TestBatch(FlowBase):
    def setUp(self):
        super().setUp()
        self.g = self.nsg([
            rule("tds", 1000, proto="Tcp", src="VirtualNetwork", dport="1433"),
            rule("icmp_ok", 1100, proto="Icmp"),
            rule("deny_all_in", 4096, access="Deny"),
            rule("deny_web_out", 200, "Outbound", "Deny", proto="Tcp", dport="80"),
        ], "bnsg")
        self.flows = ["inbound tcp 10.0.1.1:5000 10.0.0.4:1433", "inbound tcp 8.8.8.8:5000 10.0.0.4:1433",
                      "outbound tcp 10.0.0.4:5000 8.8.8.8:80", "outbound tcp 10.0.0.4:5000 8.8.8.8:443",
                      "inbound icmp 8.8.8.8 10.0.0.4", "inbound udp [2001:db8::1]:1 [fd00::1]:2"]
        self.want = [("Allow", "tds", 1000), ("Deny", "deny_all_in", 4096), ("Deny", "deny_web_out", 200),
                     ("Allow", "AllowInternetOutBound", 65001), ("Allow", "icmp_ok", 1100),
                     ("Deny", "deny_all_in", 4096)]

    def batch(self, src, stdin=None, extra=()):
        return run(["flow", "--tags", self.tags, "--vnet", VNET, "--nsg", self.g, "--batch", src] + list(extra),
                   stdin=stdin)

    def test_tsv_from_file(self):
        f = self.tmp.write("flows.txt", "# comment\n\n" + "\n".join(self.flows) + "\n")
        p = self.batch(f)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ["%s\t%s\t%d\tbnsg" % w for w in self.want])

    def test_json_lines_from_stdin(self):
        p = self.batch("-", stdin="\n".join(self.flows), extra=["--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        got = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([(g["access"], g["rule"], g["priority"], g["nsg"]) for g in got],
                         [w + ("bnsg",) for w in self.want])

    def test_batch_agrees_with_single(self):
        for line, want in zip(self.flows, self.want):
            d, proto, src, dst = line.split()
            self.assertEqual(self.decided(self.g, d, proto, src, dst), want, line)

    def test_default_direction(self):
        p = self.batch("-", stdin="tcp 10.0.1.1:1 10.0.0.4:1433\noutbound tcp 10.0.0.4:1 8.8.8.8:80\n",
                       extra=["--direction", "inbound"])
        self.assertEqual(p.stdout.splitlines(), ["Allow\ttds\t1000\tbnsg", "Deny\tdeny_web_out\t200\tbnsg"])

    def test_bad_lines(self):
        f = self.tmp.write("bad.txt", "inbound tcp 10.0.1.1:1 10.0.0.4:1433\ninbound tcp 10.0.1.1 10.0.0.4:1433\n"
                                      "inbound sctp 1.1.1.1:1 10.0.0.4:1\nsideways tcp 1.1.1.1:1 2.2.2.2:2\n"
                                      "inbound icmp 1.1.1.1:1 10.0.0.4\ninbound tcp 1.1.1.1:1 [::1]:2\n"
                                      "inbound esp 8.8.8.8 10.0.0.4\n")
        p = self.batch(f)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout.splitlines(), ["Allow\ttds\t1000\tbnsg", "Error", "Error", "Error", "Error", "Error",
                                                 "Deny\tdeny_all_in\t4096\tbnsg"])
        self.assertEqual(p.stderr.splitlines(), [
            f + ":2: tcp and udp flows need IP:PORT on both sides in a batch",
            f + ":3: protocol must be tcp, udp, icmp, esp or ah",
            f + ":4: direction must be inbound or outbound",
            f + ":5: icmp, esp and ah flows have no ports",
            f + ":6: source and destination are of different address families",
        ])
        p = self.batch("-", stdin="tcp 1.1.1.1:1 10.0.0.4:1\n")
        self.assertEqual((p.returncode, p.stdout), (2, "Error\n"))
        self.assertEqual(p.stderr, "-:1: want DIRECTION PROTOCOL SRC DST\n")

    def test_missing_batch_file(self):
        p = self.batch(os.path.join(self.tmp.path, "nope.txt"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("nope.txt: No such file or directory", p.stderr)

    def test_many_lines(self):
        lines = ["inbound tcp 10.0.%d.%d:%d 10.0.0.4:%d" % (i % 256, i % 200, 1024 + i, 1430 + i % 7)
                 for i in range(5000)]
        p = self.batch("-", stdin="\n".join(lines) + "\n")
        out = p.stdout.splitlines()
        self.assertEqual(len(out), 5000)
        for i, l in enumerate(out):
            self.assertEqual(l.split("\t")[1], "tds" if 1430 + i % 7 == 1433 else "deny_all_in", i)


class TestRealServiceTags(FlowBase):
    """Service Tags loading seen through verdicts on rules that name the published tags."""

    def rules_order(self, first, second):
        return [rule("r_" + first, 100, src=first, access="Deny"), rule("r_" + second, 200, src=second)]

    def test_sqlmanagement_not_in_azurecloud_2022(self):
        g = self.nsg(self.rules_order("AzureCloud", "SqlManagement"))
        # 13.104.248.32/27 and 13.104.248.96/27 are SqlManagement but not AzureCloud in the 2022-11-07 file.
        for src, want in [("13.104.248.32", "r_SqlManagement"), ("13.104.248.63", "r_SqlManagement"),
                          ("13.104.248.96", "r_SqlManagement"), ("13.104.248.64", "DenyAllInBound"),
                          ("13.104.248.31", "DenyAllInBound"), ("20.38.80.1", "r_AzureCloud")]:
            with self.subTest(src=src):
                self.assertEqual(self.decided(g, "inbound", "tcp", src + ":1", "10.0.0.4:9000", tags=[TAGS_2022])[1],
                                 want)

    def test_regional_tag_and_ipv6_2022(self):
        g = self.nsg([rule("we", 100, src="AzureCloud.westeurope"), rule("sqlm", 110, src="sqlmanagement")])
        self.assertEqual(self.decided(g, "inbound", "tcp", "[2603:1000:4:402::380]:1", "[fd00::4]:9000",
                                      tags=[TAGS_2022], vnet="10.0.0.0/16,fd00::/64")[1], "sqlm")
        self.assertEqual(self.decided(g, "inbound", "tcp", "[2603:1000:4:402::37f]:1", "[fd00::4]:9000",
                                      tags=[TAGS_2022], vnet="10.0.0.0/16,fd00::/64")[1], "DenyAllInBound")

    def test_all_three_vintages_load(self):
        g = self.nsg([rule("sqlm", 100, src="SqlManagement"), rule("cloud", 110, src="AzureCloud")])
        for f in (TAGS_2020, TAGS_2022, TAGS_2025):
            with self.subTest(f=os.path.basename(f)):
                p = self.flow(g, "inbound", "tcp", "8.8.8.8:1", "10.0.0.4:1", json_out=True, tags=[f])
                self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (1, "DenyAllInBound"), p.stderr)

    def test_two_tags_files(self):
        corp = os.path.join(EXAMPLES, "corpnet-tags.json")
        g = self.nsg([rule("saw", 101, proto="Tcp", src="CorpNetSaw", dport="9000"),
                      rule("sqlm", 100, proto="Tcp", src="SqlManagement", dport="9000")])
        self.assertEqual(self.decided(g, "inbound", "tcp", "167.220.1.1:1", "10.0.0.4:9000", tags=[TAGS_2022, corp])[1],
                         "saw")
        self.assertEqual(self.decided(g, "inbound", "tcp", "13.104.248.33:1", "10.0.0.4:9000",
                                      tags=[corp, TAGS_2022])[1], "sqlm")
        p = self.flow(g, "inbound", "tcp", "167.220.1.1:1", "10.0.0.4:9000", tags=[TAGS_2022])
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown service tag 'CorpNetSaw'", p.stderr)

    def test_tag_defined_twice(self):
        again = self.tmp.write("again.json", tags_doc([("Other", ["192.0.2.0/24"]), ("sqlmanagement", ["1.2.3.0/24"])]))
        g = self.nsg([rule("r", 100)])
        p = self.flow(g, "inbound", "tcp", "1.1.1.1:1", "10.0.0.4:1", tags=[TAGS_2022, again])
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr, "%s: values[1]: tag 'sqlmanagement' is already defined in %s\n" % (again, TAGS_2022))


class TestTagFiles(FlowBase):
    def test_same_file_twice(self):
        g = self.nsg([rule("r", 100)])
        p = self.flow(g, "inbound", "tcp", "1.1.1.1:1", "10.0.0.4:1", tags=[self.tags, self.tags])
        self.assertEqual(p.returncode, 2)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 4)  # every tag of the second file is reported
        self.assertEqual(lines[0], "%s: values[0]: tag 'SqlManagement' is already defined in %s" % (self.tags, self.tags))

    def test_duplicate_within_one_file(self):
        t = self.tmp.write("dup.json", tags_doc([("A", ["192.0.2.0/24"]), ("a", ["198.51.100.0/24"])]))
        g = self.nsg([rule("r", 100)])
        p = self.flow(g, "inbound", "tcp", "1.1.1.1:1", "10.0.0.4:1", tags=[t])
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, "%s: values[1]: tag 'a' is already defined in %s\n" % (t, t))

    def test_bundled_files_are_the_published_ones(self):
        # data/servicetags/README.md: each .json.gz inflates to Microsoft's file, byte for byte.
        want = {TAGS_2020: "1d47deb1314c01c17092f1d8c1358fff33642d511c2c7b5ed1f2d44adb4edaf9",
                TAGS_2022: "0c2d64ad13ff5b35556c0eeb6c3dceb7e09b77f0674c34a0e6025679aa8859b1",
                TAGS_2025: "9cb4e5f9371cec1297b05a6f5d742768921a28bd854a3a9cbd80673a6399dc40"}
        for f, digest in want.items():
            with gzip.open(f, "rb") as z:
                self.assertEqual(hashlib.sha256(z.read()).hexdigest(), digest, f)

    def test_gzip_and_plain_read_alike(self):
        plain = self.tmp.write("plain.json", tags_doc([("Sql", ["192.0.2.0/24"])]))
        gz = os.path.join(self.tmp.path, "tags.json.gz")
        with open(plain, "rb") as src, gzip.open(gz, "wb") as dst:
            dst.write(src.read())
        g = self.nsg([rule("sql", 100, src="Sql", access="Deny")])
        for t in (plain, gz):
            self.assertEqual(self.decided(g, "inbound", "tcp", "192.0.2.7:1", "10.0.0.4:80", tags=[t])[1], "sql", t)

    def test_bad_gzip(self):
        g = self.nsg([rule("r", 100)])
        with open(TAGS_2022, "rb") as f:
            truncated = self.tmp.write("cut.json.gz", "")
            with open(truncated, "wb") as out:
                out.write(f.read(5000))
        p = self.flow(g, "inbound", "tcp", "1.1.1.1:1", "10.0.0.4:1", tags=[truncated])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertTrue(p.stderr.startswith(truncated + ": "), p.stderr)
        bomb = os.path.join(self.tmp.path, "bomb.json.gz")
        with gzip.open(bomb, "wb") as z:  # 65 MiB of blanks: more than a tags file may hold once inflated
            for _ in range(65):
                z.write(b" " * (1 << 20))
        p = self.flow(g, "inbound", "tcp", "1.1.1.1:1", "10.0.0.4:1", tags=[bomb])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertEqual(p.stderr, "%s: inflates to more than 64 MiB; at most that is accepted for this kind of file\n"
                         % bomb)

    def test_minet_tags_environment(self):
        corp = os.path.join(EXAMPLES, "corpnet-tags.json")
        g = self.nsg([rule("sqlm", 100, src="SqlManagement", access="Deny"), rule("saw", 110, src="CorpNetSaw")])
        args = ["flow", "--vnet", VNET, "--nsg", g, "--direction", "inbound", "--protocol", "tcp",
                "--src", "13.104.248.33:1", "--dst", "10.0.0.4:9000", "--json"]
        env = dict(os.environ, MINET_TAGS=TAGS_2022 + ":" + corp)
        p = subprocess.run([MINET] + args, env=env, capture_output=True, text=True)
        self.assertEqual((p.returncode, json.loads(p.stdout)["rule"]), (1, "sqlm"), p.stderr)
        # --tags wins over the environment: without SqlManagement the rule's tag is unknown.
        p = subprocess.run([MINET] + args + ["--tags", corp], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown service tag 'SqlManagement'", p.stderr)

    def test_no_tags_file_builtins_only(self):
        g = self.nsg([rule("lb", 100, src="AzureLoadBalancer", access="Deny")])
        self.assertEqual(self.decided(g, "inbound", "tcp", "168.63.129.16:1", "10.0.0.4:80", tags=[])[1], "lb")


if __name__ == "__main__":
    unittest.main()

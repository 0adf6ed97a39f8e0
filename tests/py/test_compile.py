"""minet compile on NSGs that use every kind of field: the scripts must be accepted by the real nft (checked in a
scratch namespace, nothing applied outside it), and rules must keep their priority order and meaning."""
import json
import os
import re
import subprocess
import tempfile
import unittest
import uuid

from cli_common import ROOT, nsg_arm, rule, run


def topology_with(nsg):
    with open(os.path.join(ROOT, "lab", "default-topology.json")) as f:
        topo = json.load(f)
    topo["nsg"] = nsg
    topo["vnet"] = ["10.0.0.0/16", "fd00:db8::/48"]
    return topo


RULES = [
    rule("v6_tcp", 200, src="2001:db8::/32", dst="fd00:db8::/64", proto="Tcp", dport="443"),
    rule("icmp_any", 210, proto="Icmp", src="203.0.113.0/24"),
    rule("icmp_port", 220, proto="Icmp", dport="80"),  # never matches a portless flow: not installed
    rule("esp", 230, proto="Esp", src="SqlManagement"),
    rule("star_ports", 240, proto="*", dport=None, destinationPortRanges=["80", "8000-8080"], src="Internet"),
    rule("lists", 250, src=None, sourceAddressPrefixes=["192.0.2.1", "198.51.100.0/25"], dst="VirtualNetwork",
         proto="Udp", sport="1000-2000"),
    rule("deny_out", 300, direction="Outbound", access="Deny", dst="AzureCloud.northeurope"),
]


class Compile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "topo.json")
        with open(self.path, "w") as f:
            json.dump(topology_with(nsg_arm(RULES, name="kinds")), f)
        p = run(["compile", self.path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.out = p.stdout

    def fabric_script(self):
        return self.out.split("# ==== ")[1].split("\n", 1)[1]

    def test_rules_keep_priority_order_and_verdicts(self):
        # (a rule whose sets hold both families is installed once per family, one after the other)
        names = list(dict.fromkeys(re.findall(r'comment "(?:rule|default) \d+ (\w+)"', self.fabric_script())))
        inbound = [n for n in names if n in ("v6_tcp", "icmp_any", "esp", "star_ports", "lists", "AllowVnetInBound",
                                             "DenyAllInBound")]
        self.assertEqual(inbound, ["v6_tcp", "icmp_any", "esp", "star_ports", "lists", "AllowVnetInBound",
                                   "DenyAllInBound"])
        self.assertNotIn("icmp_port", names)

    def test_fields(self):
        s = self.fabric_script()
        self.assertRegex(s, r"ip6 saddr \{ 2001:db8::/32 \} ip6 daddr \{ fd00:db8::/64 \} meta l4proto tcp "
                            r"th dport \{ 443 \} accept")
        self.assertRegex(s, r"meta l4proto \{ tcp, udp \} th dport \{ 80, 8000-8080 \} accept")
        self.assertRegex(s, r"ip saddr \{ 192.0.2.1, 198.51.100.0/25 \} ip daddr @t_virtualnetwork_4 meta l4proto udp "
                            r"th sport \{ 1000-2000 \} accept")
        self.assertRegex(s, r"ip saddr @t_sqlmanagement_4 meta l4proto esp accept")
        self.assertRegex(s, r'ip daddr @t_azurecloud_northeurope_4 drop comment "rule 300 deny_out"')

    @unittest.skipUnless(os.geteuid() == 0, "nft -c needs root")
    def test_real_nft_accepts_every_script(self):
        ns = "minet-tc-" + uuid.uuid4().hex[:6]
        subprocess.run(["ip", "netns", "add", ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", ns])
        for part in self.out.split("# ==== ")[1:]:
            header, body = part.split("\n", 1)
            if "routes of table" in header:
                continue
            p = subprocess.run(["ip", "netns", "exec", ns, "nft", "-c", "-f", "-"], input=body, text=True,
                               capture_output=True)
            self.assertEqual(p.returncode, 0, header + "\n" + p.stderr)


if __name__ == "__main__":
    unittest.main()

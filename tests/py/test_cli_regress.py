"""Regression tests, each named after the bug it pins."""
import json
import os
import tempfile
import unittest

from cli_common import nsg_arm, rule, run


class Regressions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, doc):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def test_batch_json_escapes_nsg_name(self):
        nsg = self.write("q.json", nsg_arm([rule("a", 100)], name='we"ird\\name'))
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", nsg, "--batch", "-", "--json"],
                stdin="inbound tcp 1.1.1.1:1 10.0.0.1:1\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["nsg"], 'we"ird\\name')

    def test_route_errors_do_not_hide_nsg_errors(self):
        rt = self.write("rt.json", {"properties": {"routes": [
            {"name": "r", "properties": {"addressPrefix": "1.2.3.0/24", "nextHopType": "Internet",
                                         "nextHopIpAddress": "10.0.0.4"}}]}})
        nsg = self.write("n.json", nsg_arm([rule("a", 50)]))
        p = run(["flow", "--vnet", "10.0.0.0/16", "--routes", rt, "--nsg", nsg, "--direction", "in",
                 "--protocol", "tcp", "--src", "1.1.1.1:1", "--dst", "10.0.0.4:1"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("rt.json: properties.routes[0].properties.nextHopIpAddress", p.stderr)
        self.assertIn("n.json: properties.securityRules[0].properties.priority: 50 is outside 100-4096", p.stderr)

    def test_priority_clash_reported_when_a_rule_has_another_error(self):
        nsg = self.write("n.json", nsg_arm([rule("a", 100), rule("b", 100, src="10.0.0.1/24")]))
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", nsg, "--direction", "in", "--protocol", "icmp",
                 "--src", "1.1.1.1", "--dst", "10.0.0.4"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("host bits are set", p.stderr)
        self.assertIn("(SecurityRuleConflict) Security rule b conflicts with rule a", p.stderr)

    def test_rule_names_clash_case_insensitively(self):
        nsg = self.write("n.json", nsg_arm([rule("allow_x", 100), rule("ALLOW_X", 200)]))
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", nsg, "--direction", "in", "--protocol", "icmp",
                 "--src", "1.1.1.1", "--dst", "10.0.0.4"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("rule name 'ALLOW_X' is also used by properties.securityRules[0]", p.stderr)


if __name__ == "__main__":
    unittest.main()

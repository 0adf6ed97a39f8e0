"""minet verify --storage-account: whether backups and audit logs pass a storage account's firewall, from the
seed's rule (same region: not NATed, the node's private address; another region: SNAT to the management IP) and
Azure's (IP network rules have no effect on requests from the same region)."""
import json
import os
import unittest

from cli_common import EXAMPLES, FIXTURES, ROOT, run

FIX = os.path.join(FIXTURES, "storagefw")
SUBNET_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/minet-lab/providers/"
             "Microsoft.Network/virtualNetworks/mi-vnet/subnets/mi-subnet")
POLICY = ["--tags", os.path.join(ROOT, "data", "servicetags", "ServiceTags_Public_20221107.json.gz"),
          "--tags", os.path.join(EXAMPLES, "corpnet-tags.json"), "--vnet", "10.0.0.0/16", "--subnet", "10.0.0.0/24",
          "--region", "westeurope", "--pair", "northeurope", "--nsg", os.path.join(EXAMPLES, "mi-nsg.json"),
          "--routes", os.path.join(EXAMPLES, "mi-routes.json")]


def verify(*args):
    return run(["verify"] + POLICY + list(args))


class VerifyStorage(unittest.TestCase):
    def test_pair_region_ip_rule_passes_same_region_ip_rule_does_not(self):
        p = verify("--storage-account", os.path.join(FIX, "ne-ip-mgmt.json"),
                   "--storage-account", os.path.join(FIX, "we-ip-mgmt.json"),
                   "--management-ip", "198.51.100.10", "--json")
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        self.assertTrue(out["compliant"])  # the NSG contracts hold; the storage account is what fails
        ne, we = out["storage"]
        self.assertEqual((ne["account"], ne["passes"], ne["sameRegion"]), ("backupsne", True, False))
        self.assertEqual((ne["source"], ne["sourceKind"]), ("198.51.100.10", "managementIp"))
        self.assertEqual(ne["decidedBy"], "networkRuleSet.ipRules[0]")
        self.assertIsNone(ne["advice"])
        self.assertEqual((we["account"], we["passes"], we["sameRegion"]), ("backupswe", False, True))
        self.assertEqual((we["source"], we["sourceKind"]), ("10.0.0.4", "privateAddress"))
        self.assertEqual(we["decidedBy"], "defaultAction Deny")
        self.assertIn("IP network rules have no effect", we["reason"])
        self.assertEqual(we["advice"], "same region: IP rules do not apply; use a virtual-network rule or an "
                                       "account in another region")

    def test_vnet_rule_and_region_override(self):
        p = verify("--storage-account", os.path.join(FIX, "arm-vnet-rule.json"), "--management-ip", "198.51.100.10",
                   "--subnet-id", SUBNET_ID.upper(), "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        (a,) = json.loads(p.stdout)["storage"]
        self.assertTrue(a["passes"])
        self.assertEqual(a["decidedBy"], "properties.networkAcls.virtualNetworkRules[0]")
        # the same account moved to the pair region: SNATed, its VNet rule no longer matches, no IP rule for us
        p = verify("--storage-account", os.path.join(FIX, "arm-vnet-rule.json"), "--storage-region", "North Europe",
                   "--management-ip", "198.51.100.10", "--subnet-id", SUBNET_ID, "--json")
        self.assertEqual(p.returncode, 1)
        (a,) = json.loads(p.stdout)["storage"]
        self.assertFalse(a["passes"])
        self.assertIn("198.51.100.10", a["advice"])

    def test_text_report(self):
        p = verify("--storage-account", os.path.join(FIX, "we-ip-mgmt.json"), "--management-ip", "198.51.100.10")
        self.assertEqual(p.returncode, 1)
        self.assertIn("backupswe", p.stdout)
        self.assertIn("REFUSED", p.stdout)
        self.assertIn("advice: same region: IP rules do not apply", p.stdout)

    def test_real_az_output_needs_a_region(self):
        f = os.path.join(FIX, "az-show-vnet-rule.json")
        p = verify("--storage-account", f, "--management-ip", "198.51.100.10")
        self.assertEqual(p.returncode, 2)
        self.assertIn("names no location", p.stderr)
        p = verify("--storage-account", f, "--storage-region", "westeurope", "--management-ip", "198.51.100.10",
                   "--json")
        self.assertEqual(p.returncode, 1)
        self.assertFalse(json.loads(p.stdout)["storage"][0]["passes"])

    def test_bad_input(self):
        p = verify("--storage-account", os.path.join(FIX, "bad.json"), "--management-ip", "198.51.100.10")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        for msg in ["bad.json: networkRuleSet.defaultAction: 'Block': want Allow or Deny",
                    "bad.json: networkRuleSet.ipRules[0]: '10.0.0.4': private addresses",
                    "bad.json: networkRuleSet.ipRules[2]: '198.51.100.10/32': /31 and /32",
                    "bad.json: networkRuleSet.ipRules[4].action: 'Deny'",
                    "bad.json: networkRuleSet.virtualNetworkRules[1].virtualNetworkResourceId: missing"]:
            self.assertIn(msg, p.stderr)
        p = verify("--storage-account", os.path.join(FIX, "ne-ip-mgmt.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs --management-ip", p.stderr)
        p = verify("--storage-region", "westeurope")
        self.assertEqual(p.returncode, 2)
        p = verify("--storage-account", os.path.join(FIX, "ne-ip-mgmt.json"), "--management-ip", "10.0.0")
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()

"""Application security groups (model/asg.c, --asg): rules with sourceApplicationSecurityGroups /
destinationApplicationSecurityGroups match the members --asg gives (a {name or id: [addresses]} object, or
`az network nic list` output, flattened or REST-shaped); without --asg such a rule matches nothing and `minet flow`
says so instead of refusing the NSG (tests/fixtures/effective/nsg-asg.json, once refused). Bad --asg files: one
error with the JSON path, exit 2.
"""
import json
import os
import unittest

from cli_common import FIXTURES, nsg_arm, nsg_az, rule, run, tags_doc, tempdir

ASG_NSG = os.path.join(FIXTURES, "effective", "nsg-asg.json")
RG = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/"
TAGS = tags_doc([("Storage", ["20.38.96.0/19"])])


def asg_ref(name):
    return [{"id": RG + name}]


def nic(name, ip, asgs, rest=False):
    cfg = {"name": "ipconfig1", "privateIPAddress": ip, "privateIPAllocationMethod": "Dynamic",
           "applicationSecurityGroups": [{"id": RG + a, "resourceGroup": "rg"} for a in asgs] or None}
    if rest:
        return {"name": name, "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": cfg}]}}
    return {"name": name, "ipConfigurations": [cfg], "resourceGroup": "rg"}


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)
        self.tags = self.tmp.write("tags.json", TAGS)
        self.n = 0

    def file(self, doc):
        self.n += 1
        return self.tmp.write("f%d.json" % self.n, doc)

    def flow(self, nsg, direction, src, dst, asg=None, json_out=True, code=None):
        args = ["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--direction", direction,
                "--protocol", "tcp", "--src", src, "--dst", dst]
        if asg:
            args += ["--asg", asg]
        r = run(args + (["--json"] if json_out else []))
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return json.loads(r.stdout) if json_out else r


WEB_DB = [rule("web-to-db", 100, src=None, dst=None, dport="1433", proto="Tcp",
               sourceApplicationSecurityGroups=asg_ref("web-asg"),
               destinationApplicationSecurityGroups=asg_ref("db-asg")),
          rule("deny-vnet", 200, access="Deny", src="VirtualNetwork", dst="VirtualNetwork")]


class TestAsg(Base):
    def test_once_refused_file_now_read(self):
        # Without --asg: the ASG rule matches nothing, and the report says so.
        r = self.flow(ASG_NSG, "inbound", "198.18.0.1:40000", "10.0.0.4:80", json_out=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("note: rule web uses application security group web-asg: no --asg given; treated as "
                      "matching nothing", r.stdout)
        v = self.flow(ASG_NSG, "inbound", "198.18.0.1:40000", "10.0.0.4:80")
        self.assertEqual((v["access"], v["rule"]), ("Deny", "DenyAllInBound"))
        self.assertEqual(v["notes"], ["rule web uses application security group web-asg: no --asg given; "
                                      "treated as matching nothing"])
        # With the members: the rule (source web-asg, any destination) allows them.
        m = self.file({"web-asg": ["198.18.0.1"]})
        v = self.flow(ASG_NSG, "inbound", "198.18.0.1:40000", "10.0.0.4:80", asg=m)
        self.assertEqual((v["access"], v["rule"], v["notes"]), ("Allow", "web", []))

    def test_map_by_name_and_id(self):
        for shape in (nsg_arm, nsg_az):
            nsg = self.file(shape(WEB_DB))
            by_name = self.file({"web-asg": ["10.0.1.4", "10.0.1.5"], "db-asg": ["10.0.2.4"]})
            by_id = self.file({RG + "web-asg": ["10.0.1.4"], RG + "DB-ASG": ["10.0.2.0/28"]})
            for m in (by_name, by_id):
                v = self.flow(nsg, "inbound", "10.0.1.4:40000", "10.0.2.4:1433", asg=m)
                self.assertEqual((v["access"], v["rule"]), ("Allow", "web-to-db"), (shape, m))
                # not a member of web-asg: the next rule decides
                v = self.flow(nsg, "inbound", "10.0.1.9:40000", "10.0.2.4:1433", asg=m)
                self.assertEqual((v["access"], v["rule"]), ("Deny", "deny-vnet"))
            # a port the rule does not name
            v = self.flow(nsg, "inbound", "10.0.1.4:40000", "10.0.2.4:22", asg=by_name)
            self.assertEqual(v["rule"], "deny-vnet")

    def test_nic_list(self):
        nsg = self.file(nsg_arm(WEB_DB))
        for rest in (False, True):
            nics = [nic("web1", "10.0.1.4", ["web-asg"], rest), nic("web2", "10.0.1.5", ["web-asg"], rest),
                    nic("db1", "10.0.2.4", ["db-asg"], rest), nic("other", "10.0.3.4", [], rest)]
            for doc in (nics, {"value": nics}):
                m = self.file(doc)
                v = self.flow(nsg, "inbound", "10.0.1.5:40000", "10.0.2.4:1433", asg=m)
                self.assertEqual((v["access"], v["rule"]), ("Allow", "web-to-db"))
                v = self.flow(nsg, "inbound", "10.0.3.4:40000", "10.0.2.4:1433", asg=m)
                self.assertEqual(v["rule"], "deny-vnet")

    def test_group_missing_from_map(self):
        nsg = self.file(nsg_arm(WEB_DB))
        m = self.file({"web-asg": ["10.0.1.4"]})
        v = self.flow(nsg, "inbound", "10.0.1.4:40000", "10.0.2.4:1433", asg=m)
        self.assertEqual(v["rule"], "deny-vnet")
        self.assertEqual(v["notes"], ["rule web-to-db uses application security group db-asg: not in --asg %s; "
                                      "treated as matching nothing" % m])

    def test_batch_matches_single(self):
        nsg = self.file(nsg_arm(WEB_DB))
        m = self.file({"web-asg": ["10.0.1.4"], "db-asg": ["10.0.2.4"]})
        flows = "inbound tcp 10.0.1.4:1 10.0.2.4:1433\ninbound tcp 10.0.1.5:1 10.0.2.4:1433\n"
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--asg", m, "--batch", "-"],
                stdin=flows)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split("\t")[:2] for l in r.stdout.splitlines()],
                         [["Allow", "web-to-db"], ["Deny", "deny-vnet"]])
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--batch", "-"], stdin=flows)
        self.assertEqual([l.split("\t")[:2] for l in r.stdout.splitlines()],
                         [["Deny", "deny-vnet"], ["Deny", "deny-vnet"]])
        self.assertIn("minet flow: note: rule web-to-db uses application security group web-asg: no --asg given",
                      r.stderr)

    def test_asg_with_prefix_refused(self):
        nsg = self.file(nsg_arm([rule("both", 100, src="10.0.0.0/24",
                                      sourceApplicationSecurityGroups=asg_ref("web-asg"))]))
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--direction", "inbound",
                 "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"])
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.splitlines(), [nsg + ": properties.securityRules[0].properties."
                                                       "sourceApplicationSecurityGroups: given together with "
                                                       "sourceAddressPrefix; use one of them"])


class TestBadAsgFile(Base):
    def bad(self, doc, want):
        nsg = self.file(nsg_arm(WEB_DB))
        m = self.file(doc) if not isinstance(doc, str) else self.tmp.write("t.json", doc)
        r = run(["flow", "--tags", self.tags, "--vnet", "10.0.0.0/16", "--nsg", nsg, "--asg", m, "--direction",
                 "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"])
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertEqual(r.stderr.splitlines(), [m + ": " + w for w in want])

    def test_bad(self):
        self.bad({"web-asg": "10.0.1.4"}, ["web-asg: expected an array of member addresses, found a string"])
        self.bad({"web-asg": ["10.0.1.400"]}, ["web-asg[0]: '10.0.1.400': not an IP address or CIDR prefix"])
        self.bad({"web-asg": [4]}, ["web-asg[0]: expected a string, found an integer"])
        n = nic("web1", "10.0.1.4", ["web-asg"])
        n["ipConfigurations"][0]["privateIPAddress"] = None
        self.bad([n], ["[0].ipConfigurations[0].privateIPAddress: missing, and the configuration is in an "
                       "application security group"])
        n = nic("web1", "10.0.1.4", ["web-asg"], rest=True)
        n["properties"]["ipConfigurations"] = {}
        self.bad({"value": [n]}, ["value[0].properties.ipConfigurations: expected an array, found an object"])
        self.bad("[1, 2", ["line 1, column 5: ']' expected near end of file"])


if __name__ == "__main__":
    unittest.main()

"""Bad input in every shape (src/model/shapes.c): one clear error naming the file and the path IN THE USER'S FILE,
exit 2, nothing on stdout. The wrong value is planted at the path the error must name, so each case checks that
the path map leads back to it. Also: truncated files, files of shapes minet does not read (the message says what
they are), Terraform values unknown at plan time, PowerShell output cut off at ConvertTo-Json's depth limit.
"""
import json
import os
import re
import unittest

from cli_common import TAGS_2025, nsg_arm, route, routes_arm, rule, run, tempdir
import shape_gen

FLOW = ["--direction", "inbound", "--protocol", "tcp", "--src", "8.8.8.8:1", "--dst", "10.0.1.4:80"]


def base_nsg():
    return nsg_arm([rule("allow_http", 100, proto="Tcp", dport="80"),
                    rule("allow_ssh", 110, proto="Tcp", dport="22", src="203.0.113.0/24"),
                    rule("deny_out", 120, direction="Outbound", access="Deny", dst="Internet")], name="bad-nsg")


def base_rt():
    return routes_arm([route("a", "192.168.0.0/16", "VirtualNetworkGateway"),
                       route("b", "0.0.0.0/0", "VirtualAppliance", "10.0.2.4")], name="bad-rt")


# The path of rule [1]'s priority (NSG) and route [1]'s nextHopType (route table) in each shape.
NSG_PRIORITY = {
    "rest": "properties.securityRules[1].properties.priority",
    "rest-example": "responses.200.body.properties.securityRules[1].properties.priority",
    "value-list": "value[0].properties.securityRules[1].properties.priority",
    "az-show": "securityRules[1].priority",
    "az-list": "[0].securityRules[1].priority",
    "az-rule-list": "[1].priority",
    "az-create": "NewNSG.securityRules[1].priority",
    "powershell": "SecurityRules[1].Priority",
    "tf-plan": "planned_values.root_module.resources[1].values.security_rule[1].priority",
    "tf-plan-module": "planned_values.root_module.child_modules[0].resources[0].values.security_rule[1].priority",
    "tf-changes": "resource_changes[1].change.after.security_rule[1].priority",
    "tf-state": "values.root_module.resources[0].values.security_rule[1].priority",
    "tf-rules": "planned_values.root_module.resources[3].values.priority",
    # (where the value is planted, what the error names: an evaluated template resource is named as deployed)
    "arm": ("resources[0].properties.securityRules[1].properties.priority",
            "(deployed networkSecurityGroups 'bad-nsg').properties.securityRules[1].properties.priority"),
}

# The path of rule [1]'s source address (a single prefix) in each shape.
NSG_SOURCE = {
    "rest": "properties.securityRules[1].properties.sourceAddressPrefix",
    "rest-example": "responses.200.body.properties.securityRules[1].properties.sourceAddressPrefix",
    "value-list": "value[0].properties.securityRules[1].properties.sourceAddressPrefix",
    "az-show": "securityRules[1].sourceAddressPrefix",
    "az-list": "[0].securityRules[1].sourceAddressPrefix",
    "az-rule-list": "[1].sourceAddressPrefix",
    "az-create": "NewNSG.securityRules[1].sourceAddressPrefix",
    "powershell": "SecurityRules[1].SourceAddressPrefix[0]",
    "tf-plan": "planned_values.root_module.resources[1].values.security_rule[1].source_address_prefix",
    "tf-plan-module":
        "planned_values.root_module.child_modules[0].resources[0].values.security_rule[1].source_address_prefix",
    "tf-changes": "resource_changes[1].change.after.security_rule[1].source_address_prefix",
    "tf-state": "values.root_module.resources[0].values.security_rule[1].source_address_prefix",
    "tf-rules": "planned_values.root_module.resources[3].values.source_address_prefix",
    "arm": ("resources[0].properties.securityRules[1].properties.sourceAddressPrefix",
            "(deployed networkSecurityGroups 'bad-nsg').properties.securityRules[1].properties.sourceAddressPrefix"),
}

RT_HOP = {
    "rest": "properties.routes[1].properties.nextHopType",
    "rest-example": "responses.200.body.properties.routes[1].properties.nextHopType",
    "value-list": "value[0].properties.routes[1].properties.nextHopType",
    "az-show": "routes[1].nextHopType",
    "az-list": "[0].routes[1].nextHopType",
    "az-route-list": "[1].nextHopType",
    "powershell": "Routes[1].NextHopType",
    "tf-plan": "planned_values.root_module.resources[1].values.route[1].next_hop_type",
    "tf-state": "values.root_module.resources[0].values.route[1].next_hop_type",
    "tf-routes": "planned_values.root_module.resources[3].values.next_hop_type",
    "arm": ("resources[0].properties.routes[1].properties.nextHopType",
            "(deployed routeTables 'bad-rt').properties.routes[1].properties.nextHopType"),
}


def split_path(path):
    """'a.b[1].c' → ['a', 'b', 1, 'c']; '[0].x' → [0, 'x']."""
    out = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


def where(path):
    """(where to plant, what the error names)."""
    return path if isinstance(path, tuple) else (path, path)


def plant(doc, path, value):
    keys = split_path(where(path)[0])
    node = doc
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


class BadBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempdir(self)

    def one_error(self, args, want):
        p = run(args)
        self.assertEqual((p.returncode, p.stdout), (2, ""), p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        if isinstance(want, str):
            self.assertEqual(p.stderr, want)
        else:
            self.assertRegex(p.stderr, want)

    def flow(self, nsg):
        return ["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg", nsg] + FLOW

    def route(self, rt):
        return ["route", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--routes", rt, "--dst", "8.8.8.8"]


class TestNsgBad(BadBase):
    def test_paths_cover_every_shape(self):
        self.assertEqual(set(NSG_PRIORITY), set(shape_gen.NSG_SHAPES))
        self.assertEqual(set(NSG_SOURCE), set(shape_gen.NSG_SHAPES))
        self.assertEqual(set(RT_HOP), set(shape_gen.RT_SHAPES))

    def test_wrong_type(self):
        for shape, path in NSG_PRIORITY.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.NSG_SHAPES[shape](base_nsg()), path, "110")
                f = self.tmp.write(shape + "-prio.json", doc)
                self.one_error(self.flow(f), "%s: %s: expected an integer, found a string\n" % (f, where(path)[1]))

    def test_out_of_range(self):
        for shape, path in NSG_PRIORITY.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.NSG_SHAPES[shape](base_nsg()), path, 5000)
                f = self.tmp.write(shape + "-range.json", doc)
                self.one_error(self.flow(f), "%s: %s: 5000 is outside 100-4096\n" % (f, where(path)[1]))

    def test_bad_prefix(self):
        for shape, path in NSG_SOURCE.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.NSG_SHAPES[shape](base_nsg()), path, "203.0.113.0/33")
                f = self.tmp.write(shape + "-prefix.json", doc)
                self.one_error(self.flow(f), re.compile(r"^%s: %s: '203\.0\.113\.0/33': .*\n$"
                                                        % (re.escape(f), re.escape(where(path)[1]))))

    def test_truncated(self):
        for shape, make in shape_gen.NSG_SHAPES.items():
            with self.subTest(shape=shape):
                text = json.dumps(make(base_nsg()), indent=2)
                f = self.tmp.write(shape + "-cut.json", text[:len(text) // 2])
                self.one_error(self.flow(f), re.compile(r"^%s: line \d+, column \d+: .*\n$" % re.escape(f)))

    def test_container_wrong_type(self):
        cases = {
            "rest": ("properties.securityRules", {}, "expected an array, found an object"),
            "powershell": ("SecurityRules", {}, "expected an array, found an object"),
            "tf-plan": ("planned_values.root_module.resources[1].values.security_rule", "x",
                        "expected an array, found a string"),
            "az-show": ("securityRules[0]", 7, "expected an object, found an integer"),
        }
        for shape, (path, value, msg) in cases.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.NSG_SHAPES[shape](base_nsg()), path, value)
                f = self.tmp.write(shape + "-container.json", doc)
                self.one_error(self.flow(f), "%s: %s: %s\n" % (f, path, msg))

    def test_terraform_unknown_at_plan(self):
        plan = shape_gen.nsg_tf_plan(base_nsg())
        rule_pv = plan["planned_values"]["root_module"]["resources"][1]["values"]["security_rule"][1]
        del rule_pv["source_address_prefix"]
        ch = plan["resource_changes"][1]["change"]
        del ch["after"]["security_rule"][1]["source_address_prefix"]
        ch["after_unknown"]["security_rule"] = [{}, {"source_address_prefix": True}, {}]
        f = self.tmp.write("unknown.json", plan)
        self.one_error(self.flow(f), "%s: planned_values.root_module.resources[1].values.security_rule[1]."
                       "source_address_prefix: known only after apply (this plan leaves it unknown); give minet "
                       "`terraform show -json` of the state after apply, or a value known at plan time\n" % f)
        # The whole block unknown.
        ch["after_unknown"]["security_rule"] = True
        f = self.tmp.write("unknown2.json", plan)
        self.one_error(self.flow(f), re.compile(r"^%s: planned_values\.root_module\.resources\[1\]\.values\."
                                                r"security_rule: known only after apply" % re.escape(f)))

    def test_terraform_standalone_rule_unknown_parent(self):
        plan = shape_gen.nsg_tf_standalone_rules(base_nsg())
        r = plan["planned_values"]["root_module"]["resources"][2]
        del r["values"]["network_security_group_name"]
        plan["resource_changes"][2]["change"]["after_unknown"]["network_security_group_name"] = True
        f = self.tmp.write("unknown-parent.json", plan)
        self.one_error(self.flow(f), re.compile(r"^%s: planned_values\.root_module\.resources\[2\]\.values\."
                                                r"network_security_group_name: known only after apply"
                                                % re.escape(f)))

    def test_terraform_without_nsg(self):
        plan = shape_gen.rt_tf_plan(base_rt())
        f = self.tmp.write("rt-only.json", plan)
        self.one_error(self.flow(f), "%s: this Terraform plan holds no azurerm_network_security_group or "
                       "azurerm_network_security_rule resource\n" % f)

    def test_powershell_depth_limit(self):
        # ConvertTo-Json's default -Depth 2 writes the rules' lists as their .NET type name.
        doc = shape_gen.nsg_powershell(base_nsg())
        doc["SecurityRules"][1]["SourcePortRange"] = "System.Collections.Generic.List`1[System.String]"
        f = self.tmp.write("ps-depth.json", doc)
        self.one_error(self.flow(f), "%s: SecurityRules[1].SourcePortRange: PowerShell cut the object off here at "
                       "ConvertTo-Json's depth limit (2 by default); convert it again with `ConvertTo-Json -Depth "
                       "10`\n" % f)

    def test_empty_list(self):
        f = self.tmp.write("empty.json", [])
        self.one_error(self.flow(f), re.compile(r"^%s: an empty list: not a network security group"
                                                % re.escape(f)))

    def test_mixed_list(self):
        doc = shape_gen.nsg_az_rule_list(base_nsg())
        doc.append({"name": "r", "addressPrefix": "10.0.0.0/8", "nextHopType": "None"})
        f = self.tmp.write("mixed.json", doc)
        self.one_error(self.flow(f), "%s: [3]: expected a security rule like the others, found an object of "
                       "another kind\n" % f)


class TestRouteBad(BadBase):
    def test_wrong_type(self):
        for shape, path in RT_HOP.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.RT_SHAPES[shape](base_rt()), path, 3)
                f = self.tmp.write(shape + "-hop.json", doc)
                self.one_error(self.route(f), "%s: %s: expected a string, found an integer\n" % (f, where(path)[1]))

    def test_bad_value(self):
        for shape, path in RT_HOP.items():
            with self.subTest(shape=shape):
                doc = plant(shape_gen.RT_SHAPES[shape](base_rt()), path, "Nowhere")
                f = self.tmp.write(shape + "-hopv.json", doc)
                self.one_error(self.route(f), "%s: %s: 'Nowhere' is not one of VirtualNetworkGateway, VnetLocal, "
                               "Internet, VirtualAppliance, None\n" % (f, where(path)[1]))

    def test_truncated(self):
        for shape, make in shape_gen.RT_SHAPES.items():
            with self.subTest(shape=shape):
                text = json.dumps(make(base_rt()), indent=2)
                f = self.tmp.write(shape + "-cut.json", text[:len(text) // 2])
                self.one_error(self.route(f), re.compile(r"^%s: line \d+, column \d+: .*\n$" % re.escape(f)))


class TestUnknownShapes(BadBase):
    """Files of shapes minet does not read as an NSG / route table say what they are."""

    CASES = {
        "sg-view": ({"networkInterfaces": [{"id": "/x/nic1", "securityRuleAssociations": {
            "networkInterfaceAssociation": None, "subnetAssociation": None, "defaultSecurityRules": [],
            "effectiveSecurityRules": []}}]},
            "this is a Network Watcher security-group view"),
        "vnet": ({"name": "v", "type": "Microsoft.Network/virtualNetworks",
                  "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": []}},
                 "this is a virtual network"),
        "tags": ({"changeNumber": 1, "cloud": "Public", "values": []}, "this is a Service Tags file"),
        "nic": ({"name": "nic1", "type": "Microsoft.Network/networkInterfaces",
                 "properties": {"ipConfigurations": []}}, "this is a network interface"),
        "subnet": ({"name": "s", "properties": {"addressPrefix": "10.0.0.0/24",
                                                "networkSecurityGroup": {"id": "/x/nsg"}}}, "this is a subnet"),
        "one-rule": ({"name": "r", "properties": {"access": "Allow", "direction": "Inbound", "priority": 100}},
                     "this is one security rule"),
        "arm-template": ({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                          "contentVersion": "1.0.0.0", "resources": []},
                         "this ARM template deploys no network security group"),
        "arm-parameters": ({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                       "deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {}},
                           "this is an ARM parameters file"),
        # effective security rules are read (model/effective.c): this one's association names no level
        "effective-nsg": ({"value": [{"networkSecurityGroup": {"id": "/x/nsg"}, "association": {},
                                      "effectiveSecurityRules": []}]},
                          "value[0].association: names neither a subnet nor a networkInterface"),
        "effective-routes": ({"value": [{"source": "Default", "state": "Active", "addressPrefix": ["10.0.0.0/16"],
                                         "nextHopType": "VnetLocal", "nextHopIpAddress": []}]},
                             "this is an effective route table (az network nic show-effective-route-table), not a "
                             "network security group; give it with --routes"),
        "other": ({"foo": 1, "bar": []}, "not a network security group: an object with keys foo, bar"),
    }

    def test_nsg_option(self):
        for name, (doc, msg) in self.CASES.items():
            with self.subTest(shape=name):
                f = self.tmp.write(name + ".json", doc)
                self.one_error(self.flow(f), re.compile(r"^%s: %s" % (re.escape(f), re.escape(msg))))

    def test_wrong_option(self):
        f = self.tmp.write("nsg.json", base_nsg())
        self.one_error(self.route(f), "%s: this is a network security group, not a route table; give it with --nsg "
                       "or --nic-nsg\n" % f)
        f = self.tmp.write("rt.json", shape_gen.rt_powershell(base_rt()))
        self.one_error(self.flow(f), "%s: this is a PowerShell route table (ConvertTo-Json of Get-AzRouteTable), "
                       "not a network security group; give it with --routes\n" % f)
        f = self.tmp.write("eff.json", {"value": [{"networkSecurityGroup": {"id": "/x/nsg"}, "association": {},
                                                   "effectiveSecurityRules": []}]})
        self.one_error(self.route(f), re.compile(r"^%s: this is effective security rules \(az network nic "
                                                 r"list-effective-nsg\), not a route table; give it with --nsg"
                                                 % re.escape(f)))
        f = self.tmp.write("rules.json", shape_gen.nsg_az_rule_list(base_nsg()))
        self.one_error(self.route(f), "%s: this is a list of security rules; give it with --nsg or --nic-nsg\n" % f)


if __name__ == "__main__":
    unittest.main()

"""End-to-end tests of `minet verify --estate` on a small hand-checked estate (written out below), in every input
shape Azure Resource Graph output takes (az's paged object, a bare array, pages concatenated, JSON lines), and on
a generated one (scripts/gen-estate) whose seeded breakages are known.

The small estate, by hand:
  hub    172.16.0.0/16 (westeurope)
  spokeA 10.1.0.0/16 (westeurope), peered with hub (Connected, remoteAddressSpace given), and with a VNet that is
         only Initiated (10.99.0.0/16, left out); subnets:
           mi-ok       10.1.0.0/24  MI, NSG and route table of examples/ with the prefix  -> compliant
           mi-missing  10.1.1.0/24  MI, NSG id not in the inventory                   -> missing-resource
           app         10.1.2.0/24  not delegated                                     -> not reported
  spokeB 10.2.0.0/16 (northeurope, pair westeurope), peered with hub by id only (no remoteAddressSpace: looked up);
         ids referenced in other letter case than the resources' own:
           mi-deny     10.2.0.0/24  MI, its management rule turned to Deny            -> in-sqlmanagement fails
"""
import copy
import json
import os
import subprocess
import unittest

from cli_common import EXAMPLES, MINET, ROOT, TAGS_2025, tempdir

CORPNET = os.path.join(EXAMPLES, "corpnet-tags.json")
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network"


def load(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return json.load(f)


def res(kind, name, location, props):
    return {"id": f"{SUB}/{kind}/{name}", "name": name, "type": f"microsoft.network/{kind.lower()}",
            "location": location, "resourceGroup": "rg", "subscriptionId": "11111111-2222-3333-4444-555555555555",
            "properties": props, "tags": {}}


def nsg_for(name, prefix, deny_mgmt=False):
    n = load("mi-nsg.json")
    for r in n["properties"]["securityRules"]:
        for k in ("sourceAddressPrefix", "destinationAddressPrefix"):
            if r["properties"].get(k) == "10.0.0.0/24":
                r["properties"][k] = prefix
    if deny_mgmt:
        n["properties"]["securityRules"][0]["properties"]["access"] = "Deny"
    return res("networkSecurityGroups", name, "westeurope", n["properties"])


def rt_for(name, prefix, region, pair):
    t = load("mi-routes.json")
    for r in t["properties"]["routes"]:
        p = r["properties"]
        p["addressPrefix"] = {"10.0.0.0/24": prefix, "AzureCloud.westeurope": f"AzureCloud.{region}",
                              "AzureCloud.northeurope": f"AzureCloud.{pair}", "EventHub.westeurope": f"EventHub.{region}",
                              "EventHub.northeurope": f"EventHub.{pair}", "Storage.westeurope": f"Storage.{region}",
                              "Storage.northeurope": f"Storage.{pair}"}.get(p["addressPrefix"], p["addressPrefix"])
        r["name"] = r["name"] + "-x"
    return res("routeTables", name, region, t["properties"])


def subnet(vnet, name, prefix, nsg=None, rt=None, mi=True):
    p = {"addressPrefix": prefix, "delegations": []}
    if mi:
        p["delegations"] = [{"name": "d", "properties": {"serviceName": "Microsoft.Sql/managedInstances"}}]
    if nsg:
        p["networkSecurityGroup"] = {"id": nsg}
    if rt:
        p["routeTable"] = {"id": rt}
    return {"name": name, "id": f"{SUB}/virtualNetworks/{vnet}/subnets/{name}", "properties": p}


def small_estate():
    hub = res("virtualNetworks", "hub", "westeurope", {"addressSpace": {"addressPrefixes": ["172.16.0.0/16"]},
                                                       "subnets": [], "virtualNetworkPeerings": []})
    nsg_ok, rt_ok = nsg_for("nsg-ok", "10.1.0.0/24"), rt_for("rt-ok", "10.1.0.0/24", "westeurope", "northeurope")
    nsg_deny = nsg_for("nsg-deny", "10.2.0.0/24", deny_mgmt=True)
    rt_b = rt_for("rt-b", "10.2.0.0/24", "northeurope", "westeurope")
    a = res("virtualNetworks", "spokeA", "westeurope", {
        "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
        "subnets": [subnet("spokeA", "mi-ok", "10.1.0.0/24", nsg_ok["id"], rt_ok["id"]),
                    subnet("spokeA", "mi-missing", "10.1.1.0/24", f"{SUB}/networkSecurityGroups/nsg-gone", rt_ok["id"]),
                    subnet("spokeA", "app", "10.1.2.0/24", mi=False)],
        "virtualNetworkPeerings": [
            {"name": "a-hub", "properties": {"peeringState": "Connected", "remoteVirtualNetwork": {"id": hub["id"]},
                                             "remoteAddressSpace": {"addressPrefixes": ["172.16.0.0/16"]}}},
            {"name": "a-other", "properties": {"peeringState": "Initiated",
                                               "remoteVirtualNetwork": {"id": f"{SUB}/virtualNetworks/other"},
                                               "remoteAddressSpace": {"addressPrefixes": ["10.99.0.0/16"]}}}]})
    b = res("virtualNetworks", "spokeB", "northeurope", {
        "addressSpace": {"addressPrefixes": ["10.2.0.0/16"]},
        "subnets": [subnet("spokeB", "mi-deny", "10.2.0.0/24", nsg_deny["id"].upper(), rt_b["id"].lower())],
        "virtualNetworkPeerings": [{"name": "b-hub", "properties": {
            "peeringState": "Connected", "remoteVirtualNetwork": {"id": hub["id"].lower()}}}]})
    other = {"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi1",
             "type": "microsoft.sql/managedinstances", "name": "mi1", "location": "westeurope", "properties": {}}
    return [hub, nsg_ok, rt_ok, a, nsg_deny, rt_b, b, other]


def write_shapes(t, records):
    """The same records in each shape; returns {shape: path}."""
    out = {}
    out["page"] = t.write("page.json", {"count": len(records), "data": records, "skip_token": None,
                                        "total_records": len(records)})
    out["array"] = t.write("array.json", records)
    half = len(records) // 2
    pages = [{"count": half, "data": records[:half], "skip_token": "abc", "total_records": len(records)},
             {"count": len(records) - half, "data": records[half:], "skip_token": None, "total_records": len(records)}]
    out["pages"] = t.write("pages.json", "\n".join(json.dumps(p, indent=2) for p in pages) + "\n")
    out["lines"] = t.write("lines.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    return out


def verify(path, *extra, threads=None):
    args = [MINET, "verify", "--estate", path, "--tags", TAGS_2025, "--tags", CORPNET, *extra]
    if threads:
        args += ["--threads", str(threads)]
    return subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, MINET_NOW="2025-11-01"),
                          timeout=600)


class TestSmallEstate(unittest.TestCase):
    def setUp(self):
        self.t = tempdir(self)
        self.paths = write_shapes(self.t, small_estate())

    def lines(self, path, *extra, **kw):
        p = verify(path, "--json", *extra, **kw)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr, "")
        return [json.loads(l) for l in p.stdout.splitlines()]

    def test_verdicts_by_hand(self):
        got = {r["name"]: r for r in self.lines(self.paths["page"])}
        self.assertEqual(sorted(got), ["mi-deny", "mi-missing", "mi-ok"])  # app is not delegated
        ok, missing, deny = got["mi-ok"], got["mi-missing"], got["mi-deny"]
        self.assertTrue(ok["compliant"] and ok["checked"])
        self.assertEqual((ok["violations"], ok["findings"]), ([], []))
        self.assertEqual((ok["region"], ok["pair"]), ("westeurope", "northeurope"))
        # peering: the hub's space joins; the Initiated peering's does not
        self.assertEqual(ok["virtualNetworkRanges"], ["10.1.0.0/16", "172.16.0.0/16"])
        self.assertFalse(missing["compliant"] or missing["checked"])
        [f] = missing["findings"]
        self.assertEqual((f["kind"], f["resource"]), ("missing-resource", f"{SUB}/networkSecurityGroups/nsg-gone"))
        # ids matched case-insensitively; the hub found by id for its address space
        self.assertTrue(deny["checked"])
        self.assertEqual((deny["region"], deny["pair"]), ("northeurope", "westeurope"))
        self.assertEqual(deny["virtualNetworkRanges"], ["10.2.0.0/16", "172.16.0.0/16"])
        self.assertEqual([v["contract"] for v in deny["violations"]], ["in-sqlmanagement"])
        self.assertEqual(deny["violations"][0]["rule"], "allow_management_inbound")

    def test_every_shape_same_answer(self):
        want = self.lines(self.paths["page"])
        for shape in ("array", "pages", "lines"):
            self.assertEqual(self.lines(self.paths[shape]), want, shape)

    def test_threads_do_not_change_the_output(self):
        self.assertEqual(self.lines(self.paths["page"], threads=1), self.lines(self.paths["page"], threads=3))
        # pages are read by several threads too: the same answer, and the same messages in the file's order
        for shape in ("pages", "lines"):
            self.assertEqual(self.lines(self.paths[shape], threads=1), self.lines(self.paths[shape], threads=3))
        recs = small_estate()
        pages = [json.dumps({"data": recs[:3]}), '{"data": [7, {"type": "microsoft.network/routetables"}]}',
                 json.dumps({"data": recs[3:]}), '{"data": [\n {"id": }]}', json.dumps({"data": [8]})]
        bad = self.t.write("bad-pages.json", "\n".join(pages) + "\n")
        got = [verify(bad, threads=n) for n in (1, 2, 3)]
        for p in got:
            self.assertEqual((p.returncode, p.stdout), (2, ""))
            self.assertEqual(p.stderr, got[0].stderr)
        # the errors of page 2 and the syntax error of page 4 (line 5), in order; nothing of page 5 after it
        self.assertEqual([l.split(": ", 1)[1] for l in got[0].stderr.splitlines()],
                         ["line 2: data[0]: expected a resource object, found an integer",
                          "line 2: data[1]: id: missing: not an Azure resource",
                          "line 5, column 9: unexpected token near '}'"])

    def test_text_one_line_per_subnet_and_summary(self):
        p = verify(self.paths["pages"])
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 4)
        self.assertTrue(lines[0].startswith("ok   " + SUB + "/virtualNetworks/spokeA/subnets/mi-ok 10.1.0.0/24 "
                                            "westeurope/northeurope"), lines[0])
        self.assertTrue(lines[1].startswith("FAIL ") and "missing-resource: network security group" in lines[1])
        self.assertIn("in-sqlmanagement: rule 'allow_management_inbound'", lines[2])
        self.assertEqual(lines[3], "3 managed-instance subnets (of 4 subnets in 3 virtual networks): 1 compliant, 2 not")

    def test_all_compliant_exit_0(self):
        recs = [r for r in small_estate() if r["name"] != "spokeB"]
        for r in recs:
            if r["name"] == "spokeA":
                r["properties"]["subnets"] = [s for s in r["properties"]["subnets"] if s["name"] != "mi-missing"]
        p = verify(self.t.write("ok.json", recs), "--json")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 1)

    def test_sarif_structure(self):
        p = verify(self.paths["page"], "--sarif")
        self.assertEqual(p.returncode, 1, p.stderr)
        s = json.loads(p.stdout)
        self.assertEqual(s["version"], "2.1.0")
        self.assertIn("sarif-2.1.0", s["$schema"])
        self.assertEqual(len(s["runs"]), 1)
        run = s["runs"][0]
        self.assertEqual(run["tool"]["driver"]["name"], "minet")
        rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
        for r in run["tool"]["driver"]["rules"]:
            self.assertIsInstance(r["shortDescription"]["text"], str)
        results = run["results"]
        self.assertEqual(sorted(r["ruleId"] for r in results), ["in-sqlmanagement", "missing-resource"])
        for r in results:
            self.assertIn(r["ruleId"], rule_ids)
            self.assertEqual(r["level"], "error")
            self.assertTrue(r["message"]["text"].startswith("subnet " + SUB))
            [loc] = r["locations"]
            self.assertTrue(loc["physicalLocation"]["artifactLocation"]["uri"].startswith("file://"))
            self.assertIn(loc["logicalLocations"][0]["fullyQualifiedName"],
                          [f"{SUB}/virtualNetworks/spokeA/subnets/mi-missing",
                           f"{SUB}/virtualNetworks/spokeB/subnets/mi-deny"])

    def test_missing_route_table_and_no_nsg_and_unknown_region_are_findings(self):
        recs = small_estate()
        a = recs[3]
        a["properties"]["subnets"][0]["properties"]["routeTable"]["id"] = f"{SUB}/routeTables/rt-gone"
        del a["properties"]["subnets"][1]["properties"]["networkSecurityGroup"]
        recs[6]["location"] = "atlantis"
        got = {r["name"]: r for r in self.lines(self.t.write("x.json", recs))}
        self.assertEqual([f["kind"] for f in got["mi-ok"]["findings"]], ["missing-resource"])
        self.assertIn("rt-gone", got["mi-ok"]["findings"][0]["resource"])
        self.assertEqual([f["kind"] for f in got["mi-missing"]["findings"]], ["no-nsg"])
        self.assertEqual([f["kind"] for f in got["mi-deny"]["findings"]], ["region"])
        self.assertIsNone(got["mi-deny"]["pair"])

    def test_invalid_nsg_is_a_finding_naming_the_rule(self):
        recs = small_estate()
        recs[1]["properties"]["securityRules"][0]["properties"]["priority"] = 50
        got = {r["name"]: r for r in self.lines(self.t.write("x.json", recs))}
        [f] = got["mi-ok"]["findings"]
        self.assertEqual(f["kind"], "invalid-resource")
        self.assertIn("properties.securityRules[0].properties.priority: 50 is outside 100-4096", f["message"])

    def test_bad_input_exit_2_with_place(self):
        p = verify(self.t.write("bad.json", '{"data": [\n  {"id": "x", "type": }\n]}'))
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("bad.json: line 2, column", p.stderr)
        p = verify(self.t.write("noid.json", {"data": [{"type": "microsoft.network/routetables"}]}))
        self.assertEqual(p.returncode, 2)
        self.assertIn("noid.json: line 1: data[0]: id: missing", p.stderr)
        p = verify(self.t.write("twice.json", json.dumps({"data": small_estate()}) * 2))
        self.assertEqual(p.returncode, 2)
        self.assertIn("appears twice", p.stderr)
        p = verify(self.t.write("num.json", "42"))
        self.assertEqual(p.returncode, 2)
        # a file that cannot be cut into values is read one value after another; the place is counted as jansson
        # counts it in one value (the column where it stopped reading the token)
        p = verify(self.t.write("num2.json", '{"data": []}\n\n  {"data":\n []}  42\n'))
        self.assertEqual(p.returncode, 2)
        self.assertIn("num2.json: line 4, column 8: '[' or '{' expected near '42'", p.stderr)
        p = subprocess.run([MINET, "verify", "--estate", self.paths["page"], "--subnet", "10.0.0.0/24"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)


class TestGeneratedEstate(unittest.TestCase):
    def test_seeded_breakages_found(self):
        t = tempdir(self)
        path = os.path.join(t.path, "estate.json")
        g = subprocess.run([os.path.join(ROOT, "scripts", "gen-estate"), "--subnets", "200", "--seed", "5", path],
                           capture_output=True, text=True)
        self.assertEqual(g.returncode, 0, g.stderr)
        counts = json.loads(g.stderr)
        p = verify(path, "--json")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(len(rows), counts["mi"])
        deny = sum(1 for r in rows if "in-sqlmanagement" in [v["contract"] for v in r["violations"]])
        route = sum(1 for r in rows if "route-sqlmanagement" in [v["contract"] for v in r["violations"]])
        missing = sum(1 for r in rows if [f["kind"] for f in r["findings"]] == ["missing-resource"])
        self.assertEqual((deny, route, missing), (counts["deny"], counts["route"], counts["missing_nsg"]))
        self.assertEqual(sum(not r["compliant"] for r in rows), deny + route + missing)
        self.assertEqual(p.returncode, 1 if deny + route + missing else 0)


if __name__ == "__main__":
    unittest.main()

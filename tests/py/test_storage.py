"""The lab's storage hosts: a real blob service (Azurite) on 443 with a certificate from the cluster's CA, behind a
storage account firewall enforced with nftables (`minet apply --storage`), with Azure's same-region rule: IP rules
have no effect on requests from the same region. The analyzer's prediction (`minet verify --storage-account`) is held
against what really happens in the lab, for every combination."""
import json
import os
import tempfile
import unittest
import uuid

from cli_common import EXAMPLES, MINET, ROOT, run, lab_up

NAME = "s" + uuid.uuid4().hex[:6]
MGMT_IP = "198.51.100.10"
SUBNET_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/minet-lab/providers/"
             "Microsoft.Network/virtualNetworks/mi-vnet/subnets/mi-subnet")
AZURITE = os.path.join(ROOT, "lab", "azurite", "node_modules", "azurite", "package.json")

# The four firewalls of the differential test, in the shape `az storage account show` prints.
FIREWALLS = {
    "ip-mgmt": {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "ipAddressOrRange": MGMT_IP}],
                "virtualNetworkRules": []},
    "vnet": {"defaultAction": "Deny", "ipRules": [],
             "virtualNetworkRules": [{"action": "Allow", "state": "Succeeded", "virtualNetworkResourceId": SUBNET_ID}]},
    "allow": {"defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
    "deny": {"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
}
STORAGE = {"storage-we": "westeurope", "storage-ne": "northeurope"}
ADDR = {"storage-we": "198.18.10.10", "storage-ne": "198.18.20.10"}


@unittest.skipUnless(os.geteuid() == 0, "the running system needs root")
@unittest.skipUnless(os.path.exists(AZURITE), "Azurite is not installed (sh scripts/install-deps)")
class StorageLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = lab_up(NAME)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.files = {}
        for k, fw in FIREWALLS.items():
            cls.files[k] = os.path.join(cls.tmp.name, k + ".json")
            with open(cls.files[k], "w") as f:
                json.dump({"name": k, "networkRuleSet": fw}, f)

    @classmethod
    def tearDownClass(cls):
        run(["down", "--name", NAME])
        cls.tmp.cleanup()

    def https_code(self, host, target):
        """The HTTP status a client on host gets from the target's blob service, or 0 when TCP/TLS fails."""
        pki = "/run/minet/%s/pki" % NAME
        # a refused or dropped connection fails at --connect-timeout; an answering Azurite gets 20 s in all (5 s
        # could run out on a loaded machine): the bound only catches a hang
        p = run(["exec", host, "--name", NAME, "--", "curl", "-s", "--connect-timeout", "5", "-m", "20", "-o",
                 "/dev/null", "-w", "%{http_code}",
                 "--cacert", pki + "/ca.pem", "https://%s/devstoreaccount1?comp=list" % ADDR[target]])
        return int(p.stdout or 0)

    def upload(self, target, nbytes=4096, kind="backup", body=None):
        """A real backup (or audit log) from the instance: sqlmgmt asks through the load balancer, the node uploads a
        blob to the target with Put Blob and answers. Returns (HTTP status, body)."""
        pki = "/run/minet/%s/pki" % NAME
        data = body if body is not None else json.dumps({"target": target, "bytes": nbytes})
        p = run(["exec", "sqlmgmt", "--name", NAME, "--", MINET,
                 "mgmt", self.state["managementIp"] + ":9000", "POST", "/v1/" + kind, "--data", data, "--json",
                 "--cert", pki + "/operator.pem", "--key", pki + "/operator.key", "--ca", pki + "/ca.pem",
                 "--timeout", "60"], timeout=90)
        out = json.loads(p.stdout)
        return out["status"], out["body"]

    def apply(self, target, kind):
        p = run(["apply", "--name", NAME, "--storage", target, self.files[kind]])
        self.assertEqual(p.returncode, 0, p.stderr)

    def predict(self, target, kind):
        p = run(["verify", "--tags", os.path.join(ROOT, "data", "servicetags", "ServiceTags_Public_20221107.json.gz"),
                 "--tags", os.path.join(EXAMPLES, "corpnet-tags.json"), "--vnet", "10.0.0.0/16", "--subnet",
                 "10.0.0.0/24", "--region", self.state["region"], "--pair", self.state["pair"], "--nsg",
                 os.path.join(EXAMPLES, "mi-nsg.json"), "--storage-account", self.files[kind], "--storage-region",
                 STORAGE[target], "--management-ip", self.state["managementIp"], "--subnet-id",
                 self.state["subnetId"], "--json"])
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return json.loads(p.stdout)["storage"][0]

    def test_blob_service_answers_https_with_the_cluster_ca(self):
        for target in STORAGE:
            run(["apply", "--name", NAME, "--storage", target, self.files["allow"]])
            # Azurite itself answers (403: the request is not signed), over TLS verified with the cluster's CA
            self.assertEqual(self.https_code("node0", target), 403)

    def test_firewall_prediction_equals_the_lab_for_every_combination(self):
        for target in STORAGE:
            for kind in FIREWALLS:
                with self.subTest(target=target, firewall=kind):
                    self.apply(target, kind)
                    pred = self.predict(target, kind)
                    status, body = self.upload(target)
                    real = status == 200 and body["status"] == "uploaded"
                    self.assertEqual(pred["passes"], real, (pred["reason"], body))
                    if real:
                        self.assertEqual((body["bytes"], body["target"], body["httpStatus"]), (4096, target, 201))
                        self.assertTrue(body["blob"].startswith("backups/"))
                    else:
                        self.assertEqual(status, 502)
                        self.assertIn("refused or reset", body["error"])
                    self.assertEqual(pred["sameRegion"], target == "storage-we")

    def test_same_region_ip_rule_does_not_apply_but_pair_region_does(self):
        for target in STORAGE:
            self.apply(target, "ip-mgmt")
        self.assertEqual(self.https_code("node0", "storage-we"), 0)      # not NATed: 10.0.0.4, IP rules skipped
        self.assertEqual(self.https_code("node0", "storage-ne"), 403)    # SNAT: 198.51.100.10, allowed
        self.assertEqual(self.https_code("internet", "storage-ne"), 0)   # 203.0.113.10: no rule

    def test_agent_bad_requests(self):
        self.apply("storage-ne", "allow")
        status, body = self.upload("storage-ne", body='{"target":"nosuch","bytes":1}')
        self.assertEqual(status, 400)
        self.assertIn("unknown storage host 'nosuch' (known: storage-we storage-ne)", body["error"])
        status, body = self.upload("storage-ne", body='{"target":"storage-ne","bytes":-1}')
        self.assertEqual(status, 400)
        status, body = self.upload("storage-ne", body='{"target":"storage-ne","bytes":1,"container":"Bad_Name"}')
        self.assertEqual(status, 400)
        self.assertIn("container", body["error"])
        status, body = self.upload("storage-ne", body='{"target":')
        self.assertEqual(status, 400)
        status, body = self.upload("storage-ne", kind="auditlog", body=json.dumps(
            {"target": "storage-ne", "bytes": 100, "container": "sqlaudit"}))
        self.assertEqual(status, 200, body)
        self.assertTrue(body["blob"].startswith("sqlaudit/") and body["blob"].endswith(".xel"))

    def test_bad_input_changes_nothing(self):
        self.apply("storage-ne", "ip-mgmt")
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            json.dump({"networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"value": "10.0.0.4"}]}}, f)
        before = run(["exec", "storage-ne", "--name", NAME, "--", "nft", "list", "table", "ip", "storage_fw"]).stdout
        p = run(["apply", "--name", NAME, "--storage", "storage-ne", bad])
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.json: networkRuleSet.ipRules[0]: '10.0.0.4': private addresses", p.stderr)
        p = run(["apply", "--name", NAME, "--storage", "nosuch", self.files["deny"]])
        self.assertEqual(p.returncode, 2)
        self.assertIn("'nosuch' is not a storage host", p.stderr)
        p = run(["apply", "--name", NAME, "--storage", "app", self.files["deny"]])
        self.assertEqual(p.returncode, 2)
        after = run(["exec", "storage-ne", "--name", NAME, "--", "nft", "list", "table", "ip", "storage_fw"]).stdout
        self.assertEqual(before, after)
        self.assertEqual(self.https_code("node0", "storage-ne"), 403)


class StorageTopology(unittest.TestCase):
    def test_a_topology_firewall_is_validated(self):
        topo = json.loads(run(["topology", "--default"]).stdout)
        idx = {h["name"]: i for i, h in enumerate(topo["hosts"])}
        for h in topo["hosts"]:
            if h["name"] == "storage-ne":
                h["networkRuleSet"] = {"defaultAction": "Maybe"}
            if h["name"] == "app":
                h["networkRuleSet"] = {"defaultAction": "Deny"}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(topo, f)
        try:
            p = run(["compile", f.name])
            self.assertEqual(p.returncode, 2, p.stdout)
            self.assertIn("hosts[%d].networkRuleSet: defaultAction: 'Maybe'" % idx["storage-ne"], p.stderr)
            self.assertIn("hosts[%d]: networkRuleSet: only a storage host has one" % idx["app"], p.stderr)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()

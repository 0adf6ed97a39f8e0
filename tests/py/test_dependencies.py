"""Every dependency of the seed has a host answering HTTPS on 443 (AzureActiveDirectory, AzureMonitor,
EventHub.<region>/<pair>, AzureCloud.<region>, Storage.<region>/<pair>), so the mandatory routes are exercised by
real connections: forced tunnelling (0.0.0.0/0 to the appliance) with some mandatory routes missing breaks exactly
the dependencies whose next hop `minet route` says is no longer Internet, and `minet verify` names those routes."""
import json
import os
import shutil
import tempfile
import unittest
import uuid

from cli_common import run, lab_up

NAME = "e" + uuid.uuid4().hex[:6]
DEPS = {"aad": "198.18.13.10", "monitor": "198.18.12.10", "eventhub-we": "198.18.11.10",
        "eventhub-ne": "198.18.21.10", "cloud-we": "198.18.9.10", "storage-we": "198.18.10.10",
        "storage-ne": "198.18.20.10"}


@unittest.skipUnless(os.geteuid() == 0, "the running system needs root")
class Dependencies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = lab_up(NAME)
        cls.dir = tempfile.mkdtemp()
        run(["topology", "--default", "--export", cls.dir])

    @classmethod
    def tearDownClass(cls):
        run(["down", "--name", NAME])
        shutil.rmtree(cls.dir, ignore_errors=True)

    def reaches(self, addr):
        pki = "/run/minet/%s/pki" % NAME
        # a broken route fails at --connect-timeout; an answering host gets 20 s in all (a hang bound: 4 s could run
        # out on a loaded machine before a working dependency answered)
        p = run(["exec", "node0", "--name", NAME, "--", "curl", "-s", "--connect-timeout", "4", "-m", "20", "-o",
                 "/dev/null", "-w",
                 "%{http_code}", "--cacert", pki + "/ca.pem", "https://%s/" % addr])
        return int(p.stdout or 0) != 0  # any HTTP answer over verified TLS

    def next_hop(self, routes, addr):
        p = run(["route", "--tags", os.path.join(self.dir, "tags.json"), "--vnet", "10.0.0.0/16", "--routes", routes,
                 "--dst", addr, "--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)["nextHopType"]

    def test_every_dependency_answers_https(self):
        roles = {h["name"]: h["role"] for h in self.state["hosts"]}
        for name, addr in DEPS.items():
            self.assertIn(roles[name], ("service", "storage"))
            self.assertTrue(self.reaches(addr), name)

    def test_forced_tunnelling_breaks_what_the_analyzer_predicts(self):
        with open(os.path.join(self.dir, "routes.json")) as f:
            rt = json.load(f)
        rt["properties"]["routes"] = [r for r in rt["properties"]["routes"]
                                      if r["name"] not in ("mi-azurecloud-westeurope-internet", "mi-azuremonitor-internet")]
        rt["properties"]["routes"].append({"name": "forced-tunnel", "properties": {
            "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.2.4"}})
        ft = os.path.join(self.dir, "forced.json")
        with open(ft, "w") as f:
            json.dump(rt, f)
        p = run(["apply", "--name", NAME, "--routes", ft])
        self.assertEqual(p.returncode, 0, p.stderr)
        try:
            predicted = {n for n, a in DEPS.items() if self.next_hop(ft, a) != "Internet"}
            broken = {n for n, a in DEPS.items() if not self.reaches(a)}
            self.assertEqual(predicted, {"monitor", "cloud-we"})
            self.assertEqual(broken, predicted)
            p = run(["verify", "--tags", os.path.join(self.dir, "tags.json"), "--vnet", "10.0.0.0/16", "--subnet",
                     "10.0.0.0/24", "--region", "westeurope", "--pair", "northeurope", "--nsg",
                     os.path.join(self.dir, "nsg.json"), "--routes", ft, "--host-vip", "198.18.0.16", "--json"])
            self.assertEqual(p.returncode, 1)
            failing = {c["id"] for c in json.loads(p.stdout)["contracts"] if not c["holds"]}
            self.assertEqual(failing, {"route-azurecloud-region", "route-azuremonitor"})
        finally:
            run(["apply", "--name", NAME, "--routes", os.path.join(self.dir, "routes.json")])
        self.assertTrue(all(self.reaches(a) for a in DEPS.values()))


if __name__ == "__main__":
    unittest.main()

"""minet mgmt-ip: the seed's recipe for the management IP (resolve the FQDN, take the *.worker.vnet.* CNAME, drop
".vnet", resolve again), with a real resolver (libresolv) against the lab's real DNS server (dnsmasq)."""
import json
import os
import unittest
import uuid

from cli_common import MINET, run, lab_up

NAME = "m" + uuid.uuid4().hex[:6]


class MgmtIpUsage(unittest.TestCase):
    def test_bad_usage_exits_2(self):
        for args in ([], ["a.example", "b.example"], ["a.example", "--server", "not-an-ip"], ["--bogus", "x"]):
            p = run(["mgmt-ip"] + args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("minet mgmt-ip:", p.stderr)

    def test_help(self):
        p = run(["mgmt-ip", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("drop \".vnet\"", p.stdout)


@unittest.skipUnless(os.geteuid() == 0, "the running system needs root")
class MgmtIpLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = lab_up(NAME)

    @classmethod
    def tearDownClass(cls):
        run(["down", "--name", NAME])

    def mgmtip(self, host, *args):
        return run(["exec", host, "--name", NAME, "--", MINET, "mgmt-ip", "--server", self.state["dns"]["server"]]
                   + list(args))

    def test_status_names_the_fqdn(self):
        self.assertEqual(self.state["fqdn"], self.state["dns"]["instance"])

    def test_finds_the_management_ip_from_the_internet(self):
        p = self.mgmtip("internet", self.state["fqdn"], "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["fqdn"], self.state["fqdn"])
        self.assertEqual(out["cname"], self.state["dns"]["workerVnet"])
        self.assertIn(".worker.vnet.", out["cname"])
        self.assertEqual(out["managementName"], self.state["dns"]["managementEndpoint"])
        self.assertNotIn(".vnet", out["managementName"])
        self.assertEqual(out["managementIp"], self.state["managementIp"])
        p = self.mgmtip("sqlmgmt", self.state["fqdn"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), self.state["managementIp"])

    def test_failing_steps_are_named(self):
        p = self.mgmtip("internet", "nosuch.database.windows.net")
        self.assertEqual(p.returncode, 1)
        self.assertIn("step 1", p.stderr)
        self.assertIn("NXDOMAIN", p.stderr)
        # the management name itself has an address but no CNAME: step 1 says it is not an instance's name
        p = self.mgmtip("internet", self.state["dns"]["managementEndpoint"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("no CNAME", p.stderr)
        # a server that does not answer
        p = run(["exec", "internet", "--name", NAME, "--", MINET, "mgmt-ip", "--server", "198.18.0.99",
                 self.state["fqdn"]], timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("step 1", p.stderr)


if __name__ == "__main__":
    unittest.main()

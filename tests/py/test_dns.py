"""The DNS naming scheme of the running system (seed: "How to determine the IP address of the management
endpoint"): the instance's FQDN is a CNAME to a *.worker.vnet.* name with the private address; the same name without
".vnet" is the management IP, which then takes a real mTLS management request. Real dnsmasq, real dig."""
import json
import os
import unittest
import uuid

from cli_common import MINET, run, lab_up

NAME = "d" + uuid.uuid4().hex[:6]


@unittest.skipUnless(os.geteuid() == 0, "the running system needs root")
class DnsNaming(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = lab_up(NAME)

    @classmethod
    def tearDownClass(cls):
        run(["down", "--name", NAME])

    def dig(self, host, *args):
        p = run(["exec", host, "--name", NAME, "--", "dig", "+time=2", "+tries=3", "@" + self.state["dns"]["server"]]
                + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_fqdn_is_a_cname_to_the_vnet_worker_name(self):
        dns = self.state["dns"]
        out = self.dig("app", "+noall", "+answer", dns["instance"], "A")
        rows = [line.split() for line in out.splitlines() if line.strip()]
        self.assertEqual(rows[0][0], dns["instance"] + ".")
        self.assertEqual(rows[0][3], "CNAME")
        self.assertEqual(rows[0][4], dns["workerVnet"] + ".")
        self.assertEqual(rows[1][3:], ["A", "10.0.0.4"])  # a private address in the subnet

    def test_management_ip_found_by_removing_vnet_then_used(self):
        """The seed's PowerShell recipe, step by step, from the Internet."""
        dns = self.state["dns"]
        first = self.dig("internet", "+short", dns["instance"]).split()[0].rstrip(".")
        self.assertIn(".worker.vnet.", first)
        mgmt = self.dig("internet", "+short", first.replace(".vnet", "")).split()
        self.assertEqual(mgmt, [self.state["managementIp"]])
        pki = "/run/minet/%s/pki" % NAME
        p = run(["exec", "sqlmgmt", "--name", NAME, "--", MINET, "mgmt", mgmt[0] + ":9000", "GET", "/v1/status",
                 "--cert", pki + "/operator.pem", "--key", pki + "/operator.key", "--ca", pki + "/ca.pem"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(json.loads(p.stdout)["node"], ("node0", "node1"))

    def test_public_endpoint_shares_the_management_ip(self):
        dns = self.state["dns"]
        out = self.dig("internet", "+short", dns["publicEndpoint"]).split()
        self.assertEqual(out[-1], self.state["managementIp"])

    def test_other_names_do_not_exist_and_nothing_is_forwarded(self):
        out = self.dig("internet", "nosuch.database.windows.net")
        self.assertIn("status: NXDOMAIN", out)
        out = self.dig("internet", "example.com")  # no upstream: never a recursion out of the lab
        self.assertIn("status: REFUSED", out)


if __name__ == "__main__":
    unittest.main()

"""End-to-end tests of `minet tags` (which, diff, show) on the three real Service Tags files bundled in
data/servicetags/, and of the stale-file warning of `minet verify`.

Expected answers are computed here independently, with Python's ipaddress module over the JSON files; firewall
output is loaded by the real nft and iptables-restore / ip6tables-restore in a network namespace of the test's own
(unshare -n), so the root namespace is never touched.
"""
import gzip
import ipaddress
import json
import os
import shutil
import subprocess
import unittest

from cli_common import EXAMPLES, MINET, TAGS_2020, TAGS_2022, TAGS_2025, run, tempdir

_cache = {}


def tags_of(path):
    """{name: (region, [ip_network…], changeNumber)} and the file's changeNumber, from the JSON itself."""
    if path not in _cache:
        with gzip.open(path, "rt") as f:
            doc = json.load(f)
        tags = {v["name"]: (v["properties"].get("region", ""),
                            [ipaddress.ip_network(p) for p in v["properties"]["addressPrefixes"]],
                            v["properties"].get("changeNumber"))
                for v in doc["values"]}
        _cache[path] = (tags, doc["changeNumber"])
    return _cache[path]


def expected_which(path, ip):
    """[(prefix, name)] whose prefixes contain ip, longest first (a tag once, with its longest prefix)."""
    a = ipaddress.ip_address(ip)
    out = []
    for name, (_, nets, _) in tags_of(path)[0].items():
        best = max((n for n in nets if n.version == a.version and a in n), key=lambda n: n.prefixlen, default=None)
        if best is not None:
            out.append((best.prefixlen, name.lower(), str(best), name))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [(p, n) for _, _, p, n in out]


def can_netns():
    return os.geteuid() == 0 and shutil.which("unshare") is not None


class TestWhich(unittest.TestCase):
    ADDRS = ["13.104.248.40", "20.50.1.2", "40.74.28.1", "2603:1000:4:402::385", "10.1.2.3"]

    def which(self, tags, *ips):
        p = run(["tags", "which", *ips, "--tags", tags, "--json"])
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p.returncode, json.loads(p.stdout)

    def test_matches_ipaddress_oracle_on_each_file(self):
        for path in (TAGS_2020, TAGS_2022, TAGS_2025):
            rc, got = self.which(path, *self.ADDRS)
            self.assertEqual(rc, 1)  # 10.1.2.3 is in no tag
            self.assertEqual([g["address"] for g in got], self.ADDRS)
            for g in got:
                want = expected_which(path, g["address"])
                self.assertEqual([(t["prefix"], t["name"]) for t in g["tags"]], want, (path, g["address"]))
            self.assertEqual(got[-1]["tags"], [])

    def test_sqlmanagement_prefix_outside_azurecloud_2022(self):
        # README: 13.104.248.32/27 is in SqlManagement but outside AzureCloud in the 2022-11-07 file.
        rc, got = self.which(TAGS_2022, "13.104.248.40")
        self.assertEqual(rc, 0)
        names = [t["name"] for t in got[0]["tags"]]
        self.assertIn("SqlManagement", names)
        self.assertNotIn("AzureCloud", names)
        self.assertEqual(got[0]["tags"][0]["prefix"], "13.104.248.32/27")

    def test_longest_first_and_region_in_text(self):
        p = run(["tags", "which", "20.50.1.2", "--tags", TAGS_2025])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "20.50.1.2")
        lens = [int(l.split()[0].split("/")[1]) for l in lines[1:]]
        self.assertEqual(lens, sorted(lens, reverse=True))
        self.assertTrue(any("AzureCloud.westeurope" in l and l.endswith("westeurope") for l in lines))

    def test_minet_tags_env_is_the_default(self):
        env = dict(os.environ, MINET_TAGS=TAGS_2025)
        p = subprocess.run([MINET, "tags", "which", "13.104.248.40", "--json"], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)[0]["tags"][0]["name"], "SqlManagement")

    def test_bad_address_and_missing_file(self):
        p = run(["tags", "which", "10.0.0.300", "--tags", TAGS_2025])
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("'10.0.0.300' is not an IP address", p.stderr)
        p = run(["tags", "which", "10.0.0.1", "--tags", "/nonexistent.json"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent.json", p.stderr)


class TestDiff(unittest.TestCase):
    def diff(self, old, new, *extra):
        p = run(["tags", "diff", old, new, "--json", *extra])
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p.returncode, json.loads(p.stdout)

    def test_sqlmanagement_2022_to_2025(self):
        rc, d = self.diff(TAGS_2022, TAGS_2025, "--tag", "SqlManagement")
        self.assertEqual(rc, 1)
        (o, ocn), (n, ncn) = tags_of(TAGS_2022), tags_of(TAGS_2025)
        self.assertEqual((d["old"]["changeNumber"], d["new"]["changeNumber"]), (ocn, ncn))
        self.assertEqual((ocn, ncn), (227, 375))
        self.assertTrue(d["changed"])
        [t] = d["tags"]
        self.assertEqual(t["name"], "SqlManagement")
        self.assertEqual((t["oldChangeNumber"], t["newChangeNumber"]), (o["SqlManagement"][2], n["SqlManagement"][2]))
        old, new = set(o["SqlManagement"][1]), set(n["SqlManagement"][1])
        self.assertEqual(set(map(ipaddress.ip_network, t["added"])), new - old)
        self.assertEqual(set(map(ipaddress.ip_network, t["removed"])), old - new)
        self.assertTrue(t["added"] and t["removed"])
        self.assertIn("13.87.56.192/27", t["removed"])
        self.assertIn("4.190.146.192/26", t["added"])

    def test_text_has_change_numbers_and_signs(self):
        p = run(["tags", "diff", TAGS_2022, TAGS_2025, "--tag", "sqlmanagement"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("(changeNumber 227)", p.stdout)
        self.assertIn("(changeNumber 375)", p.stdout)
        n = tags_of(TAGS_2025)[0]["SqlManagement"][2]
        self.assertIn(f"SqlManagement: changed, changeNumber {tags_of(TAGS_2022)[0]['SqlManagement'][2]} -> {n}",
                      p.stdout)
        self.assertIn("  - 13.87.56.192/27\n", p.stdout)
        self.assertIn("  + 4.190.146.192/26\n", p.stdout)

    def test_same_file_and_unchanged_tag_exit_0(self):
        rc, d = self.diff(TAGS_2022, TAGS_2022)
        self.assertEqual((rc, d["changed"], d["tags"]), (0, False, []))
        self.assertEqual(d["compared"], len(tags_of(TAGS_2022)[0]))

    def test_all_tags_counts_match(self):
        rc, d = self.diff(TAGS_2020, TAGS_2022)
        self.assertEqual(rc, 1)
        o, n = tags_of(TAGS_2020)[0], tags_of(TAGS_2022)[0]
        lo, ln = {k.lower(): k for k in o}, {k.lower(): k for k in n}
        added = {ln[k] for k in set(ln) - set(lo)}
        removed = {lo[k] for k in set(lo) - set(ln)}
        changed = {ln[k] for k in set(lo) & set(ln) if set(o[lo[k]][1]) != set(n[ln[k]][1])}
        got = {t["status"]: set() for t in d["tags"]}
        for t in d["tags"]:
            got[t["status"]].add(t["name"])
        self.assertEqual(got.get("added", set()), added)
        self.assertEqual(got.get("removed", set()), removed)
        self.assertEqual(got.get("changed", set()), changed)

    def test_unknown_tag_is_an_error(self):
        p = run(["tags", "diff", TAGS_2022, TAGS_2025, "--tag", "NoSuchTag"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("'NoSuchTag': in neither file", p.stderr)


class TestShow(unittest.TestCase):
    def test_plain_and_json_as_published(self):
        tags, _ = tags_of(TAGS_2025)
        p = run(["tags", "show", "sqlmanagement", "--tags", TAGS_2025])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([ipaddress.ip_network(l) for l in p.stdout.split()], tags["SqlManagement"][1])
        p = run(["tags", "show", "AzureCloud.westeurope", "--tags", TAGS_2025, "--format", "json"])
        d = json.loads(p.stdout)
        self.assertEqual((d["name"], d["region"]), ("AzureCloud.westeurope", "westeurope"))
        self.assertEqual(list(map(ipaddress.ip_network, d["addressPrefixes"])), tags["AzureCloud.westeurope"][1])

    def test_unknown_tag_and_format(self):
        p = run(["tags", "show", "Nope", "--tags", TAGS_2025])
        self.assertEqual(p.returncode, 2)
        self.assertIn("no tag 'Nope'", p.stderr)
        p = run(["tags", "show", "SqlManagement", "--tags", TAGS_2025, "--format", "pf"])
        self.assertEqual(p.returncode, 2)

    def covered(self, nets, version):
        """The address set of nets of one version, as a sorted list of merged networks."""
        return list(ipaddress.collapse_addresses(n for n in nets if n.version == version))

    @unittest.skipUnless(can_netns() and shutil.which("nft"), "needs root, unshare and nft")
    def test_nft_loads_and_holds_the_tag(self):
        t = tempdir(self)
        for name in ("SqlManagement", "AzureCloud.westeurope", "Storage"):
            p = run(["tags", "show", name, "--tags", TAGS_2025, "--format", "nft"])
            self.assertEqual(p.returncode, 0, p.stderr)
            f = t.write("t.nft", p.stdout)
            ident = name.replace(".", "_")
            q = subprocess.run(["unshare", "-n", "sh", "-c",
                                f"nft -f {f} && nft -j list set inet servicetags {ident}_v4 && "
                                f"nft -j list set inet servicetags {ident}_v6"],
                               capture_output=True, text=True)
            self.assertEqual(q.returncode, 0, q.stderr)
            sets = [json.loads(x) for x in q.stdout.split("\n") if x.strip()]
            for version, doc in zip((4, 6), sets):
                nets = []
                for item in doc["nftables"]:
                    for e in item.get("set", {}).get("elem", []):
                        if isinstance(e, dict) and "prefix" in e:
                            nets.append(ipaddress.ip_network(f"{e['prefix']['addr']}/{e['prefix']['len']}"))
                        elif isinstance(e, dict) and "range" in e:
                            lo, hi = map(ipaddress.ip_address, e["range"])
                            nets += ipaddress.summarize_address_range(lo, hi)
                        else:
                            nets.append(ipaddress.ip_network(e))
                want = self.covered(tags_of(TAGS_2025)[0][name][1], version)
                self.assertEqual(list(ipaddress.collapse_addresses(nets)), want, (name, version))

    @unittest.skipUnless(can_netns() and shutil.which("iptables-restore"), "needs root, unshare and iptables")
    def test_iptables_restore_accepts_it(self):
        t = tempdir(self)
        nets = tags_of(TAGS_2025)[0]["SqlManagement"][1]
        for fmt, tool, version in (("iptables-restore", "iptables", 4), ("ip6tables-restore", "ip6tables", 6)):
            p = run(["tags", "show", "SqlManagement", "--tags", TAGS_2025, "--format", fmt])
            self.assertEqual(p.returncode, 0, p.stderr)
            f = t.write("t.rules", p.stdout)
            q = subprocess.run(["unshare", "-n", "sh", "-c", f"{fmt} --test < {f} && {fmt} < {f} && "
                                f"{tool}-save -t filter"], capture_output=True, text=True)
            self.assertEqual(q.returncode, 0, q.stderr)
            srcs = [ipaddress.ip_network(l.split()[3]) for l in q.stdout.splitlines()
                    if l.startswith("-A TAG_SqlManagement -s ")]
            self.assertEqual(list(ipaddress.collapse_addresses(srcs)), self.covered(nets, version), fmt)


class TestStaleWarning(unittest.TestCase):
    """minet verify warns when the Microsoft file (the one defining AzureCloud) is older than 4 weeks; the date
    comes from the file name, else from changeNumber; MINET_NOW=YYYY-MM-DD stands for today."""

    def verify(self, tags, now, *extra):
        args = [MINET, "verify", "--tags", tags, "--tags", os.path.join(EXAMPLES, "corpnet-tags.json"),
                "--vnet", "10.0.0.0/16", "--subnet", "10.0.0.0/24", "--region", "westeurope", "--pair",
                "northeurope", "--nsg", os.path.join(EXAMPLES, "mi-nsg.json"), "--routes",
                os.path.join(EXAMPLES, "mi-routes.json"), *extra]
        env = dict(os.environ, MINET_NOW=now)
        p = subprocess.run(args, env=env, capture_output=True, text=True)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p

    def test_fresh_file_no_warning(self):
        p = self.verify(TAGS_2025, "2025-11-20")
        self.assertEqual(p.stderr, "")

    def test_old_file_warns_with_its_date(self):
        p = self.verify(TAGS_2025, "2025-12-01")
        self.assertEqual(p.stderr.count("warning"), 1, p.stderr)  # the CorpNet stand-ins do not age
        self.assertIn("ServiceTags_Public_20251028.json.gz is from 2025-10-28, 34 days old", p.stderr)

    def test_date_from_change_number_when_renamed(self):
        t = tempdir(self)
        copy = os.path.join(t.path, "tags.json.gz")
        shutil.copy(TAGS_2022, copy)
        p = self.verify(copy, "2022-11-20")
        self.assertEqual(p.stderr, "")
        p = self.verify(copy, "2023-06-01")
        self.assertIn("is from about 2022-11-07", p.stderr)

    def test_recent_name_is_trusted(self):
        t = tempdir(self)
        copy = os.path.join(t.path, "ServiceTags_Public_20230101.json.gz")
        shutil.copy(TAGS_2022, copy)
        self.assertEqual(self.verify(copy, "2023-01-20").stderr, "")

    def test_json_and_sarif_carry_it_in_band(self):
        p = self.verify(TAGS_2025, "2026-01-01", "--json")
        self.assertEqual(p.stderr, "")
        [w] = json.loads(p.stdout)["staleTags"]
        self.assertEqual((w["date"], w["estimated"], w["ageDays"]), ("2025-10-28", False, 65))
        self.assertEqual(json.loads(self.verify(TAGS_2025, "2025-11-01", "--json").stdout)["staleTags"], [])
        p = self.verify(TAGS_2025, "2026-01-01", "--sarif")
        self.assertEqual(p.stderr, "")
        [n] = json.loads(p.stdout)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        self.assertEqual(n["level"], "warning")
        self.assertIn("65 days old", n["message"]["text"])


if __name__ == "__main__":
    unittest.main()

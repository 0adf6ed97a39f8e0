"""Helpers for the end-to-end CLI tests (test_cli_*.py): run bin/minet, build small input files.

No TestCase classes here: unittest would collect them again from every module that imports this one.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.environ.get("MINET_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MINET_BIN") or os.path.join(ROOT, "bin")
MINET = os.path.join(BIN, "minet")
# The published Service Tags files, bundled gzip-compressed (data/servicetags/README.md says where they come from).
TAGS_DIR = os.path.join(ROOT, "data", "servicetags")
TAGS_2020 = os.path.join(TAGS_DIR, "ServiceTags_Public_20200224.json.gz")
TAGS_2022 = os.path.join(TAGS_DIR, "ServiceTags_Public_20221107.json.gz")
TAGS_2025 = os.path.join(TAGS_DIR, "ServiceTags_Public_20251028.json.gz")
EXAMPLES = os.path.join(ROOT, "examples")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")



def run(args, stdin=None, cwd=None, timeout=120):
    """Run minet with args (a list); returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([MINET] + list(args), input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def lab_up(name):
    """`minet up --name NAME` (taken down again and an error raised when it fails); the cluster's status --json."""
    p = run(["up", "--name", name])
    if p.returncode != 0:
        run(["down", "--name", name])
        raise RuntimeError("minet up failed: " + p.stderr)
    return json.loads(run(["status", "--name", name, "--json"]).stdout)


def tag_entry(name, prefixes, region=""):
    return {"name": name, "id": name,
            "properties": {"changeNumber": 1, "region": region, "regionId": 0, "platform": "Azure",
                           "systemService": "", "addressPrefixes": list(prefixes), "networkFeatures": []}}


def tags_doc(entries):
    """entries: list of tag_entry() or (name, prefixes[, region]) tuples."""
    vals = [e if isinstance(e, dict) else tag_entry(*e) for e in entries]
    return {"changeNumber": 1, "cloud": "Public", "values": vals}


def rule(name, prio, direction="Inbound", access="Allow", proto="*", src="*", dst="*", sport="*", dport="*",
         **extra):
    """A security rule's properties (flat dict); None values and plural lists go in as given via extra."""
    p = {"protocol": proto, "access": access, "priority": prio, "direction": direction}
    for k, v in (("sourceAddressPrefix", src), ("destinationAddressPrefix", dst), ("sourcePortRange", sport),
                 ("destinationPortRange", dport)):
        if v is not None:
            p[k] = v
    p.update(extra)
    return name, p


def nsg_arm(rules, name="nsg"):
    """ARM/REST shape: fields under properties."""
    return {"name": name, "type": "Microsoft.Network/networkSecurityGroups", "location": "westeurope",
            "properties": {"securityRules": [{"name": n, "properties": p} for n, p in rules]}}


def nsg_az(rules, name="nsg"):
    """The flattened shape `az network nsg show` prints (keys sorted, empty lists for unused plurals)."""
    out = []
    for n, p in rules:
        r = {"name": n, "etag": "W/\"x\"", "provisioningState": "Succeeded", "resourceGroup": "rg",
             "type": "Microsoft.Network/networkSecurityGroups/securityRules", "description": None,
             "sourceAddressPrefixes": [], "destinationAddressPrefixes": [], "sourcePortRanges": [],
             "destinationPortRanges": [], "sourceApplicationSecurityGroups": None,
             "destinationApplicationSecurityGroups": None}
        r.update(p)
        out.append(dict(sorted(r.items())))
    return {"defaultSecurityRules": [], "etag": "W/\"x\"", "id": "/subscriptions/x/nsg", "location": "westeurope",
            "name": name, "networkInterfaces": [], "provisioningState": "Succeeded", "resourceGroup": "rg",
            "securityRules": out, "subnets": None, "tags": {}, "type": "Microsoft.Network/networkSecurityGroups"}


def route(name, prefix, hop, ip=None):
    p = {"addressPrefix": prefix, "nextHopType": hop}
    if ip is not None:
        p["nextHopIpAddress"] = ip
    return name, p


def routes_arm(routes, name="rt"):
    return {"name": name, "type": "Microsoft.Network/routeTables", "location": "westeurope",
            "properties": {"disableBgpRoutePropagation": False,
                           "routes": [{"name": n, "properties": p} for n, p in routes]}}


def routes_az(routes, name="rt"):
    return {"name": name, "disableBgpRoutePropagation": False, "location": "westeurope",
            "routes": [dict(sorted(dict(p, name=n, provisioningState="Succeeded").items())) for n, p in routes]}


class TempDir:
    """Mixin-free helper: a temp dir with write helpers; call close() in tearDown (addCleanup)."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="minet-cli-")

    def write(self, name, obj):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            if isinstance(obj, (str, bytes)):
                f.write(obj if isinstance(obj, str) else obj.decode())
            else:
                json.dump(obj, f, indent=2)
        return p

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


def tempdir(testcase):
    t = TempDir()
    testcase.addCleanup(t.close)
    return t

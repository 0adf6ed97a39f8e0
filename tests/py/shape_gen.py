"""The same NSG or route table written in every input shape minet reads (test_shapes*.py).

Start from the canonical REST resource (cli_common.nsg_arm / routes_arm, or a file like examples/mi-nsg.json)
and write it as: the REST example wrapper, a {"value": […]} list, `az … show` (flattened), `az … list`,
`az network nsg rule list`, `az network nsg create`, PowerShell ConvertTo-Json, Terraform plan / state /
resource_changes / standalone rule resources. Each layout follows the tool's documented output format.
No TestCase classes here.
"""
import copy

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network"

RULE_KEYS = ["protocol", "sourcePortRange", "sourcePortRanges", "destinationPortRange", "destinationPortRanges",
             "sourceAddressPrefix", "sourceAddressPrefixes", "destinationAddressPrefix",
             "destinationAddressPrefixes", "access", "priority", "direction"]


def _rules(nsg):
    return nsg["properties"]["securityRules"]


def _routes(rt):
    return rt["properties"].get("routes") or []


# ---- NSG shapes ----

def nsg_rest_example(nsg):
    return {"parameters": {"api-version": "2024-05-01", "subscriptionId": "subid", "resourceGroupName": "rg",
                           "networkSecurityGroupName": nsg["name"]},
            "responses": {"200": {"body": copy.deepcopy(nsg)}}}


def nsg_value_list(nsg, others=()):
    return {"value": [copy.deepcopy(nsg)] + [copy.deepcopy(o) for o in others]}


def _az_rule(nsg_name, r):
    p = r["properties"]
    out = {"name": r["name"], "id": "%s/networkSecurityGroups/%s/securityRules/%s" % (SUB, nsg_name, r["name"]),
           "etag": "W/\"1\"", "provisioningState": "Succeeded", "resourceGroup": "rg",
           "type": "Microsoft.Network/networkSecurityGroups/securityRules", "description": None,
           "sourceAddressPrefixes": [], "destinationAddressPrefixes": [], "sourcePortRanges": [],
           "destinationPortRanges": []}
    out.update(copy.deepcopy(p))
    return dict(sorted(out.items()))


def nsg_az_show(nsg):
    n = nsg["name"]
    return {"defaultSecurityRules": [], "etag": "W/\"1\"", "id": "%s/networkSecurityGroups/%s" % (SUB, n),
            "location": "westeurope", "name": n, "provisioningState": "Succeeded", "resourceGroup": "rg",
            "securityRules": [_az_rule(n, r) for r in _rules(nsg)], "subnets": None,
            "type": "Microsoft.Network/networkSecurityGroups"}


def nsg_az_list(nsg, others=()):
    return [nsg_az_show(nsg)] + [nsg_az_show(o) for o in others]


def nsg_az_rule_list(nsg):
    return [_az_rule(nsg["name"], r) for r in _rules(nsg)]


def nsg_az_create(nsg):
    return {"NewNSG": nsg_az_show(nsg)}


def _ps_list(p, one, many):
    if p.get(many):
        return list(p[many])
    return [p[one]] if one in p else []


def nsg_powershell(nsg):
    rules = []
    for r in _rules(nsg):
        p = r["properties"]
        rules.append({"Description": None, "Protocol": p["protocol"],
                      "SourcePortRange": _ps_list(p, "sourcePortRange", "sourcePortRanges"),
                      "DestinationPortRange": _ps_list(p, "destinationPortRange", "destinationPortRanges"),
                      "SourceAddressPrefix": _ps_list(p, "sourceAddressPrefix", "sourceAddressPrefixes"),
                      "DestinationAddressPrefix": _ps_list(p, "destinationAddressPrefix", "destinationAddressPrefixes"),
                      "SourceApplicationSecurityGroups": [], "DestinationApplicationSecurityGroups": [],
                      "Access": p["access"], "Priority": p["priority"], "Direction": p["direction"],
                      "ProvisioningState": "Succeeded", "Name": r["name"], "Etag": "W/\"1\"",
                      "Id": "%s/networkSecurityGroups/%s/securityRules/%s" % (SUB, nsg["name"], r["name"])})
    return {"SecurityRules": rules, "DefaultSecurityRules": [], "NetworkInterfaces": [], "Subnets": [],
            "ResourceGroupName": "rg", "Location": "westeurope", "ResourceGuid": "00000000-0000-0000-0000-000000000001",
            "Tag": None, "TagsTable": None, "Name": nsg["name"], "Etag": "W/\"1\"",
            "Id": "%s/networkSecurityGroups/%s" % (SUB, nsg["name"])}


def _tf_rule(r):
    p = r["properties"]
    return {"access": p["access"], "description": "",
            "destination_address_prefix": p.get("destinationAddressPrefix", ""),
            "destination_address_prefixes": list(p.get("destinationAddressPrefixes", [])),
            "destination_application_security_group_ids": [],
            "destination_port_range": p.get("destinationPortRange", ""),
            "destination_port_ranges": list(p.get("destinationPortRanges", [])),
            "direction": p["direction"], "name": r["name"], "priority": p["priority"], "protocol": p["protocol"],
            "source_address_prefix": p.get("sourceAddressPrefix", ""),
            "source_address_prefixes": list(p.get("sourceAddressPrefixes", [])),
            "source_application_security_group_ids": [],
            "source_port_range": p.get("sourcePortRange", ""),
            "source_port_ranges": list(p.get("sourcePortRanges", []))}


def _tf_res(rtype, name, values):
    return {"address": "%s.%s" % (rtype, name), "mode": "managed", "type": rtype, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 0, "values": values,
            "sensitive_values": {}}


def _tf_nsg_values(nsg):
    return {"location": "westeurope", "name": nsg["name"], "resource_group_name": "rg",
            "security_rule": [_tf_rule(r) for r in _rules(nsg)], "tags": None, "timeouts": None}


def _tf_plan(resources):
    rg = _tf_res("azurerm_resource_group", "rg", {"location": "westeurope", "name": "rg", "tags": None})
    res = [rg] + resources
    changes = [{"address": r["address"], "mode": "managed", "type": r["type"], "name": r["name"],
                "provider_name": r["provider_name"],
                "change": {"actions": ["create"], "before": None, "after": copy.deepcopy(r["values"]),
                           "after_unknown": {"id": True}, "before_sensitive": False, "after_sensitive": {}}}
               for r in res]
    return {"format_version": "1.2", "terraform_version": "1.9.8",
            "planned_values": {"root_module": {"resources": res}}, "resource_changes": changes,
            "configuration": {"root_module": {}}}


def nsg_tf_plan(nsg):
    return _tf_plan([_tf_res("azurerm_network_security_group", "nsg", _tf_nsg_values(nsg))])


def nsg_tf_plan_in_module(nsg):
    plan = nsg_tf_plan(nsg)
    res = plan["planned_values"]["root_module"]["resources"]
    plan["planned_values"]["root_module"] = {
        "resources": res[:1],
        "child_modules": [{"address": "module.net", "resources": [
            dict(r, address="module.net." + r["address"]) for r in res[1:]]}]}
    for c in plan["resource_changes"][1:]:
        c["address"] = "module.net." + c["address"]
    return plan


def nsg_tf_changes_only(nsg):
    plan = nsg_tf_plan(nsg)
    del plan["planned_values"]
    return plan


def nsg_tf_state(nsg):
    res = _tf_res("azurerm_network_security_group", "nsg", _tf_nsg_values(nsg))
    res["values"]["id"] = "%s/networkSecurityGroups/%s" % (SUB, nsg["name"])
    return {"format_version": "1.0", "terraform_version": "1.9.8",
            "values": {"root_module": {"resources": [res]}}}


def nsg_tf_standalone_rules(nsg):
    """An empty azurerm_network_security_group and one azurerm_network_security_rule per rule."""
    v = _tf_nsg_values(nsg)
    v["security_rule"] = []
    res = [_tf_res("azurerm_network_security_group", "nsg", v)]
    for i, r in enumerate(_rules(nsg)):
        rv = _tf_rule(r)
        rv.update(network_security_group_name=nsg["name"], resource_group_name="rg")
        res.append(_tf_res("azurerm_network_security_rule", "r%d" % i, rv))
    return _tf_plan(res)


def arm_template(resource):
    """An ARM deployment template deploying the resource (as `az group export` or a quickstart writes it)."""
    r = copy.deepcopy(resource)
    r["apiVersion"] = "2023-09-01"
    r.pop("id", None)
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": {}, "variables": {}, "resources": [r]}


NSG_SHAPES = {
    "rest": lambda g: copy.deepcopy(g),
    "rest-example": nsg_rest_example,
    "value-list": nsg_value_list,
    "az-show": nsg_az_show,
    "az-list": nsg_az_list,
    "az-rule-list": nsg_az_rule_list,
    "az-create": nsg_az_create,
    "powershell": nsg_powershell,
    "tf-plan": nsg_tf_plan,
    "tf-plan-module": nsg_tf_plan_in_module,
    "tf-changes": nsg_tf_changes_only,
    "tf-state": nsg_tf_state,
    "tf-rules": nsg_tf_standalone_rules,
    "arm": arm_template,
}


# ---- route table shapes ----

def rt_rest_example(rt):
    return {"parameters": {"api-version": "2024-05-01", "subscriptionId": "subid", "resourceGroupName": "rg",
                           "routeTableName": rt["name"]},
            "responses": {"200": {"body": copy.deepcopy(rt)}}}


def _az_route(rt_name, r):
    out = {"name": r["name"], "id": "%s/routeTables/%s/routes/%s" % (SUB, rt_name, r["name"]), "etag": "W/\"1\"",
           "provisioningState": "Succeeded", "resourceGroup": "rg", "type": "Microsoft.Network/routeTables/routes"}
    out.update(copy.deepcopy(r["properties"]))
    return dict(sorted(out.items()))


def rt_az_show(rt):
    n = rt["name"]
    return {"disableBgpRoutePropagation": rt["properties"].get("disableBgpRoutePropagation", False),
            "etag": "W/\"1\"", "id": "%s/routeTables/%s" % (SUB, n), "location": "westeurope", "name": n,
            "provisioningState": "Succeeded", "resourceGroup": "rg",
            "routes": [_az_route(n, r) for r in _routes(rt)], "type": "Microsoft.Network/routeTables"}


def rt_powershell(rt):
    return {"Routes": [{"AddressPrefix": r["properties"]["addressPrefix"],
                        "NextHopType": r["properties"]["nextHopType"],
                        "NextHopIpAddress": r["properties"].get("nextHopIpAddress"), "ProvisioningState": "Succeeded",
                        "Name": r["name"], "Etag": "W/\"1\"",
                        "Id": "%s/routeTables/%s/routes/%s" % (SUB, rt["name"], r["name"])} for r in _routes(rt)],
            "Subnets": [], "DisableBgpRoutePropagation": rt["properties"].get("disableBgpRoutePropagation", False),
            "ProvisioningState": "Succeeded", "ResourceGroupName": "rg", "Location": "westeurope",
            "Name": rt["name"], "Etag": "W/\"1\"", "Id": "%s/routeTables/%s" % (SUB, rt["name"])}


def _tf_route(r):
    p = r["properties"]
    return {"name": r["name"], "address_prefix": p["addressPrefix"], "next_hop_type": p["nextHopType"],
            "next_hop_in_ip_address": p.get("nextHopIpAddress", "")}


def _tf_rt_values(rt):
    return {"location": "westeurope", "name": rt["name"], "resource_group_name": "rg",
            "bgp_route_propagation_enabled": not rt["properties"].get("disableBgpRoutePropagation", False),
            "route": [_tf_route(r) for r in _routes(rt)], "tags": None, "timeouts": None}


def rt_tf_plan(rt):
    return _tf_plan([_tf_res("azurerm_route_table", "rt", _tf_rt_values(rt))])


def rt_tf_state(rt):
    return {"format_version": "1.0", "terraform_version": "1.9.8",
            "values": {"root_module": {"resources": [_tf_res("azurerm_route_table", "rt", _tf_rt_values(rt))]}}}


def rt_tf_standalone(rt):
    v = _tf_rt_values(rt)
    v["route"] = []
    res = [_tf_res("azurerm_route_table", "rt", v)]
    for i, r in enumerate(_routes(rt)):
        rv = _tf_route(r)
        rv.update(route_table_name=rt["name"], resource_group_name="rg")
        res.append(_tf_res("azurerm_route", "r%d" % i, rv))
    return _tf_plan(res)


RT_SHAPES = {
    "rest": lambda t: copy.deepcopy(t),
    "rest-example": rt_rest_example,
    "value-list": lambda t: {"value": [copy.deepcopy(t)]},
    "az-show": rt_az_show,
    "az-list": lambda t: [rt_az_show(t)],
    "az-route-list": lambda t: [_az_route(t["name"], r) for r in _routes(t)],
    "powershell": rt_powershell,
    "tf-plan": rt_tf_plan,
    "tf-state": rt_tf_state,
    "tf-routes": rt_tf_standalone,
    "arm": arm_template,
}

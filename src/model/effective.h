/* Effective output: what Azure itself computed for one network interface, read unchanged.
 *
 *  - Effective security rules (`az network nic list-effective-nsg`, REST NetworkInterfaces_
 *    ListEffectiveNetworkSecurityGroups, PowerShell Get-AzEffectiveNetworkSecurityGroup | ConvertTo-Json):
 *    {"value":[{"association":{"subnet"|"networkInterface":{"id"}},"networkSecurityGroup":{"id"},
 *    "effectiveSecurityRules":[…],"tagMap":…}]}. Each entry is the NSG of one level; it becomes a struct nsg
 *    for that level, evaluated in Azure's order by analysis/flow.c (inbound subnet then NIC, outbound NIC then
 *    subnet, both must allow). Addresses are Azure's expansion (expandedSourceAddressPrefix, …) when present.
 *  - Effective routes (`az network nic show-effective-route-table`, REST NetworkInterfaces_GetEffectiveRouteTable,
 *    PowerShell Get-AzEffectiveRouteTable | ConvertTo-Json): {"value":[{"source","state","addressPrefix":[…],
 *    "nextHopType","nextHopIpAddress":[…]}]} or a bare array. Azure merged them already: they become a route
 *    table marked `effective`, the whole FIB (no system routes added); Invalid routes are left out.
 *
 * Keys are matched case-insensitively (PowerShell spells them in PascalCase). The REST example wrapper
 * ({"parameters":…,"responses":{"200":{"body":…}}}) is unwrapped. */
#ifndef MINET_EFFECTIVE_H
#define MINET_EFFECTIVE_H

#include <jansson.h>

#include "model/diag.h"
#include "model/netenv.h"
#include "model/nsg.h"
#include "model/routes.h"

#define EFFECTIVE_MAX_BYTES (64u << 20)
#define EFFECTIVE_MAX_ROUTES 100000

/* The body of a REST example wrapper, or root itself. Borrowed. */
json_t *effective_body(json_t *root);

/* Whether root (after effective_body) looks like effective security rules / effective routes. */
bool effective_nsg_shape(json_t *root);
bool effective_routes_shape(json_t *root);

/* Effective security rules into the subnet's and the NIC's NSG. *has_subnet / *has_nic say which levels the
 * file holds (at least one). 0, or -1 with every error reported (nothing to free then). The NSGs point into
 * env's sets: env must outlive them. */
int effective_nsg_load_json(struct nsg *subnet, bool *has_subnet, struct nsg *nic, bool *has_nic, json_t *root,
			    const char *file, const struct netenv *env, struct diag *d);

/* Effective routes into rt (rt->effective set). 0, or -1 with every error reported (rt left empty). */
int effective_routes_load_json(struct route_table *rt, json_t *root, const char *file, struct diag *d);

#endif

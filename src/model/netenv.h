/* The address world one subnet's policy is evaluated in: the loaded service tags, the virtual network's
 * address space and the route table in force, which together define the built-in tags (§1.5):
 *   AzureLoadBalancer = 168.63.129.16/32
 *   VirtualNetwork    = VNet address space ∪ 168.63.129.16 ∪ prefixes of the user-defined routes in force
 *   Internet          = everything outside VirtualNetwork and outside 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10,
 *                       172.16.0.0/12 and 192.168.0.0/16: the space "reachable by the public internet"
 *                       (docs/azure-semantics-notes.md §1 has the evidence and what of it is [inference];
 *                       the list is not_internet[] in netenv.c, the one place it is defined)
 *   *                 = everything, IPv4 and IPv6 */
#ifndef MINET_NETENV_H
#define MINET_NETENV_H

#include "model/routes.h"
#include "model/tags.h"

#define AZURE_HOST_VIP "168.63.129.16"

struct asg_map;

struct netenv {
	const struct tagdb *tags;
	const struct asg_map *asgs; /* --asg: members of application security groups; NULL when not given */
	struct cidr *vnet; /* address space ranges, as given */
	size_t nvnet;
	struct ipset vnet_set;
	struct ipset udr; /* prefixes of the user-defined routes in force */
	struct ipset virtual_network, internet, load_balancer, any;
};

/* Parse "CIDR[,CIDR…]" (the --vnet option) and compute the built-in tags without routes.
 * Overlapping address-space ranges are an error, as in Azure. 0, or -1 with errors reported to d. */
int netenv_init(struct netenv *env, const struct tagdb *tags, const char *vnet_csv, struct diag *d);

/* Add the prefixes of a route table's routes to VirtualNetwork (and so remove them from Internet).
 * [inference] a service-tag route contributes its tag's prefixes. */
int netenv_add_routes(struct netenv *env, const struct route_table *rt);

/* Let another address stand for 168.63.129.16 (AzureLoadBalancer, and part of VirtualNetwork): the lab
 * cannot use the real one. */
int netenv_set_host_vip(struct netenv *env, u128 vip);

/* The set a rule's address field names: a built-in tag (also the classic spellings VIRTUAL_NETWORK,
 * INTERNET, AZURE_LOADBALANCER) or a service tag, case-insensitively; NULL when unknown.
 * *canon gets the canonical spelling. */
const struct ipset *netenv_tag(const struct netenv *env, const char *name, const char **canon);

void netenv_free(struct netenv *env);

#endif

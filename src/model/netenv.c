#include "model/netenv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The IPv4 ranges that are never Internet, wherever the virtual network is (docs/azure-semantics-notes.md §1).
 * Microsoft defines Internet as "the IP address space that's outside the virtual network and reachable by the
 * public internet" (service-tags-overview.md). Azure's own expansion of the tag (expandedDestinationAddressPrefix
 * of AllowInternetOutBound in `az network nic list-effective-nsg`, MicrosoftDocs/azure-docs
 * articles/network-watcher/diagnose-vm-network-traffic-filtering-problem-cli.md; NetworkInterfaceEffectiveNSGList.json
 * in Azure/azure-rest-api-specs) starts "1.0.0.0/8, 2.0.0.0/7, 4.0.0.0/6, 8.0.0.0/7, 11.0.0.0/8, 12.0.0.0/6":
 * 0.0.0.0/8 and all of 10.0.0.0/8 are absent although that VNet is only 10.0.0.0/16. The same quickstart
 * documents 10.0.0.4 -> 172.31.0.100:80 outbound as denied by DenyAllOutBound on an NSG with only the default
 * rules, so 172.31.0.100 is not Internet either.
 * [inference] the whole of 172.16.0.0/12 and 192.168.0.0/16 (RFC 1918 like 10.0.0.0/8) and 100.64.0.0/10
 * (RFC 6598, "treated as private address space in Azure Virtual Network", architecture-center
 * ipv4-exhaustion-content.md): the published lists are cut before them, and the system routes send all four to
 * None. The lists say nothing of 127/8, 169.254/16, 224/4 or 240/4, which stay Internet; nor of IPv6, where
 * Internet stays everything outside VirtualNetwork. */
static const char *const not_internet[] = { "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12",
					    "192.168.0.0/16" };

static int rebuild_builtins(struct netenv *env)
{
	struct ipset vnet_vip = { 0 }, fixed = { 0 }, outside = { 0 };
	int rc = -1;
	ipset_free(&env->virtual_network);
	ipset_free(&env->internet);
	for (size_t i = 0; i < sizeof(not_internet) / sizeof(not_internet[0]); i++) {
		struct cidr c;
		const char *why;
		cidr_parse(not_internet[i], &c, &why);
		if (ipset_add_cidr(&fixed, &c) < 0)
			goto out;
	}
	ipset_normalize(&fixed);
	if (ipset_union(&vnet_vip, &env->vnet_set, &env->load_balancer) < 0 ||
	    ipset_union(&env->virtual_network, &vnet_vip, &env->udr) < 0 ||
	    ipset_union(&outside, &fixed, &env->virtual_network) < 0 || ipset_complement(&env->internet, &outside) < 0)
		goto out;
	rc = 0;
out:
	ipset_free(&vnet_vip);
	ipset_free(&fixed);
	ipset_free(&outside);
	return rc;
}

int netenv_init(struct netenv *env, const struct tagdb *tags, const char *vnet_csv, struct diag *d)
{
	struct cidr vip;
	const char *why;
	int before = d->errors;

	*env = (struct netenv){ .tags = tags };
	char *copy = strdup(vnet_csv), *save = NULL;
	if (!copy) {
		diag_oom(d, NULL);
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct cidr c;
		while (*tok == ' ')
			tok++;
		if (cidr_parse(tok, &c, &why) < 0) {
			diag_err(d, NULL, "'%s': %s", tok, why);
			continue;
		}
		for (size_t i = 0; i < env->nvnet; i++) {
			char a[CIDR_STRLEN];
			if (c.lo <= env->vnet[i].hi && env->vnet[i].lo <= c.hi)
				diag_err(d, NULL, "address space '%s' overlaps '%s'", tok, cidr_format(&env->vnet[i], a));
		}
		struct cidr *nv = realloc(env->vnet, (env->nvnet + 1) * sizeof(*nv));
		if (!nv || ipset_add_cidr(&env->vnet_set, &c) < 0) {
			free(nv ? nv : env->vnet);
			env->vnet = NULL;
			diag_oom(d, NULL);
			break;
		}
		env->vnet = nv;
		env->vnet[env->nvnet++] = c;
	}
	free(copy);
	if (!env->nvnet && d->errors == before)
		diag_err(d, NULL, "the virtual network needs at least one address range");
	ipset_normalize(&env->vnet_set);
	cidr_parse(AZURE_HOST_VIP, &vip, &why);
	if (d->errors == before && (ipset_add_cidr(&env->load_balancer, &vip) < 0 || ipset_all(&env->any) < 0 ||
				    rebuild_builtins(env) < 0))
		diag_oom(d, NULL);
	if (d->errors != before) {
		netenv_free(env);
		return -1;
	}
	return 0;
}

int netenv_add_routes(struct netenv *env, const struct route_table *rt)
{
	struct ipset udr = { 0 };
	for (size_t i = 0; i < rt->n; i++) {
		const struct route *r = &rt->routes[i];
		/* [inference] Of an effective table, the routes that make up VirtualNetwork: the user-defined ones (as
		 * for a route table), the VNet's own, its peerings' and what the gateway learned (on-premises); not the
		 * catch-alls to Internet or None, nor the service endpoints' public prefixes. */
		if (rt->effective && strcasecmp(r->source ? r->source : "", "User") && r->hop != HOP_VNET_LOCAL &&
		    r->hop != HOP_VNET_PEERING && r->hop != HOP_VNET_GLOBAL_PEERING && r->hop != HOP_VNET_GATEWAY)
			continue;
		if (route_add_addresses(r, &udr) < 0) {
			ipset_free(&udr);
			return -1;
		}
	}
	ipset_normalize(&udr);
	ipset_free(&env->udr);
	env->udr = udr;
	return rebuild_builtins(env);
}

int netenv_set_host_vip(struct netenv *env, u128 vip)
{
	ipset_free(&env->load_balancer);
	if (ipset_add_range(&env->load_balancer, vip, vip) < 0)
		return -1;
	return rebuild_builtins(env);
}

const struct ipset *netenv_tag(const struct netenv *env, const char *name, const char **canon)
{
	static const struct {
		const char *name, *classic, *canon;
		size_t off;
	} builtin[] = {
		{ "*", "*", "*", offsetof(struct netenv, any) },
		{ "VirtualNetwork", "VIRTUAL_NETWORK", "VirtualNetwork", offsetof(struct netenv, virtual_network) },
		{ "Internet", "INTERNET", "Internet", offsetof(struct netenv, internet) },
		{ "AzureLoadBalancer", "AZURE_LOADBALANCER", "AzureLoadBalancer", offsetof(struct netenv, load_balancer) },
	};
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (!strcasecmp(name, builtin[i].name) || !strcasecmp(name, builtin[i].classic)) {
			*canon = builtin[i].canon;
			return (const struct ipset *)((const char *)env + builtin[i].off);
		}
	const struct service_tag *t = env->tags ? tagdb_find(env->tags, name) : NULL;
	if (!t)
		return NULL;
	*canon = t->name;
	return &t->set;
}

void netenv_free(struct netenv *env)
{
	free(env->vnet);
	ipset_free(&env->vnet_set);
	ipset_free(&env->udr);
	ipset_free(&env->virtual_network);
	ipset_free(&env->internet);
	ipset_free(&env->load_balancer);
	ipset_free(&env->any);
	*env = (struct netenv){ 0 };
}

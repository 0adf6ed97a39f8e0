#include "model/netenv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int rebuild_builtins(struct netenv *env)
{
	const struct ipset *udr = &env->udr;
	struct ipset vnet_vip = { 0 };
	int rc = -1;
	ipset_free(&env->virtual_network);
	ipset_free(&env->internet);
	if (ipset_union(&vnet_vip, &env->vnet_set, &env->load_balancer) < 0 ||
	    ipset_union(&env->virtual_network, &vnet_vip, udr) < 0 ||
	    ipset_complement(&env->internet, &env->virtual_network) < 0)
		goto out;
	rc = 0;
out:
	ipset_free(&vnet_vip);
	return rc;
}

int netenv_init(struct netenv *env, const struct tagdb *tags, const char *vnet_csv, struct diag *d)
{
	struct cidr vip;
	const char *why;
	int before = d->errors;

	*env = (struct netenv){ .tags = tags };
	char *copy = strdup(vnet_csv), *save = NULL;
	if (!copy)
		return -1;
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
			diag_err(d, NULL, "out of memory");
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
	if (d->errors != before || ipset_add_cidr(&env->load_balancer, &vip) < 0 || ipset_all(&env->any) < 0 ||
	    rebuild_builtins(env) < 0) {
		netenv_free(env);
		return -1;
	}
	return 0;
}

int netenv_add_routes(struct netenv *env, const struct route_table *rt)
{
	struct ipset udr = { 0 };
	for (size_t i = 0; i < rt->n; i++)
		if (route_add_addresses(&rt->routes[i], &udr) < 0) {
			ipset_free(&udr);
			return -1;
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

/* Topology parsing and validation. */
#include "realize/topology.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonin.h"
#include "model/storagefw.h"

static const char *const roles[] = { "node", "sqlmgmt", "corpsaw", "corppublic", "internet", "storage", "service", "app", "nva" };

const char *role_name(enum role r)
{
	return roles[r];
}

const struct lab_host *lab_host(const struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->nhosts; i++)
		if (!strcmp(lab->hosts[i].name, name))
			return &lab->hosts[i];
	return NULL;
}

void lab_free(struct lab *lab)
{
	nsg_free(&lab->nsg);
	if (lab->env)
		netenv_free(lab->env);
	free(lab->env);
	rt_free(&lab->rt);
	tagdb_free(&lab->tags);
	json_decref(lab->tags_json);
	json_decref(lab->nsg_json);
	json_decref(lab->routes_json);
	for (size_t i = 0; lab->hosts && i < lab->nhosts; i++)
		json_decref(lab->hosts[i].network_rule_set);
	free(lab->hosts);
	free(lab->name);
	free(lab->region);
	free(lab->pair);
	free(lab->vnet_csv);
	free(lab->instance);
	free(lab->dns_zone);
	free(lab->virtual_cluster);
	memset(lab, 0, sizeof(*lab));
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static int ipv4(json_t *o, const char *key, u128 *out, struct diag *d)
{
	const char *s = NULL;
	char p[64];
	if (jsonin_str(o, "", key, &s, d) <= 0) {
		if (!s)
			diag_err(d, key, "missing: an IPv4 address");
		return -1;
	}
	if (addr_parse(s, out) < 0 || !addr_is_v4(*out)) {
		diag_err(d, jsonin_path(p, sizeof(p), "", key), "'%s' is not an IPv4 address", s);
		return -1;
	}
	return 0;
}

/* A part given inline (an object) or as a file path relative to the topology file. */
static json_t *part(json_t *root, const char *key, const char *file, struct diag *d)
{
	json_t *v = json_object_get(root, key);
	if (json_is_object(v))
		return json_incref(v);
	if (!json_is_string(v)) {
		diag_err(d, key, v ? "expected an object or a file name, found %s" : "missing%s", v ? jsonin_typename(v) : "");
		return NULL;
	}
	char *copy = strdup(file ? file : "."), path[4096];
	const char *name = json_string_value(v);
	snprintf(path, sizeof(path), "%s/%s", name[0] == '/' ? "" : dirname(copy), name);
	free(copy);
	struct diag sub = { .out = d->out, .file = path };
	json_t *j = jsonin_load_file(name[0] == '/' ? name : path, 64u << 20, &sub);
	d->errors += sub.errors;
	return j;
}

static int parse_hosts(struct lab *lab, json_t *root, size_t nodes, struct diag *d)
{
	json_t *hosts = NULL, *h;
	size_t i;
	char p[64];
	if (jsonin_arr(root, "", "hosts", &hosts, d) < 0)
		return -1;
	size_t n = nodes + (hosts ? json_array_size(hosts) : 0);
	if (!(lab->hosts = calloc(n, sizeof(*lab->hosts))))
		return -1;
	u128 base = lab->subnet.lo + 4; /* Azure keeps the first four addresses of a subnet */
	if (lab->subnet.hi - lab->subnet.lo < nodes + 4)
		diag_err(d, "nodes", "%zu nodes do not fit in the subnet (Azure reserves 5 of its addresses)", nodes);
	for (i = 0; i < nodes; i++) {
		struct lab_host *x = &lab->hosts[lab->nhosts++];
		snprintf(x->name, sizeof(x->name), "node%u", (unsigned)i % 1000);
		x->role = ROLE_NODE;
		x->addr = base + i;
	}
	lab->nnodes = nodes;
	json_array_foreach(hosts, i, h) {
		const char *name = NULL, *role = NULL, *addr = NULL;
		jsonin_index(p, sizeof(p), "hosts", i);
		if (!json_is_object(h)) {
			diag_err(d, p, "expected an object");
			continue;
		}
		struct lab_host *x = &lab->hosts[lab->nhosts];
		jsonin_str(h, p, "name", &name, d);
		jsonin_str(h, p, "role", &role, d);
		jsonin_str(h, p, "address", &addr, d);
		if (!name || !role || !addr) {
			diag_err(d, p, "needs name, role and address");
			continue;
		}
		if (!name_ok(name, HOST_NAME_MAX_LEN) || !strcmp(name, "fabric") || !strcmp(name, "lo") ||
		    !strncmp(name, "node", 4)) {
			diag_err(d, p, "name '%s': 1-15 of a-z, 0-9, '-'; not 'fabric' or 'lo', not beginning with 'node'",
				 name);
			continue;
		}
		size_t r;
		for (r = 1; r < sizeof(roles) / sizeof(roles[0]) && strcmp(role, roles[r]); r++)
			;
		if (r == sizeof(roles) / sizeof(roles[0])) {
			diag_err(d, p, "role '%s' is not one of sqlmgmt, corpsaw, corppublic, internet, storage, service, app, nva", role);
			continue;
		}
		if (addr_parse(addr, &x->addr) < 0 || !addr_is_v4(x->addr)) {
			diag_err(d, p, "address '%s' is not an IPv4 address", addr);
			continue;
		}
		snprintf(x->name, sizeof(x->name), "%s", name);
		x->role = (enum role)r;
		json_t *rs = json_object_get(h, "networkRuleSet");
		if (rs) { /* a storage account's firewall, in any shape storagefw.h reads (realize/storage.h) */
			struct storagefw fw;
			char where[600];
			const char *rp;
			snprintf(where, sizeof(where), "%s: %s.networkRuleSet", d->file ? d->file : "topology", p);
			struct diag hd = { .out = d->out, .file = where };
			if (x->role != ROLE_STORAGE)
				diag_err(d, p, "networkRuleSet: only a storage host has one");
			else if (sfw_load_json(&fw, rs, name, &hd) == 0)
				sfw_free(&fw);
			d->errors += hd.errors;
			x->network_rule_set = json_incref(sfw_find_ruleset(rs, &rp));
		}
		bool in_vnet = ipset_contains(&lab->env->vnet_set, x->addr);
		bool in_subnet = x->addr >= lab->subnet.lo && x->addr <= lab->subnet.hi;
		if (role_public(x->role) ? in_vnet : (!in_vnet || in_subnet))
			diag_err(d, p, "address %s: a %s host must be %s", addr, role,
				 role_public(x->role) ? "outside the virtual network" : "in the virtual network, outside the MI subnet");
		for (size_t k = 0; k < lab->nhosts; k++)
			if (!strcmp(lab->hosts[k].name, x->name) || lab->hosts[k].addr == x->addr)
				diag_err(d, p, "name or address also used by host '%s'", lab->hosts[k].name);
		lab->nhosts++;
	}
	return 0;
}

int lab_load(struct lab *lab, const char *text, size_t len, const char *file, const char *name, struct diag *d)
{
	int before = d->errors;
	const char *s = NULL, *saved = d->file;
	json_t *root, *v;
	long long nodes = 2;
	char p[64];

	memset(lab, 0, sizeof(*lab));
	d->file = file;
	if (!(root = jsonin_load_buf(text, len, d)))
		goto out;
	if (!name && jsonin_str(root, "", "name", &s, d) > 0)
		name = s;
	if (!name_ok(name ? name : "mi", LAB_NAME_MAX))
		diag_err(d, "name", "'%s': 1-%d of a-z, 0-9, '-'", name ? name : "", LAB_NAME_MAX);
	lab->name = strdup(name ? name : "mi");
	const char *region = NULL, *pair = NULL;
	if (jsonin_str(root, "", "region", &region, d) == 0 || jsonin_str(root, "", "pair", &pair, d) == 0)
		diag_err(d, NULL, "region and pair are required");
	lab->region = strdup(region ? region : "");
	lab->pair = strdup(pair ? pair : "");
	json_t *vnet = NULL;
	if (jsonin_arr(root, "", "vnet", &vnet, d) == 0)
		diag_err(d, "vnet", "missing: the virtual network's address ranges");
	size_t i;
	size_t cap = 1;
	json_array_foreach(vnet, i, v)
		cap += (json_is_string(v) ? strlen(json_string_value(v)) : 0) + 1;
	lab->vnet_csv = calloc(1, cap);
	json_array_foreach(vnet, i, v) {
		if (!json_is_string(v)) {
			diag_err(d, jsonin_index(p, sizeof(p), "vnet", i), "expected a string");
			continue;
		}
		if (i)
			strcat(lab->vnet_csv, ",");
		strcat(lab->vnet_csv, json_string_value(v));
	}
	const char *why;
	if (jsonin_str(root, "", "subnet", &s, d) <= 0 || cidr_parse(s, &lab->subnet, &why) < 0 || !lab->subnet.v4)
		diag_err(d, "subnet", "missing or not an IPv4 prefix");
	if (jsonin_int(root, "", "nodes", &nodes, d) >= 0 && (nodes < 1 || nodes > LAB_MAX_NODES))
		diag_err(d, "nodes", "%lld is outside 1-%d", nodes, LAB_MAX_NODES);
	ipv4(root, "managementIp", &lab->mgmt_ip, d);
	ipv4(root, "hostVip", &lab->host_vip, d);
	long long interval = 1000, threshold = 3, port = 9000;
	json_t *probe = json_object_get(root, "probe");
	if (probe) {
		jsonin_int(probe, "probe", "intervalMs", &interval, d);
		jsonin_int(probe, "probe", "threshold", &threshold, d);
		jsonin_int(probe, "probe", "port", &port, d);
	}
	/* Azure probes every 15 s by default and no faster than every 5 s; the lab may probe faster. */
	if (interval < 100 || interval > 60000 || threshold < 1 || threshold > 100 || port < 1 || port > 65535)
		diag_err(d, "probe", "intervalMs 100-60000, threshold 1-100, port 1-65535");
	/* The instance and its DNS names; defaults follow the seed's examples. */
	const char *inst = "mi-demo", *zone = "wcus17662feb9ce98", *vc = "tr1", *dns = "198.18.0.53";
	json_t *in = json_object_get(root, "instance");
	if (in) {
		jsonin_str(in, "instance", "name", &inst, d);
		jsonin_str(in, "instance", "dnsZone", &zone, d);
		jsonin_str(in, "instance", "virtualCluster", &vc, d);
		jsonin_str(in, "instance", "dnsAddress", &dns, d);
	}
	if (!name_ok(inst, 63) || !name_ok(zone, 63) || !name_ok(vc, 63))
		diag_err(d, "instance", "name, dnsZone and virtualCluster are DNS labels (a-z, 0-9, '-')");
	if (addr_parse(dns, &lab->dns_addr) < 0 || !addr_is_v4(lab->dns_addr))
		diag_err(d, "instance.dnsAddress", "'%s' is not an IPv4 address", dns);
	lab->instance = strdup(inst);
	lab->dns_zone = strdup(zone);
	lab->virtual_cluster = strdup(vc);
	lab->probe_interval_ms = (int)interval;
	lab->probe_threshold = (int)threshold;
	lab->probe_port = (int)port;
	if (d->errors != before)
		goto out;

	/* The policy: tags, route table, address world, NSG. */
	lab->tags_json = part(root, "tags", file, d);
	lab->routes_json = part(root, "routes", file, d);
	lab->nsg_json = part(root, "nsg", file, d);
	if (d->errors != before)
		goto out;
	if (!(lab->env = calloc(1, sizeof(*lab->env))))
		goto out;
	if (tagdb_load_json(&lab->tags, lab->tags_json, "tags", d) < 0 ||
	    rt_load_json(&lab->rt, lab->routes_json, "routes", &lab->tags, d) < 0 ||
	    netenv_init(lab->env, &lab->tags, lab->vnet_csv, d) < 0 || netenv_set_host_vip(lab->env, lab->host_vip) < 0 ||
	    netenv_add_routes(lab->env, &lab->rt) < 0 || nsg_load_json(&lab->nsg, lab->nsg_json, "nsg", lab->env, d) < 0)
		goto out;
	struct ipset sub = { 0 };
	ipset_add_cidr(&sub, &lab->subnet);
	if (!ipset_is_subset(&sub, &lab->env->vnet_set))
		diag_err(d, "subnet", "not inside the virtual network");
	ipset_free(&sub);
	static const char *const needed[] = { "SqlManagement", "CorpNetSaw", "CorpNetPublic" };
	for (i = 0; i < 3; i++)
		if (!tagdb_find(&lab->tags, needed[i]))
			diag_err(d, "tags", "the built-in firewall needs tag %s", needed[i]);
	snprintf(p, sizeof(p), "AzureCloud.%s", lab->region);
	if (!tagdb_find(&lab->tags, p))
		diag_err(d, "tags", "outbound NAT needs tag %s (the instance's region)", p);
	parse_hosts(lab, root, (size_t)nodes, d);
out:
	json_decref(root);
	d->file = saved;
	if (d->errors != before) {
		lab_free(lab);
		return -1;
	}
	return 0;
}

const char *lab_dns_name(const struct lab *lab, enum lab_dns_name which, char *buf, size_t n)
{
	switch (which) {
	case DNS_FQDN:
		snprintf(buf, n, "%s.%s.database.windows.net", lab->instance, lab->dns_zone);
		break;
	case DNS_WORKER_VNET:
	case DNS_WORKER:
		snprintf(buf, n, "%s.%s-a.worker.%sdatabase.windows.net", lab->virtual_cluster, lab->region,
			 which == DNS_WORKER_VNET ? "vnet." : "");
		break;
	case DNS_PUBLIC:
		snprintf(buf, n, "%s.public.%s.database.windows.net", lab->instance, lab->dns_zone);
		break;
	}
	return buf;
}

int lab_set_nsg(struct lab *lab, json_t *nsg, const char *file, struct diag *d)
{
	struct nsg g;
	if (nsg_load_json(&g, nsg, file, lab->env, d) < 0)
		return -1;
	nsg_free(&lab->nsg);
	lab->nsg = g;
	json_decref(lab->nsg_json);
	lab->nsg_json = json_incref(nsg);
	return 0;
}

int lab_set_routes(struct lab *lab, json_t *routes, const char *file, struct diag *d)
{
	struct route_table rt;
	struct netenv *env = calloc(1, sizeof(*env));
	struct nsg g;
	if (!env)
		return -1;
	if (rt_load_json(&rt, routes, file, &lab->tags, d) < 0) {
		free(env);
		return -1;
	}
	if (netenv_init(env, &lab->tags, lab->vnet_csv, d) < 0 || netenv_set_host_vip(env, lab->host_vip) < 0 ||
	    netenv_add_routes(env, &rt) < 0 || nsg_load_json(&g, lab->nsg_json, "nsg", env, d) < 0) {
		netenv_free(env);
		free(env);
		rt_free(&rt);
		return -1;
	}
	/* The NSG points into env: swap all three together. */
	nsg_free(&lab->nsg);
	netenv_free(lab->env);
	free(lab->env);
	rt_free(&lab->rt);
	lab->rt = rt;
	lab->env = env;
	lab->nsg = g;
	json_decref(lab->routes_json);
	lab->routes_json = json_incref(routes);
	return 0;
}

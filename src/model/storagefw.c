/* A storage account's network rule set: parse, validate, evaluate (storagefw.h has the sources). */
#include "model/storagefw.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/jsonin.h"

static char *dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool sfw_same_region(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++, b++;
	}
}

/* "Allow" (the only action of a rule), case-insensitively as ARM takes enums; absent means Allow. */
static void check_action(json_t *rule, const char *path, struct diag *d)
{
	const char *a = NULL;
	if (jsonin_str(rule, path, "action", &a, d) == 1 && strcasecmp(a, "Allow")) {
		char p[512];
		diag_err(d, jsonin_path(p, sizeof(p), path, "action"), "'%s': a network rule's action can only be Allow", a);
	}
}

/* One of two spellings of a member: REST's (`value`, `id`) or the one `az` prints (`ipAddressOrRange`,
 * `virtualNetworkResourceId`). */
static const char *either(json_t *o, const char *path, const char *k1, const char *k2, struct diag *d)
{
	const char *v1 = NULL, *v2 = NULL;
	int r1 = jsonin_str(o, path, k1, &v1, d), r2 = jsonin_str(o, path, k2, &v2, d);
	char p[512];
	if (r1 < 0 || r2 < 0)
		return NULL;
	if (r1 == 1 && r2 == 1 && strcmp(v1, v2)) {
		diag_err(d, path, "%s '%s' and %s '%s' disagree", k1, v1, k2, v2);
		return NULL;
	}
	if (r1 == 0 && r2 == 0) {
		diag_err(d, jsonin_path(p, sizeof(p), path, k2), "missing (or %s)", k1);
		return NULL;
	}
	return r1 == 1 ? v1 : v2;
}

static void ip_rule(struct storagefw *fw, json_t *r, const char *path, struct diag *d)
{
	int before = d->errors;
	if (!json_is_object(r)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(r));
		return;
	}
	check_action(r, path, d);
	const char *v = either(r, path, "value", "ipAddressOrRange", d), *why;
	struct cidr c;
	if (!v)
		return;
	if (cidr_parse(v, &c, &why) < 0) {
		diag_err(d, path, "'%s': %s", v, why);
		return;
	}
	if (!c.v4) {
		diag_err(d, path, "'%s': IP network rules take IPv4 addresses only", v);
		return;
	}
	if (strchr(v, '/') && c.len >= 31) {
		diag_err(d, path, "'%s': /31 and /32 ranges are not supported; write the address alone", v);
		return;
	}
	static const char *const private[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16" };
	for (size_t i = 0; i < 3; i++) {
		struct cidr p;
		cidr_parse(private[i], &p, &why);
		if (c.lo <= p.hi && p.lo <= c.hi) {
			diag_err(d, path, "'%s': private addresses (%s) are not allowed in IP network rules; "
					  "use a virtual network rule", v, private[i]);
			return;
		}
	}
	if (d->errors != before)
		return;
	fw->ip[fw->nip++] = (struct sfw_ip_rule){ c, dup(v), dup(path) };
}

static void vnet_rule(struct storagefw *fw, json_t *r, const char *path, struct diag *d)
{
	int before = d->errors;
	const char *state = "Succeeded";
	if (!json_is_object(r)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(r));
		return;
	}
	check_action(r, path, d);
	jsonin_str(r, path, "state", &state, d);
	const char *id = either(r, path, "id", "virtualNetworkResourceId", d);
	if (!id)
		return;
	if (!strcasestr(id, "/providers/Microsoft.Network/virtualNetworks/") || !strcasestr(id, "/subnets/")) {
		char p[512];
		diag_err(d, jsonin_path(p, sizeof(p), path, json_object_get(r, "id") ? "id" : "virtualNetworkResourceId"),
			 "'%s': not a subnet's resource id (…/providers/Microsoft.Network/virtualNetworks/V/subnets/S)", id);
		return;
	}
	if (d->errors != before)
		return;
	fw->vnet[fw->nvnet++] = (struct sfw_vnet_rule){ dup(id), dup(state), dup(path) };
}

json_t *sfw_find_ruleset(json_t *root, const char **path)
{
	if (!json_is_object(root))
		return NULL;
	json_t *v = json_object_get(root, "networkRuleSet");
	if (v) {
		*path = "networkRuleSet";
		return v;
	}
	json_t *props = json_object_get(root, "properties");
	if (json_is_object(props) && (v = json_object_get(props, "networkAcls"))) {
		*path = "properties.networkAcls";
		return v;
	}
	if (json_object_get(root, "defaultAction") || json_object_get(root, "ipRules") ||
	    json_object_get(root, "virtualNetworkRules")) {
		*path = "";
		return root;
	}
	return NULL;
}

int sfw_load_json(struct storagefw *fw, json_t *root, const char *file, struct diag *d)
{
	int before = d->errors;
	const char *path = "", *s;
	char p[512];
	memset(fw, 0, sizeof(*fw));
	if (!json_is_object(root)) {
		diag_err(d, "", "expected a storage account (an object), found %s", jsonin_typename(root));
		return -1;
	}
	json_t *rs = sfw_find_ruleset(root, &path);
	if (!rs || json_is_null(rs)) {
		diag_err(d, rs ? path : "", "no network rule set: expected `az storage account show` output (networkRuleSet), "
				"its networkRuleSet alone, or an ARM storage account (properties.networkAcls)");
		return -1;
	}
	if (!json_is_object(rs)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(rs));
		return -1;
	}
	fw->file = dup(file);
	if (rs != root && jsonin_str(root, "", "name", &s, d) == 1)
		fw->name = dup(s);
	if (rs != root && (jsonin_str(root, "", "primaryLocation", &s, d) == 1 ||
			   jsonin_str(root, "", "location", &s, d) == 1))
		fw->location = dup(s);
	const char *base = strrchr(file, '/');
	if (!fw->name)
		fw->name = dup(base ? base + 1 : file);

	const char *da = NULL;
	int r = jsonin_str(rs, path, "defaultAction", &da, d);
	if (r == 0)
		diag_err(d, jsonin_path(p, sizeof(p), path, "defaultAction"), "missing (Allow or Deny)");
	else if (r == 1 && strcasecmp(da, "Allow") && strcasecmp(da, "Deny"))
		diag_err(d, jsonin_path(p, sizeof(p), path, "defaultAction"), "'%s': want Allow or Deny", da);
	else if (r == 1)
		fw->default_allow = !strcasecmp(da, "Allow");
	const char *bypass = "AzureServices";
	jsonin_str(rs, path, "bypass", &bypass, d);
	fw->bypass = dup(bypass);

	json_t *ips = NULL, *vnets = NULL, *e;
	size_t i;
	jsonin_arr(rs, path, "ipRules", &ips, d);
	jsonin_arr(rs, path, "virtualNetworkRules", &vnets, d);
	if (json_array_size(ips) > SFW_MAX_IP_RULES)
		diag_err(d, jsonin_path(p, sizeof(p), path, "ipRules"), "%zu rules: Azure allows at most %d",
			 json_array_size(ips), SFW_MAX_IP_RULES);
	if (json_array_size(vnets) > SFW_MAX_VNET_RULES)
		diag_err(d, jsonin_path(p, sizeof(p), path, "virtualNetworkRules"), "%zu rules: Azure allows at most %d",
			 json_array_size(vnets), SFW_MAX_VNET_RULES);
	fw->ip = calloc(json_array_size(ips) + 1, sizeof(*fw->ip));
	fw->vnet = calloc(json_array_size(vnets) + 1, sizeof(*fw->vnet));
	if (!fw->ip || !fw->vnet) {
		diag_oom(d, path);
		goto out;
	}
	char q[512], rp[560];
	jsonin_path(q, sizeof(q), path, "ipRules");
	json_array_foreach(ips, i, e)
		ip_rule(fw, e, jsonin_index(rp, sizeof(rp), q, i), d);
	jsonin_path(q, sizeof(q), path, "virtualNetworkRules");
	json_array_foreach(vnets, i, e)
		vnet_rule(fw, e, jsonin_index(rp, sizeof(rp), q, i), d);
out:
	if (d->errors != before) {
		sfw_free(fw);
		return -1;
	}
	return 0;
}

int sfw_load_file(struct storagefw *fw, const char *path, struct diag *d)
{
	struct diag fd = { .out = d->out, .file = path };
	json_t *root = jsonin_load_file(path, SFW_MAX_BYTES, &fd);
	int r = root ? sfw_load_json(fw, root, path, &fd) : -1;
	json_decref(root);
	d->errors += fd.errors;
	if (!root)
		memset(fw, 0, sizeof(*fw));
	return r;
}

void sfw_free(struct storagefw *fw)
{
	for (size_t i = 0; i < fw->nip; i++) {
		free(fw->ip[i].text);
		free(fw->ip[i].json_path);
	}
	for (size_t i = 0; i < fw->nvnet; i++) {
		free(fw->vnet[i].id);
		free(fw->vnet[i].state);
		free(fw->vnet[i].json_path);
	}
	free(fw->ip);
	free(fw->vnet);
	free(fw->name);
	free(fw->file);
	free(fw->location);
	free(fw->bypass);
	memset(fw, 0, sizeof(*fw));
}

void sfw_evaluate(const struct storagefw *fw, const struct sfw_request *rq, struct sfw_verdict *v)
{
	*v = (struct sfw_verdict){ .allow = fw->default_allow, .by = SFW_BY_DEFAULT, .rule_index = -1 };
	if (rq->same_region) {
		/* "IP network rules have no effect on requests that originate from the same Azure region as the
		 * storage account" (storage-network-security): only virtual network rules can match. */
		v->ip_rules_skipped = true;
		for (size_t i = 0; rq->subnet_id && i < fw->nvnet; i++)
			/* Resource ids compare case-insensitively, as ARM's do. Only a rule in state Succeeded is in
			 * force ([inference]: NetworkSourceDeleted and the provisioning states match nothing). */
			if (!strcasecmp(fw->vnet[i].id, rq->subnet_id) && !strcasecmp(fw->vnet[i].state, "Succeeded")) {
				*v = (struct sfw_verdict){ true, SFW_BY_VNET_RULE, (int)i, true };
				return;
			}
		return;
	}
	/* From another region the request arrives from a public address: IP rules match it; a virtual network rule
	 * does not ([inference]: the lab models no service endpoint reaching the paired region). */
	for (size_t i = 0; i < fw->nip; i++)
		if (fw->ip[i].cidr.lo <= rq->src && rq->src <= fw->ip[i].cidr.hi) {
			*v = (struct sfw_verdict){ true, SFW_BY_IP_RULE, (int)i, false };
			return;
		}
}

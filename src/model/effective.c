/* Reading effective security rules and effective routes (effective.h). */
#include "model/effective.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/jsonin.h"

#define P 512 /* path buffers */
#define EFFECTIVE_MAX_RULES 4096 /* per level: 1,000 user rules, the defaults and room for what Azure adds */

/* A member by name, as az and the REST API spell it (camelCase) or as PowerShell's ConvertTo-Json does (PascalCase);
 * NULL when absent or null. *found gets the key as the file spells it, for paths. Two hash lookups: no scan. */
static json_t *jget(json_t *o, const char *key, const char **found)
{
	char pascal[64];
	const char *k = key;
	json_t *v = json_object_get(o, key);
	size_t n = strlen(key);
	if (!v && n < sizeof(pascal) && islower((unsigned char)key[0])) {
		memcpy(pascal, key, n + 1);
		pascal[0] = (char)toupper((unsigned char)key[0]);
		if ((v = json_object_get(o, pascal)))
			k = json_object_iter_key(json_object_key_to_iter(pascal));
	}
	if (found)
		*found = k;
	return v && !json_is_null(v) ? v : NULL;
}

/* A path for reports: the place in the user's file when the data was converted (diag.map_path). */
static char *user_path(const struct diag *d, const char *path)
{
	char buf[1024];
	return strdup(d->map_path ? d->map_path(d->map_ctx, path, buf, sizeof(buf)) : path);
}

static const char *at(char *buf, const char *base, const char *key)
{
	return jsonin_path(buf, P, base, key);
}

/* Typed members: 1 found, 0 absent (or null), -1 wrong type (reported). */
static int get_typed(json_t *o, const char *base, const char *key, json_type t, const char *want, json_t **out,
		     struct diag *d)
{
	const char *k;
	char p[P];
	json_t *v = jget(o, key, &k);
	*out = NULL;
	if (!v)
		return 0;
	if (json_typeof(v) != t && !(t == JSON_INTEGER && json_is_integer(v))) {
		diag_err(d, at(p, base, k), "expected %s, found %s", want, jsonin_typename(v));
		return -1;
	}
	*out = v;
	return 1;
}

static int get_str(json_t *o, const char *base, const char *key, const char **out, struct diag *d)
{
	json_t *v;
	int r = get_typed(o, base, key, JSON_STRING, "a string", &v, d);
	*out = r > 0 ? json_string_value(v) : NULL;
	return r;
}

static int get_arr(json_t *o, const char *base, const char *key, json_t **out, struct diag *d)
{
	return get_typed(o, base, key, JSON_ARRAY, "an array", out, d);
}

static void missing(struct diag *d, const char *base, const char *key)
{
	char p[P];
	diag_err(d, at(p, base, key), "missing");
}

json_t *effective_body(json_t *root)
{
	json_t *r = jget(root, "responses", NULL), *ok = r ? jget(r, "200", NULL) : NULL;
	json_t *body = ok ? jget(ok, "body", NULL) : NULL;
	return body ? body : root;
}

/* The entries of a list: {"value":[…]}, a bare array, or (one entry) an object holding `key`. */
static json_t *entries(json_t *body, const char *key, bool *single)
{
	json_t *v = jget(body, "value", NULL);
	*single = false;
	if (json_is_array(v))
		return v;
	if (json_is_array(body))
		return body;
	if (json_is_object(body) && jget(body, key, NULL)) {
		*single = true;
		return body;
	}
	return NULL;
}

static json_t *first(json_t *list, bool single)
{
	return single ? list : json_array_get(list, 0);
}

bool effective_nsg_shape(json_t *root)
{
	bool single;
	json_t *list = entries(effective_body(root), "effectiveSecurityRules", &single);
	json_t *e = list ? first(list, single) : NULL;
	return json_is_object(e) && jget(e, "effectiveSecurityRules", NULL);
}

bool effective_routes_shape(json_t *root)
{
	bool single;
	json_t *list = entries(effective_body(root), "nextHopType", &single);
	json_t *e = list && !single ? json_array_get(list, 0) : NULL;
	return json_is_object(e) && jget(e, "nextHopType", NULL) &&
	       (jget(e, "source", NULL) || json_is_array(jget(e, "addressPrefix", NULL)));
}

/* The path of the list and of the body, for errors. */
static void list_base(json_t *root, json_t *body, json_t *list, bool single, char *out)
{
	const char *b = body != root ? "responses.200.body" : "";
	if (single || list == body)
		snprintf(out, P, "%s", b);
	else
		jsonin_path(out, P, b, "value");
}

/* ---- effective security rules ---- */

static bool looks_like_address(const char *s)
{
	return strpbrk(s, "/:") || isdigit((unsigned char)s[0]);
}

/* Add the prefixes a tag's tagMap entry lists (Azure's own expansion). 1 done, 0 not in the map, -1 error. */
static int from_tag_map(json_t *tm, const char *tag, const char *path, struct ipset *s, struct diag *d)
{
	json_t *l = jget(tm, tag, NULL), *v;
	size_t i;
	if (!json_is_array(l))
		return 0;
	json_array_foreach(l, i, v) {
		struct cidr c;
		const char *why, *t = json_string_value(v);
		if (!t || cidr_parse(t, &c, &why) < 0) {
			diag_err(d, path, "tagMap entry '%s' [%zu]: %s", tag, i, t ? why : "expected a string");
			return -1;
		}
		if (ipset_add_cidr(s, &c) < 0)
			return -1;
	}
	return 1;
}

/* One address or tag of a rule into f->own (or, for a lone tag minet knows, f->set = the tag's set). */
static int one_address(const char *s, const char *path, json_t *tm, const struct netenv *env, struct addr_field *f,
		       bool lone, struct diag *d)
{
	struct cidr c;
	const char *why, *canon;
	/* [inference] The listing writes a rule's "*" as 0.0.0.0/0 (the REST example's AllowInternetOutBound source,
	 * default-allow-rdp's destination): it stands for every address, IPv6 too. */
	if (!strcmp(s, "0.0.0.0/0"))
		s = "*";
	if (cidr_parse(s, &c, &why) == 0)
		return ipset_add_cidr(&f->own, &c) < 0 ? -1 : 0;
	if (looks_like_address(s)) {
		diag_err(d, path, "'%s': %s", s, why);
		return -1;
	}
	int r = from_tag_map(tm, s, path, &f->own, d);
	if (r)
		return r < 0 ? -1 : 0;
	const struct ipset *set = netenv_tag(env, s, &canon);
	if (!set) {
		diag_err(d, path, "unknown service tag '%s' (not expanded in the file, not in its tagMap, not built in "
			 "and not in any --tags file)", s);
		return -1;
	}
	if (lone) {
		f->set = set;
		f->is_tag = true;
		return 0;
	}
	for (size_t i = 0; i < set->n; i++)
		if (ipset_add_range(&f->own, set->r[i].lo, set->r[i].hi) < 0)
			return -1;
	return 0;
}

/* A field's single form (one_key) and list form (many_key), each NULL when absent or empty. 0, or -1 when either
 * has the wrong type (reported). */
static int one_or_many(json_t *r, const char *base, const char *one_key, const char *many_key, const char **one,
		       json_t **many, struct diag *d)
{
	int before = d->errors;
	get_arr(r, base, many_key, many, d);
	get_str(r, base, one_key, one, d);
	if (d->errors != before)
		return -1;
	if (*one && !**one)
		*one = NULL;
	if (*many && !json_array_size(*many))
		*many = NULL;
	return 0;
}

/* An address side: Azure's expansion when it gave one, else the prefixes, else the prefix. The text shown is
 * what the rule says ("Internet", "10.0.0.0/24, 10.1.0.0/24"), not the expansion. */
static int eff_addr(json_t *r, const char *base, const char *expanded_key, const char *many_key, const char *one_key,
		    json_t *tm, const struct netenv *env, struct addr_field *f, struct diag *d)
{
	char p[P], ip[P + 24];
	const char *one = NULL;
	json_t *exp = NULL, *many = NULL, *v;
	size_t i;
	int before = d->errors;

	get_arr(r, base, expanded_key, &exp, d);
	if (one_or_many(r, base, one_key, many_key, &one, &many, d) < 0 || d->errors != before)
		return -1;
	if (exp && !json_array_size(exp))
		exp = NULL;
	if (!one && !many && !exp) {
		diag_err(d, at(p, base, one_key), "missing (and %s and %s are empty)", many_key, expanded_key);
		return -1;
	}
	if (one) {
		f->text = strdup(one);
	} else if (many) {
		json_array_foreach(many, i, v)
			if (json_is_string(v) && !(f->text = nsg_text_join(f->text, json_string_value(v))))
				break;
	} else {
		f->text = strdup("(Azure's expansion)");
	}
	if (f->text && exp && (one || many)) { /* say that Azure's expansion is what is matched */
		char note[64];
		snprintf(note, sizeof(note), " (as Azure expanded it: %zu prefixes)", json_array_size(exp));
		char *t = realloc(f->text, strlen(f->text) + strlen(note) + 1);
		if (t)
			strcat(t, note);
		else
			free(f->text);
		f->text = t;
	}
	if (!f->text)
		goto oom;
	f->set = &f->own;
	if (exp || many) {
		const char *k;
		jget(r, exp ? expanded_key : many_key, &k);
		at(p, base, k);
		json_array_foreach(exp ? exp : many, i, v) {
			const char *s = json_string_value(v);
			jsonin_index(ip, sizeof(ip), p, i);
			if (!s)
				diag_err(d, ip, "expected a string, found %s", jsonin_typename(v));
			else if (exp && strcmp(s, "0.0.0.0/0") && cidr_parse(s, &(struct cidr){ 0 }, &(const char *){ NULL }) < 0)
				diag_err(d, ip, "'%s': not an IP address or CIDR prefix", s);
			else if (one_address(s, ip, tm, env, f, false, d) < 0 && d->errors == before)
				goto oom;
		}
	} else {
		const char *k;
		jget(r, one_key, &k);
		if (one_address(one, at(p, base, k), tm, env, f, true, d) < 0 && d->errors == before)
			goto oom;
	}
	ipset_normalize(&f->own);
	return d->errors != before ? -1 : 0;
oom:
	diag_oom(d, base);
	return -1;
}

static int eff_ports(json_t *r, const char *base, const char *one_key, const char *many_key, struct port_field *f,
		     struct diag *d)
{
	char p[P], mp[P];
	const char *one = NULL, *k1 = one_key, *k2 = many_key;
	json_t *many = NULL;

	if (one_or_many(r, base, one_key, many_key, &one, &many, d) < 0)
		return -1;
	if (!one && !many) {
		diag_err(d, at(p, base, one_key), "missing (and %s is empty)", many_key);
		return -1;
	}
	/* The list when there is one: Azure prints both, the single field holding only the first range. */
	jget(r, one_key, &k1);
	jget(r, many_key, &k2);
	return port_field_parse(f, many ? NULL : one, at(p, base, k1), many, at(mp, base, k2), d);
}

static int eff_rule(json_t *e, const char *path, json_t *tm, const struct netenv *env, struct nsg_rule *r,
		    struct diag *d)
{
	char p[P];
	const char *name = NULL, *proto = NULL, *access = NULL, *dir = NULL, *k;
	json_t *prio;
	int before = d->errors;

	*r = (struct nsg_rule){ 0 };
	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (get_str(e, path, "name", &name, d) == 0)
		missing(d, path, "name");
	if (get_str(e, path, "protocol", &proto, d) == 0)
		missing(d, path, "protocol");
	else if (proto && strcasecmp(proto, "All") && proto_parse(proto, &r->proto) < 0)
		diag_err(d, at(p, path, (jget(e, "protocol", &k), k)), "'%s' is not one of Tcp, Udp, Icmp, Esp, Ah, All, *",
			 proto);
	if (proto && !strcasecmp(proto, "All"))
		r->proto = PROTO_ANY;
	if (get_str(e, path, "access", &access, d) == 0)
		missing(d, path, "access");
	else if (access && strcasecmp(access, "Allow") && strcasecmp(access, "Deny"))
		diag_err(d, at(p, path, (jget(e, "access", &k), k)), "'%s' is not Allow or Deny", access);
	if (get_str(e, path, "direction", &dir, d) == 0)
		missing(d, path, "direction");
	else if (dir && strcasecmp(dir, "Inbound") && strcasecmp(dir, "Outbound"))
		diag_err(d, at(p, path, (jget(e, "direction", &k), k)), "'%s' is not Inbound or Outbound", dir);
	int hp = get_typed(e, path, "priority", JSON_INTEGER, "an integer", &prio, d);
	if (hp == 0)
		missing(d, path, "priority");
	else if (hp > 0 && (json_integer_value(prio) < 0 || json_integer_value(prio) > 65535))
		diag_err(d, at(p, path, (jget(e, "priority", &k), k)), "%lld is outside 0-65535",
			 (long long)json_integer_value(prio));
	eff_addr(e, path, "expandedSourceAddressPrefix", "sourceAddressPrefixes", "sourceAddressPrefix", tm, env,
		 &r->src, d);
	eff_addr(e, path, "expandedDestinationAddressPrefix", "destinationAddressPrefixes", "destinationAddressPrefix",
		 tm, env, &r->dst, d);
	eff_ports(e, path, "sourcePortRange", "sourcePortRanges", &r->sport, d);
	eff_ports(e, path, "destinationPortRange", "destinationPortRanges", &r->dport, d);
	if (d->errors != before)
		return -1;
	/* "securityRules/AllowX", "defaultSecurityRules/DenyAllInBound": the rule's own name, marked default. */
	const char *slash = strrchr(name, '/');
	r->name = strdup(slash ? slash + 1 : name);
	r->json_path = user_path(d, path);
	r->priority = (int)json_integer_value(prio);
	r->dir = !strcasecmp(dir, "Outbound") ? DIR_OUT : DIR_IN;
	r->allow = !strcasecmp(access, "Allow");
	/* [inference] Network Watcher's older names (DefaultOutboundDenyAll, DefaultRule_AllowVnetOutBound) carry no
	 * prefix: the default rules are the ones at 65000 and above. */
	r->is_default = !strncasecmp(name, "defaultSecurityRules/", 21) || r->priority >= 65000;
	if (!r->name || !r->json_path) {
		diag_oom(d, path);
		return -1;
	}
	return 0;
}

struct level {
	struct nsg g;
	int kind; /* 0 subnet, 1 NIC, 2 either (the association names both) */
	size_t index;
};

/* Rules in evaluation order: direction, priority, then as listed (a stable sort by index). */
static const struct nsg_rule *sort_rules;

static int index_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct nsg_rule *x = &sort_rules[i], *y = &sort_rules[j];
	if (x->dir != y->dir)
		return (int)x->dir - (int)y->dir;
	if (x->priority != y->priority)
		return x->priority - y->priority;
	return i < j ? -1 : i > j;
}

static int order_rules(struct nsg *g)
{
	size_t *idx = malloc((g->n + 1) * sizeof(*idx));
	struct nsg_rule *out = malloc((g->n + 1) * sizeof(*out));
	if (!idx || !out) {
		free(idx);
		free(out);
		return -1;
	}
	for (size_t i = 0; i < g->n; i++)
		idx[i] = i;
	sort_rules = g->rules;
	qsort(idx, g->n, sizeof(*idx), index_cmp);
	for (size_t i = 0; i < g->n; i++)
		out[i] = g->rules[idx[i]];
	free(g->rules);
	free(idx);
	g->rules = out;
	return 0;
}

static const char *last_segment(const char *id)
{
	const char *s = strrchr(id, '/');
	return s && s[1] ? s + 1 : id;
}

static int eff_entry(json_t *e, const char *path, const char *file, const struct netenv *env, struct level *lv,
		     struct diag *d)
{
	char p[P], rp[P + 48], name[300];
	json_t *assoc = NULL, *rules = NULL, *tm, *owned_tm = NULL, *nsgref, *v;
	size_t i;
	int before = d->errors;

	*lv = (struct level){ .kind = -1 };
	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (get_typed(e, path, "association", JSON_OBJECT, "an object", &assoc, d) == 0)
		missing(d, path, "association");
	if (get_arr(e, path, "effectiveSecurityRules", &rules, d) == 0)
		missing(d, path, "effectiveSecurityRules");
	if (d->errors != before)
		return -1;
	json_t *sub = jget(assoc, "subnet", NULL), *nic = jget(assoc, "networkInterface", NULL);
	if (!sub && !nic) {
		diag_err(d, at(p, path, "association"), "names neither a subnet nor a networkInterface");
		return -1;
	}
	lv->kind = sub && nic ? 2 : nic ? 1 : 0;
	/* The tagMap: Azure's expansion of the tags the rules name, an object or (REST's declared type) a JSON
	 * string holding one. It is used for a tag whose rule carries no expanded list. */
	const char *k;
	tm = jget(e, "tagMap", &k);
	if (json_is_string(tm)) {
		json_error_t err;
		tm = owned_tm = *json_string_value(tm) ? json_loads(json_string_value(tm), 0, &err) : NULL;
		if (*json_string_value(jget(e, "tagMap", NULL)) && !tm) {
			diag_err(d, at(p, path, k), "a string that is not JSON: %s", err.text);
			return -1;
		}
	}
	if (tm && !json_is_object(tm)) {
		diag_err(d, at(p, path, k), "expected an object (tag: [prefixes]), found %s", jsonin_typename(tm));
		json_decref(owned_tm);
		return -1;
	}
	size_t n = json_array_size(rules);
	if (n > EFFECTIVE_MAX_RULES) {
		diag_err(d, at(p, path, "effectiveSecurityRules"), "%zu rules; at most %d are read", n,
			 EFFECTIVE_MAX_RULES);
		json_decref(owned_tm);
		return -1;
	}
	struct nsg *g = &lv->g;
	if (!(g->rules = calloc(n + NSG_NDEFAULT + 2, sizeof(*g->rules)))) {
		diag_oom(d, path);
		json_decref(owned_tm);
		return -1;
	}
	jget(e, "effectiveSecurityRules", &k);
	at(p, path, k);
	json_array_foreach(rules, i, v) {
		jsonin_index(rp, sizeof(rp), p, i);
		if (eff_rule(v, rp, tm, env, &g->rules[g->n], d) == 0)
			g->n++;
		else
			nsg_rule_free(&g->rules[g->n]);
	}
	json_decref(owned_tm);
	/* [inference] The listing is Azure's whole evaluation order, so it holds the default rules; an abridged one
	 * (the REST example lists three rules) gets those it lacks, so that every flow meets a rule as in Azure. */
	for (i = 0; i < NSG_NDEFAULT && d->errors == before; i++) {
		struct nsg_rule *r = &g->rules[g->n];
		bool have = false;
		if (nsg_default_rule(r, i, env) < 0) {
			nsg_rule_free(r);
			diag_oom(d, path);
			break;
		}
		for (size_t j = 0; j < g->n && !have; j++)
			have = g->rules[j].dir == r->dir && g->rules[j].priority == r->priority;
		if (have)
			nsg_rule_free(r), *r = (struct nsg_rule){ 0 };
		else
			g->n++;
	}
	/* A listing whose rules at the default priorities do not cover every flow (not Azure's own) still needs a
	 * last rule: Azure's DenyAll, after everything. [inference] */
	for (int dir = 0; dir < 2 && d->errors == before; dir++) {
		bool covered = false;
		for (size_t j = 0; j < g->n && !covered; j++) {
			const struct nsg_rule *r = &g->rules[j];
			covered = (int)r->dir == dir && r->proto == PROTO_ANY && r->sport.any && r->dport.any &&
				  ipset_equal(r->src.set, &env->any) && ipset_equal(r->dst.set, &env->any);
		}
		if (covered)
			continue;
		struct nsg_rule *r = &g->rules[g->n++];
		if (nsg_default_rule(r, dir == DIR_IN ? 2 : 5, env) < 0)
			diag_oom(d, path);
		r->priority = 65535;
	}
	nsgref = jget(e, "networkSecurityGroup", NULL);
	const char *id = json_string_value(jget(nsgref, "id", NULL));
	const char *sid = json_string_value(jget(sub, "id", NULL)), *nid = json_string_value(jget(nic, "id", NULL));
	snprintf(name, sizeof(name), "%s (%s%s%s%s%s%s%s)", id ? last_segment(id) : "effective rules",
		 nic ? "network interface" : "", nid ? " " : "", nid ? last_segment(nid) : "", nic && sub ? ", " : "",
		 sub ? "subnet" : "", sid ? " " : "", sid ? last_segment(sid) : "");
	g->name = strdup(name);
	g->file = strdup(file ? file : "-");
	if (d->errors != before || !g->name || !g->file) {
		if (d->errors == before)
			diag_oom(d, path);
		nsg_free(g);
		return -1;
	}
	if (order_rules(g) < 0) {
		diag_oom(d, path);
		nsg_free(g);
		return -1;
	}
	nsg_rules_sorted(g);
	lv->index = 0;
	return 0;
}

int effective_nsg_load_json(struct nsg *subnet, bool *has_subnet, struct nsg *nic, bool *has_nic, json_t *root,
			    const char *file, const struct netenv *env, struct diag *d)
{
	char base[P], path[P + 24];
	bool single;
	json_t *body = effective_body(root), *list = entries(body, "effectiveSecurityRules", &single);
	int before = d->errors;

	*subnet = *nic = (struct nsg){ 0 };
	*has_subnet = *has_nic = false;
	if (!list) {
		diag_err(d, NULL, "not effective security rules (want {\"value\": [{\"association\": …, "
			 "\"effectiveSecurityRules\": […]}]})");
		return -1;
	}
	list_base(root, body, list, single, base);
	size_t n = single ? 1 : json_array_size(list);
	if (n == 0) {
		diag_err(d, base, "no entries: the network interface has no network security group in force");
		return -1;
	}
	struct level *lv = calloc(n, sizeof(*lv));
	if (!lv) {
		diag_oom(d, NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (single)
			snprintf(path, sizeof(path), "%s", base);
		else
			jsonin_index(path, sizeof(path), base, i);
		eff_entry(single ? list : json_array_get(list, i), path, file, env, &lv[i], d);
		lv[i].index = i;
	}
	/* Each level holds at most one NSG. An association naming both a subnet and a network interface (the REST
	 * example's) takes the level still free, the subnet's first. [inference] */
	struct level *slot[2] = { NULL, NULL };
	for (int pass = 0; pass < 2 && d->errors == before; pass++)
		for (size_t i = 0; i < n; i++) {
			struct level *l = &lv[i];
			if ((pass == 0) != (l->kind < 2))
				continue;
			int want = l->kind < 2 ? l->kind : slot[0] ? 1 : 0;
			if (slot[want]) {
				if (single)
					snprintf(path, sizeof(path), "%s", base);
				else
					jsonin_index(path, sizeof(path), base, i);
				char other[P + 24];
				jsonin_index(other, sizeof(other), base, slot[want]->index);
				diag_err(d, path, "a second NSG for the %s (the first is %s)",
					 want ? "network interface" : "subnet", other);
				break;
			}
			slot[want] = l;
		}
	if (d->errors != before) {
		for (size_t i = 0; i < n; i++)
			nsg_free(&lv[i].g);
		free(lv);
		return -1;
	}
	if (slot[0]) {
		*subnet = slot[0]->g;
		*has_subnet = true;
	}
	if (slot[1]) {
		*nic = slot[1]->g;
		*has_nic = true;
	}
	free(lv);
	return 0;
}

/* ---- effective routes ---- */

static int route_hop(const char *s, enum next_hop *h)
{
	for (int i = 0; i < HOP_TYPES; i++)
		if (!strcasecmp(s, next_hop_name((enum next_hop)i))) {
			*h = (enum next_hop)i;
			return 0;
		}
	/* [inference] the REST enum's other spelling of global peering */
	if (!strcasecmp(s, "GlobalVNetPeering")) {
		*h = HOP_VNET_GLOBAL_PEERING;
		return 0;
	}
	return -1;
}

/* addressPrefix / nextHopIpAddress: an array of strings, or one string (older outputs). */
static int str_list(json_t *e, const char *path, const char *key, json_t **out, struct diag *d)
{
	const char *k;
	char p[P];
	json_t *v = jget(e, key, &k);
	*out = v;
	if (!v)
		return 0;
	if (json_is_string(v) || json_is_array(v))
		return 1;
	diag_err(d, at(p, path, k), "expected an array of strings, found %s", jsonin_typename(v));
	return -1;
}

static const char *list_item(json_t *l, size_t i)
{
	return json_is_string(l) ? (i == 0 ? json_string_value(l) : NULL) : json_string_value(json_array_get(l, i));
}

static size_t list_len(json_t *l)
{
	return json_is_string(l) ? 1 : json_array_size(l);
}

static int eff_route(json_t *e, const char *path, struct route_table *rt, size_t *cap, struct diag *d)
{
	char p[P], ip[P + 24];
	const char *source = NULL, *state = NULL, *hop = NULL, *name = NULL, *k;
	json_t *prefixes = NULL, *hops = NULL;
	enum next_hop h = HOP_NONE;
	int before = d->errors;

	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	get_str(e, path, "source", &source, d);
	get_str(e, path, "name", &name, d);
	get_str(e, path, "state", &state, d);
	if (get_str(e, path, "nextHopType", &hop, d) == 0)
		missing(d, path, "nextHopType");
	else if (hop && route_hop(hop, &h) < 0)
		diag_err(d, at(p, path, (jget(e, "nextHopType", &k), k)),
			 "'%s' is not one of VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance, None, VNetPeering, "
			 "VNetGlobalPeering, VirtualNetworkServiceEndpoint", hop);
	if (str_list(e, path, "addressPrefix", &prefixes, d) == 0)
		missing(d, path, "addressPrefix");
	str_list(e, path, "nextHopIpAddress", &hops, d);
	if (state && strcasecmp(state, "Active") && strcasecmp(state, "Invalid"))
		diag_err(d, at(p, path, (jget(e, "state", &k), k)), "'%s' is not Active or Invalid", state);
	if (d->errors != before)
		return -1;
	/* The first next-hop address is the one shown (Azure lists several for a gateway with two instances). */
	u128 hop_ip = 0;
	const char *first_hop = hops ? list_item(hops, 0) : NULL;
	char *hop_text = NULL;
	jget(e, "nextHopIpAddress", &k);
	for (size_t i = 0; hops && i < list_len(hops); i++) {
		const char *s = list_item(hops, i);
		u128 a;
		jsonin_index(ip, sizeof(ip), at(p, path, k), i);
		if (!s)
			diag_err(d, ip, "expected a string, found %s", jsonin_typename(json_array_get(hops, i)));
		else if (*s && addr_parse(s, &a) < 0)
			diag_err(d, ip, "'%s' is not an IP address", s);
		else if (*s && i == 0)
			hop_ip = a;
		if (s && *s && !(hop_text = nsg_text_join(hop_text, s)))
			break;
	}
	jget(e, "addressPrefix", &k);
	at(p, path, k);
	for (size_t i = 0; i < list_len(prefixes) && d->errors == before; i++) {
		const char *s = list_item(prefixes, i);
		struct cidr c;
		const char *why;
		if (json_is_array(prefixes))
			jsonin_index(ip, sizeof(ip), p, i);
		else
			snprintf(ip, sizeof(ip), "%s", p);
		if (!s) {
			diag_err(d, ip, "expected a string, found %s", jsonin_typename(json_array_get(prefixes, i)));
			continue;
		}
		if (cidr_parse(s, &c, &why) < 0) {
			diag_err(d, ip, "'%s': %s", s, why);
			continue;
		}
		if (state && !strcasecmp(state, "Invalid"))
			continue; /* overridden by another route: not in force */
		if (rt->n == EFFECTIVE_MAX_ROUTES) {
			diag_err(d, ip, "more than %d effective route prefixes", EFFECTIVE_MAX_ROUTES);
			break;
		}
		if (rt->n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct route *nr = realloc(rt->routes, nc * sizeof(*nr));
			if (!nr) {
				diag_oom(d, path);
				break;
			}
			rt->routes = nr;
			*cap = nc;
		}
		struct route *r = &rt->routes[rt->n++];
		*r = (struct route){ .cidr = c, .hop = h, .has_hop_ip = first_hop && *first_hop, .hop_ip = hop_ip };
		r->name = strdup(name ? name : "");
		r->prefix_text = strdup(s);
		r->hop_ip_text = hop_text ? strdup(hop_text) : NULL;
		r->json_path = user_path(d, ip);
		r->source = strdup(source ? source : "");
		if (!r->name || !r->prefix_text || !r->json_path || !r->source || (hop_text && !r->hop_ip_text))
			diag_oom(d, path);
	}
	free(hop_text);
	return d->errors != before ? -1 : 0;
}

int effective_routes_load_json(struct route_table *rt, json_t *root, const char *file, struct diag *d)
{
	char base[P], path[P + 24];
	bool single;
	json_t *body = effective_body(root), *list = entries(body, "nextHopType", &single), *e;
	size_t i, cap = 0;
	int before = d->errors;

	*rt = (struct route_table){ .effective = true };
	if (!list || single) {
		diag_err(d, NULL, "not an effective route table (want {\"value\": [{\"source\": …, \"addressPrefix\": […], "
			 "\"nextHopType\": …}]})");
		return -1;
	}
	list_base(root, body, list, single, base);
	json_array_foreach(list, i, e) {
		jsonin_index(path, sizeof(path), base, i);
		eff_route(e, path, rt, &cap, d);
	}
	if (!rt->routes)
		rt->routes = calloc(1, sizeof(*rt->routes));
	rt->name = strdup("effective routes");
	rt->file = strdup(file ? file : "-");
	if (d->errors == before && (!rt->routes || !rt->name || !rt->file))
		diag_oom(d, NULL);
	if (d->errors != before) {
		rt_free(rt);
		return -1;
	}
	rt->effective = true;
	return 0;
}

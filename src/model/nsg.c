/* NSG parsing and validation. */
#include "model/nsg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/asg.h"
#include "model/hashci.h"
#include "model/jsonin.h"
#include "model/shapes.h"

static const char *const proto_names[] = { "Tcp", "Udp", "Icmp", "Esp", "Ah" };

const char *proto_name(unsigned bit)
{
	if (bit == PROTO_ANY)
		return "*";
	for (unsigned i = 0; i < 5; i++)
		if (bit == 1u << i)
			return proto_names[i];
	return "?";
}

int proto_parse(const char *s, unsigned *mask)
{
	if (!strcmp(s, "*")) {
		*mask = PROTO_ANY;
		return 0;
	}
	for (unsigned i = 0; i < 5; i++)
		if (!strcasecmp(s, proto_names[i])) {
			*mask = 1u << i;
			return 0;
		}
	return -1;
}

bool azure_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 80)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool word = isalnum(c) || c == '_';
		if (!word && !(i > 0 && i < n - 1 && (c == '.' || c == '-')))
			return false;
	}
	return true;
}

void nsg_rule_free(struct nsg_rule *r)
{
	free(r->name);
	ipset_free(&r->src.own);
	ipset_free(&r->dst.own);
	free(r->src.text);
	free(r->dst.text);
	free(r->sport.r);
	free(r->dport.r);
	free(r->sport.text);
	free(r->dport.text);
	free(r->json_path);
	free(r->note);
}

void nsg_free(struct nsg *g)
{
	for (size_t i = 0; i < g->n; i++)
		nsg_rule_free(&g->rules[i]);
	free(g->rules);
	free(g->name);
	free(g->file);
	*g = (struct nsg){ 0 };
}

/* A growable string for the "as written" texts. */
char *nsg_text_join(char *acc, const char *s)
{
	size_t a = acc ? strlen(acc) : 0, b = strlen(s);
	char *r = realloc(acc, a + b + 3);
	if (!r) {
		free(acc);
		return NULL;
	}
	if (a)
		memcpy(r + a, ", ", 2), a += 2;
	memcpy(r + a, s, b + 1);
	return r;
}

struct side_keys {
	const char *one, *many, *asg; /* sourceAddressPrefix, sourceAddressPrefixes, sourceApplicationSecurityGroups */
};

/* A side that names application security groups: their members (--asg), or nothing, with a note saying so.
 * [inference] a member of any of the listed groups matches, as with a list of prefixes. */
static int parse_asgs(json_t *asg, const char *path, const char *rule, const struct netenv *env,
		      struct addr_field *f, char **note, struct diag *d)
{
	char ip[300];
	size_t i;
	json_t *v;
	int before = d->errors;
	f->is_asg = true;
	f->set = &f->own;
	json_array_foreach(asg, i, v) {
		const char *id = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "id"));
		jsonin_index(ip, sizeof(ip), path, i);
		if (!id || !*id) {
			diag_err(d, ip, "expected {\"id\": \"…/applicationSecurityGroups/NAME\"}, found %s",
				 jsonin_typename(v));
			continue;
		}
		const char *name = asg_name(id);
		char *t = f->text ? nsg_text_join(f->text, name) : strdup(name);
		if (!t)
			goto oom;
		f->text = t;
		const struct asg_entry *e = asg_find(env->asgs, id);
		if (e) {
			for (size_t k = 0; k < e->members.n; k++)
				if (ipset_add_range(&f->own, e->members.r[k].lo, e->members.r[k].hi) < 0)
					goto oom;
			continue;
		}
		if (*note)
			continue; /* one note a rule: the first group without members */
		char buf[600];
		if (env->asgs)
			snprintf(buf, sizeof(buf), "rule %s uses application security group %s: not in --asg %s; treated "
				 "as matching nothing", rule ? rule : "?", name, env->asgs->file);
		else
			snprintf(buf, sizeof(buf), "rule %s uses application security group %s: no --asg given; treated "
				 "as matching nothing", rule ? rule : "?", name);
		if (!(*note = strdup(buf)))
			goto oom;
	}
	if (d->errors != before)
		return -1;
	ipset_normalize(&f->own);
	char *t = malloc(strlen(f->text) + 32);
	if (!t)
		goto oom;
	sprintf(t, "application security group%s %s", strchr(f->text, ',') ? "s" : "", f->text);
	free(f->text);
	f->text = t;
	return 0;
oom:
	diag_oom(d, path);
	return -1;
}

/* Read one address side of a rule. *count gets the number of addresses/ranges it names (for the limit). */
static int parse_addr(json_t *props, const char *base, const struct side_keys *k, const struct netenv *env,
		      struct addr_field *f, size_t *count, const char *rule, char **note, struct diag *d)
{
	char p[256], ip[300];
	const char *one = NULL;
	json_t *many = NULL, *asg = NULL;
	int before = d->errors;

	jsonin_str(props, base, k->one, &one, d);
	jsonin_arr(props, base, k->many, &many, d);
	jsonin_arr(props, base, k->asg, &asg, d);
	if (one && !*one)
		one = NULL;
	if (many && !json_array_size(many))
		many = NULL;
	if (asg && !json_array_size(asg))
		asg = NULL;
	if (d->errors != before)
		return -1;
	if ((one || many) && asg) {
		/* Azure refuses a side with both prefixes and application security groups. */
		diag_err(d, jsonin_path(p, sizeof(p), base, k->asg), "given together with %s; use one of them",
			 one ? k->one : k->many);
		return -1;
	}
	if (asg) {
		*count = json_array_size(asg);
		return parse_asgs(asg, jsonin_path(p, sizeof(p), base, k->asg), rule, env, f, note, d);
	}
	if (one && many) {
		diag_err(d, jsonin_path(p, sizeof(p), base, k->many), "given together with %s; use one of them", k->one);
		return -1;
	}
	if (!one && !many) {
		diag_err(d, jsonin_path(p, sizeof(p), base, k->one), "missing (and %s is empty)", k->many);
		return -1;
	}
	if (one) {
		struct cidr c;
		const char *why, *canon;
		*count = 1;
		if (cidr_parse(one, &c, &why) == 0) {
			if (ipset_add_cidr(&f->own, &c) < 0)
				goto oom;
			f->set = &f->own;
		} else if (strpbrk(one, "/:") || isdigit((unsigned char)one[0])) {
			diag_err(d, jsonin_path(p, sizeof(p), base, k->one), "'%s': %s", one, why);
			return -1;
		} else if ((f->set = netenv_tag(env, one, &canon))) {
			f->is_tag = true;
		} else {
			diag_err(d, jsonin_path(p, sizeof(p), base, k->one),
				 "unknown service tag '%s' (not built in and not in any --tags file)", one);
			return -1;
		}
		if (!(f->text = strdup(f->is_tag ? canon : one)))
			goto oom;
		return 0;
	}
	size_t i;
	json_t *v;
	jsonin_path(p, sizeof(p), base, k->many);
	*count = json_array_size(many);
	json_array_foreach(many, i, v) {
		struct cidr c;
		const char *why, *s = json_string_value(v);
		if (s && cidr_parse(s, &c, &why) == 0) {
			if (ipset_add_cidr(&f->own, &c) < 0 || !(f->text = nsg_text_join(f->text, s)))
				goto oom;
			continue;
		}
		jsonin_index(ip, sizeof(ip), p, i); /* only for an error */
		if (!s) {
			diag_err(d, ip, "expected a string, found %s", jsonin_typename(v));
		} else if (strpbrk(s, "/:") || isdigit((unsigned char)s[0])) {
			diag_err(d, ip, "'%s': %s", s, why);
		} else {
			/* §1.4: "you can't specify multiple service tags … in a single rule" */
			diag_err(d, ip, "'%s': a list holds only IP addresses and prefixes; give a service tag or * in %s",
				 s, k->one);
		}
	}
	ipset_normalize(&f->own);
	f->set = &f->own;
	return d->errors != before ? -1 : 0;
oom:
	diag_oom(d, base);
	return -1;
}

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;
	return (int)x->lo - (int)y->lo;
}

int port_field_parse(struct port_field *f, const char *one, const char *one_path, json_t *many, const char *many_path,
		     struct diag *d)
{
	char ip[512];
	const char *why;
	int before = d->errors;
	size_t n = many ? json_array_size(many) : 1, i;
	json_t *v;

	if (!(f->r = calloc(n, sizeof(*f->r))))
		goto oom;
	if (!many) {
		if (prange_parse(one, &f->r[0], &why) < 0) {
			diag_err(d, one_path, "'%s': %s", one, why);
			return -1;
		}
		f->n = 1;
		if (!(f->text = strdup(one)))
			goto oom;
	} else {
		json_array_foreach(many, i, v) {
			const char *s = json_string_value(v);
			if (s && prange_parse(s, &f->r[f->n], &why) == 0) {
				if (f->n++, !(f->text = nsg_text_join(f->text, s)))
					goto oom;
				continue;
			}
			jsonin_index(ip, sizeof(ip), many_path, i); /* only for an error */
			if (!s)
				diag_err(d, ip, "expected a string, found %s", jsonin_typename(v));
			else
				diag_err(d, ip, "'%s': %s", s, why);
		}
		if (d->errors != before)
			return -1;
	}
	qsort(f->r, f->n, sizeof(*f->r), prange_cmp);
	size_t o = 0;
	for (i = 1; i < f->n; i++) {
		if ((unsigned)f->r[i].lo <= (unsigned)f->r[o].hi + 1) {
			if (f->r[i].hi > f->r[o].hi)
				f->r[o].hi = f->r[i].hi;
		} else {
			f->r[++o] = f->r[i];
		}
	}
	f->n = o + 1;
	f->any = f->n == 1 && f->r[0].lo == 0 && f->r[0].hi == 65535;
	return 0;
oom:
	diag_oom(d, many ? many_path : one_path);
	return -1;
}

static int parse_ports(json_t *props, const char *base, const char *one_key, const char *many_key,
		       struct port_field *f, struct diag *d)
{
	char p[256], mp[256];
	const char *one = NULL;
	json_t *many = NULL;
	int before = d->errors;

	jsonin_str(props, base, one_key, &one, d);
	jsonin_arr(props, base, many_key, &many, d);
	if (one && !*one)
		one = NULL;
	if (many && !json_array_size(many))
		many = NULL;
	if (d->errors != before)
		return -1;
	if (one && many) {
		diag_err(d, jsonin_path(p, sizeof(p), base, many_key), "given together with %s; use one of them", one_key);
		return -1;
	}
	if (!one && !many) {
		diag_err(d, jsonin_path(p, sizeof(p), base, one_key), "missing (and %s is empty)", many_key);
		return -1;
	}
	return port_field_parse(f, one, jsonin_path(p, sizeof(p), base, one_key), many,
				jsonin_path(mp, sizeof(mp), base, many_key), d);
}

static const struct side_keys src_keys = { "sourceAddressPrefix", "sourceAddressPrefixes",
					   "sourceApplicationSecurityGroups" };
static const struct side_keys dst_keys = { "destinationAddressPrefix", "destinationAddressPrefixes",
					   "destinationApplicationSecurityGroups" };

static int parse_rule(json_t *e, const char *path, const struct netenv *env, struct nsg_rule *r,
		      size_t counts[2], struct diag *d)
{
	char base[128], p[192];
	const char *name = NULL, *proto = NULL, *access = NULL, *dir = NULL;
	long long prio = 0;
	int before = d->errors, has_prio;
	json_t *props;

	*r = (struct nsg_rule){ 0 };
	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (jsonin_str(e, path, "name", &name, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "missing");
	else if (name && !azure_name_valid(name))
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"),
			 "'%s' is not a valid rule name (1-80 word characters, '.', '-', '_'; begins with a word "
			 "character, ends with a word character or '_')", name);
	props = json_object_get(e, "properties");
	if (json_is_object(props)) {
		jsonin_path(base, sizeof(base), path, "properties");
	} else {
		props = e;
		snprintf(base, sizeof(base), "%s", path);
	}
	if (jsonin_str(props, base, "protocol", &proto, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "protocol"), "missing");
	else if (proto && proto_parse(proto, &r->proto) < 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "protocol"),
			 "'%s' is not one of Tcp, Udp, Icmp, Esp, Ah, *", proto);
	if (jsonin_str(props, base, "access", &access, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "access"), "missing");
	else if (access && strcasecmp(access, "Allow") && strcasecmp(access, "Deny"))
		diag_err(d, jsonin_path(p, sizeof(p), base, "access"), "'%s' is not Allow or Deny", access);
	if (jsonin_str(props, base, "direction", &dir, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "direction"), "missing");
	else if (dir && strcasecmp(dir, "Inbound") && strcasecmp(dir, "Outbound"))
		diag_err(d, jsonin_path(p, sizeof(p), base, "direction"), "'%s' is not Inbound or Outbound", dir);
	if ((has_prio = jsonin_int(props, base, "priority", &prio, d)) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "priority"), "missing");
	else if (has_prio > 0 && (prio < 100 || prio > 4096))
		diag_err(d, jsonin_path(p, sizeof(p), base, "priority"), "%lld is outside 100-4096", prio);

	r->dir = dir && !strcasecmp(dir, "Outbound") ? DIR_OUT : DIR_IN;
	if (dir && strcasecmp(dir, "Inbound") && strcasecmp(dir, "Outbound"))
		has_prio = 0; /* no direction: no clash to report */
	size_t nsrc = 0, ndst = 0;
	parse_addr(props, base, &src_keys, env, &r->src, &nsrc, name, &r->note, d);
	parse_addr(props, base, &dst_keys, env, &r->dst, &ndst, name, &r->note, d);
	parse_ports(props, base, "sourcePortRange", "sourcePortRanges", &r->sport, d);
	parse_ports(props, base, "destinationPortRange", "destinationPortRanges", &r->dport, d);
	counts[0] += nsrc;
	counts[1] += ndst;
	r->allow = access && !strcasecmp(access, "Allow");
	r->priority = has_prio > 0 ? (int)prio : 0; /* 0: none (never valid, never clashes) */
	r->name = name ? strdup(name) : NULL;
	char mapped[1024]; /* reports name the place in the user's file (shapes.h) */
	r->json_path = strdup(d->map_path ? d->map_path(d->map_ctx, path, mapped, sizeof(mapped)) : path);
	if ((name && !r->name) || !r->json_path)
		diag_oom(d, path);
	return d->errors != before ? -1 : 0;
}

/* §1.2, with the API spelling of the names. */
static const struct {
	const char *name;
	int prio;
	enum direction dir;
	const char *src, *dst;
	bool allow;
} default_rules[] = {
	{ "AllowVnetInBound", 65000, DIR_IN, "VirtualNetwork", "VirtualNetwork", true },
	{ "AllowAzureLoadBalancerInBound", 65001, DIR_IN, "AzureLoadBalancer", "*", true },
	{ "DenyAllInBound", 65500, DIR_IN, "*", "*", false },
	{ "AllowVnetOutBound", 65000, DIR_OUT, "VirtualNetwork", "VirtualNetwork", true },
	{ "AllowInternetOutBound", 65001, DIR_OUT, "*", "Internet", true },
	{ "DenyAllOutBound", 65500, DIR_OUT, "*", "*", false },
};

int nsg_default_rule(struct nsg_rule *r, size_t i, const struct netenv *env)
{
	const char *canon;
	*r = (struct nsg_rule){
		.name = strdup(default_rules[i].name), .priority = default_rules[i].prio,
		.dir = default_rules[i].dir, .allow = default_rules[i].allow, .proto = PROTO_ANY, .is_default = true,
	};
	r->src.set = netenv_tag(env, default_rules[i].src, &canon);
	r->dst.set = netenv_tag(env, default_rules[i].dst, &canon);
	r->src.is_tag = r->dst.is_tag = true;
	r->src.text = strdup(default_rules[i].src);
	r->dst.text = strdup(default_rules[i].dst);
	r->sport.r = calloc(1, sizeof(struct prange));
	r->dport.r = calloc(1, sizeof(struct prange));
	if (!r->name || !r->src.text || !r->dst.text || !r->sport.r || !r->dport.r)
		return -1;
	r->sport.r[0] = r->dport.r[0] = (struct prange){ 0, 65535 };
	r->sport.n = r->dport.n = 1;
	r->sport.any = r->dport.any = true;
	r->sport.text = strdup("*");
	r->dport.text = strdup("*");
	return r->sport.text && r->dport.text ? 0 : -1;
}

static int rule_order(const void *a, const void *b)
{
	const struct nsg_rule *x = a, *y = b;
	if (x->dir != y->dir)
		return (int)x->dir - (int)y->dir;
	return x->priority - y->priority;
}

void nsg_rules_sorted(struct nsg *g)
{
	for (size_t i = 0; i < g->n; i++) { /* sorting moved the rules: re-point fields at their own sets */
		struct nsg_rule *r = &g->rules[i];
		if (!r->src.is_tag)
			r->src.set = &r->src.own;
		if (!r->dst.is_tag)
			r->dst.set = &r->dst.own;
	}
	for (g->nin = 0; g->nin < g->n && g->rules[g->nin].dir == DIR_IN; g->nin++)
		;
}

/* The rules read so far by name (case-insensitively) and by direction and priority, so that a rule is compared
 * with every one before it (for the messages, in their order) only when it may clash with one: a 1,000-rule NSG
 * is not half a million name comparisons. Without memory every rule is compared, as it always was. */
struct clash_index {
	size_t *slot; /* open addressing, rule index + 1, 0 empty */
	size_t mask;
	unsigned char prio[2][4097]; /* a rule with a name has this direction and priority */
};

static void clash_init(struct clash_index *ci, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	memset(ci->prio, 0, sizeof(ci->prio));
	ci->slot = calloc(cap, sizeof(*ci->slot));
	ci->mask = cap - 1;
}

static void clash_free(struct clash_index *ci)
{
	free(ci->slot);
}

/* Could r clash with a rule added before it? (Conservative: true when unsure.) */
static bool clash_may(const struct clash_index *ci, const struct nsg_rule *rules, const struct nsg_rule *r)
{
	if (!ci->slot)
		return true;
	if (!r->name)
		return false;
	if (r->priority < 0 || r->priority > 4096 || (r->priority && ci->prio[r->dir == DIR_OUT][r->priority]))
		return true;
	for (size_t h = hash_ci(r->name) & ci->mask; ci->slot[h]; h = (h + 1) & ci->mask)
		if (!strcasecmp(rules[ci->slot[h] - 1].name, r->name))
			return true;
	return false;
}

static void clash_add(struct clash_index *ci, const struct nsg_rule *rules, size_t i)
{
	const struct nsg_rule *r = &rules[i];
	if (!ci->slot || !r->name)
		return;
	if (r->priority >= 0 && r->priority <= 4096)
		ci->prio[r->dir == DIR_OUT][r->priority] = 1;
	size_t h = hash_ci(r->name) & ci->mask;
	while (ci->slot[h])
		h = (h + 1) & ci->mask;
	ci->slot[h] = i + 1;
}

int nsg_load_json(struct nsg *g, json_t *root, const char *file, const struct netenv *env, struct diag *d)
{
	json_t *rules = NULL, *props = json_object_get(root, "properties"), *e;
	const char *base = "", *name = NULL;
	char path[128], rbase[64];
	size_t i, counts[2] = { 0, 0 };
	int before = d->errors;

	*g = (struct nsg){ 0 };
	if (json_is_object(props))
		base = "properties";
	else
		props = root;
	jsonin_str(root, "", "name", &name, d);
	int has = jsonin_arr(props, base, "securityRules", &rules, d);
	if (has < 0)
		return -1;
	if (has == 0 && props == root && !json_object_get(root, "defaultSecurityRules")) {
		diag_err(d, "securityRules", "missing: not a network security group");
		return -1;
	}
	size_t n = rules ? json_array_size(rules) : 0;
	if (n > NSG_MAX_RULES)
		diag_err(d, jsonin_path(path, sizeof(path), base, "securityRules"),
			 "%zu rules; an NSG holds at most %d", n, NSG_MAX_RULES);
	g->rules = calloc(n + 6, sizeof(*g->rules));
	if (!g->rules) {
		diag_oom(d, NULL);
		return -1;
	}
	jsonin_path(rbase, sizeof(rbase), base, "securityRules");
	struct clash_index ci;
	clash_init(&ci, n);
	/* Every rule is kept while checking, even one with errors, so that clashes with it are reported too;
	 * any error discards the whole NSG at the end. */
	for (i = 0; i < n; i++) {
		e = json_array_get(rules, i);
		struct nsg_rule *r = &g->rules[g->n++];
		jsonin_index(path, sizeof(path), rbase, i);
		parse_rule(e, path, env, r, counts, d);
		bool may = clash_may(&ci, g->rules, r);
		clash_add(&ci, g->rules, g->n - 1);
		for (size_t k = 0; may && k + 1 < g->n && r->name; k++) {
			const struct nsg_rule *o = &g->rules[k];
			/* Azure resource names are case-insensitive. */
			if (o->name && !strcasecmp(o->name, r->name))
				diag_err(d, path, "rule name '%s' is also used by %s", r->name, o->json_path);
			if (o->name && o->dir == r->dir && o->priority && o->priority == r->priority)
				diag_err(d, path,
					 "(SecurityRuleConflict) Security rule %s conflicts with rule %s (%s). Rules cannot "
					 "have the same Priority and Direction.", r->name, o->name, o->json_path);
		}
	}
	clash_free(&ci);
	for (int side = 0; side < 2; side++)
		if (counts[side] > NSG_MAX_ADDRESSES)
			diag_err(d, rbase, "%zu %s addresses and ranges; an NSG allows at most %d per side", counts[side],
				 side ? "destination" : "source", NSG_MAX_ADDRESSES);
	for (i = 0; i < 6; i++)
		if (nsg_default_rule(&g->rules[g->n++], i, env) < 0)
			diag_oom(d, NULL);
	g->name = strdup(name && *name ? name : "nsg");
	g->file = strdup(file ? file : "-");
	if (!g->name || !g->file)
		diag_oom(d, NULL);
	if (d->errors != before) {
		nsg_free(g);
		return -1;
	}
	qsort(g->rules, g->n, sizeof(*g->rules), rule_order);
	nsg_rules_sorted(g);
	return 0;
}

static int read_nsg(void *g, json_t *json, const char *file, const void *env, struct diag *d)
{
	return nsg_load_json(g, json, file, env, d);
}

int nsg_load_file(struct nsg *g, const char *path, const struct netenv *env, struct diag *d)
{
	*g = (struct nsg){ 0 };
	return shapes_read_file(path, SHAPE_NSG, NSG_MAX_BYTES, read_nsg, g, env, d);
}

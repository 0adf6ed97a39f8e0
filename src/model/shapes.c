/* Shape recognition and conversion (shapes.h). */
#include "model/shapes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "model/armtmpl.h"
#include "model/effective.h"
#include "model/jsonfast.h"
#include "model/jsonin.h"

#define MAX_DEPTH 8

/* ---- the path map ---- */

void shapes_map_free(struct shape_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].canon);
	free(m->e);
	free(m->idx);
	*m = (struct shape_map){ 0 };
}

int shapes_map_add(struct shape_map *m, const char *canon, const char *user, const struct shape_ren *ren)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct shape_map_ent *e = realloc(m->e, cap * sizeof(*e));
		if (!e)
			return -1;
		m->e = e;
		m->cap = cap;
	}
	size_t lc = strlen(canon) + 1, lu = strlen(user) + 1;
	struct shape_map_ent *e = &m->e[m->n];
	if (!(e->canon = malloc(lc + lu)))
		return -1;
	memcpy(e->canon, canon, lc);
	e->user = memcpy(e->canon + lc, user, lu);
	e->ren = ren;
	e->ren_off = e->ren_idx0 = 0;
	free(m->idx); /* an index no longer covers every entry */
	m->idx = NULL;
	m->n++;
	return 0;
}

/* Does prefix p (length n) begin path at a segment boundary? */
static bool seg_prefix(const char *path, const char *p, size_t n)
{
	if (strncmp(path, p, n))
		return false;
	return !path[n] || path[n] == '.' || path[n] == '[' || n == 0;
}

/* a + rest, where rest begins with '.' or '[' or is empty; a "" drops rest's leading '.'. */
static const char *join_path(char *buf, size_t n, const char *a, const char *rest)
{
	if (!*a && *rest == '.')
		rest++;
	if (*a && *rest && *rest != '.' && *rest != '[')
		return jsonin_path(buf, n, a, rest);
	/* what snprintf "%s%s" writes (a run maps every rule's path: its format parsing was most of the cost) */
	size_t la = strlen(a), lr = strlen(rest);
	if (!n)
		return buf;
	la = la < n - 1 ? la : n - 1;
	lr = lr < n - 1 - la ? lr : n - 1 - la;
	memmove(buf, a, la);
	memmove(buf + la, rest, lr);
	buf[la + lr] = 0;
	return buf;
}

/* "properties.LIST[i]": the canonical path of a converted rule or route. */
static const char *item_path(char *buf, size_t n, const char *list, size_t i)
{
	char p[64];
	return jsonin_index(buf, n, jsonin_path(p, sizeof(p), "properties", list), i);
}

/* FNV-1a, step by step so that the hashes of all the prefixes of a path come from one pass. */
#define MAP_HASH0 14695981039346656037u
static size_t hash_step(size_t h, char c)
{
	return (h ^ (unsigned char)c) * 1099511628211u;
}

static size_t hash_of(const char *s)
{
	size_t h = MAP_HASH0;
	for (; *s; s++)
		h = hash_step(h, *s);
	return h;
}

void shapes_map_sort(struct shape_map *m)
{
	size_t cap = 16;
	while (cap < 2 * m->n)
		cap *= 2;
	free(m->idx);
	if (!(m->idx = calloc(cap, sizeof(*m->idx))))
		return; /* lookups stay linear */
	m->mask = cap - 1;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = hash_of(m->e[i].canon) & m->mask;
		while (m->idx[h])
			h = (h + 1) & m->mask;
		m->idx[h] = i + 1;
	}
}

/* The first entry whose canon is exactly the first len bytes of path (hash h), with the index, or NULL. */
static const struct shape_map_ent *map_find(const struct shape_map *m, const char *path, size_t len, size_t h)
{
	for (h &= m->mask; m->idx[h]; h = (h + 1) & m->mask) {
		const struct shape_map_ent *e = &m->e[m->idx[h] - 1];
		if (!strncmp(e->canon, path, len) && !e->canon[len])
			return e;
	}
	return NULL;
}

/* The longest entry that is a prefix of path at a segment boundary. */
static const struct shape_map_ent *map_best(const struct shape_map *m, const char *path, size_t *blen)
{
	const struct shape_map_ent *best = NULL;
	if (m->idx) {
		/* the hash of every prefix ending at a segment boundary, then the longest one that is an entry */
		size_t len[64], hash[64], k = 0, h = MAP_HASH0, l;
		for (l = 0;; l++) {
			if ((!l || !path[l] || path[l] == '.' || path[l] == '[') && k < 64) {
				len[k] = l;
				hash[k++] = h;
			}
			if (!path[l])
				break;
			h = hash_step(h, path[l]);
		}
		if (k == 64) /* a path of more segments than that: fall back on the scan */
			goto scan;
		while (k-- > 0) {
			if ((best = map_find(m, path, len[k], hash[k]))) {
				*blen = len[k];
				return best;
			}
		}
		return NULL;
	}
scan:
	for (size_t i = 0; i < m->n; i++) {
		size_t l = strlen(m->e[i].canon);
		if ((!best || l > *blen) && seg_prefix(path, m->e[i].canon, l)) {
			best = &m->e[i];
			*blen = l;
		}
	}
	return best;
}

const char *shapes_map_path(const void *ctx, const char *path, char *buf, size_t n)
{
	const struct shape_map *m = ctx;
	size_t blen = 0;
	const struct shape_map_ent *best = map_best(m, path, &blen);
	if (!best)
		return path;
	const char *rest = path + blen; /* "", ".x…" or "[i]…" */
	if (best->ren && *rest) {
		const char *r = *rest == '.' ? rest + 1 : rest;
		const struct shape_ren *hit = NULL;
		size_t hlen = 0;
		for (const struct shape_ren *x = best->ren; x->canon; x++) {
			size_t l = strlen(x->canon), at = (size_t)(x - best->ren);
			if (at < 32 && (best->ren_off >> at) & 1)
				continue;
			if (l > hlen && seg_prefix(r, x->canon, l) && l)
				hit = x, hlen = l;
		}
		if (hit) {
			char mid[512];
			size_t at = (size_t)(hit - best->ren);
			snprintf(mid, sizeof(mid), "%s%s%s%s", best->user, *best->user && *hit->user ? "." : "", hit->user,
				 at < 32 && (best->ren_idx0 >> at) & 1 ? "[0]" : "");
			return join_path(buf, n, mid, r + hlen);
		}
	}
	return join_path(buf, n, best->user, rest);
}

/* ---- found items ---- */

struct shape_item *shapes_add(struct shape_found *out, const char *name, json_t *canon)
{
	if (!canon)
		return NULL;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 4;
		struct shape_item *it = realloc(out->items, cap * sizeof(*it));
		if (!it) {
			json_decref(canon);
			return NULL;
		}
		out->items = it;
		out->cap = cap;
	}
	struct shape_item *it = &out->items[out->n];
	*it = (struct shape_item){ .name = strdup(name ? name : ""), .canon = canon };
	if (!it->name) {
		json_decref(canon);
		return NULL;
	}
	out->n++;
	return it;
}

void shapes_found_free(struct shape_found *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].name);
		free(f->items[i].alt);
		jsonin_drop(f->items[i].canon);
		shapes_map_free(&f->items[i].map);
	}
	free(f->items);
	*f = (struct shape_found){ 0 };
}

static const char *kind_noun(enum shape_kind k)
{
	return k == SHAPE_NSG ? "a network security group" : "a route table";
}

static const char *kind_option(enum shape_kind k)
{
	return k == SHAPE_NSG ? "--nsg or --nic-nsg" : "--routes";
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool type_is(const json_t *v, const char *type)
{
	const char *t = str_of(v, "type");
	return t && !strcasecmp(t, type);
}

static json_t *props_of(const json_t *v)
{
	json_t *p = json_object_get(v, "properties");
	return json_is_object(p) ? p : NULL;
}

/* A key in v or in v.properties. */
static json_t *get2(const json_t *v, const char *key)
{
	json_t *p = props_of(v), *x = p ? json_object_get(p, key) : NULL;
	return x ? x : json_object_get(v, key);
}

/* The last segment of an Azure resource id ("/…/securityRules/x" → "x"), or of a parent ("…/nsgs/n/…"). */
static char *id_segment(const char *id, const char *after)
{
	if (!id)
		return NULL;
	const char *p = strcasestr(id, after);
	if (!p)
		return NULL;
	p += strlen(after);
	size_t n = strcspn(p, "/");
	return n ? strndup(p, n) : NULL;
}

/* ---- simple resources: the REST/ARM resource and az's flattened shape ---- */

static bool is_nsg_resource(const json_t *v)
{
	if (!json_is_object(v))
		return false;
	if (type_is(v, "Microsoft.Network/networkSecurityGroups"))
		return true;
	return get2(v, "securityRules") || get2(v, "defaultSecurityRules");
}

static bool is_rt_resource(const json_t *v)
{
	if (!json_is_object(v))
		return false;
	if (type_is(v, "Microsoft.Network/routeTables"))
		return true;
	return get2(v, "routes") || get2(v, "disableBgpRoutePropagation");
}

/* The resource as it is: the canonical shape with the identity map at upath. */
static int add_whole(json_t *v, const char *upath, struct shape_found *out, struct diag *d)
{
	struct shape_item *it = shapes_add(out, str_of(v, "name"), json_incref(v));
	if (!it || shapes_map_add(&it->map, "", upath, NULL) < 0) {
		diag_oom(d, upath);
		return -1;
	}
	return 0;
}

static int conv_resource(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out,
			 struct diag *d)
{
	(void)kind;
	return add_whole(v, upath, out, d);
}

/* ---- the REST example wrapper {"parameters":…,"responses":{"200":{"body":…}}} ---- */

static bool is_rest_example(const json_t *v)
{
	return json_is_object(json_object_get(v, "responses")) && json_object_get(v, "parameters");
}

static int conv_rest_example(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out,
			     struct diag *d)
{
	static const char *const codes[] = { "200", "201" };
	json_t *resp = json_object_get(v, "responses");
	char p[512], q[512];
	for (size_t i = 0; i < 2; i++) {
		json_t *r = json_object_get(resp, codes[i]), *body = json_object_get(r, "body");
		if (body) {
			jsonin_path(q, sizeof(q), jsonin_path(p, sizeof(p), jsonin_path(q, sizeof(q), upath, "responses"),
							       codes[i]), "body");
			return shapes_dispatch(body, q, kind, out, 1, d);
		}
	}
	diag_err(d, jsonin_path(p, sizeof(p), upath, "responses"),
		 "a REST API example without a 200 or 201 response body: nothing to read (this example %s)",
		 json_object_get(resp, "202") ? "is an asynchronous operation" : "returns no resource");
	return -1;
}

/* ---- lists: {"value":[…]} and bare arrays (az … list, az network nsg rule list, az network route-table
 * route list). Elements that are resources are dispatched one by one; elements that are security rules or
 * routes make one NSG / route table, named after the parent in their ids. ---- */

static bool is_rule(const json_t *e)
{
	return json_is_object(e) && (get2(e, "access") || get2(e, "direction")) && !get2(e, "securityRules");
}

static bool is_route(const json_t *e)
{
	return json_is_object(e) && get2(e, "nextHopType") && !json_is_array(get2(e, "addressPrefix")) &&
	       !get2(e, "source");
}

static bool is_value_list(const json_t *v)
{
	return json_is_object(v) && json_is_array(json_object_get(v, "value")) &&
	       json_object_size(v) <= 1 + (json_object_get(v, "nextLink") != NULL);
}

static bool is_array(const json_t *v)
{
	return json_is_array(v);
}

static int conv_list(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d)
{
	char lp[512], ep[512];
	json_t *arr = v, *e;
	size_t i, nrules = 0, nroutes = 0;
	int rc = 0;
	if (json_is_object(v)) {
		arr = json_object_get(v, "value");
		jsonin_path(lp, sizeof(lp), upath, "value");
	} else {
		snprintf(lp, sizeof(lp), "%s", upath);
	}
	if (json_array_size(arr) == 0) {
		diag_err(d, lp, "an empty list: not %s (for an NSG without rules of its own, give the NSG itself, "
			 "e.g. `az network nsg show`)", kind_noun(kind));
		return -1;
	}
	json_array_foreach(arr, i, e) {
		if (is_rule(e))
			nrules++;
		else if (is_route(e))
			nroutes++;
	}
	if (nrules || nroutes) {
		bool rules = nrules >= nroutes;
		if ((rules && kind != SHAPE_NSG) || (!rules && kind != SHAPE_RT)) {
			diag_err(d, lp, "this is a list of %s; give it with %s", rules ? "security rules" : "routes",
				 kind_option(rules ? SHAPE_NSG : SHAPE_RT));
			return -1;
		}
		json_array_foreach(arr, i, e) {
			if (!(rules ? is_rule(e) : is_route(e))) {
				diag_err(d, jsonin_index(ep, sizeof(ep), lp, i), "expected a %s like the others, found %s",
					 rules ? "security rule" : "route",
					 json_is_object(e) ? "an object of another kind" : jsonin_typename(e));
				rc = -1;
			}
		}
		if (rc < 0)
			return -1;
		char *parent = id_segment(str_of(json_array_get(arr, 0), "id"),
					  rules ? "/networkSecurityGroups/" : "/routeTables/");
		const char *key = rules ? "securityRules" : "routes";
		json_t *canon = json_pack("{s:s, s:O}", "name", parent ? parent : (rules ? "nsg" : "routes"), key, arr);
		if (!rules && canon)
			json_object_set_new(canon, "type", json_string("Microsoft.Network/routeTables"));
		struct shape_item *it = shapes_add(out, parent ? parent : "", canon);
		free(parent);
		if (!it || shapes_map_add(&it->map, key, lp, NULL) < 0) {
			diag_oom(d, lp);
			return -1;
		}
		return 0;
	}
	json_array_foreach(arr, i, e) {
		if (shapes_dispatch(e, jsonin_index(ep, sizeof(ep), lp, i), kind, out, 1, d) < 0)
			rc = -1;
	}
	return rc;
}

/* ---- `az network nsg create`: {"NewNSG": {…}} ---- */

static bool is_newnsg(const json_t *v)
{
	return json_is_object(v) && json_object_size(v) == 1 && json_is_object(json_object_get(v, "NewNSG"));
}

static int conv_newnsg(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d)
{
	char p[512];
	return shapes_dispatch(json_object_get(v, "NewNSG"), jsonin_path(p, sizeof(p), upath, "NewNSG"), kind, out, 1,
			       d);
}

/* ---- PowerShell: ConvertTo-Json of Get-AzNetworkSecurityGroup / Get-AzRouteTable (PascalCase; the
 * PSSecurityRule address and port fields are lists) ---- */

static bool is_ps_nsg(const json_t *v)
{
	return json_is_object(v) && (json_object_get(v, "SecurityRules") || json_object_get(v, "DefaultSecurityRules"));
}

static bool is_ps_rt(const json_t *v)
{
	return json_is_object(v) && (json_object_get(v, "Routes") || json_object_get(v, "DisableBgpRoutePropagation"));
}

/* ConvertTo-Json writes an object deeper than -Depth (2 by default) as its .NET type name. */
static bool ps_truncated(const json_t *x)
{
	const char *s = json_string_value(x);
	return s && (!strncmp(s, "System.", 7) || !strncmp(s, "Microsoft.Azure.", 16));
}

static void ps_depth_error(const char *path, struct diag *d)
{
	diag_err(d, path, "PowerShell cut the object off here at ConvertTo-Json's depth limit (2 by default); "
		 "convert it again with `ConvertTo-Json -Depth 10`");
}

static const struct shape_ren ps_rule_ren[] = {
	{ "name", "Name" },
	{ "properties.protocol", "Protocol" },
	{ "properties.access", "Access" },
	{ "properties.priority", "Priority" },
	{ "properties.direction", "Direction" },
	{ "properties.sourceApplicationSecurityGroups", "SourceApplicationSecurityGroups" },
	{ "properties.destinationApplicationSecurityGroups", "DestinationApplicationSecurityGroups" },
	/* PS_REN_LISTS: list field i's singular (+ 2i) and plural (+ 2i + 1), each on only where the rule gives
	 * that form (ps_rule: a one-element list is the singular, at [0]) */
	{ "properties.sourceAddressPrefix", "SourceAddressPrefix" },
	{ "properties.sourceAddressPrefixes", "SourceAddressPrefix" },
	{ "properties.destinationAddressPrefix", "DestinationAddressPrefix" },
	{ "properties.destinationAddressPrefixes", "DestinationAddressPrefix" },
	{ "properties.sourcePortRange", "SourcePortRange" },
	{ "properties.sourcePortRanges", "SourcePortRange" },
	{ "properties.destinationPortRange", "DestinationPortRange" },
	{ "properties.destinationPortRanges", "DestinationPortRange" },
	{ "properties", "" },
	{ NULL, NULL },
};
#define PS_REN_LISTS 7

/* The four list fields (in ps_rule_ren's order): canonical singular/plural names and the PowerShell name. */
static const struct {
	const char *one, *many, *ps;
} ps_lists[] = {
	{ "sourceAddressPrefix", "sourceAddressPrefixes", "SourceAddressPrefix" },
	{ "destinationAddressPrefix", "destinationAddressPrefixes", "DestinationAddressPrefix" },
	{ "sourcePortRange", "sourcePortRanges", "SourcePortRange" },
	{ "destinationPortRange", "destinationPortRanges", "DestinationPortRange" },
};

static int ps_rule(json_t *r, const char *rpath, const char *cpath, json_t *rules, struct shape_map *m,
		   struct diag *d)
{
	char up[512];
	if (ps_truncated(r)) {
		ps_depth_error(rpath, d);
		return -1;
	}
	if (!json_is_object(r)) { /* left for the NSG reader to report, at the mapped path */
		json_array_append(rules, r);
		return shapes_map_add(m, cpath, rpath, NULL);
	}
	json_t *props = json_object(), *canon = json_object(), *name = json_object_get(r, "Name");
	if (!props || !canon || json_object_set_new_nocheck(canon, "name", name ? json_incref(name) : json_null()) < 0 ||
	    json_object_set_new_nocheck(canon, "properties", props) < 0) {
		json_decref(canon);
		return -1;
	}
	static const char *const plain[][2] = { { "Protocol", "protocol" }, { "Access", "access" },
						{ "Priority", "priority" }, { "Direction", "direction" },
						{ "SourceApplicationSecurityGroups", "sourceApplicationSecurityGroups" },
						{ "DestinationApplicationSecurityGroups",
						  "destinationApplicationSecurityGroups" } };
	int rc = 0;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		json_t *x = json_object_get(r, plain[i][0]);
		if (x)
			json_object_set_new_nocheck(props, plain[i][1], json_incref(x));
	}
	/* the list fields map through the rule's entry: the forms this rule gives are switched on */
	unsigned off = 0xffu << PS_REN_LISTS, idx0 = 0;
	for (size_t i = 0; i < 4; i++) {
		json_t *x = json_object_get(r, ps_lists[i].ps);
		unsigned one = 1u << (PS_REN_LISTS + 2 * i), many = one << 1;
		if (ps_truncated(x)) {
			ps_depth_error(jsonin_path(up, sizeof(up), rpath, ps_lists[i].ps), d);
			rc = -1;
		} else if (json_is_array(x) && json_array_size(x) == 1) {
			json_object_set_new_nocheck(props, ps_lists[i].one, json_incref(json_array_get(x, 0)));
			off &= ~one;
			idx0 |= one;
		} else if (json_is_array(x)) {
			json_object_set_new_nocheck(props, ps_lists[i].many, json_incref(x));
			off &= ~many;
		} else if (x) { /* a plain string (or a wrong type, reported by the NSG reader) */
			json_object_set_new_nocheck(props, ps_lists[i].one, json_incref(x));
			off &= ~one;
		}
	}
	if (shapes_map_add(m, cpath, rpath, ps_rule_ren) < 0) {
		rc = -1;
	} else {
		m->e[m->n - 1].ren_off = off;
		m->e[m->n - 1].ren_idx0 = idx0;
	}
	if (json_array_append_new(rules, canon) < 0)
		rc = -1;
	return rc;
}

static int conv_ps_nsg(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out,
		       struct diag *d)
{
	(void)kind;
	char lp[512], rp[512], cp[64];
	json_t *src = json_object_get(v, "SecurityRules"), *rules = json_array(), *r;
	json_t *canon = json_pack("{s:O?, s:s, s:{s:o}}", "name", json_object_get(v, "Name"), "type",
				  "Microsoft.Network/networkSecurityGroups", "properties", "securityRules", rules);
	struct shape_item *it = shapes_add(out, str_of(v, "Name"), canon);
	size_t i;
	int before = d->errors;
	if (!it)
		goto oom;
	jsonin_path(lp, sizeof(lp), upath, "SecurityRules");
	if (shapes_map_add(&it->map, "", upath, NULL) < 0 || shapes_map_add(&it->map, "properties.securityRules", lp,
									      NULL) < 0)
		goto oom;
	if (ps_truncated(src)) {
		ps_depth_error(lp, d);
		return -1;
	}
	if (src && !json_is_null(src) && !json_is_array(src)) {
		diag_err(d, lp, "expected an array, found %s", jsonin_typename(src));
		return -1;
	}
	json_array_foreach(src, i, r) {
		item_path(cp, sizeof(cp), "securityRules", i);
		if (ps_rule(r, jsonin_index(rp, sizeof(rp), lp, i), cp, rules, &it->map, d) < 0 && d->errors == before)
			goto oom;
	}
	return d->errors == before ? 0 : -1;
oom:
	diag_oom(d, upath);
	return -1;
}

static const struct shape_ren ps_route_ren[] = {
	{ "name", "Name" },
	{ "properties.addressPrefix", "AddressPrefix" },
	{ "properties.nextHopType", "NextHopType" },
	{ "properties.nextHopIpAddress", "NextHopIpAddress" },
	{ "properties", "" },
	{ NULL, NULL },
};

static int conv_ps_rt(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d)
{
	(void)kind;
	char lp[512], rp[512], cp[64];
	json_t *src = json_object_get(v, "Routes"), *routes = json_array(), *r;
	json_t *canon = json_pack("{s:O?, s:s, s:{s:o, s:O?}}", "name", json_object_get(v, "Name"), "type",
				  "Microsoft.Network/routeTables", "properties", "routes", routes,
				  "disableBgpRoutePropagation", json_object_get(v, "DisableBgpRoutePropagation"));
	struct shape_item *it = shapes_add(out, str_of(v, "Name"), canon);
	size_t i;
	if (!it)
		goto oom;
	jsonin_path(lp, sizeof(lp), upath, "Routes");
	if (shapes_map_add(&it->map, "", upath, NULL) < 0 || shapes_map_add(&it->map, "properties.routes", lp, NULL) < 0)
		goto oom;
	if (ps_truncated(src)) {
		ps_depth_error(lp, d);
		return -1;
	}
	if (src && !json_is_null(src) && !json_is_array(src)) {
		diag_err(d, lp, "expected an array, found %s", jsonin_typename(src));
		return -1;
	}
	json_array_foreach(src, i, r) {
		item_path(cp, sizeof(cp), "routes", i);
		jsonin_index(rp, sizeof(rp), lp, i);
		if (ps_truncated(r)) {
			ps_depth_error(rp, d);
			return -1;
		}
		json_t *c = r;
		if (json_is_object(r)) {
			c = json_pack("{s:O?, s:{s:O?, s:O?, s:O?}}", "name", json_object_get(r, "Name"), "properties",
				      "addressPrefix", json_object_get(r, "AddressPrefix"), "nextHopType",
				      json_object_get(r, "NextHopType"), "nextHopIpAddress",
				      json_object_get(r, "NextHopIpAddress"));
		} else {
			json_incref(c);
		}
		if (!c || json_array_append_new(routes, c) < 0 || shapes_map_add(&it->map, cp, rp, ps_route_ren) < 0)
			goto oom;
	}
	return 0;
oom:
	diag_oom(d, upath);
	return -1;
}

/* ---- Terraform: `terraform show -json` of a plan (planned_values, with resource_changes for what is
 * unknown until apply) or of the state (values) ---- */

static bool is_terraform(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, "format_version") &&
	       (json_object_get(v, "planned_values") || json_object_get(v, "values") ||
		json_object_get(v, "resource_changes"));
}

static const struct shape_ren tf_rule_ren[] = {
	{ "name", "name" },
	{ "properties.protocol", "protocol" },
	{ "properties.access", "access" },
	{ "properties.priority", "priority" },
	{ "properties.direction", "direction" },
	{ "properties.sourceAddressPrefix", "source_address_prefix" },
	{ "properties.sourceAddressPrefixes", "source_address_prefixes" },
	{ "properties.destinationAddressPrefix", "destination_address_prefix" },
	{ "properties.destinationAddressPrefixes", "destination_address_prefixes" },
	{ "properties.sourcePortRange", "source_port_range" },
	{ "properties.sourcePortRanges", "source_port_ranges" },
	{ "properties.destinationPortRange", "destination_port_range" },
	{ "properties.destinationPortRanges", "destination_port_ranges" },
	{ "properties.sourceApplicationSecurityGroups", "source_application_security_group_ids" },
	{ "properties.destinationApplicationSecurityGroups", "destination_application_security_group_ids" },
	{ "properties", "" },
	{ NULL, NULL },
};

static const struct shape_ren tf_route_ren[] = {
	{ "name", "name" },
	{ "properties.addressPrefix", "address_prefix" },
	{ "properties.nextHopType", "next_hop_type" },
	{ "properties.nextHopIpAddress", "next_hop_in_ip_address" },
	{ "properties", "" },
	{ NULL, NULL },
};

/* A Terraform object (a security_rule block or an azurerm_network_security_rule's values) → REST, using a
 * rename table read backwards. ASG ids become REST's [{"id": …}]. */
static json_t *tf_convert(json_t *tf, const struct shape_ren *ren)
{
	/* built with the unchecked setters: every key is one of the tables' ASCII names (json_pack would parse its
	 * format and check each key again, for every rule) */
	json_t *props = json_object(), *c = json_object(), *name = json_object_get(tf, "name");
	if (!props || !c || json_object_set_new_nocheck(c, "name", name ? json_incref(name) : json_null()) < 0 ||
	    json_object_set_new_nocheck(c, "properties", props) < 0) {
		json_decref(c);
		return NULL;
	}
	for (const struct shape_ren *x = ren; x->canon; x++) {
		if (strncmp(x->canon, "properties.", 11))
			continue;
		json_t *v = json_object_get(tf, x->user);
		if (!v || json_is_null(v))
			continue;
		/* Terraform writes every address and port field, the unused form empty ("" or []); the NSG reader takes
		 * an empty one of the right type for an absent one (parse_addr, parse_ports), so it is left out (fewer
		 * members to add). The list forms' canonical names end in 's'. */
		if (ren == tf_rule_ren && (x->user[0] == 's' || !strncmp(x->user, "destination_", 12))) {
			bool list = x->canon[strlen(x->canon) - 1] == 's';
			if (list ? json_is_array(v) && !json_array_size(v) : json_is_string(v) && !*json_string_value(v))
				continue;
		}
		if (json_is_array(v) && json_array_size(v) && strstr(x->user, "application_security_group_ids")) {
			json_t *a = json_array(), *e;
			size_t i;
			json_array_foreach(v, i, e) json_array_append_new(a, json_pack("{s:O}", "id", e));
			json_object_set_new_nocheck(props, x->canon + 11, a);
		} else {
			json_object_set_new_nocheck(props, x->canon + 11, json_incref(v));
		}
	}
	return c;
}

struct tf_res {
	json_t *values, *unknown; /* unknown: resource_changes[…].change.after_unknown, or NULL */
	const char *type, *address;
	char path[384];           /* of values */
};

struct tf_walk {
	struct tf_res *r;
	size_t n, cap;
};

static void tf_push(struct tf_walk *w, json_t *values, const char *type, const char *address, const char *path)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct tf_res *r = realloc(w->r, cap * sizeof(*r));
		if (!r)
			return;
		w->r = r;
		w->cap = cap;
	}
	struct tf_res *r = &w->r[w->n++];
	*r = (struct tf_res){ .values = values, .type = type, .address = address };
	snprintf(r->path, sizeof(r->path), "%s", path);
}

static void tf_module(json_t *mod, const char *path, struct tf_walk *w, int depth)
{
	char p[384], q[384];
	json_t *e;
	size_t i;
	if (!json_is_object(mod) || depth > 16)
		return;
	json_array_foreach(json_object_get(mod, "resources"), i, e) {
		const char *mode = str_of(e, "mode"), *type = str_of(e, "type");
		if (!type || (mode && strcmp(mode, "managed")) || strncmp(type, "azurerm_", 8))
			continue;
		jsonin_index(q, sizeof(q), jsonin_path(p, sizeof(p), path, "resources"), i);
		tf_push(w, json_object_get(e, "values"), type, str_of(e, "address"), jsonin_path(p, sizeof(p), q, "values"));
	}
	json_array_foreach(json_object_get(mod, "child_modules"), i, e)
		tf_module(e, jsonin_index(q, sizeof(q), jsonin_path(p, sizeof(p), path, "child_modules"), i), w,
			  depth + 1);
}

/* Is a field unknown at plan time? `unk` is after_unknown at the same place as the field's parent. */
static bool tf_unknown(json_t *unk, const char *key)
{
	return json_is_true(json_object_get(unk, key));
}

static void tf_unknown_error(const char *path, const char *key, struct diag *d)
{
	char p[512];
	diag_err(d, jsonin_path(p, sizeof(p), path, key),
		 "known only after apply (this plan leaves it unknown); give minet `terraform show -json` of the "
		 "state after apply, or a value known at plan time");
}

/* Report the fields of one Terraform object (rule or route) that the plan leaves unknown. */
static int tf_check_unknown(json_t *unk, const char *path, const struct shape_ren *ren, struct diag *d)
{
	int rc = 0;
	const char *key;
	json_t *v;
	bool any = false;
	if (!unk)
		return 0;
	/* a plan mostly leaves only computed attributes (id) unknown: look through what it leaves unknown for one of
	 * ren's fields first, then report them in ren's order */
	json_object_foreach(unk, key, v)
		for (const struct shape_ren *x = ren; json_is_true(v) && !any && x->canon; x++)
			any = *x->user && !strcmp(x->user, key);
	if (!any)
		return 0;
	for (const struct shape_ren *x = ren; x->canon; x++)
		if (*x->user && tf_unknown(unk, x->user)) {
			tf_unknown_error(path, x->user, d);
			rc = -1;
		}
	return rc;
}

/* Inline blocks (security_rule / route) of one resource, appended to the item. */
static int tf_blocks(struct tf_res *r, const char *block, const char *ckey, const struct shape_ren *ren,
		     json_t *list, struct shape_item *it, struct diag *d)
{
	char bp[512], ep[512], cp[64];
	json_t *blocks = json_object_get(r->values, block), *e, *unk = NULL;
	size_t i;
	int rc = 0;
	jsonin_path(bp, sizeof(bp), r->path, block);
	if (r->unknown) {
		if (tf_unknown(r->unknown, block)) {
			tf_unknown_error(r->path, block, d);
			return -1;
		}
		unk = json_object_get(r->unknown, block);
	}
	if (!blocks || json_is_null(blocks))
		return 0;
	if (!json_is_array(blocks)) {
		diag_err(d, bp, "expected an array, found %s", jsonin_typename(blocks));
		return -1;
	}
	json_array_foreach(blocks, i, e) {
		jsonin_index(ep, sizeof(ep), bp, i);
		if (tf_check_unknown(json_array_get(unk, i), ep, ren, d) < 0)
			rc = -1;
		item_path(cp, sizeof(cp), ckey, json_array_size(list));
		json_t *c = json_is_object(e) ? tf_convert(e, ren) : json_incref(e);
		if (!c || json_array_append_new(list, c) < 0 || shapes_map_add(&it->map, cp, ep, ren) < 0) {
			diag_oom(d, ep);
			return -1;
		}
	}
	return rc;
}

static struct shape_item *tf_find(struct shape_found *out, size_t from, const char *name)
{
	for (size_t i = from; i < out->n; i++)
		if (name && !strcasecmp(out->items[i].name, name))
			return &out->items[i];
	return NULL;
}

static struct shape_item *tf_item(struct shape_found *out, const char *name, const char *address, const char *key,
				  const char *type, const char *upath, struct diag *d)
{
	json_t *list = json_array();
	json_t *canon = json_pack("{s:s?, s:s, s:{s:o}}", "name", name, "type", type, "properties", key, list);
	struct shape_item *it = shapes_add(out, name, canon);
	char p[512];
	if (!it || (address && !(it->alt = strdup(address))) || shapes_map_add(&it->map, "", upath, NULL) < 0 ||
	    shapes_map_add(&it->map, "name", jsonin_path(p, sizeof(p), upath, "name"), NULL) < 0) {
		diag_oom(d, upath);
		return NULL;
	}
	return it;
}

static int conv_terraform(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out,
			  struct diag *d)
{
	struct tf_walk w = { 0 };
	char p[512], q[512];
	json_t *pv = json_object_get(v, "planned_values"), *rcs = json_object_get(v, "resource_changes"), *e;
	size_t i, first = out->n;
	int rc = 0;
	bool nsg = kind == SHAPE_NSG;
	const char *res_type = nsg ? "azurerm_network_security_group" : "azurerm_route_table";
	const char *child_type = nsg ? "azurerm_network_security_rule" : "azurerm_route";
	const char *block = nsg ? "security_rule" : "route", *ckey = nsg ? "securityRules" : "routes";
	const char *parent_key = nsg ? "network_security_group_name" : "route_table_name";
	const struct shape_ren *ren = nsg ? tf_rule_ren : tf_route_ren;

	if (json_is_object(pv)) {
		tf_module(json_object_get(pv, "root_module"),
			  jsonin_path(q, sizeof(q), jsonin_path(p, sizeof(p), upath, "planned_values"), "root_module"), &w, 0);
	} else if (json_is_object(json_object_get(v, "values"))) {
		tf_module(json_object_get(json_object_get(v, "values"), "root_module"),
			  jsonin_path(q, sizeof(q), jsonin_path(p, sizeof(p), upath, "values"), "root_module"), &w, 0);
	} else {
		json_array_foreach(rcs, i, e) { /* only resource_changes: use change.after */
			const char *type = str_of(e, "type");
			json_t *ch = json_object_get(e, "change");
			if (!type || strncmp(type, "azurerm_", 8) || !json_is_object(json_object_get(ch, "after")))
				continue;
			char r[512];
			jsonin_index(q, sizeof(q), jsonin_path(p, sizeof(p), upath, "resource_changes"), i);
			tf_push(&w, json_object_get(ch, "after"), type, str_of(e, "address"),
				jsonin_path(p, sizeof(p), jsonin_path(r, sizeof(r), q, "change"), "after"));
		}
	}
	/* A plan's after_unknown, by resource address. */
	json_t *by_addr = json_object();
	json_array_foreach(rcs, i, e) {
		const char *a = str_of(e, "address");
		json_t *u = json_object_get(json_object_get(e, "change"), "after_unknown");
		if (a && json_is_object(u))
			json_object_set(by_addr, a, u);
	}
	for (size_t k = 0; k < w.n; k++)
		if (w.r[k].address)
			w.r[k].unknown = json_object_get(by_addr, w.r[k].address);
	for (size_t k = 0; k < w.n; k++) {
		struct tf_res *r = &w.r[k];
		if (strcmp(r->type, res_type) || !json_is_object(r->values))
			continue;
		if (r->unknown && tf_unknown(r->unknown, "name")) {
			tf_unknown_error(r->path, "name", d);
			rc = -1;
			continue;
		}
		struct shape_item *it = tf_item(out, str_of(r->values, "name"), r->address, ckey,
						nsg ? "Microsoft.Network/networkSecurityGroups" : "Microsoft.Network/routeTables",
						r->path, d);
		if (!it) {
			rc = -1;
			break;
		}
		json_t *list = json_object_get(json_object_get(it->canon, "properties"), ckey);
		jsonin_path(p, sizeof(p), r->path, block);
		snprintf(q, sizeof(q), "properties.%s", ckey);
		shapes_map_add(&it->map, q, p, NULL);
		if (tf_blocks(r, block, ckey, ren, list, it, d) < 0)
			rc = -1;
		if (!nsg) { /* azurerm 3.x disable_bgp_route_propagation, 4.x bgp_route_propagation_enabled */
			json_t *dis = json_object_get(r->values, "disable_bgp_route_propagation");
			json_t *en = json_object_get(r->values, "bgp_route_propagation_enabled");
			json_t *props = json_object_get(it->canon, "properties");
			if (json_is_boolean(dis))
				json_object_set(props, "disableBgpRoutePropagation", dis);
			else if (json_is_boolean(en))
				json_object_set_new(props, "disableBgpRoutePropagation", json_boolean(!json_is_true(en)));
		}
	}
	/* Standalone rules / routes join their parent by name (the parent may live in another configuration). */
	for (size_t k = 0; k < w.n; k++) {
		struct tf_res *r = &w.r[k];
		if (strcmp(r->type, child_type) || !json_is_object(r->values))
			continue;
		if (r->unknown && tf_unknown(r->unknown, parent_key)) {
			tf_unknown_error(r->path, parent_key, d);
			rc = -1;
			continue;
		}
		if (tf_check_unknown(r->unknown, r->path, ren, d) < 0)
			rc = -1;
		const char *parent = str_of(r->values, parent_key);
		struct shape_item *it = tf_find(out, first, parent);
		if (!it && !parent) {
			diag_err(d, jsonin_path(p, sizeof(p), r->path, parent_key), "missing");
			rc = -1;
			continue;
		}
		if (!it && !(it = tf_item(out, parent, NULL, ckey,
					  nsg ? "Microsoft.Network/networkSecurityGroups" : "Microsoft.Network/routeTables",
					  r->path, d))) {
			rc = -1;
			break;
		}
		json_t *list = json_object_get(json_object_get(it->canon, "properties"), ckey);
		item_path(q, sizeof(q), ckey, json_array_size(list));
		json_t *c = tf_convert(r->values, ren);
		if (!c || json_array_append_new(list, c) < 0 || shapes_map_add(&it->map, q, r->path, ren) < 0) {
			diag_oom(d, r->path);
			rc = -1;
			break;
		}
	}
	free(w.r);
	json_decref(by_addr); /* the after_unknown objects stay referenced by v */
	if (rc == 0 && out->n == first) {
		diag_err(d, upath, "this Terraform %s holds no %s or %s resource", pv || rcs ? "plan" : "state",
			 res_type, child_type);
		return -1;
	}
	return rc;
}

/* ---- ARM templates and Bicep-compiled JSON: evaluated by armtmpl.c with the --parameters file (or the
 * parameters' defaults); each NSG / route table deployed is an item named by its evaluated name. ---- */

static const json_t *arm_params;

void shapes_set_arm_parameters(const json_t *params)
{
	arm_params = params;
}

static bool is_arm_template(const json_t *v)
{
	return json_is_object(v) && armtmpl_is_template(v);
}

static int conv_arm(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d)
{
	const char *type = kind == SHAPE_NSG ? "Microsoft.Network/networkSecurityGroups" : "Microsoft.Network/routeTables";
	unsigned long failures = jsonin_alloc_failures();
	json_t *res = armtmpl_resources(v, arm_params, type, d), *e;
	size_t i, first = out->n;
	char user[512];
	if (!res)
		return -1;
	json_array_foreach(res, i, e) {
		const char *name = str_of(e, "name");
		/* The evaluated resource has no single place in the template (loops, variables, child resources):
		 * errors found after evaluation name it as deployed. Errors in expressions name the template path. */
		snprintf(user, sizeof(user), "%s%s(deployed %s '%s')", upath, *upath ? "." : "",
			 kind == SHAPE_NSG ? "networkSecurityGroups" : "routeTables", name ? name : "?");
		struct shape_item *it = shapes_add(out, name, json_incref(e));
		if (!it || shapes_map_add(&it->map, "", user, NULL) < 0) {
			json_decref(res);
			diag_oom(d, upath);
			return -1;
		}
	}
	json_decref(res);
	if (out->n == first && jsonin_alloc_failures() != failures) { /* a resource may have been lost with it */
		diag_oom(d, upath);
		return -1;
	}
	if (out->n == first) {
		diag_err(d, upath, "this ARM template deploys no %s (%s)",
			 kind == SHAPE_NSG ? "network security group" : "route table", type);
		return -1;
	}
	return 0;
}

/* ---- shapes recognised only to say what they are ---- */

/* Effective output (model/effective.h), read by its own loaders: the item is the output itself, flagged
 * SHAPE_F_EFFECTIVE; its paths are the user's below upath. */
static bool is_effective_nsg(const json_t *v)
{
	return effective_nsg_shape((json_t *)(uintptr_t)v);
}

static bool is_effective_routes(const json_t *v)
{
	return effective_routes_shape((json_t *)(uintptr_t)v);
}

static int conv_effective(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d)
{
	struct shape_item *it = shapes_add(out, kind == SHAPE_NSG ? "effective-security-rules" : "effective-routes",
					   json_incref(v));
	if (!it || shapes_map_add(&it->map, "", upath, NULL) < 0) {
		diag_oom(d, upath);
		return -1;
	}
	it->flags |= SHAPE_F_EFFECTIVE;
	return 0;
}

static bool is_sg_view(const json_t *v)
{
	json_t *e = json_array_get(json_object_get(v, "networkInterfaces"), 0);
	return json_is_object(e) && json_object_get(e, "securityRuleAssociations");
}

static bool is_arm_parameters(const json_t *v)
{
	const char *s = str_of(v, "$schema");
	return s && strcasestr(s, "deploymentParameters");
}

static bool is_vnet(const json_t *v)
{
	return json_is_object(v) && (type_is(v, "Microsoft.Network/virtualNetworks") || get2(v, "addressSpace"));
}

static bool is_subnet(const json_t *v)
{
	return json_is_object(v) && (type_is(v, "Microsoft.Network/virtualNetworks/subnets") ||
				     (get2(v, "addressPrefix") && (get2(v, "networkSecurityGroup") ||
								   get2(v, "routeTable") || get2(v, "ipConfigurations"))));
}

static bool is_nic(const json_t *v)
{
	return json_is_object(v) && (type_is(v, "Microsoft.Network/networkInterfaces") ||
				     (get2(v, "ipConfigurations") && !get2(v, "addressPrefix")));
}

static bool is_tags_file(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, "changeNumber") && json_object_get(v, "cloud") &&
	       json_object_get(v, "values");
}

static bool is_one_rule(const json_t *v)
{
	return is_rule(v) || type_is(v, "Microsoft.Network/networkSecurityGroups/securityRules");
}

static bool is_one_route(const json_t *v)
{
	return is_route(v) || type_is(v, "Microsoft.Network/routeTables/routes");
}

/* The table, in order: the first shape whose `is` holds decides. Effective output comes before lists (it is
 * a {"value":[…]} list too); wrappers before resources. Effective output itself is read by effective.c, which
 * policy.c tries before this table (it yields two NSGs, or a whole FIB, not one resource): here it is only
 * recognised when given to the other option. */
static const struct shape shape_table[] = {
	{ "effective security rules (az network nic list-effective-nsg)", SHAPE_KIND(SHAPE_NSG), is_effective_nsg,
	  conv_effective, NULL },
	{ "an effective route table (az network nic show-effective-route-table)", SHAPE_KIND(SHAPE_RT),
	  is_effective_routes, conv_effective, NULL },
	{ "a REST API example (parameters and responses)", SHAPE_KIND(SHAPE_NSG) | SHAPE_KIND(SHAPE_RT),
	  is_rest_example, conv_rest_example, NULL },
	{ "a list ({\"value\": […]})", SHAPE_KIND(SHAPE_NSG) | SHAPE_KIND(SHAPE_RT), is_value_list, conv_list, NULL },
	{ "a list", SHAPE_KIND(SHAPE_NSG) | SHAPE_KIND(SHAPE_RT), is_array, conv_list, NULL },
	{ "the output of az network nsg create", SHAPE_KIND(SHAPE_NSG), is_newnsg, conv_newnsg, NULL },
	{ "a Terraform plan or state (terraform show -json)", SHAPE_KIND(SHAPE_NSG) | SHAPE_KIND(SHAPE_RT),
	  is_terraform, conv_terraform, NULL },
	{ "an ARM template", SHAPE_KIND(SHAPE_NSG) | SHAPE_KIND(SHAPE_RT), is_arm_template, conv_arm, NULL },
	{ "an ARM parameters file", 0, is_arm_parameters, NULL,
	  "give it with --parameters, and the template itself with --nsg / --routes" },
	{ "a PowerShell network security group (ConvertTo-Json of Get-AzNetworkSecurityGroup)", SHAPE_KIND(SHAPE_NSG),
	  is_ps_nsg, conv_ps_nsg, NULL },
	{ "a PowerShell route table (ConvertTo-Json of Get-AzRouteTable)", SHAPE_KIND(SHAPE_RT), is_ps_rt, conv_ps_rt,
	  NULL },
	{ "a network security group", SHAPE_KIND(SHAPE_NSG), is_nsg_resource, conv_resource, NULL },
	{ "a route table", SHAPE_KIND(SHAPE_RT), is_rt_resource, conv_resource, NULL },
	{ "a Network Watcher security-group view (az network watcher show-security-group-view)", 0, is_sg_view, NULL,
	  "give the NSGs it names (az network nsg show) with --nsg and --nic-nsg" },
	{ "a Service Tags file", 0, is_tags_file, NULL, "give it with --tags" },
	{ "a virtual network", 0, is_vnet, NULL,
	  "give its address space with --vnet, and its subnet's NSG and route table with --nsg and --routes" },
	{ "a subnet", 0, is_subnet, NULL,
	  "give its NSG and route table (the resources its networkSecurityGroup.id and routeTable.id name) with "
	  "--nsg and --routes" },
	{ "a network interface", 0, is_nic, NULL,
	  "give its NSG (the resource its networkSecurityGroup.id names) with --nic-nsg" },
	{ "one security rule", 0, is_one_rule, NULL,
	  "give the whole NSG (az network nsg show) or its rule list (az network nsg rule list)" },
	{ "one route", 0, is_one_route, NULL,
	  "give the whole route table (az network route-table show) or its route list (az network route-table "
	  "route list)" },
};

static void keys_of(json_t *v, char *buf, size_t n)
{
	const char *k;
	json_t *x;
	size_t used = 0, count = 0;
	buf[0] = 0;
	json_object_foreach(v, k, x) {
		if (count++ == 6) {
			snprintf(buf + used, n - used, ", …");
			return;
		}
		int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", k);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
}

int shapes_dispatch(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, int depth,
		    struct diag *d)
{
	(void)depth;
	static __thread int level;
	if (level > MAX_DEPTH) {
		diag_err(d, upath, "nested too deeply to be %s", kind_noun(kind));
		return -1;
	}
	for (size_t i = 0; i < sizeof(shape_table) / sizeof(shape_table[0]); i++) {
		const struct shape *s = &shape_table[i];
		if (!s->is(v))
			continue;
		if (!out->shape)
			out->shape = s->name;
		if (!s->convert) {
			diag_err(d, upath, "this is %s, not %s (for %s); %s", s->name, kind_noun(kind), kind_option(kind),
				 s->hint);
			return -1;
		}
		if (!(s->kinds & SHAPE_KIND(kind))) {
			diag_err(d, upath, "this is %s, not %s; give it with %s", s->name, kind_noun(kind),
				 kind_option(kind == SHAPE_NSG ? SHAPE_RT : SHAPE_NSG));
			return -1;
		}
		level++;
		int rc = s->convert(v, upath, kind, out, d);
		level--;
		return rc;
	}
	char keys[256];
	if (json_is_object(v)) {
		keys_of(v, keys, sizeof(keys));
		diag_err(d, upath, "not %s: an object with %s%s, in none of the shapes minet reads (see minet-flow(1), "
			 "INPUT SHAPES)", kind_noun(kind), *keys ? "keys " : "no keys", keys);
	} else {
		diag_err(d, upath, "expected %s (an object), found %s", kind_noun(kind), jsonin_typename(v));
	}
	return -1;
}

/* ---- loading one argument ---- */

/* What no shape reads of a Terraform plan, left out while parsing (jsonfast.h): a resource change's before and
 * sensitivity masks, its after when planned_values has the planned resources (conv_terraform reads after only
 * without them), and the configuration, prior state and drift. A plan is about as big again as its
 * planned_values because of them. */
static const char *const tf_plan_keys[] = { "format_version", NULL };
static const char *const tf_pv[] = { "planned_values", NULL };
static const char *const tf_plan_rc_keys[] = { "format_version", "resource_changes", NULL };
static const char *const tf_before[] = { "resource_changes", "*", "change", "before", NULL };
static const char *const tf_after[] = { "resource_changes", "*", "change", "after", NULL };
static const char *const tf_before_sens[] = { "resource_changes", "*", "change", "before_sensitive", NULL };
static const char *const tf_after_sens[] = { "resource_changes", "*", "change", "after_sensitive", NULL };
static const char *const tf_config[] = { "configuration", NULL };
static const char *const tf_prior[] = { "prior_state", NULL };
static const char *const tf_drift[] = { "resource_drift", NULL };
static const char *const *const tf_with_pv[] = { tf_after, NULL };
static const char *const *const tf_always[] = { tf_before, tf_before_sens, tf_after_sens, tf_config, tf_prior,
						tf_drift, NULL };
/* An ARM template's resources that conv_arm never evaluates (armtmpl.c's wanted(): not an NSG or route table, nor
 * one of their children, nor a nested deployment, with no nested resources) become null: a template is mostly
 * other resources (virtual machines, …), and the walk skips a null as it skips them. */
static const char *const arm_keys[] = { "contentVersion", "resources", NULL };
static const char *const arm_res[] = { "resources", "*", NULL };
static const char *const *const arm_paths[] = { arm_res, NULL };
static const char *const arm_keep[] = { "Microsoft.Network/networkSecurityGroups", "Microsoft.Network/routeTables",
					"Microsoft.Resources/deployments", NULL };
static const char *const arm_keep_keys[] = { "resources", NULL };

static const struct jsonfast_prune read_prune[] = {
	{ .has = tf_plan_keys, .objects = tf_pv, .paths = tf_with_pv },
	{ .has = tf_plan_rc_keys, .paths = tf_always },
	{ .has = tf_plan_keys, .objects = tf_pv, .paths = tf_always },
	{ .has = arm_keys, .paths = arm_paths, .stub_key = "type", .keep_prefixes = arm_keep, .keep_keys = arm_keep_keys },
};

json_t *shapes_read(const char *file, size_t max_bytes, struct diag *d)
{
	size_t len;
	json_error_t err;
	char *buf = jsonin_read_file(file, max_bytes, JSONFAST_PADDING, &len, d);
	if (!buf)
		return NULL;
	if (len == 0) {
		free(buf);
		diag_err(d, NULL, "empty file, expected a JSON object");
		return NULL;
	}
	json_t *root = jsonfast_loadb_pruned(buf, len, JSONFAST_PADDING, read_prune,
					     sizeof(read_prune) / sizeof(read_prune[0]), &err);
	free(buf);
	if (!root)
		jsonin_load_error(d, &err);
	return root;
}

void shapes_pick_free(struct shape_pick *pk)
{
	free(pk->file);
	free(pk->name);
	jsonin_drop(pk->canon);
	shapes_map_free(&pk->map);
	*pk = (struct shape_pick){ 0 };
}

int shapes_open(struct shape_open *x, const char *arg, enum shape_kind kind, size_t max_bytes, struct diag *d)
{
	struct shape_pick pk;
	const char *file = d->file;
	d->file = arg;
	int rc = shapes_load(arg, kind, max_bytes, &pk, d);
	d->file = file;
	if (rc < 0)
		return -1;
	shapes_open_picked(x, arg, &pk, d);
	return 0;
}

void shapes_open_picked(struct shape_open *x, const char *arg, struct shape_pick *pk, struct diag *d)
{
	x->saved = *d;
	x->pk = *pk;
	*pk = (struct shape_pick){ 0 };
	d->file = arg;
	shapes_pick_diag(&x->pk, d);
}

void shapes_close(struct shape_open *x, struct diag *d)
{
	shapes_pick_free(&x->pk);
	d->file = x->saved.file;
	d->map_path = x->saved.map_path;
	d->map_ctx = x->saved.map_ctx;
}

int shapes_read_file(const char *arg, enum shape_kind kind, size_t max_bytes, shape_reader reader, void *out,
		     const void *ctx, struct diag *d)
{
	struct shape_open x;
	if (shapes_open(&x, arg, kind, max_bytes, d) < 0)
		return -1;
	int rc = reader(out, x.pk.canon, x.pk.file, ctx, d);
	shapes_close(&x, d);
	return rc;
}

void shapes_pick_diag(const struct shape_pick *pk, struct diag *d)
{
	d->map_path = shapes_map_path;
	d->map_ctx = &pk->map;
}

static void list_names(const struct shape_found *f, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < f->n && used < n; i++) {
		const char *nm = *f->items[i].name ? f->items[i].name : f->items[i].alt ? f->items[i].alt : "(no name)";
		int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", nm);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int shapes_split_arg(const char *arg, char **file, const char **sel)
{
	const char *hash = strrchr(arg, '#');
	*sel = NULL;
	if (hash && access(arg, F_OK) != 0) {
		*file = strndup(arg, (size_t)(hash - arg));
		*sel = hash + 1;
	} else {
		*file = strdup(arg);
	}
	return *file ? 0 : -1;
}

int shapes_pick(json_t *root, const char *file, const char *sel, enum shape_kind kind, struct shape_pick *pk,
		struct diag *d)
{
	struct shape_found f = { 0 };
	char names[1024];
	int rc = -1;
	*pk = (struct shape_pick){ 0 };
	if (!(pk->file = strdup(file))) {
		diag_oom(d, NULL);
		return -1;
	}
	if (shapes_dispatch(root, "", kind, &f, 0, d) < 0)
		goto out;
	struct shape_item *it = NULL;
	list_names(&f, names, sizeof(names));
	if (sel) {
		for (size_t i = 0; i < f.n && !it; i++)
			if (!strcasecmp(f.items[i].name, sel) || (f.items[i].alt && !strcmp(f.items[i].alt, sel)))
				it = &f.items[i];
		if (!it) {
			diag_err(d, NULL, "no %s named '%s' in this file; it holds: %s",
				 kind == SHAPE_NSG ? "network security group" : "route table", sel, f.n ? names : "none");
			goto out;
		}
	} else if (f.n == 1) {
		it = &f.items[0];
	} else if (f.n == 0) {
		diag_err(d, NULL, "%s holds no %s", f.shape ? f.shape : "this file", kind_noun(kind));
		goto out;
	} else {
		diag_err(d, NULL, "this file holds %zu %s (%s); name one as %s#NAME", f.n,
			 kind == SHAPE_NSG ? "network security groups" : "route tables", names, file);
		goto out;
	}
	pk->name = it->name;
	it->name = NULL;
	pk->canon = it->canon;
	it->canon = NULL;
	pk->map = it->map;
	it->map = (struct shape_map){ 0 };
	shapes_map_sort(&pk->map);
	pk->flags = it->flags;
	pk->shape = f.shape;
	rc = 0;
out:
	shapes_found_free(&f);
	if (rc < 0) {
		free(pk->file);
		pk->file = NULL;
	}
	return rc;
}

int shapes_load(const char *arg, enum shape_kind kind, size_t max_bytes, struct shape_pick *pk, struct diag *d)
{
	char *file;
	const char *sel;
	*pk = (struct shape_pick){ 0 };
	if (shapes_split_arg(arg, &file, &sel) < 0) {
		diag_oom(d, NULL);
		return -1;
	}
	unsigned long failures = jsonin_alloc_failures();
	json_t *root = shapes_read(file, max_bytes, d);
	int rc = root ? shapes_pick(root, file, sel, kind, pk, d) : -1;
	if (rc == 0 && jsonin_alloc_failures() != failures) { /* a member may be missing from what was made */
		shapes_pick_free(pk);
		diag_oom(d, NULL);
		rc = -1;
	}
	jsonin_drop(root);
	free(file);
	return rc;
}

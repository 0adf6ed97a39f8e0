/* Route table parsing and validation. */
#include "model/routes.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/jsonin.h"
#include "model/shapes.h"

static const char *const hop_names[] = {
	[HOP_VNET_GATEWAY] = "VirtualNetworkGateway", [HOP_VNET_LOCAL] = "VnetLocal",
	[HOP_INTERNET] = "Internet", [HOP_APPLIANCE] = "VirtualAppliance", [HOP_NONE] = "None",
	[HOP_VNET_PEERING] = "VNetPeering", [HOP_VNET_GLOBAL_PEERING] = "VNetGlobalPeering",
	[HOP_SERVICE_ENDPOINT] = "VirtualNetworkServiceEndpoint",
};

const char *next_hop_name(enum next_hop h)
{
	return hop_names[h];
}

static void route_free(struct route *r)
{
	free(r->name);
	free(r->prefix_text);
	free(r->hop_ip_text);
	free(r->json_path);
	free(r->source);
}

void rt_free(struct route_table *rt)
{
	for (size_t i = 0; i < rt->n; i++)
		route_free(&rt->routes[i]);
	free(rt->routes);
	free(rt->name);
	free(rt->file);
	*rt = (struct route_table){ 0 };
}

int route_add_addresses(const struct route *r, struct ipset *s)
{
	if (!r->tag)
		return ipset_add_cidr(s, &r->cidr);
	for (size_t i = 0; i < r->tag->set.n; i++)
		if (ipset_add_range(s, r->tag->set.r[i].lo, r->tag->set.r[i].hi) < 0)
			return -1;
	return 0;
}

static int parse_route(json_t *e, const char *path, const struct tagdb *tags, struct route *r, struct diag *d)
{
	char base[128], p[192];
	const char *name = NULL, *prefix = NULL, *hop = NULL, *hop_ip = NULL;
	int before = d->errors;
	json_t *props;

	*r = (struct route){ 0 };
	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (jsonin_str(e, path, "name", &name, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "missing");
	props = json_object_get(e, "properties");
	if (json_is_object(props)) {
		jsonin_path(base, sizeof(base), path, "properties");
	} else {
		props = e; /* az's flattened shape */
		snprintf(base, sizeof(base), "%s", path);
	}
	if (jsonin_str(props, base, "addressPrefix", &prefix, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "addressPrefix"), "missing");
	if (jsonin_str(props, base, "nextHopType", &hop, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "nextHopType"), "missing");
	jsonin_str(props, base, "nextHopIpAddress", &hop_ip, d);
	if (hop_ip && !*hop_ip)
		hop_ip = NULL;
	if (d->errors != before)
		return -1;

	r->hop = (enum next_hop)-1;
	for (size_t i = 0; i < HOP_UDR_TYPES; i++)
		if (!strcasecmp(hop, hop_names[i]))
			r->hop = (enum next_hop)i;
	if ((int)r->hop < 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "nextHopType"),
			 "'%s' is not one of VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance, None", hop);

	const char *why;
	if (cidr_parse(prefix, &r->cidr, &why) == 0) {
		r->rank = 0;
	} else if (strpbrk(prefix, "/:") || (prefix[0] >= '0' && prefix[0] <= '9')) {
		diag_err(d, jsonin_path(p, sizeof(p), base, "addressPrefix"), "'%s': %s", prefix, why);
	} else if (!(r->tag = tagdb_find(tags, prefix))) {
		diag_err(d, jsonin_path(p, sizeof(p), base, "addressPrefix"),
			 "unknown service tag '%s' (not in any --tags file)", prefix);
	} else {
		r->rank = tag_route_rank(r->tag);
	}

	if (r->hop == HOP_APPLIANCE && !hop_ip)
		diag_err(d, jsonin_path(p, sizeof(p), base, "nextHopIpAddress"),
			 "missing: a VirtualAppliance route needs the appliance's address");
	if (hop_ip && (int)r->hop >= 0 && r->hop != HOP_APPLIANCE)
		diag_err(d, jsonin_path(p, sizeof(p), base, "nextHopIpAddress"),
			 "only allowed when nextHopType is VirtualAppliance, not %s", hop_names[r->hop]);
	if (hop_ip && addr_parse(hop_ip, &r->hop_ip) < 0)
		diag_err(d, jsonin_path(p, sizeof(p), base, "nextHopIpAddress"), "'%s' is not an IP address", hop_ip);
	r->has_hop_ip = hop_ip != NULL;
	if (d->errors != before)
		return -1;
	r->name = strdup(name);
	r->prefix_text = strdup(prefix);
	r->hop_ip_text = hop_ip ? strdup(hop_ip) : NULL;
	char mapped[1024]; /* reports name the place in the user's file (shapes.h) */
	r->json_path = strdup(d->map_path ? d->map_path(d->map_ctx, path, mapped, sizeof(mapped)) : path);
	if (!r->name || !r->prefix_text || (hop_ip && !r->hop_ip_text) || !r->json_path) {
		route_free(r);
		diag_oom(d, path);
		return -1;
	}
	return 0;
}

/* A route table may leave out `routes` or set it to null: the SQL MI quickstart template ships one with only
 * `disableBgpRoutePropagation` (Azure/azure-quickstart-templates quickstarts/microsoft.sql/sqlmi-new-vnet).
 * Such a file is still recognisably a route table by its type, that property or a `routes` key (null); anything
 * else without `routes` is refused as before. */
static bool looks_like_route_table(json_t *root, json_t *props)
{
	json_t *type = json_object_get(root, "type");
	if (json_is_string(type) && !strcasecmp(json_string_value(type), "Microsoft.Network/routeTables"))
		return true;
	return json_object_get(props, "disableBgpRoutePropagation") || json_object_get(props, "routes");
}

/* Hashes of the names, the prefixes as written (case-insensitively) and the CIDRs of the routes read so far, so
 * that a route is compared with every one before it (for the messages, in their order) only when one of its
 * hashes was seen: a collision only costs that comparison. Without memory every route is compared. */
struct seen {
	uint64_t *h; /* 0: empty */
	size_t mask;
};

static uint64_t fnv(uint64_t seed, const void *p, size_t n, bool fold)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037u ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (fold ? (unsigned char)tolower(b[i]) : b[i])) * 1099511628211u;
	return h ? h : 1;
}

static void route_keys(const struct route *r, uint64_t k[3])
{
	unsigned char c[18];
	memcpy(c, &r->cidr.lo, 16);
	c[16] = r->cidr.len;
	c[17] = r->cidr.v4;
	k[0] = fnv(1, r->name, strlen(r->name), false);
	k[1] = fnv(2, r->prefix_text, strlen(r->prefix_text), true);
	k[2] = r->tag ? 0 : fnv(3, c, sizeof(c), false);
}

static bool seen_may(const struct seen *s, const struct route *r)
{
	uint64_t k[3];
	if (!s->h)
		return true;
	route_keys(r, k);
	for (int j = 0; j < 3; j++)
		for (size_t i = k[j] & s->mask; k[j] && s->h[i]; i = (i + 1) & s->mask)
			if (s->h[i] == k[j])
				return true;
	return false;
}

static void seen_add(struct seen *s, const struct route *r)
{
	uint64_t k[3];
	if (!s->h)
		return;
	route_keys(r, k);
	for (int j = 0; j < 3; j++) {
		size_t i = k[j] & s->mask;
		while (k[j] && s->h[i] && s->h[i] != k[j])
			i = (i + 1) & s->mask;
		if (k[j])
			s->h[i] = k[j];
	}
}

int rt_load_json(struct route_table *rt, json_t *root, const char *file, const struct tagdb *tags, struct diag *d)
{
	json_t *routes = NULL, *empty = NULL, *props = json_object_get(root, "properties"), *e;
	const char *base = "", *name = "";
	char path[128];
	size_t i, ntag = 0;
	int before = d->errors;

	*rt = (struct route_table){ 0 };
	if (json_is_object(props)) {
		base = "properties";
	} else {
		props = root;
	}
	jsonin_str(root, "", "name", &name, d);
	int has = jsonin_arr(props, base, "routes", &routes, d);
	if (has == 0 && looks_like_route_table(root, props))
		routes = empty = json_array(); /* no routes (absent or null): a valid empty table */
	else if (has == 0)
		diag_err(d, jsonin_path(path, sizeof(path), base, "routes"), "missing: not a route table");
	if (!routes)
		return -1;
	json_t *dis = json_object_get(props, "disableBgpRoutePropagation");
	rt->disable_bgp = json_is_true(dis);
	size_t n = json_array_size(routes);
	if (n > RT_MAX_ROUTES)
		diag_err(d, jsonin_path(path, sizeof(path), base, "routes"),
			 "%zu routes; a route table holds at most %d", n, RT_MAX_ROUTES);
	rt->routes = calloc(n ? n : 1, sizeof(*rt->routes));
	if (!rt->routes) {
		diag_oom(d, NULL);
		return -1;
	}
	char rbase[64];
	struct seen seen = { 0 };
	size_t cap = 16;
	while (cap < 6 * n)
		cap *= 2;
	if ((seen.h = calloc(cap, sizeof(*seen.h))))
		seen.mask = cap - 1;
	jsonin_path(rbase, sizeof(rbase), base, "routes");
	json_array_foreach(routes, i, e) {
		struct route r;
		jsonin_index(path, sizeof(path), rbase, i);
		if (parse_route(e, path, tags, &r, d) < 0)
			continue;
		bool may = seen_may(&seen, &r);
		for (size_t k = 0; may && k < rt->n; k++) {
			const struct route *o = &rt->routes[k];
			if (!strcmp(o->name, r.name))
				diag_err(d, path, "route name '%s' is also used by %s", r.name, o->json_path);
			else if (!strcasecmp(o->prefix_text, r.prefix_text) ||
				 (!o->tag && !r.tag && o->cidr.lo == r.cidr.lo && o->cidr.len == r.cidr.len &&
				  o->cidr.v4 == r.cidr.v4))
				/* [inference] Azure refuses two routes of one table with the same addressPrefix. */
				diag_err(d, path, "addressPrefix '%s' is also the prefix of route '%s' (%s)",
					 r.prefix_text, o->name, o->json_path);
		}
		if (r.tag && ++ntag == RT_MAX_TAG_ROUTES + 1)
			diag_err(d, path, "more than %d routes with service tags in one route table",
				 RT_MAX_TAG_ROUTES);
		rt->routes[rt->n++] = r;
		seen_add(&seen, &r);
	}
	free(seen.h);
	json_decref(empty);
	rt->name = strdup(*name ? name : "routes");
	rt->file = strdup(file ? file : "-");
	if (!rt->name || !rt->file)
		diag_oom(d, NULL);
	if (d->errors != before) {
		rt_free(rt);
		return -1;
	}
	return 0;
}

static int read_rt(void *rt, json_t *json, const char *file, const void *tags, struct diag *d)
{
	return rt_load_json(rt, json, file, tags, d);
}

int rt_load_file(struct route_table *rt, const char *path, const struct tagdb *tags, struct diag *d)
{
	*rt = (struct route_table){ 0 };
	return shapes_read_file(path, SHAPE_RT, RT_MAX_BYTES, read_rt, rt, tags, d);
}

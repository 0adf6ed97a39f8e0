/* Route tables (user-defined routes), read from the ARM/REST shape or the flattened shape `az` prints
 * (azure-semantics.md §2.3), validated as Azure validates them. */
#ifndef MINET_ROUTES_H
#define MINET_ROUTES_H

#include <jansson.h>

#include "model/diag.h"
#include "model/tags.h"

/* Next hop types with their exact ARM spelling (next_hop_name). The first HOP_UDR_TYPES are the ones a
 * user-defined route may name; the others appear only in effective route tables (model/effective.h). */
enum next_hop {
	HOP_VNET_GATEWAY, HOP_VNET_LOCAL, HOP_INTERNET, HOP_APPLIANCE, HOP_NONE,
	HOP_VNET_PEERING, HOP_VNET_GLOBAL_PEERING, HOP_SERVICE_ENDPOINT,
};
#define HOP_UDR_TYPES 5
#define HOP_TYPES 8
const char *next_hop_name(enum next_hop h);

struct route {
	char *name;
	char *prefix_text;              /* addressPrefix as written: a CIDR or a tag name */
	const struct service_tag *tag;  /* when addressPrefix names a tag */
	struct cidr cidr;               /* when it is a prefix */
	enum next_hop hop;
	bool has_hop_ip;
	u128 hop_ip;
	char *hop_ip_text;
	int rank;                       /* exact-prefix tie order, tag_route_rank() or 0 for a CIDR */
	char *json_path;                /* where it is in its file, for reports */
	char *source;                   /* effective tables: Default, User, VirtualNetworkGateway…; else NULL */
};

struct route_table {
	char *name;
	char *file;
	struct route *routes;
	size_t n;
	bool disable_bgp;
	/* An effective route table (`az network nic show-effective-route-table`): Azure already merged the system,
	 * user and gateway routes, so these routes are the whole FIB and no system routes are added. */
	bool effective;
};

#define RT_MAX_ROUTES 400    /* routes per route table (§1.7) */
#define RT_MAX_TAG_ROUTES 25 /* routes with service tags per route table (§3.3) */
#define RT_MAX_BYTES (16u << 20)

/* Parse and validate. 0 and a complete table, or -1 with every error reported (rt left empty). */
int rt_load_file(struct route_table *rt, const char *path, const struct tagdb *tags, struct diag *d);
int rt_load_json(struct route_table *rt, json_t *root, const char *file, const struct tagdb *tags, struct diag *d);
void rt_free(struct route_table *rt);

/* The addresses a route covers (its prefix, or its tag's prefixes) added to s (not normalized). */
int route_add_addresses(const struct route *r, struct ipset *s);

#endif

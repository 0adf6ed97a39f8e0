/* Next hops (§3): the system routes of a subnet (with the VNet adjustments of §3.1), the user-defined routes
 * of its route table (service tags expanded to their published prefixes), longest prefix match, and on equal
 * prefixes user route over system route, then explicit prefix > regional tag > global tag >
 * AzureCloud.<region> > AzureCloud (§3.3). The result is flattened once into disjoint address segments, so a
 * lookup is one binary search and a whole set can be checked segment by segment. */
#ifndef MINET_NEXTHOP_H
#define MINET_NEXTHOP_H

#include "model/netenv.h"
#include "model/routes.h"

/* One route in force: a user route, or a system route. */
struct fib_route {
	enum next_hop hop;
	const struct route *user;  /* NULL for a system route; with an effective table, the effective route */
	struct cidr prefix;        /* the system route's prefix (system routes only) */
	bool no_route;             /* effective tables: no route covers the address, so Azure drops it */
	char prefix_text[CIDR_STRLEN];
};

struct fib_seg {
	u128 lo, hi;
	uint32_t route; /* index into routes */
	uint8_t len;    /* the winning prefix's length */
};

struct fib {
	struct fib_route *routes;
	size_t nroutes;
	struct fib_seg *seg; /* sorted, disjoint, covering the whole space */
	size_t nseg;
};

/* rt may be NULL (no route table). 0, or -1 when out of memory. */
int fib_build(struct fib *fib, const struct netenv *env, const struct route_table *rt);
/* The route in force for dst, and the winning prefix length in *len (may be NULL). */
const struct fib_route *fib_lookup(const struct fib *fib, u128 dst, int *len);
/* Index of the segment holding a. */
size_t fib_seg_index(const struct fib *fib, u128 a);
/* The same, knowing that every segment before `from` ends before a (a walk over sorted addresses). */
size_t fib_seg_from(const struct fib *fib, size_t from, u128 a);
void fib_free(struct fib *fib);

/* The routes in force as exact prefixes, for a kernel routing table: for each distinct prefix the route
 * that wins exact ties (user over system, then §3.3's order). Longest prefix match among them is then
 * Azure's selection. IPv6 ::/0 is listed once. The caller frees *out. 0, or -1 when out of memory. */
struct rib_entry {
	struct cidr prefix;
	enum next_hop hop;
	const struct route *user; /* NULL for a system route */
};
int fib_prefixes(const struct netenv *env, const struct route_table *rt, struct rib_entry **out, size_t *n);

#endif

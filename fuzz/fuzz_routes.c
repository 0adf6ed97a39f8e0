/* libFuzzer: the route-table parser (jsonin_load_buf + rt_load_json, ARM or az shape) against a fixed tags DB. A
 * table that loads is flattened into a FIB (fib_build) and looked up at the ends of every route's prefixes; each
 * answer is checked against a linear scan written from azure-semantics.md §3 (longest prefix, then user before
 * system, then explicit > regional tag > global tag > AzureCloud.<region> > AzureCloud, then table order):
 * abort() when they differ. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/nexthop.h"
#include "fuzz_common.h"
#include "model/netenv.h"
#include "model/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vnet_csv = "10.0.0.0/16,100.0.0.0/8,fd00:db8::/48";

/* The linear reference: the best (hop, user route or NULL, prefix length) for a. */
struct best {
	int len, rank, order;
	enum next_hop hop;
	const struct route *user;
};

static int contains(const struct cidr *c, u128 a)
{
	struct ipset s = { 0 };
	if (ipset_add_cidr(&s, c) < 0)
		abort();
	int r = ipset_contains(&s, a);
	ipset_free(&s);
	return r;
}

static void consider(struct best *b, const struct cidr *c, u128 a, int rank, int order, enum next_hop hop,
		     const struct route *user)
{
	if (!contains(c, a))
		return;
	if (b->len >= 0 && (c->len < b->len || (c->len == b->len && (rank > b->rank ||
									 (rank == b->rank && order >= b->order)))))
		return;
	*b = (struct best){ c->len, rank, order, hop, user };
}

static struct best reference(const struct netenv *env, const struct route_table *rt, u128 a)
{
	static const char *const reserved[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10" };
	struct best b = { .len = -1 };
	struct cidr c;
	const char *why;
	int order = 1000;
	for (size_t i = 0; i < env->nvnet; i++)
		consider(&b, &env->vnet[i], a, 9, order++, HOP_VNET_LOCAL, NULL);
	cidr_parse("0.0.0.0/0", &c, &why);
	consider(&b, &c, a, 9, order++, HOP_INTERNET, NULL);
	cidr_parse("::/0", &c, &why);
	consider(&b, &c, a, 9, order++, HOP_INTERNET, NULL);
	for (size_t i = 0; i < 4; i++) {
		int covered = 0;
		cidr_parse(reserved[i], &c, &why);
		for (size_t k = 0; k < env->nvnet; k++)
			covered |= env->vnet[k].lo <= c.lo && env->vnet[k].hi >= c.hi;
		if (!covered)
			consider(&b, &c, a, 9, order++, HOP_NONE, NULL);
	}
	for (size_t i = 0; i < rt->n; i++) {
		const struct route *r = &rt->routes[i];
		if (!r->tag) {
			consider(&b, &r->cidr, a, 0, (int)i, r->hop, r);
			continue;
		}
		for (size_t k = 0; k < r->tag->nprefixes; k++)
			consider(&b, &r->tag->prefixes[k], a, tag_route_rank(r->tag), (int)i, r->hop, r);
	}
	return b;
}

static void probe(const struct fib *fib, const struct netenv *env, const struct route_table *rt, u128 a)
{
	int len;
	const struct fib_route *got = fib_lookup(fib, a, &len);
	struct best want = reference(env, rt, a);
	if (want.len < 0 || got->hop != want.hop || got->user != want.user || len != want.len)
		abort();
}

static void probe_cidr(const struct fib *fib, const struct netenv *env, const struct route_table *rt,
		       const struct cidr *c)
{
	u128 pts[4] = { c->lo, c->hi, c->lo - 1, c->hi + 1 };
	for (int i = 0; i < 4; i++)
		probe(fib, env, rt, pts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tagdb *tags = fuzz_tags();
	struct diag d = { .out = NULL, .file = "rt.json" };
	json_t *root = jsonin_load_buf((const char *)data, size, &d);
	if (!root)
		return 0;
	struct route_table rt;
	int rc = rt_load_json(&rt, root, "rt.json", tags, &d);
	json_decref(root);
	if (rc < 0) {
		if (d.errors == 0)
			abort();
		return 0;
	}
	struct netenv env;
	struct fib fib;
	if (netenv_init(&env, tags, vnet_csv, &d) < 0 || netenv_add_routes(&env, &rt) < 0)
		abort();
	if (fib_build(&fib, &env, &rt) < 0)
		abort();
	/* Segments must be sorted, disjoint and cover the whole space. */
	if (!fib.nseg || fib.seg[0].lo != 0 || fib.seg[fib.nseg - 1].hi != U128_MAX)
		abort();
	for (size_t i = 1; i < fib.nseg; i++)
		if (fib.seg[i].lo != fib.seg[i - 1].hi + 1)
			abort();
	size_t budget = 256;
	for (size_t i = 0; i < rt.n && budget; i++) {
		const struct route *r = &rt.routes[i];
		if (!r->tag) {
			probe_cidr(&fib, &env, &rt, &r->cidr);
			budget--;
		} else {
			for (size_t k = 0; k < r->tag->nprefixes && budget; k++, budget--)
				probe_cidr(&fib, &env, &rt, &r->tag->prefixes[k]);
		}
		/* Every route's addresses are in VirtualNetwork (§1.5). */
		if (!r->tag && !ipset_contains(&env.virtual_network, r->cidr.lo))
			abort();
	}
	for (size_t i = 0; i < env.nvnet; i++)
		probe_cidr(&fib, &env, &rt, &env.vnet[i]);
	for (size_t off = 0; off + 16 <= size && off < 16 * 16; off += 16) {
		u128 a = 0;
		for (int k = 0; k < 16; k++)
			a = a << 8 | data[off + k];
		probe(&fib, &env, &rt, a);
		probe(&fib, &env, &rt, addr_from_v4((uint32_t)a));
	}
	/* The exact-prefix view the lab's kernel table is built from: longest prefix match among its entries is
	 * the flattened FIB's answer. */
	struct rib_entry *e;
	size_t ne;
	if (fib_prefixes(&env, &rt, &e, &ne) < 0)
		abort();
	for (size_t i = 0; i < ne && i < 256; i++) {
		int len;
		const struct fib_route *r = fib_lookup(&fib, e[i].prefix.lo, &len);
		if (len < e[i].prefix.len)
			abort();
		if (len == e[i].prefix.len && (r->user != e[i].user || r->hop != e[i].hop))
			abort();
	}
	free(e);
	fib_free(&fib);
	netenv_free(&env);
	rt_free(&rt);
	return 0;
}

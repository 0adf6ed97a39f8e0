/* libFuzzer: the effective-output readers (model/effective.c) on any JSON, whatever its shape.
 *  - effective_nsg_load_json: a failure must say why; a success gives one or two NSGs whose rules are in Azure's
 *    evaluation order (direction, then priority), every flow meets a rule (the defaults are there), and the fast
 *    engine (nsgc) agrees with the reference evaluator on flows at the rules' boundaries.
 *  - effective_routes_load_json: a success gives a FIB built from those routes alone (no system routes), covering
 *    the whole space, whose answer at each route's ends is a linear longest-prefix scan's (earliest listed route
 *    on equal prefixes; no route: dropped). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/classify.h"
#include "analysis/flow.h"
#include "analysis/nexthop.h"
#include "fuzz_common.h"
#include "model/effective.h"
#include "model/netenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct netenv env;

static void setup(void)
{
	static int done;
	struct diag d = { .out = NULL, .file = "fuzz-env" };
	if (!done && netenv_init(&env, fuzz_tags(), "10.0.0.0/16,fd00:db8::/48", &d) < 0)
		abort();
	done = 1;
}

static const unsigned protos[] = { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ESP, PROTO_AH };

static void check_nsg(const struct nsg *g)
{
	for (size_t i = 1; i < g->n; i++) {
		const struct nsg_rule *a = &g->rules[i - 1], *b = &g->rules[i];
		if (a->dir > b->dir || (a->dir == b->dir && a->priority > b->priority))
			abort();
	}
	struct nsg_classifier *c[2] = { nsgc_build(g, DIR_IN), nsgc_build(g, DIR_OUT) };
	if (!c[0] || !c[1])
		abort();
	size_t budget = 64;
	for (size_t i = 0; i < g->n && budget; i++, budget--) {
		const struct nsg_rule *r = &g->rules[i];
		u128 pts[6] = { addr_from_v4(0x0a000004), addr_from_v4(0x08080808), (u128)0xfd000db8 << 96 | 4 };
		size_t np = 3;
		if (r->src.set->n)
			pts[np++] = r->src.set->r[0].lo, pts[np++] = r->src.set->r[0].hi + 1;
		if (r->dst.set->n)
			pts[np++] = r->dst.set->r[0].hi;
		for (size_t a = 0; a < np; a++)
			for (size_t b = 0; b < np; b++) {
				struct flow f = { .dir = r->dir, .src = pts[a], .dst = pts[b], .proto = protos[(a + b + i) % 5] };
				f.sport = proto_has_ports(f.proto) ? r->sport.r[0].lo : -1;
				f.dport = proto_has_ports(f.proto) ? r->dport.r[(a + b) % r->dport.n].hi : -1;
				const struct nsg_rule *slow = nsg_decide(g, &f), *fast = nsgc_decide(c[f.dir], &f);
				if (!slow || slow != fast || rule_mismatch(slow, &f))
					abort();
			}
	}
	nsgc_free(c[0]);
	nsgc_free(c[1]);
}

static int contains(const struct cidr *c, u128 a)
{
	struct ipset s = { 0 };
	if (ipset_add_cidr(&s, c) < 0)
		abort();
	int r = ipset_contains(&s, a);
	ipset_free(&s);
	return r;
}

static void probe(const struct fib *fib, const struct route_table *rt, u128 a)
{
	const struct route *want = NULL;
	for (size_t i = 0; i < rt->n; i++)
		if (contains(&rt->routes[i].cidr, a) && (!want || rt->routes[i].cidr.len > want->cidr.len))
			want = &rt->routes[i];
	int len;
	const struct fib_route *got = fib_lookup(fib, a, &len);
	if (want ? got->user != want || len != want->cidr.len : !got->no_route || got->hop != HOP_NONE)
		abort();
}

static void check_routes(const struct route_table *rt)
{
	struct fib fib;
	struct netenv e2;
	struct diag d = { .out = NULL, .file = "fuzz" };
	if (!rt->effective || netenv_init(&e2, fuzz_tags(), "10.0.0.0/16", &d) < 0 || netenv_add_routes(&e2, rt) < 0 ||
	    fib_build(&fib, &e2, rt) < 0)
		abort();
	if (!fib.nseg || fib.seg[0].lo != 0 || fib.seg[fib.nseg - 1].hi != U128_MAX)
		abort();
	for (size_t i = 1; i < fib.nseg; i++)
		if (fib.seg[i].lo != fib.seg[i - 1].hi + 1)
			abort();
	for (size_t i = 0; i < rt->n && i < 128; i++) {
		const struct cidr *c = &rt->routes[i].cidr;
		probe(&fib, rt, c->lo);
		probe(&fib, rt, c->hi);
		probe(&fib, rt, c->lo - 1);
		probe(&fib, rt, c->hi + 1);
	}
	fib_free(&fib);
	netenv_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	setup();
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return 0;
	struct diag d = { .out = NULL, .file = "eff.json" };
	struct nsg sub, nic;
	bool hs, hn;
	(void)effective_nsg_shape(root);
	if (effective_nsg_load_json(&sub, &hs, &nic, &hn, root, "eff.json", &env, &d) < 0) {
		if (!d.errors)
			abort();
	} else {
		if (d.errors || (!hs && !hn))
			abort();
		if (hs)
			check_nsg(&sub), nsg_free(&sub);
		if (hn)
			check_nsg(&nic), nsg_free(&nic);
	}
	struct diag d2 = { .out = NULL, .file = "eff.json" };
	struct route_table rt;
	(void)effective_routes_shape(root);
	if (effective_routes_load_json(&rt, root, "eff.json", &d2) < 0) {
		if (!d2.errors)
			abort();
	} else {
		check_routes(&rt);
		rt_free(&rt);
	}
	json_decref(root);
	return 0;
}

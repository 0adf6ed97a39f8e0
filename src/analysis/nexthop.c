/* Flattening routes into segments: a sweep over prefix boundaries with a max-heap of the routes covering
 * the current point, ordered by (prefix length, tie rank, table order). */
#include "analysis/nexthop.h"

#include <stdlib.h>
#include <string.h>

#include "model/runsort.h"

struct cand {
	u128 lo, hi;
	uint32_t route;
	uint8_t len;
	uint8_t rank; /* lower wins: 0 explicit user prefix … 4 AzureCloud, 9 system */
	uint32_t order;
};

/* a beats b */
static bool better(const struct cand *a, const struct cand *b)
{
	if (a->len != b->len)
		return a->len > b->len;
	if (a->rank != b->rank)
		return a->rank < b->rank;
	return a->order < b->order; /* [inference] equal tags of equal rank: the earlier route */
}

struct vec {
	struct cand *v;
	size_t n, cap;
};

static int push(struct vec *v, struct cand c)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct cand *nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = c;
	return 0;
}

/* Add a prefix as one or two candidates (an IPv6 prefix never covers the IPv4 block). */
static int add_prefix(struct vec *v, const struct cidr *c, uint32_t route, uint8_t rank, uint32_t order)
{
	struct range r[2];
	for (size_t i = 0, n = cidr_ranges(c, r); i < n; i++)
		if (push(v, (struct cand){ r[i].lo, r[i].hi, route, c->len, rank, order }) < 0)
			return -1;
	return 0;
}

static int add_route(struct fib *fib, struct fib_route r)
{
	struct fib_route *nr = realloc(fib->routes, (fib->nroutes + 1) * sizeof(*nr));
	if (!nr)
		return -1;
	fib->routes = nr;
	fib->routes[fib->nroutes++] = r;
	return 0;
}

static int add_system(struct fib *fib, struct vec *v, const char *prefix, enum next_hop hop)
{
	struct fib_route r = { .hop = hop };
	const char *why;
	cidr_parse(prefix, &r.prefix, &why);
	cidr_format(&r.prefix, r.prefix_text);
	if (add_route(fib, r) < 0)
		return -1;
	return add_prefix(v, &r.prefix, (uint32_t)fib->nroutes - 1, 9, (uint32_t)fib->nroutes - 1);
}

static int system_routes(struct fib *fib, struct vec *v, const struct netenv *env)
{
	/* §3.1's four, then two that every real effective route table of the era shows as Default -> None
	 * (`az network nic show-effective-route-table`, 2019-2021 transcripts: microsoft/WhatTheHack
	 * 036-BGP/Coach/02-enable_bgp.md among them; docs/azure-semantics-notes.md §3). The Microsoft docs do not
	 * list them. [inference] they follow the reserved ranges' rule below when a VNet range holds them. */
	static const char *const reserved[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
						"25.33.80.0/20", "25.41.3.0/25" };
	char text[CIDR_STRLEN];
	for (size_t i = 0; i < env->nvnet; i++)
		if (add_system(fib, v, cidr_format(&env->vnet[i], text), HOP_VNET_LOCAL) < 0)
			return -1;
	if (add_system(fib, v, "0.0.0.0/0", HOP_INTERNET) < 0 || add_system(fib, v, "::/0", HOP_INTERNET) < 0)
		return -1;
	/* §3.1: a reserved range that is a VNet range, or lies inside one, gets no None route. (When the VNet
	 * range lies inside the reserved range both routes exist and longest prefix match decides.) */
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		struct cidr c;
		const char *why;
		bool covered = false;
		cidr_parse(reserved[i], &c, &why);
		for (size_t k = 0; k < env->nvnet; k++)
			if (env->vnet[k].lo <= c.lo && env->vnet[k].hi >= c.hi)
				covered = true;
		if (!covered && add_system(fib, v, reserved[i], HOP_NONE) < 0)
			return -1;
	}
	return 0;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* By lo: each route's candidates come in order (a tag's prefixes are published sorted), so a few runs. */
RUNSORT_DEFINE(sort_cands, struct cand, lo, cand_cmp)

/* Max-heap of candidates by better(). */
static void heap_push(struct cand *h, size_t *n, struct cand c)
{
	size_t i = (*n)++;
	while (i && better(&c, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = c;
}

static void heap_pop(struct cand *h, size_t *n)
{
	struct cand last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && better(&h[c + 1], &h[c]))
			c++;
		if (!better(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
}

static int emit(struct fib *fib, size_t *cap, u128 lo, u128 hi, const struct cand *w)
{
	if (fib->nseg && fib->seg[fib->nseg - 1].route == w->route && fib->seg[fib->nseg - 1].len == w->len &&
	    fib->seg[fib->nseg - 1].hi + 1 == lo) {
		fib->seg[fib->nseg - 1].hi = hi;
		return 0;
	}
	if (fib->nseg == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		struct fib_seg *ns = realloc(fib->seg, *cap * sizeof(*ns));
		if (!ns)
			return -1;
		fib->seg = ns;
	}
	fib->seg[fib->nseg++] = (struct fib_seg){ lo, hi, w->route, w->len };
	return 0;
}

/* Every route as candidates: the system routes, then the table's (tags expanded). */
/* An effective route table is the whole FIB: an address no route of it covers has no route at all, and Azure
 * drops the packet. Two catch-alls that lose to every real route say so (and keep the segments total). */
static int no_route(struct fib *fib, struct vec *v)
{
	static const char *const all[] = { "0.0.0.0/0", "::/0" };
	for (size_t i = 0; i < 2; i++) {
		struct fib_route r = { .hop = HOP_NONE, .no_route = true };
		const char *why;
		cidr_parse(all[i], &r.prefix, &why);
		snprintf(r.prefix_text, sizeof(r.prefix_text), "(no route)");
		if (add_route(fib, r) < 0 || add_prefix(v, &r.prefix, (uint32_t)fib->nroutes - 1, 255, UINT32_MAX) < 0)
			return -1;
	}
	return 0;
}

static int collect(struct fib *fib, struct vec *v, const struct netenv *env, const struct route_table *rt)
{
	size_t want = 2 * (env->nvnet + 10);
	for (size_t i = 0; rt && i < rt->n; i++)
		want += 2 * (rt->routes[i].tag ? rt->routes[i].tag->nprefixes : 1);
	if (!(v->v = malloc(want * sizeof(*v->v))))
		return -1;
	v->cap = want;
	if (rt && rt->effective ? no_route(fib, v) < 0 : system_routes(fib, v, env) < 0)
		return -1;
	for (size_t i = 0; rt && i < rt->n; i++) {
		const struct route *r = &rt->routes[i];
		if (add_route(fib, (struct fib_route){ .hop = r->hop, .user = r }) < 0)
			return -1;
		snprintf(fib->routes[fib->nroutes - 1].prefix_text, CIDR_STRLEN, "%s", r->prefix_text);
		uint32_t id = (uint32_t)fib->nroutes - 1;
		if (!r->tag) {
			if (add_prefix(v, &r->cidr, id, 0, id) < 0)
				return -1;
			continue;
		}
		for (size_t k = 0; k < r->tag->nprefixes; k++)
			if (add_prefix(v, &r->tag->prefixes[k], id, (uint8_t)r->rank, id) < 0)
				return -1;
	}
	return 0;
}

static int exact_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return (int)x->len - (int)y->len;
	return better(x, y) ? -1 : better(y, x);
}

int fib_prefixes(const struct netenv *env, const struct route_table *rt, struct rib_entry **out, size_t *n)
{
	struct fib fib = { 0 };
	struct vec v = { 0 };
	int rc = -1;
	*out = NULL;
	*n = 0;
	if (collect(&fib, &v, env, rt) < 0 || !(*out = calloc(v.n + 1, sizeof(**out))))
		goto done;
	qsort(v.v, v.n, sizeof(*v.v), exact_cmp);
	for (size_t i = 0; i < v.n; i++) {
		const struct cand *c = &v.v[i];
		u128 span = c->hi - c->lo + 1, want = c->len ? (u128)1 << (128 - c->len) : 0; /* 0: 2^128 wraps */
		bool v4 = addr_is_v4(c->lo) && c->len <= 32; /* an IPv6 prefix inside the mapped block is IPv6 */
		if (v4)
			want = c->len == 32 ? 1 : (u128)1 << (32 - c->len);
		if (span != want && !(c->len == 0 && !v4 && c->lo == 0))
			continue; /* a piece of a clipped IPv6 prefix */
		if (*n && (*out)[*n - 1].prefix.lo == c->lo && (*out)[*n - 1].prefix.len == c->len &&
		    (*out)[*n - 1].prefix.v4 == v4)
			continue; /* an exact tie it lost */
		const struct fib_route *r = &fib.routes[c->route];
		(*out)[(*n)++] = (struct rib_entry){ .prefix = { c->lo, c->hi, c->len, v4 }, .hop = r->hop, .user = r->user };
	}
	rc = 0;
done:
	free(v.v);
	fib_free(&fib);
	return rc;
}

/* The runs of candidates not yet swept, one a route, in a min-heap by the start of each run's next candidate. */
struct run {
	size_t at, end;
};

static void run_sift(struct run *h, size_t n, size_t i, const struct cand *v)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && v[h[l].at].lo < v[h[m].at].lo)
			m = l;
		if (l + 1 < n && v[h[l + 1].at].lo < v[h[m].at].lo)
			m = l + 1;
		if (m == i)
			return;
		struct run t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

int fib_build(struct fib *fib, const struct netenv *env, const struct route_table *rt)
{
	struct vec v = { 0 };
	struct cand *heap = NULL;
	struct run *runs = NULL;
	size_t cap = 0, nheap = 0, nruns = 0;
	int rc = -1;

	*fib = (struct fib){ 0 };
	if (collect(fib, &v, env, rt) < 0 || !(heap = malloc(v.n * sizeof(*heap))) ||
	    !(runs = malloc((fib->nroutes + 1) * sizeof(*runs))))
		goto out;
	/* A route's candidates are together, and in order of their start when its prefixes are (a tag's are
	 * published so): sort the few runs that are not, then merge the runs as the sweep goes. */
	for (size_t i = 0, j; i < v.n; i = j) {
		bool sorted = true;
		for (j = i + 1; j < v.n && v.v[j].route == v.v[i].route; j++)
			sorted &= v.v[j - 1].lo <= v.v[j].lo;
		if (!sorted)
			sort_cands(v.v + i, j - i);
		runs[nruns++] = (struct run){ i, j };
	}
	for (size_t i = nruns; i-- > 0;)
		run_sift(runs, nruns, i, v.v);
	/* Sweep: at each boundary, add the candidates starting there, drop those that ended, emit the best. */
	u128 pos = 0;
	for (;;) {
		while (nruns && v.v[runs[0].at].lo == pos) {
			heap_push(heap, &nheap, v.v[runs[0].at]);
			if (++runs[0].at == runs[0].end)
				runs[0] = runs[--nruns];
			run_sift(runs, nruns, 0, v.v);
		}
		while (nheap && heap[0].hi < pos)
			heap_pop(heap, &nheap);
		if (!nheap)
			break; /* unreachable: the default routes cover everything */
		/* The segment ends where the winner ends or the next candidate starts, whichever is first. Ends of
		 * losers inside it do not matter: they cannot change the winner. */
		u128 end = heap[0].hi;
		if (nruns && v.v[runs[0].at].lo - 1 < end)
			end = v.v[runs[0].at].lo - 1;
		if (emit(fib, &cap, pos, end, &heap[0]) < 0)
			goto out;
		if (end == U128_MAX)
			break;
		pos = end + 1;
	}
	rc = 0;
out:
	free(v.v);
	free(heap);
	free(runs);
	if (rc)
		fib_free(fib);
	return rc;
}

size_t fib_seg_index(const struct fib *fib, u128 a)
{
	return fib_seg_from(fib, 0, a);
}

size_t fib_seg_from(const struct fib *fib, size_t from, u128 a)
{
	/* gallop from `from` (cheap for the next range of a sorted walk), then search the bracket */
	size_t lo = from, step = 1;
	while (lo + step < fib->nseg && fib->seg[lo + step].hi < a) {
		lo += step;
		step *= 2;
	}
	size_t hi = lo + step < fib->nseg ? lo + step : fib->nseg;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fib->seg[mid].hi < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct fib_route *fib_lookup(const struct fib *fib, u128 dst, int *len)
{
	size_t i = fib_seg_index(fib, dst);
	if (len)
		*len = fib->seg[i].len;
	return &fib->routes[fib->seg[i].route];
}

void fib_free(struct fib *fib)
{
	free(fib->routes);
	free(fib->seg);
	*fib = (struct fib){ 0 };
}

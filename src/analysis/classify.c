#include "analysis/classify_int.h"

#include <stdlib.h>
#include <string.h>

static uint64_t bits_hash(const uint64_t *b, size_t words)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < words; i++)
		h = (h ^ b[i]) * 0xff51afd7ed558ccdull, h ^= h >> 32;
	return h;
}

static int classes_grow(struct classes *cl)
{
	size_t nslot = cl->nslot ? cl->nslot * 2 : 256;
	uint32_t *slot = calloc(nslot, sizeof(*slot));
	if (!slot)
		return -1;
	for (uint32_t i = 0; i < cl->n; i++) {
		size_t h = bits_hash(cl->bits + i * cl->words, cl->words) & (nslot - 1);
		while (slot[h])
			h = (h + 1) & (nslot - 1);
		slot[h] = i + 1;
	}
	free(cl->slot);
	cl->slot = slot;
	cl->nslot = nslot;
	return 0;
}

/* The class id of bitset b, adding it if new; -1 when out of memory. */
static int64_t intern(struct classes *cl, const uint64_t *b)
{
	if ((cl->n + 1) * 2 > cl->nslot && classes_grow(cl) < 0)
		return -1;
	size_t h = bits_hash(b, cl->words) & (cl->nslot - 1);
	if (cl->words == 1) { /* up to 64 rules, the common case: compare in place */
		for (; cl->slot[h]; h = (h + 1) & (cl->nslot - 1))
			if (cl->bits[cl->slot[h] - 1] == *b)
				return cl->slot[h] - 1;
	} else {
		for (; cl->slot[h]; h = (h + 1) & (cl->nslot - 1))
			if (!memcmp(cl->bits + (cl->slot[h] - 1) * cl->words, b, cl->words * 8))
				return cl->slot[h] - 1;
	}
	if (cl->n == cl->cap) {
		uint32_t cap = cl->cap ? cl->cap * 2 : 64;
		uint64_t *nb = realloc(cl->bits, (size_t)cap * cl->words * 8);
		if (!nb)
			return -1;
		cl->bits = nb;
		cl->cap = cap;
	}
	memcpy(cl->bits + (size_t)cl->n * cl->words, b, cl->words * 8);
	cl->slot[h] = ++cl->n;
	return cl->n - 1;
}

/* A set's events in order: each range's start, then its end + 1 (none past the top of the space). Sets are
 * normalized (sorted, disjoint, non-adjacent), so each set's events are already sorted: merging them with a
 * heap of cursors costs n log k, where sorting them all cost n log n with a 128-bit comparison. */
struct cursor {
	u128 pos;
	const struct ipset *s;
	uint32_t set;
	uint32_t at_hi;
	size_t j;
};

static bool cursor_next(struct cursor *c)
{
	if (!c->at_hi && c->s->r[c->j].hi != U128_MAX) {
		c->at_hi = 1;
		c->pos = c->s->r[c->j].hi + 1;
		return true;
	}
	c->at_hi = 0;
	if (++c->j == c->s->n)
		return false;
	c->pos = c->s->r[c->j].lo;
	return true;
}

static void sift_down(struct cursor *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && h[l].pos < h[m].pos)
			m = l;
		if (l + 1 < n && h[l + 1].pos < h[m].pos)
			m = l + 1;
		if (m == i)
			return;
		struct cursor t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* A heap of the cursors of sets[0..nsets) that have ranges; their number. */
static size_t heap_init(const struct ipset **sets, size_t nsets, struct cursor *h)
{
	size_t nh = 0;
	for (size_t k = 0; k < nsets; k++)
		if (sets[k]->n)
			h[nh++] = (struct cursor){ sets[k]->r[0].lo, sets[k], (uint32_t)k, 0, 0 };
	for (size_t i = nh; i-- > 0;)
		sift_down(h, nh, i);
	return nh;
}

/* The IPv4 fast path of a built address field. -1 out of memory. */
static int build_addr_fast(struct addr_dim *d)
{
	struct addr_fast *f = d->fast = malloc(sizeof(*d->fast));
	if (!f)
		return -1;
	size_t first = 0;
	while (first + 1 < d->n && d->start[first + 1] <= V4_BASE)
		first++;
	size_t last = first;
	while (last + 1 < d->n && d->start[last + 1] <= V4_LAST)
		last++;
	f->n4 = last - first + 1;
	f->v4cls = NULL;
	if (!(f->v4start = malloc(f->n4 * 4)) || !(f->v4cls = malloc(f->n4 * 4)))
		return -1;
	for (size_t i = 0; i < f->n4; i++) {
		f->v4start[i] = i ? (uint32_t)d->start[first + i] : 0;
		f->v4cls[i] = d->cls[first + i];
	}
	/* top[h]: the last run starting at or before h << 16. Filled run by run: each run i covers the h from its
	 * start (rounded up) to the next run's start (rounded up), exclusive. */
	for (size_t i = 0, h = 0; i < f->n4; i++) {
		size_t end = i + 1 < f->n4 ? (size_t)(((uint64_t)f->v4start[i + 1] + 65535) >> 16) : 65537;
		for (; h < end; h++)
			f->top[h] = (uint32_t)i;
	}
	f->top[65536] = (uint32_t)f->n4 - 1;
	return 0;
}

static int build_addr(struct addr_dim *d, const struct nsg_rule *rules, size_t nrules, size_t words, bool src)
{
	/* Rules share sets (tags): toggle per distinct set, each with the mask of the rules that use it.
	 * Masks of distinct sets are disjoint (a rule has one set per field), so XOR is union. */
	const struct ipset **sets = calloc(nrules, sizeof(*sets));
	uint64_t *masks = calloc(nrules * words, 8), *cur = calloc(words, 8);
	struct cursor *heap = NULL;
	size_t nsets = 0, cap = 0;
	int rc = -1;

	d->cl.words = words;
	if (!sets || !masks || !cur)
		goto out;
	for (size_t i = 0; i < nrules; i++) {
		const struct ipset *s = src ? rules[i].src.set : rules[i].dst.set;
		size_t k;
		for (k = 0; k < nsets && sets[k] != s; k++)
			;
		if (k == nsets)
			sets[nsets++] = s;
		masks[k * words + i / 64] |= 1ull << (i % 64);
	}
	for (size_t k = 0; k < nsets; k++)
		cap += sets[k]->n * 2;
	if (!(heap = malloc((nsets + 1) * sizeof(*heap))) || !(d->start = malloc((cap + 1) * sizeof(*d->start))) ||
	    !(d->cls = malloc((cap + 1) * sizeof(*d->cls))))
		goto out;
	/* Sweep the sets' boundaries in order, toggling a set's rules at each start and end + 1. */
	size_t nh = heap_init(sets, nsets, heap);
	u128 pos = 0;
	for (;;) {
		while (nh && heap[0].pos == pos) {
			for (size_t w = 0; w < words; w++)
				cur[w] ^= masks[heap[0].set * words + w];
			if (!cursor_next(&heap[0]))
				heap[0] = heap[--nh];
			sift_down(heap, nh, 0);
		}
		/* Segments mostly alternate between a few classes (in a big set, out of it): the class before the
		 * last is tried first. */
		int64_t c = d->n > 1 && !memcmp(d->cl.bits + (size_t)d->cls[d->n - 2] * words, cur, words * 8)
				    ? d->cls[d->n - 2] : intern(&d->cl, cur);
		if (c < 0)
			goto out;
		if (!d->n || d->cls[d->n - 1] != (uint32_t)c) {
			d->start[d->n] = pos;
			d->cls[d->n++] = (uint32_t)c;
		}
		if (!nh)
			break;
		pos = heap[0].pos;
	}
	rc = 0;
out:
	free(sets);
	free(masks);
	free(cur);
	free(heap);
	return rc;
}

struct port_event {
	uint32_t port, rule;
};

static int port_event_cmp(const void *a, const void *b)
{
	const struct port_event *x = a, *y = b;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* Like build_addr: each rule's ranges are disjoint, so a sweep toggling the rule's bit at each range's
 * start and end+1 gives the runs of ports with one bitset. fast: also each port's class, for verdicts. */
static int build_ports(struct port_dim *d, const struct nsg_rule *rules, size_t nrules, size_t words, bool src,
		       bool fast)
{
	uint64_t *b = calloc(words, 8);
	struct port_event *ev = NULL;
	size_t nev = 0, cap = 0;
	int rc = -1;
	d->cl.words = words;
	for (size_t i = 0; i < nrules; i++)
		cap += 2 * (src ? rules[i].sport.n : rules[i].dport.n);
	if (!b || !(ev = malloc((cap + 1) * sizeof(*ev))) || !(d->run = malloc((cap + 2) * sizeof(*d->run))) ||
	    !(d->runcls = malloc((cap + 2) * sizeof(*d->runcls))))
		goto out;
	for (size_t i = 0; i < nrules; i++) {
		const struct port_field *p = src ? &rules[i].sport : &rules[i].dport;
		for (size_t k = 0; k < p->n; k++) {
			ev[nev++] = (struct port_event){ p->r[k].lo, (uint32_t)i };
			if (p->r[k].hi < 65535)
				ev[nev++] = (struct port_event){ p->r[k].hi + 1u, (uint32_t)i };
		}
	}
	qsort(ev, nev, sizeof(*ev), port_event_cmp);
	size_t e = 0;
	uint32_t port = 0;
	for (;;) {
		for (; e < nev && ev[e].port == port; e++)
			b[ev[e].rule / 64] ^= 1ull << (ev[e].rule % 64);
		int64_t c = intern(&d->cl, b);
		if (c < 0)
			goto out;
		if (!d->nrun || d->runcls[d->nrun - 1] != (uint32_t)c) {
			d->run[d->nrun] = port;
			d->runcls[d->nrun++] = (uint32_t)c;
		}
		if (e == nev)
			break;
		port = ev[e].port;
	}
	memset(b, 0, words * 8);
	for (size_t i = 0; i < nrules; i++)
		if ((src ? &rules[i].sport : &rules[i].dport)->any)
			b[i / 64] |= 1ull << (i % 64);
	int64_t none = intern(&d->cl, b);
	if (none < 0)
		goto out;
	d->none = (uint32_t)none;
	if (fast) {
		if (!(d->cls = malloc(65536 * sizeof(*d->cls))))
			goto out;
		for (size_t r = 0; r < d->nrun; r++)
			for (uint32_t p = d->run[r], end = r + 1 < d->nrun ? d->run[r + 1] : 65536; p < end; p++)
				d->cls[p] = d->runcls[r];
	}
	rc = 0;
out:
	free(ev);
	free(b);
	return rc;
}

static void classes_free(struct classes *cl)
{
	free(cl->bits);
	free(cl->slot);
}

void nsgc_free(struct nsg_classifier *c)
{
	if (!c)
		return;
	struct addr_dim *a[2] = { &c->src, &c->dst };
	for (int i = 0; i < 2; i++) {
		classes_free(&a[i]->cl);
		free(a[i]->start);
		free(a[i]->cls);
		if (a[i]->fast) {
			free(a[i]->fast->v4start);
			free(a[i]->fast->v4cls);
			free(a[i]->fast);
		}
	}
	struct port_dim *p[2] = { &c->sport, &c->dport };
	for (int i = 0; i < 2; i++) {
		classes_free(&p[i]->cl);
		free(p[i]->run);
		free(p[i]->runcls);
		free(p[i]->cls);
	}
	free(c->proto);
	walk_memo_free(c->memo);
	free(c);
}

static struct nsg_classifier *build(const struct nsg_rule *rules, size_t n, bool fast)
{
	struct nsg_classifier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rules = rules;
	c->nrules = n;
	c->words = (c->nrules + 63) / 64;
	if (!(c->proto = calloc(5 * c->words, 8)))
		goto fail;
	for (size_t i = 0; i < c->nrules; i++)
		for (unsigned p = 0; p < 5; p++)
			if (c->rules[i].proto & (1u << p))
				c->proto[p * c->words + i / 64] |= 1ull << (i % 64);
	if (build_addr(&c->src, c->rules, c->nrules, c->words, true) < 0 ||
	    build_addr(&c->dst, c->rules, c->nrules, c->words, false) < 0 ||
	    build_ports(&c->sport, c->rules, c->nrules, c->words, true, fast) < 0 ||
	    build_ports(&c->dport, c->rules, c->nrules, c->words, false, fast) < 0 ||
	    (fast ? build_addr_fast(&c->src) < 0 || build_addr_fast(&c->dst) < 0 : !(c->memo = walk_memo_new())))
		goto fail;
	return c;
fail:
	nsgc_free(c);
	return NULL;
}

struct nsg_classifier *nsgc_build(const struct nsg *g, enum direction dir)
{
	size_t n;
	const struct nsg_rule *rules = nsg_rules(g, dir, &n);
	return build(rules, n, true);
}

struct nsg_classifier *nsgc_build_rules(const struct nsg_rule *rules, size_t n)
{
	return build(rules, n, false);
}

static inline uint32_t addr_class(const struct addr_dim *d, u128 a)
{
	size_t lo, hi;
	if (addr_is_v4(a)) {
		const struct addr_fast *f = d->fast;
		uint32_t v = (uint32_t)a;
		lo = f->top[v >> 16];
		hi = f->top[(v >> 16) + 1];
		while (lo < hi) { /* last start <= v in [lo, hi] */
			size_t mid = (lo + hi + 1) / 2;
			if (f->v4start[mid] <= v)
				lo = mid;
			else
				hi = mid - 1;
		}
		return f->v4cls[lo];
	}
	lo = 0;
	hi = d->n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (d->start[mid] <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return d->cls[lo];
}

const struct nsg_rule *nsgc_decide(const struct nsg_classifier *c, const struct flow *f)
{
	size_t w = c->words;
	unsigned pbit = (unsigned)__builtin_ctz(f->proto);
	const uint64_t *p = c->proto + pbit * w;
	const uint64_t *s = c->src.cl.bits + (size_t)addr_class(&c->src, f->src) * w;
	const uint64_t *d = c->dst.cl.bits + (size_t)addr_class(&c->dst, f->dst) * w;
	const uint64_t *sp = c->sport.cl.bits + (size_t)(f->sport < 0 ? c->sport.none : c->sport.cls[f->sport]) * w;
	const uint64_t *dp = c->dport.cl.bits + (size_t)(f->dport < 0 ? c->dport.none : c->dport.cls[f->dport]) * w;
	for (size_t i = 0; i < w; i++) {
		uint64_t x = p[i] & s[i] & d[i] & sp[i] & dp[i];
		if (x)
			return &c->rules[i * 64 + (size_t)__builtin_ctzll(x)];
	}
	return NULL; /* unreachable: the default deny matches everything */
}

void nsgc_stats(const struct nsg_classifier *c, size_t *classes, size_t *segments)
{
	*classes = c->src.cl.n + c->dst.cl.n;
	*segments = c->src.n + c->dst.n;
}

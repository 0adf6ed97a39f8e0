/* Walking a space by classes. Per protocol, the four other fields each become a list of the classes the
 * space touches (with how many addresses or ports fall in each, and one of them). A depth-first product over
 * the lists ANDs the rule bitsets; at each level, if the first rule of the partial AND also matches every
 * remaining class, that rule decides the whole rest of the product at once. */
#include "analysis/space.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/classify_int.h"

const char *u128_format(u128 a, char *buf)
{
	char tmp[40];
	int n = 0;
	do
		tmp[n++] = (char)('0' + (int)(a % 10));
	while ((a /= 10));
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return buf;
}

struct entry {
	const uint64_t *bits;
	u128 count;
	u128 rep; /* one address or port of the class in the space (example_host/_port of its first piece); -1
		   * (all ones) for no port */
};

struct list {
	struct entry *e;
	size_t n;
	u128 total;
};

struct memo_item {
	const struct addr_dim *d;
	const struct ipset *s;
	int fam;
	struct list l;
};

struct walk_memo {
	struct memo_item *v;
	size_t n, cap;
};

struct walk_memo *walk_memo_new(void)
{
	return calloc(1, sizeof(struct walk_memo));
}

void walk_memo_free(struct walk_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].l.e);
	free(m->v);
	free(m);
}

/* An address family: one or two windows of the 128-bit space. */
struct family {
	struct range w[2];
	int n;
};

static const struct family families[2] = {
	{ { { V4_BASE, V4_LAST } }, 1 },                        /* IPv4 */
	{ { { 0, V4_BASE - 1 }, { V4_LAST + 1, U128_MAX } }, 2 }, /* IPv6: around the IPv4-mapped block */
};

/* The first range of s that ends at or after a. */
static size_t first_range(const struct ipset *s, u128 a)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->r[mid].hi < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The segment of d holding a, searching from segment seg on (a is at or after its start): a few steps, then
 * galloping and a binary search, so that a walk over many ranges and one far away are both cheap. */
static size_t segment_at(const struct addr_dim *d, size_t seg, u128 a)
{
	size_t step = 1, lo = seg, hi;
	while (lo + step < d->n && d->start[lo + step] <= a) {
		lo += step;
		step *= 2;
	}
	hi = lo + step < d->n ? lo + step - 1 : d->n - 1; /* the last start <= a is in [lo, hi] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (d->start[mid] <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* The classes of an address field that the set s touches within family fam, each with how many of its
 * addresses and the first host of its first piece. */
static int addr_list(const struct addr_dim *d, const struct ipset *s, const struct family *fam, struct list *l,
		     int32_t *slot)
{
	size_t seg = 0;
	l->n = 0;
	l->total = 0;
	for (int k = 0; k < fam->n; k++)
		for (size_t i = first_range(s, fam->w[k].lo); i < s->n && s->r[i].lo <= fam->w[k].hi; i++) {
			u128 lo = s->r[i].lo > fam->w[k].lo ? s->r[i].lo : fam->w[k].lo;
			u128 hi = s->r[i].hi < fam->w[k].hi ? s->r[i].hi : fam->w[k].hi;
			seg = segment_at(d, seg, lo);
			for (;;) {
				u128 end = seg + 1 < d->n ? d->start[seg + 1] - 1 : U128_MAX;
				u128 top = end < hi ? end : hi;
				uint32_t c = d->cls[seg];
				if (slot[c] < 0) {
					slot[c] = (int32_t)l->n;
					l->e[l->n++] = (struct entry){ d->cl.bits + (size_t)c * d->cl.words, 0,
								       example_host(lo, top) };
				}
				struct entry *e = &l->e[slot[c]];
				e->count = u128_add_sat(e->count, top - lo + 1 == 0 ? U128_MAX : top - lo + 1);
				l->total = u128_add_sat(l->total, top - lo + 1 == 0 ? U128_MAX : top - lo + 1);
				if (top == hi)
					break;
				lo = top + 1;
				seg++;
			}
		}
	for (size_t i = 0; i < l->n; i++)
		slot[(l->e[i].bits - d->cl.bits) / d->cl.words] = -1;
	return 0;
}

/* addr_list through the classifier's memo: the list of (d, s, family fam), computed the first time. NULL when
 * out of memory. */
static const struct list *addr_list_memo(const struct nsg_classifier *c, const struct addr_dim *d,
					 const struct ipset *s, int fam, int32_t *slot)
{
	struct walk_memo *m = c->memo;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].d == d && m->v[i].s == s && m->v[i].fam == fam)
			return &m->v[i].l;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct memo_item *nv = realloc(m->v, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		m->v = nv;
		m->cap = cap;
	}
	struct memo_item *it = &m->v[m->n];
	*it = (struct memo_item){ d, s, fam, { malloc((d->cl.n + 1) * sizeof(struct entry)), 0, 0 } };
	if (!it->l.e)
		return NULL;
	addr_list(d, s, &families[fam], &it->l, slot);
	struct entry *fit = realloc(it->l.e, (it->l.n + 1) * sizeof(struct entry));
	if (fit)
		it->l.e = fit;
	m->n++;
	return &it->l;
}

/* The classes of a port field that the ranges touch (NULL: every port), or the no-port class. */
static void port_list(const struct port_dim *d, const struct prange *r, size_t n, bool ported, struct list *l,
		      int32_t *slot)
{
	static const struct prange all = { 0, 65535 };
	l->n = 0;
	l->total = 0;
	if (!ported) {
		l->e[l->n++] = (struct entry){ d->cl.bits + (size_t)d->none * d->cl.words, 1, U128_MAX };
		l->total = 1;
		return;
	}
	if (!r) {
		r = &all;
		n = 1;
	}
	/* Walk the runs of equal class that each range overlaps (the ranges come in any order: a contract lists
	 * its ports as the documentation does, 9000,9003,1438,…). */
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = r[i].lo, hi = r[i].hi;
		size_t run = 0, top_run = d->nrun - 1; /* the run holding lo: the last that starts at or before it */
		while (run < top_run) {
			size_t mid = run + (top_run - run + 1) / 2;
			if (d->run[mid] <= lo)
				run = mid;
			else
				top_run = mid - 1;
		}
		for (;;) {
			uint32_t end = run + 1 < d->nrun ? d->run[run + 1] - 1 : 65535;
			uint32_t top = end < hi ? end : hi;
			uint32_t c = d->runcls[run];
			if (slot[c] < 0) {
				slot[c] = (int32_t)l->n;
				l->e[l->n++] = (struct entry){ d->cl.bits + (size_t)c * d->cl.words, 0, example_port(lo, top) };
			}
			l->e[slot[c]].count += top - lo + 1;
			l->total += top - lo + 1;
			if (top == hi)
				break;
			lo = top + 1;
			run++;
		}
	}
	for (size_t i = 0; i < l->n; i++)
		slot[(l->e[i].bits - d->cl.bits) / d->cl.words] = -1;
}

struct walk {
	const struct nsg_classifier *c;
	size_t split, words;
	struct list l[4];  /* source, destination, destination port, source port */
	const struct list *addr[2][2]; /* per family: the source and destination lists (the same for every protocol) */
	uint64_t *x;       /* partial ANDs, one row of words per level 0..4 */
	uint64_t *always;  /* per level: AND of all entries of levels >= it */
	u128 rest[5];      /* per level: product of totals of levels >= it */
	size_t pick[4];
	struct block b;
	block_fn fn;
	void *ctx;
};

/* First set bit of x in [from, to), or SIZE_MAX. */
static size_t first_bit(const uint64_t *x, size_t from, size_t to)
{
	for (size_t w = from / 64; w * 64 < to; w++) {
		uint64_t m = x[w];
		if (w == from / 64)
			m &= ~0ull << (from % 64);
		if (m) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(m);
			return i < to ? i : SIZE_MAX;
		}
	}
	return SIZE_MAX;
}

/* If the rules deciding x also decide x & y (y: everything still to come), fill b->rule and say so. */
static bool decided(const struct walk *w, const uint64_t *x, uint64_t *xy, struct block *b)
{
	size_t n = w->c->nrules;
	/* xy holds y (everything still to come) and becomes x & y */
	for (size_t i = 0; i < w->words; i++)
		xy[i] &= x[i];
	size_t k1 = first_bit(x, 0, w->split);
	if (k1 != first_bit(xy, 0, w->split))
		return false;
	b->rule[0] = &w->c->rules[k1];
	b->rule[1] = NULL;
	if (w->split == n || !b->rule[0]->allow)
		return true;
	size_t k2 = first_bit(x, w->split, n);
	if (k2 != first_bit(xy, w->split, n))
		return false;
	b->rule[1] = &w->c->rules[k2];
	return true;
}

static int emit(struct walk *w, int level, u128 size)
{
	struct flow *f = &w->b.example;
	const struct entry *e[4];
	for (int i = 0; i < 4; i++)
		e[i] = &w->l[i].e[i < level ? w->pick[i] : 0];
	f->src = e[0]->rep;
	f->dst = e[1]->rep;
	f->dport = e[2]->rep == U128_MAX ? -1 : (int)e[2]->rep;
	f->sport = e[3]->rep == U128_MAX ? -1 : (int)e[3]->rep;
	w->b.size = u128_mul_sat(size, w->rest[level]);
	return w->fn(w->ctx, &w->b);
}

static int descend(struct walk *w, int level, u128 size)
{
	uint64_t *x = w->x + (size_t)level * w->words, *scratch = w->x + 5 * w->words;
	memcpy(scratch, w->always + (size_t)level * w->words, w->words * 8);
	if (decided(w, x, scratch, &w->b))
		return emit(w, level, size);
	/* level < 4 here: at level 4 nothing remains and every rule decides (always = all ones). */
	for (size_t i = 0; i < w->l[level].n; i++) {
		const struct entry *e = &w->l[level].e[i];
		uint64_t *nx = x + w->words;
		for (size_t k = 0; k < w->words; k++)
			nx[k] = x[k] & e->bits[k];
		w->pick[level] = i;
		int rc = descend(w, level + 1, u128_mul_sat(size, e->count));
		if (rc)
			return rc;
	}
	return 0;
}

static int walk_family(struct walk *w, const struct nsg_classifier *c, const struct space *sp, unsigned proto,
		       int fam, int32_t *pslot)
{
	w->l[0] = *w->addr[fam][0];
	w->l[1] = *w->addr[fam][1];
	if (!w->l[0].n || !w->l[1].n)
		return 0;
	port_list(&c->dport, sp->dport, sp->ndport, proto_has_ports(proto), &w->l[2], pslot);
	port_list(&c->sport, sp->sport, sp->nsport, proto_has_ports(proto), &w->l[3], pslot);
	for (int i = 0; i < 4; i++)
		if (!w->l[i].n)
			return 0;
	/* always[level] = AND over levels >= level of the AND of their entries; rest likewise with totals. */
	memset(w->always + 4 * w->words, 0xff, w->words * 8);
	w->rest[4] = 1;
	for (int lv = 3; lv >= 0; lv--) {
		uint64_t *a = w->always + (size_t)lv * w->words;
		memcpy(a, a + w->words, w->words * 8);
		for (size_t i = 0; i < w->l[lv].n; i++)
			for (size_t k = 0; k < w->words; k++)
				a[k] &= w->l[lv].e[i].bits[k];
		w->rest[lv] = u128_mul_sat(w->rest[lv + 1], w->l[lv].total);
	}
	unsigned pbit = (unsigned)__builtin_ctz(proto);
	memcpy(w->x, c->proto + (size_t)pbit * w->words, w->words * 8);
	w->b.example.proto = proto;
	return descend(w, 0, 1);
}

int space_walk(const struct nsg_classifier *c, size_t split, const struct space *sp, enum direction dir,
	       block_fn fn, void *ctx)
{
	struct walk w = { .c = c, .split = split, .words = c->words, .fn = fn, .ctx = ctx };
	size_t cap = c->src.cl.n > c->dst.cl.n ? c->src.cl.n : c->dst.cl.n;
	size_t pcap = c->sport.cl.n > c->dport.cl.n ? c->sport.cl.n : c->dport.cl.n;
	int32_t *aslot = malloc(cap * sizeof(*aslot)), *pslot = malloc(pcap * sizeof(*pslot));
	int rc = -1;

	w.b.example.dir = dir;
	for (int i = 2; i < 4; i++)
		w.l[i].e = malloc((pcap + 1) * sizeof(struct entry));
	w.x = malloc(7 * c->words * 8);
	w.always = malloc(5 * c->words * 8);
	if (!aslot || !pslot || !w.x || !w.always || !w.l[2].e || !w.l[3].e)
		goto out;
	memset(aslot, 0xff, cap * sizeof(*aslot));
	memset(pslot, 0xff, pcap * sizeof(*pslot));
	for (int f = 0; f < 2; f++)
		if (!(w.addr[f][0] = addr_list_memo(c, &c->src, sp->src, f, aslot)) ||
		    !(w.addr[f][1] = addr_list_memo(c, &c->dst, sp->dst, f, aslot)))
			goto out;
	rc = 0;
	for (unsigned p = 1; p <= PROTO_AH && !rc; p <<= 1)
		if (sp->protos & p)
			for (int f = 0; f < 2 && !rc; f++)
				rc = walk_family(&w, c, sp, p, f, pslot);
out:
	free(w.l[2].e);
	free(w.l[3].e);
	free(w.x);
	free(w.always);
	free(aslot);
	free(pslot);
	return rc;
}

/* The index of tagindex.h: entries grouped by how many bits of the 128-bit space their prefix fixes (an
 * IPv4 /n fixes 96 + n), each group sorted by network address; a look-up masks the address once per group,
 * from the longest, and binary-searches the group. */
#include "model/tagindex.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static unsigned fixed_bits(const struct cidr *c)
{
	return c->v4 ? 96u + c->len : c->len;
}

static u128 mask_of(unsigned bits)
{
	return bits == 0 ? 0 : U128_MAX << (128 - bits);
}

static unsigned entry_bits(const struct tagindex_entry *e)
{
	return e->v4 ? 96u + e->len : e->len;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct tagindex_entry *a = pa, *b = pb;
	unsigned ba = entry_bits(a), bb = entry_bits(b);
	if (ba != bb)
		return ba < bb ? -1 : 1;
	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	return a->tag < b->tag ? -1 : a->tag > b->tag;
}

int tagindex_build(struct tagindex *ix, const struct tagdb *db)
{
	size_t n = 0;
	*ix = (struct tagindex){ .db = db };
	for (size_t i = 0; i < db->n; i++)
		n += db->v[i].nprefixes;
	ix->e = malloc((n ? n : 1) * sizeof(*ix->e));
	if (!ix->e)
		return -1;
	for (size_t i = 0; i < db->n; i++)
		for (size_t j = 0; j < db->v[i].nprefixes; j++) {
			const struct cidr *c = &db->v[i].prefixes[j];
			ix->e[ix->n++] = (struct tagindex_entry){ c->lo, (uint32_t)i, c->len, c->v4 };
		}
	qsort(ix->e, ix->n, sizeof(*ix->e), cmp_entry);
	size_t k = 0;
	for (unsigned b = 0; b <= 129; b++) {
		while (k < ix->n && entry_bits(&ix->e[k]) < b)
			k++;
		ix->start[b] = k;
	}
	return 0;
}

static int cmp_hit(const void *pa, const void *pb)
{
	const struct tagindex_hit *a = pa, *b = pb;
	unsigned ba = fixed_bits(&a->prefix), bb = fixed_bits(&b->prefix);
	if (ba != bb)
		return ba > bb ? -1 : 1;
	return strcasecmp(a->tag->name, b->tag->name);
}

size_t tagindex_lookup(const struct tagindex *ix, u128 a, struct tagindex_hit *out, size_t max)
{
	size_t nhits = 0;
	/* Groups from the longest prefix down; the ::ffff:0:0/96 block is IPv4 only, so an IPv4 address skips
	 * the IPv6 groups of 96 fixed bits or fewer (they never contain it: ipset_add_cidr cuts it out). */
	for (int b = 128; b >= 0; b--) {
		size_t lo = ix->start[b], hi = ix->start[b + 1];
		if (lo == hi)
			continue;
		u128 net = a & mask_of((unsigned)b);
		/* first entry with e.net >= net */
		size_t l = lo, h = hi;
		while (l < h) {
			size_t m = l + (h - l) / 2;
			if (ix->e[m].net < net)
				l = m + 1;
			else
				h = m;
		}
		for (; l < hi && ix->e[l].net == net; l++) {
			const struct tagindex_entry *e = &ix->e[l];
			if (e->v4 != addr_is_v4(a))
				continue;
			const struct service_tag *t = &ix->db->v[e->tag];
			bool seen = false; /* a tag listed already with a longer prefix */
			for (size_t i = 0; i < nhits && i < max; i++)
				if (out[i].tag == t)
					seen = true;
			if (seen)
				continue;
			if (nhits < max) {
				struct cidr *c = &out[nhits].prefix;
				out[nhits].tag = t;
				c->lo = e->net;
				c->hi = e->net | ~mask_of((unsigned)b);
				c->len = e->len;
				c->v4 = e->v4;
			}
			nhits++;
		}
	}
	/* Within one length, by name (the groups are already longest first). */
	size_t stored = nhits < max ? nhits : max;
	qsort(out, stored, sizeof(*out), cmp_hit);
	return nhits;
}

void tagindex_free(struct tagindex *ix)
{
	free(ix->e);
	*ix = (struct tagindex){ 0 };
}

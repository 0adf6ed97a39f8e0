/* Range-list set algebra. Everything is a linear merge over sorted ranges. */
#include "model/ipset.h"

#include <stdlib.h>
#include <string.h>

#include "model/runsort.h"

void ipset_free(struct ipset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
}

/* Room for n ranges in all, so that a result of known bound is built without growing. -1 out of memory. */
static int reserve(struct ipset *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	struct range *r = realloc(s->r, n * sizeof(*r));
	if (!r)
		return -1;
	s->r = r;
	s->cap = n;
	return 0;
}

int ipset_add_range(struct ipset *s, u128 lo, u128 hi)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct range *r = realloc(s->r, cap * sizeof(*r));
		if (!r)
			return -1;
		s->r = r;
		s->cap = cap;
	}
	s->r[s->n++] = (struct range){ lo, hi };
	return 0;
}

size_t cidr_ranges(const struct cidr *c, struct range out[2])
{
	size_t n = 0;
	if (!c->v4 && c->lo <= V4_BASE && c->hi >= V4_LAST) {
		if (c->lo < V4_BASE)
			out[n++] = (struct range){ c->lo, V4_BASE - 1 };
		if (c->hi > V4_LAST)
			out[n++] = (struct range){ V4_LAST + 1, c->hi };
		return n;
	}
	out[n++] = (struct range){ c->lo, c->hi };
	return n;
}

int ipset_add_cidr(struct ipset *s, const struct cidr *c)
{
	struct range r[2];
	for (size_t i = 0, n = cidr_ranges(c, r); i < n; i++)
		if (ipset_add_range(s, r[i].lo, r[i].hi) < 0)
			return -1;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort by lo: ranges mostly arrive as a few sorted runs (unions, the prefixes of a route table's tags). */
RUNSORT_DEFINE(sort_ranges, struct range, lo, range_cmp)

void ipset_normalize(struct ipset *s)
{
	if (s->n < 2)
		return;
	sort_ranges(s->r, s->n);
	size_t o = 0;
	for (size_t i = 1; i < s->n; i++) {
		struct range *last = &s->r[o];
		if (last->hi == U128_MAX || s->r[i].lo <= last->hi + 1) {
			if (s->r[i].hi > last->hi)
				last->hi = s->r[i].hi;
		} else {
			s->r[++o] = s->r[i];
		}
	}
	s->n = o + 1;
}

int ipset_copy(struct ipset *dst, const struct ipset *src)
{
	*dst = (struct ipset){ 0 };
	if (!src->n)
		return 0;
	dst->r = malloc(src->n * sizeof(*dst->r));
	if (!dst->r)
		return -1;
	memcpy(dst->r, src->r, src->n * sizeof(*dst->r));
	dst->n = dst->cap = src->n;
	return 0;
}

/* Append [lo, hi] to a normalized set whose ranges all start at or before lo, merging it into the last range
 * when they overlap or touch. The room is reserved. */
static void append_merged(struct ipset *s, u128 lo, u128 hi)
{
	struct range *last = s->n ? &s->r[s->n - 1] : NULL;
	if (last && (last->hi == U128_MAX || lo <= last->hi + 1)) {
		if (hi > last->hi)
			last->hi = hi;
		return;
	}
	s->r[s->n++] = (struct range){ lo, hi };
}

int ipset_union(struct ipset *dst, const struct ipset *a, const struct ipset *b)
{
	*dst = (struct ipset){ 0 };
	if (reserve(dst, a->n + b->n) < 0)
		return -1;
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		const struct range *r = j == b->n || (i < a->n && a->r[i].lo <= b->r[j].lo) ? &a->r[i++] : &b->r[j++];
		append_merged(dst, r->lo, r->hi);
	}
	return 0;
}

int ipset_intersect(struct ipset *dst, const struct ipset *a, const struct ipset *b)
{
	*dst = (struct ipset){ 0 };
	size_t i = 0, j = 0;
	if (reserve(dst, a->n + b->n) < 0)
		return -1;
	while (i < a->n && j < b->n) {
		u128 lo = a->r[i].lo > b->r[j].lo ? a->r[i].lo : b->r[j].lo;
		u128 hi = a->r[i].hi < b->r[j].hi ? a->r[i].hi : b->r[j].hi;
		if (lo <= hi && ipset_add_range(dst, lo, hi) < 0)
			return -1;
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
	return 0;
}

int ipset_complement(struct ipset *dst, const struct ipset *a)
{
	*dst = (struct ipset){ 0 };
	u128 next = 0;
	bool done = false;
	if (reserve(dst, a->n + 1) < 0)
		return -1;
	for (size_t i = 0; i < a->n && !done; i++) {
		if (a->r[i].lo > next && ipset_add_range(dst, next, a->r[i].lo - 1) < 0)
			return -1;
		if (a->r[i].hi == U128_MAX)
			done = true;
		else
			next = a->r[i].hi + 1;
	}
	if (!done && ipset_add_range(dst, next, U128_MAX) < 0)
		return -1;
	return 0;
}

int ipset_subtract(struct ipset *dst, const struct ipset *a, const struct ipset *b)
{
	struct ipset nb;
	if (ipset_complement(&nb, b) < 0)
		return -1;
	int rc = ipset_intersect(dst, a, &nb);
	ipset_free(&nb);
	return rc;
}

bool ipset_contains(const struct ipset *s, u128 a)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->r[mid].hi < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->r[lo].lo <= a;
}

bool ipset_is_subset(const struct ipset *a, const struct ipset *b)
{
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && b->r[j].hi < a->r[i].lo)
			j++;
		if (j == b->n || b->r[j].lo > a->r[i].lo || b->r[j].hi < a->r[i].hi)
			return false;
	}
	return true;
}

bool ipset_overlaps(const struct ipset *a, const struct ipset *b)
{
	size_t i = 0, j = 0;
	while (i < a->n && j < b->n) {
		if (a->r[i].hi < b->r[j].lo)
			i++;
		else if (b->r[j].hi < a->r[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

bool ipset_equal(const struct ipset *a, const struct ipset *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->r, b->r, a->n * sizeof(*a->r)));
}

uint64_t ipset_count_v4(const struct ipset *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		u128 lo = s->r[i].lo > V4_BASE ? s->r[i].lo : V4_BASE;
		u128 hi = s->r[i].hi < V4_LAST ? s->r[i].hi : V4_LAST;
		if (lo <= hi)
			n += (uint64_t)(hi - lo) + 1;
	}
	return n;
}

u128 ipset_count_v6(const struct ipset *s)
{
	u128 n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->r[i].hi - s->r[i].lo + 1; /* wraps only for the whole space */
	return n - ipset_count_v4(s);
}

int ipset_all(struct ipset *s)
{
	*s = (struct ipset){ 0 };
	return ipset_add_range(s, 0, U128_MAX);
}

/* Sets of addresses as sorted, disjoint, non-adjacent ranges over the 128-bit space of addr.h.
 * A set owns its array; sets are values built once and then only read (the model is immutable once
 * validated). Functions that build a set return 0, or -1 when out of memory. */
#ifndef MINET_IPSET_H
#define MINET_IPSET_H

#include "model/addr.h"

struct range {
	u128 lo, hi;
};

struct ipset {
	struct range *r;
	size_t n, cap;
};

void ipset_free(struct ipset *s);

/* Append without normalizing; call ipset_normalize once after a batch of additions. */
int ipset_add_range(struct ipset *s, u128 lo, u128 hi);
/* Add a prefix; an IPv6 prefix that covers the IPv4-mapped block has that block cut out. */
int ipset_add_cidr(struct ipset *s, const struct cidr *c);
/* The one or two ranges (none for ::ffff:0:0/96 as IPv6) that ipset_add_cidr adds for c. */
size_t cidr_ranges(const struct cidr *c, struct range out[2]);
/* Sort and merge overlapping or adjacent ranges. */
void ipset_normalize(struct ipset *s);

int ipset_copy(struct ipset *dst, const struct ipset *src);
int ipset_union(struct ipset *dst, const struct ipset *a, const struct ipset *b);
int ipset_intersect(struct ipset *dst, const struct ipset *a, const struct ipset *b);
/* dst = a \ b */
int ipset_subtract(struct ipset *dst, const struct ipset *a, const struct ipset *b);
/* dst = the whole space \ a */
int ipset_complement(struct ipset *dst, const struct ipset *a);

bool ipset_contains(const struct ipset *s, u128 a);
bool ipset_is_subset(const struct ipset *a, const struct ipset *b);
bool ipset_overlaps(const struct ipset *a, const struct ipset *b);
bool ipset_equal(const struct ipset *a, const struct ipset *b);
/* Number of IPv4 addresses, and of IPv6 addresses (which fits: the IPv4 block is never IPv6). */
uint64_t ipset_count_v4(const struct ipset *s);
u128 ipset_count_v6(const struct ipset *s);

/* The whole space, IPv4 and IPv6. */
int ipset_all(struct ipset *s);

#endif

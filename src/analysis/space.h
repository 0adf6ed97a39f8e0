/* Exact reasoning over sets of packets: a space (a product of protocol, address and port sets) is cut into
 * blocks that one rule decides, using the classifier's equivalence classes, so that "does every packet of
 * this space get allowed" is answered for all addresses and ports, never by sampling. A block may be huge
 * (a whole /8 times every source port) when one rule decides all of it. */
#ifndef MINET_SPACE_H
#define MINET_SPACE_H

#include "analysis/classify.h"

struct space {
	unsigned protos;            /* PROTO_* bits */
	const struct ipset *src, *dst;
	const struct prange *sport; /* NULL: every port */
	size_t nsport;
	const struct prange *dport;
	size_t ndport;
};

struct block {
	/* The deciding rule of each stage: rules [0, split) of the classifier are stage 1, [split, n) stage 2.
	 * rule[1] is NULL when there is one stage or stage 1 denied. */
	const struct nsg_rule *rule[2];
	u128 size;          /* packets (5-tuples) in the block; saturates at U128_MAX */
	struct flow example; /* one packet of the block */
};

/* Called for each block; return non-zero to stop the walk. */
typedef int (*block_fn)(void *ctx, const struct block *b);

/* Walk every block of sp (IPv4 and IPv6 packets; source and destination of one family). dir only fills
 * the examples. Returns 0 when all was walked, 1 when fn stopped it, -1 when out of memory. */
int space_walk(const struct nsg_classifier *c, size_t split, const struct space *sp, enum direction dir,
	       block_fn fn, void *ctx);

/* The example a report shows for a range of addresses: a host, never the range's first address when it has
 * more than one. lo + 4 when the range has room, the first address Azure gives a VM in a subnet (it reserves
 * x.x.x.0-3 and the last, virtual-networks-faq.md), so a subnet's example is its first VM. */
static inline u128 example_host(u128 lo, u128 hi)
{
	return hi - lo >= 5 ? lo + 4 : hi > lo ? lo + 1 : lo;
}

/* The example port of a range: 49152, the start of the ephemeral range, when inside; never 0 when the range
 * has another port. */
static inline uint32_t example_port(uint32_t lo, uint32_t hi)
{
	if (lo <= 49152 && 49152 <= hi)
		return 49152;
	if (lo == 0 && hi > 0)
		return hi < 1024 ? hi : 1024;
	return lo;
}

/* a * b, saturating. */
static inline u128 u128_mul_sat(u128 a, u128 b)
{
	u128 r;
	return __builtin_mul_overflow(a, b, &r) ? U128_MAX : r;
}
static inline u128 u128_add_sat(u128 a, u128 b)
{
	u128 r;
	return __builtin_add_overflow(a, b, &r) ? U128_MAX : r;
}

/* Decimal text of a; buf must hold 40 bytes. */
const char *u128_format(u128 a, char *buf);

#endif

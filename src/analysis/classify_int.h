/* The classifier's insides, for the modules that walk its classes (space.c). Not for the CLI. */
#ifndef MINET_CLASSIFY_INT_H
#define MINET_CLASSIFY_INT_H

#include "analysis/classify.h"

/* Bitsets of rules, interned: equal bitsets share one class id. */
struct classes {
	size_t words;
	uint64_t *bits; /* n * words */
	uint32_t n, cap;
	uint32_t *slot; /* hash → 1 + class id */
	size_t nslot;
};

/* An address field: segments over the 128-bit space. A classifier built for verdicts (nsgc_build) also has the
 * IPv4 fast path: the 16 high bits index the segments, then a short binary search. */
struct addr_fast {
	uint32_t *v4start, *v4cls; /* segments clipped to the IPv4 block, as 32-bit addresses */
	size_t n4;
	uint32_t top[65537];
};

struct addr_dim {
	struct classes cl;
	u128 *start; /* segment starts, start[0] == 0 */
	uint32_t *cls;
	size_t n;
	struct addr_fast *fast; /* NULL in a classifier for walking (nsgc_build_rules) */
};

struct port_dim {
	struct classes cl;
	uint32_t *run;    /* the ports where the class changes (run[0] == 0), for walking classes */
	uint32_t *runcls; /* the class of each run */
	size_t nrun;
	uint32_t none;    /* the class of flows without ports */
	uint32_t *cls;    /* [65536]: each port's class; NULL in a classifier for walking */
};

/* The address lists of walks (space.c), kept per (field, set, family): walks over the same set (a tag that
 * several rules name, a contract's and a rule's) share them. Only in a classifier for walking. */
struct walk_memo;
struct walk_memo *walk_memo_new(void);
void walk_memo_free(struct walk_memo *m);

struct nsg_classifier {
	const struct nsg_rule *rules;
	size_t nrules, words;
	struct addr_dim src, dst;
	struct port_dim sport, dport;
	uint64_t *proto; /* 5 * words */
	struct walk_memo *memo;
};

#endif

/* The fast verdict engine for one NSG and one direction: a decomposition of each of the five fields
 * (protocol, source, source port, destination, destination port) into equivalence classes, each class
 * carrying the bitset of rules that match it on that field. A verdict is five table lookups and an AND of
 * five bitsets; the first set bit is the deciding rule (rules are in priority order). Built from a validated
 * NSG; must agree with nsg_decide() on every flow (tests/unit/test_classify.c checks it). */
#ifndef MINET_CLASSIFY_H
#define MINET_CLASSIFY_H

#include "analysis/flow.h"

struct nsg_classifier;

/* NULL when out of memory. */
struct nsg_classifier *nsgc_build(const struct nsg *g, enum direction dir);
void nsgc_free(struct nsg_classifier *c);

/* The same over any array of rules evaluated in array order (e.g. two NSGs one after the other), for walking
 * its classes (space.h) only: it has no lookup tables, so nsgc_decide cannot take it, and it is built in time
 * linear in the rules' ranges. The array must outlive the classifier. */
struct nsg_classifier *nsgc_build_rules(const struct nsg_rule *rules, size_t n);

/* The deciding rule for f (f->dir must be the classifier's direction; c from nsgc_build). */
const struct nsg_rule *nsgc_decide(const struct nsg_classifier *c, const struct flow *f);

/* Sizes, for benchmarks: address classes and segments. */
void nsgc_stats(const struct nsg_classifier *c, size_t *classes, size_t *segments);

#endif

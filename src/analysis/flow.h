/* Flow verdicts, evaluated the way the documentation states it (§1.1, §1.6): rules in priority order,
 * first match decides; inbound the subnet's NSG then the NIC's, outbound the NIC's then the subnet's; both
 * must allow, and a level without an NSG allows. This is the reference evaluator: it explains its answer
 * field by field. classify.h holds the fast engine that must agree with it. */
#ifndef MINET_FLOW_H
#define MINET_FLOW_H

#include "model/nsg.h"

struct flow {
	enum direction dir;
	unsigned proto; /* exactly one PROTO_* bit */
	u128 src, dst;
	int sport, dport; /* 0-65535; -1 for protocols without ports */
};

/* The fields of a rule a flow fails to match. */
enum { MISS_PROTO = 1, MISS_SRC = 2, MISS_SPORT = 4, MISS_DST = 8, MISS_DPORT = 16 };

/* 0 when r matches f, else the MISS_* fields that do not. [inference] A flow without ports (ICMP, ESP, AH)
 * matches a port field only when the field covers every port. */
unsigned rule_mismatch(const struct nsg_rule *r, const struct flow *f);

/* The rule of g (in f's direction) that decides f. Never NULL: the default DenyAll rules match everything. */
const struct nsg_rule *nsg_decide(const struct nsg *g, const struct flow *f);

/* The outcome of the NSGs in force. */
struct verdict {
	bool allow;
	const struct nsg *nsg;        /* the NSG whose rule decided (the last one evaluated) */
	const struct nsg_rule *rule;  /* NULL only when no NSG is in force */
	const struct nsg_rule *stage_rule[2]; /* the deciding rule of each level evaluated, in order; NULL if not */
	const struct nsg *stage_nsg[2];
};

/* subnet and nic may be NULL (no NSG at that level). */
struct verdict flow_verdict(const struct nsg *subnet, const struct nsg *nic, const struct flow *f);

#endif

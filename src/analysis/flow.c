#include "analysis/flow.h"

static bool port_match(const struct port_field *p, int port)
{
	if (port < 0)
		return p->any;
	for (size_t i = 0; i < p->n; i++)
		if (port >= p->r[i].lo && port <= p->r[i].hi)
			return true;
	return false;
}

unsigned rule_mismatch(const struct nsg_rule *r, const struct flow *f)
{
	unsigned m = 0;
	if (!(r->proto & f->proto))
		m |= MISS_PROTO;
	if (!ipset_contains(r->src.set, f->src))
		m |= MISS_SRC;
	if (!port_match(&r->sport, f->sport))
		m |= MISS_SPORT;
	if (!ipset_contains(r->dst.set, f->dst))
		m |= MISS_DST;
	if (!port_match(&r->dport, f->dport))
		m |= MISS_DPORT;
	return m;
}

const struct nsg_rule *nsg_decide(const struct nsg *g, const struct flow *f)
{
	size_t n;
	const struct nsg_rule *rules = nsg_rules(g, f->dir, &n);
	for (size_t i = 0; i < n; i++)
		if (!rule_mismatch(&rules[i], f))
			return &rules[i];
	return NULL; /* unreachable: DenyAll* matches every flow */
}

struct verdict flow_verdict(const struct nsg *subnet, const struct nsg *nic, const struct flow *f)
{
	struct verdict v = { .allow = true };
	const struct nsg *order[2] = { subnet, nic };
	if (f->dir == DIR_OUT) {
		order[0] = nic;
		order[1] = subnet;
	}
	for (int i = 0, k = 0; i < 2; i++) {
		if (!order[i])
			continue;
		v.nsg = v.stage_nsg[k] = order[i];
		v.rule = v.stage_rule[k] = nsg_decide(order[i], f);
		k++;
		if (!v.rule->allow) {
			v.allow = false;
			break;
		}
	}
	return v;
}

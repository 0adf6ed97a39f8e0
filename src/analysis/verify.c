/* Contract verification; see verify.h. */
#include "analysis/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis/classify.h"
#include "analysis/space.h"

/* [inference] "Any" protocol in the mandatory tables: TCP, UDP and ICMP, as the default-rules footnote
 * of §1.1 defines Any. */
#define ANY_PROTO (PROTO_TCP | PROTO_UDP | PROTO_ICMP)
#define MGMT_PORTS "9000,9003,1438,1440,1452"

#define ROUTE(id, tag, intent) { id, CK_ROUTE, NULL, tag, 0, NULL, HOP_INTERNET, intent, NULL }
#define CONTRACTS(corpsaw_ports, svc)                                                                       \
	{ "in-sqlmanagement", CK_NSG_IN, "SqlManagement", "S", PROTO_TCP, MGMT_PORTS, 0, "management (inbound)",  \
	  svc("mi-sqlmgmt-in") },                                                                                \
	{ "in-corpnetsaw", CK_NSG_IN, "CorpNetSaw", "S", PROTO_TCP, corpsaw_ports, 0, "management (inbound)",     \
	  svc("mi-corpsaw-in") },                                                                                \
	{ "in-corpnetpublic", CK_NSG_IN, "CorpNetPublic", "S", PROTO_TCP, "9000,9003", 0, "management (inbound)", \
	  svc("mi-corppublic-in") },                                                                             \
	{ "in-mi-subnet", CK_NSG_IN, "S", "S", ANY_PROTO, NULL, 0, "mi_subnet (inbound)", svc("mi-internal-in") }, \
	{ "in-health-probe", CK_NSG_IN, "AzureLoadBalancer", "S", ANY_PROTO, NULL, 0, "health_probe (inbound)",   \
	  svc("mi-healthprobe-in") },                                                                            \
	{ "out-azurecloud", CK_NSG_OUT, "S", "AzureCloud", PROTO_TCP, "443,12000", 0, "management (outbound)",    \
	  svc("mi-services-out") },                                                                              \
	{ "out-mi-subnet", CK_NSG_OUT, "S", "S", ANY_PROTO, NULL, 0, "mi_subnet (outbound)", svc("mi-internal-out") }, \
	{ "route-subnet-vnetlocal", CK_ROUTE, NULL, "S", 0, NULL, HOP_VNET_LOCAL, "subnet-to-vnetlocal", NULL },  \
	ROUTE("route-azurecloud-region", "AzureCloud.{R}", "mi-azurecloud-REGION-internet"),                    \
	ROUTE("route-azurecloud-pair", "AzureCloud.{P}", "mi-azurecloud-REGION_PAIR-internet"),                 \
	ROUTE("route-azuremonitor", "AzureMonitor", "mi-azuremonitor-internet"),                                \
	ROUTE("route-corpnetpublic", "CorpNetPublic", "mi-corpnetpublic-internet"),                             \
	ROUTE("route-corpnetsaw", "CorpNetSaw", "mi-corpnetsaw-internet"),                                      \
	ROUTE("route-eventhub-region", "EventHub.{R}", "mi-eventhub-REGION-internet"),                          \
	ROUTE("route-eventhub-pair", "EventHub.{P}", "mi-eventhub-REGION_PAIR-internet"),                       \
	ROUTE("route-sqlmanagement", "SqlManagement", "mi-sqlmanagement-internet"),                             \
	ROUTE("route-storage", "Storage", "mi-storage-internet"),                                               \
	ROUTE("route-storage-region", "Storage.{R}", "mi-storage-REGION-internet"),                             \
	ROUTE("route-storage-pair", "Storage.{P}", "mi-storage-REGION_PAIR-internet"),                          \
	ROUTE("route-azureactivedirectory", "AzureActiveDirectory", "mi-azureactivedirectory-internet")
#define NO_SERVICE_RULE(kind) NULL
#define SERVICE_RULE(kind) kind

/* The seed's tables (connectivity-architecture-prior-november-2022.md). */
static const struct contract_def documented[] = { CONTRACTS("9000,9003", NO_SERVICE_RULE) };
/* What the service provisioned (§5.4): CorpNetSaw also on 1440; and its own rules by name
 * (docs/azure-semantics-notes.md §4). */
static const struct contract_def provisioned[] = { CONTRACTS("9000,9003,1440", SERVICE_RULE) };

const struct contract_def *contract_set(const char *name, size_t *n)
{
	if (!strcmp(name, "documented")) {
		*n = sizeof(documented) / sizeof(documented[0]);
		return documented;
	}
	if (!strcmp(name, "provisioned")) {
		*n = sizeof(provisioned) / sizeof(provisioned[0]);
		return provisioned;
	}
	return NULL;
}

/* ---- growing arrays of findings ---- */

static struct finding *add_finding(struct finding **v, size_t *n)
{
	struct finding *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof(**v));
	return &nv[(*n)++];
}

/* ---- resolving a contract's fields ---- */

struct ctx {
	const struct verify_input *in;
	struct verify_report *out;
	struct ipset subnet;
	struct diag *d;
};

static void expand(const struct verify_input *in, const char *field, char *buf, size_t n)
{
	const char *open = strchr(field, '{');
	if (!strcmp(field, "S")) {
		cidr_format(&in->subnet, buf);
	} else if (open) {
		snprintf(buf, n, "%.*s%s", (int)(open - field), field, open[1] == 'R' ? in->region : in->pair);
	} else {
		snprintf(buf, n, "%s", field);
	}
}

static const struct ipset *resolve(struct ctx *c, const char *field, const char *text, const char *id)
{
	const char *canon;
	if (!strcmp(field, "S"))
		return &c->subnet;
	const struct ipset *s = netenv_tag(c->in->env, text, &canon);
	if (!s)
		diag_err(c->d, NULL, "contract %s needs service tag '%s': give a --tags file that defines it", id, text);
	return s;
}

static int parse_ports(const char *list, struct prange *r, size_t *n)
{
	*n = 0;
	for (const char *p = list; p && *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		r[(*n)++] = (struct prange){ (uint16_t)v, (uint16_t)v };
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ---- NSG contracts ---- */

/* The NSGs in force in one direction, as one rule array (stage 1 then stage 2) and its classifier. */
struct stages {
	struct nsg_rule *rules; /* shallow copies: they share the NSGs' sets and names */
	const struct nsg *of[2];
	const struct nsg_rule *orig[2];
	size_t n[2], split;
	struct nsg_classifier *c;
};

static int stages_build(struct stages *s, const struct verify_input *in, enum direction dir)
{
	const struct nsg *order[2] = { in->nsg, in->nic };
	if (dir == DIR_OUT)
		order[0] = in->nic, order[1] = in->nsg;
	memset(s, 0, sizeof(*s));
	for (int i = 0, k = 0; i < 2; i++) {
		if (!order[i])
			continue;
		s->of[k] = order[i];
		s->orig[k] = nsg_rules(order[i], dir, &s->n[k]);
		k++;
	}
	s->split = s->n[0];
	if (!(s->rules = malloc((s->n[0] + s->n[1]) * sizeof(*s->rules))))
		return -1;
	memcpy(s->rules, s->orig[0], s->n[0] * sizeof(*s->rules));
	if (s->n[1])
		memcpy(s->rules + s->n[0], s->orig[1], s->n[1] * sizeof(*s->rules));
	s->c = nsgc_build_rules(s->rules, s->n[0] + s->n[1]);
	return s->c ? 0 : -1;
}

static void stages_free(struct stages *s)
{
	nsgc_free(s->c);
	free(s->rules);
}

/* The original rule behind a copy in s->rules, and its NSG. */
static const struct nsg_rule *original(const struct stages *s, const struct nsg_rule *copy, const struct nsg **g)
{
	size_t i = (size_t)(copy - s->rules);
	int k = i >= s->split;
	*g = s->of[k];
	return &s->orig[k][k ? i - s->split : i];
}

struct nsg_walk {
	struct ctx *c;
	const struct stages *st;
	struct contract_result *cr;
	size_t first; /* index of this contract's first violation */
};

static int on_block(void *arg, const struct block *b)
{
	struct nsg_walk *w = arg;
	const struct nsg_rule *bad = !b->rule[0]->allow ? b->rule[0] : b->rule[1] && !b->rule[1]->allow ? b->rule[1] : NULL;
	if (!bad)
		return 0;
	const struct nsg *g;
	const struct nsg_rule *r = original(w->st, bad, &g);
	struct verify_report *o = w->c->out;
	for (size_t i = w->first; i < o->nviolations; i++)
		if (o->violations[i].rule == r) {
			o->violations[i].size = u128_add_sat(o->violations[i].size, b->size);
			return 0;
		}
	struct finding *f = add_finding(&o->violations, &o->nviolations);
	if (!f)
		return -1;
	*f = (struct finding){ .kind = FK_NSG, .contract = w->cr->def->id, .nsg = g, .rule = r, .size = b->size,
			       .example = b->example };
	w->cr->holds = false;
	return 0;
}

static int check_nsg(struct ctx *c, struct contract_result *cr, const struct stages *st)
{
	const struct contract_def *def = cr->def;
	const struct ipset *src = resolve(c, def->src, cr->src, def->id), *dst = resolve(c, def->dst, cr->dst, def->id);
	struct prange ports[8];
	size_t nports;
	if (!src || !dst)
		return -1;
	parse_ports(def->ports, ports, &nports);
	struct space sp = { .protos = def->protos, .src = src, .dst = dst, .dport = def->ports ? ports : NULL,
			    .ndport = nports };
	struct nsg_walk w = { c, st, cr, c->out->nviolations };
	return space_walk(st->c, st->split, &sp, def->kind == CK_NSG_IN ? DIR_IN : DIR_OUT, on_block, &w) < 0 ? -2 : 0;
}

/* ---- route contracts ---- */

static int check_route(struct ctx *c, struct contract_result *cr)
{
	const struct contract_def *def = cr->def;
	const struct ipset *set = resolve(c, def->dst, cr->dst, def->id);
	const struct fib *fib = &c->out->fib;
	size_t first = c->out->nviolations;
	if (!set)
		return -1;
	for (size_t i = 0, s = 0; i < set->n; i++) {
		/* the last segment the previous range reached may hold this one too */
		for (s = fib_seg_from(fib, s ? s - 1 : 0, set->r[i].lo); s < fib->nseg && fib->seg[s].lo <= set->r[i].hi;
		     s++) {
			const struct fib_route *r = &fib->routes[fib->seg[s].route];
			if (r->hop == def->hop)
				continue;
			u128 lo = fib->seg[s].lo > set->r[i].lo ? fib->seg[s].lo : set->r[i].lo;
			u128 hi = fib->seg[s].hi < set->r[i].hi ? fib->seg[s].hi : set->r[i].hi;
			struct finding *f = NULL;
			for (size_t k = first; k < c->out->nviolations && !f; k++)
				if (c->out->violations[k].route == r)
					f = &c->out->violations[k];
			if (!f) {
				if (!(f = add_finding(&c->out->violations, &c->out->nviolations)))
					return -2;
				*f = (struct finding){ .kind = FK_ROUTE, .contract = def->id, .route = r,
						       .example_dst = example_host(lo, hi) };
			}
			f->size = u128_add_sat(f->size, hi - lo + 1);
			cr->holds = false;
		}
	}
	return 0;
}

/* ---- --strict: the service's intent policy (prepareSubnet.ps1's matching, §5.5) ---- */

/* Does an Allow rule's address field cover the mandatory one: `*`, the same tag, or prefixes containing
 * the subnet. */
static bool field_covers(const struct addr_field *f, const char *want, bool want_subnet, const struct ipset *subnet)
{
	if (!strcmp(f->text, "*"))
		return true;
	if (f->is_tag)
		return !want_subnet && !strcasecmp(f->text, want);
	return want_subnet && ipset_is_subset(subnet, f->set);
}

static bool ports_cover(const struct port_field *p, const struct prange *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool in = false;
		for (size_t k = 0; k < p->n && !in; k++)
			in = p->r[k].lo <= want[i].lo && want[i].hi <= p->r[k].hi;
		if (!in)
			return false;
	}
	return true;
}

static bool ports_overlap(const struct port_field *p, const struct prange *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < p->n; k++)
			if (p->r[k].lo <= want[i].hi && want[i].lo <= p->r[k].hi)
				return true;
	return false;
}

/* Is this rule the service's own rule for the contract: "Microsoft.Sql-managedInstances_UseOnly_" + kind, then
 * the end or "-" (the subnet and version follow: …_mi-sqlmgmt-in-10-0-0-0-24-v10)? */
static bool service_rule(const struct nsg_rule *r, const char *kind)
{
	static const char prefix[] = "Microsoft.Sql-managedInstances_UseOnly_";
	size_t np = sizeof(prefix) - 1, nk = strlen(kind);
	if (strncasecmp(r->name, prefix, np) || strncasecmp(r->name + np, kind, nk))
		return false;
	return r->name[np + nk] == '\0' || r->name[np + nk] == '-';
}

static int check_intent_nsg(struct ctx *c, struct contract_result *cr)
{
	const struct contract_def *def = cr->def;
	enum direction dir = def->kind == CK_NSG_IN ? DIR_IN : DIR_OUT;
	const struct ipset *src = resolve(c, def->src, cr->src, def->id), *dst = resolve(c, def->dst, cr->dst, def->id);
	struct prange all = { 0, 65535 }, ports[8], *want = ports;
	size_t nports, n;
	if (!src || !dst)
		return -1;
	parse_ports(def->ports, ports, &nports);
	if (!def->ports)
		want = &all, nports = 1;
	/* The subnet's NSG carries the intent policy. */
	const struct nsg_rule *rules = nsg_rules(c->in->nsg, dir, &n), *decider = NULL;
	for (size_t i = 0; i < n && !decider; i++) {
		const struct nsg_rule *r = &rules[i];
		if (r->is_default)
			continue;
		if (r->allow) {
			bool proto = r->proto == PROTO_ANY || (def->protos == PROTO_TCP && r->proto == PROTO_TCP);
			/* [inference] the service's own rule supports its contract whatever form its address fields
			 * take (a tag, or the prefixes it stood for: MicrosoftDocs/azure-docs #48205); notes §4. */
			bool own = def->service_rule && service_rule(r, def->service_rule);
			if (proto && r->sport.any && ports_cover(&r->dport, want, nports) &&
			    (own || (field_covers(&r->src, cr->src, !strcmp(def->src, "S"), &c->subnet) &&
				     field_covers(&r->dst, cr->dst, !strcmp(def->dst, "S"), &c->subnet))))
				decider = r;
		} else if ((r->proto & def->protos) && ipset_overlaps(r->src.set, src) &&
			   ipset_overlaps(r->dst.set, dst) && ports_overlap(&r->dport, want, nports)) {
			decider = r;
		}
	}
	if (decider && decider->allow)
		return 0;
	struct finding *f = add_finding(&c->out->violations, &c->out->nviolations);
	if (!f)
		return -2;
	*f = (struct finding){ .kind = FK_INTENT, .contract = def->id, .nsg = c->in->nsg, .rule = decider };
	snprintf(f->message, sizeof(f->message),
		 "VnetSubnetConflictWithIntendedPolicy: Network Security Group %s doesn't have supporting Security "
		 "Rule for Network Intent Policy Security Rule: %s, Access: Allow, Direction: %s, Protocol: %s, "
		 "SourceAddressPrefix: %s, SourcePortRange: *, DestinationAddressPrefix: %s, DestinationPortRange: %s%s%s%s",
		 c->in->nsg->name, def->intent, dir == DIR_IN ? "Inbound" : "Outbound",
		 def->protos == PROTO_TCP ? "tcp" : "*", cr->src, cr->dst, def->ports ? def->ports : "*",
		 decider ? " (rule '" : "", decider ? decider->name : "", decider ? "' comes first and denies)" : "");
	cr->holds = false;
	return 0;
}

static int check_intent_route(struct ctx *c, struct contract_result *cr)
{
	const struct contract_def *def = cr->def;
	const struct route_table *rt = c->in->rt;
	for (size_t i = 0; rt && i < rt->n; i++) {
		const struct route *r = &rt->routes[i];
		bool same = !strcmp(def->dst, "S") ? !r->tag && r->cidr.v4 == c->in->subnet.v4 &&
							     r->cidr.lo == c->in->subnet.lo && r->cidr.len == c->in->subnet.len
						   : r->tag && !strcasecmp(r->tag->name, cr->dst);
		if (same && r->hop == def->hop)
			return 0;
	}
	struct finding *f = add_finding(&c->out->violations, &c->out->nviolations);
	if (!f)
		return -2;
	*f = (struct finding){ .kind = FK_INTENT, .contract = def->id, .route_missing = true };
	snprintf(f->message, sizeof(f->message),
		 "VnetSubnetConflictWithIntendedPolicy: Route Table. The mandatory route %s (addressPrefix %s, "
		 "nextHopType %s) is missing", def->intent, cr->dst, next_hop_name(def->hop));
	cr->holds = false;
	return 0;
}

/* ---- warnings: rules that can never match ---- */

struct shadow {
	const struct nsg_rule *rule, *by[3];
	size_t nby;
	bool any;
};

static int on_shadow_block(void *arg, const struct block *b)
{
	struct shadow *s = arg;
	s->any = true;
	if (b->rule[0] == s->rule)
		return 1; /* it decides some packet: not shadowed */
	for (size_t i = 0; i < s->nby; i++)
		if (s->by[i] == b->rule[0])
			return 0;
	if (s->nby < 3)
		s->by[s->nby++] = b->rule[0];
	return 0;
}

/* st: the stages of each direction when they hold g's rules alone (no NIC NSG): their classifiers are then
 * the ones needed here, and are not built twice. NULL to build them. */
static int shadowed_rules(struct ctx *c, const struct nsg *g, const struct stages *st)
{
	for (int dir = DIR_IN; dir <= DIR_OUT; dir++) {
		size_t n;
		const struct nsg_rule *orig = nsg_rules(g, (enum direction)dir, &n), *rules = orig;
		struct nsg_classifier *cl, *own = NULL;
		if (st) { /* the stage's copies of the same rules, in the same order */
			rules = st[dir].rules;
			cl = st[dir].c;
		} else if (!(cl = own = nsgc_build_rules(rules, n))) {
			return -2;
		}
		for (size_t i = 0; i < n; i++) {
			const struct nsg_rule *r = &rules[i];
			if (r->is_default)
				continue;
			struct shadow s = { .rule = r };
			struct space sp = { .protos = r->proto, .src = r->src.set, .dst = r->dst.set, .sport = r->sport.r,
					    .nsport = r->sport.n, .dport = r->dport.r, .ndport = r->dport.n };
			int rc = space_walk(cl, n, &sp, (enum direction)dir, on_shadow_block, &s);
			if (rc < 0) {
				nsgc_free(own);
				return -2;
			}
			if (rc == 1)
				continue;
			struct finding *f = add_finding(&c->out->warnings, &c->out->nwarnings);
			if (!f) {
				nsgc_free(own);
				return -2;
			}
			*f = (struct finding){ .kind = FK_SHADOWED, .nsg = g, .rule = &orig[i] };
			if (!s.any)
				snprintf(f->message, sizeof(f->message),
					 "rule '%s' (priority %d) matches no packet: its source and destination have no "
					 "address family in common", r->name, r->priority);
			else
				snprintf(f->message, sizeof(f->message),
					 "rule '%s' (priority %d) can never match: earlier rules cover all of its traffic "
					 "(%s%s%s%s%s%s)", r->name, r->priority, s.by[0]->name, s.nby > 1 ? ", " : "",
					 s.nby > 1 ? s.by[1]->name : "", s.nby > 2 ? ", " : "", s.nby > 2 ? s.by[2]->name : "",
					 s.nby > 2 ? ", …" : "");
		}
		nsgc_free(own);
	}
	return 0;
}

/* VirtualNetwork takes in the prefixes of the user-defined routes (§1.5, issue #22178): with the mandatory
 * routes to Internet, rules naming VirtualNetwork (AllowVnetInBound) admit those ranges too. Say so. */
static int vnet_tag_note(struct ctx *c)
{
	struct ipset extra;
	char n[40];
	if (ipset_subtract(&extra, &c->in->env->udr, &c->in->env->vnet_set) < 0)
		return -2;
	uint64_t v4 = ipset_count_v4(&extra);
	u128 v6 = ipset_count_v6(&extra);
	ipset_free(&extra);
	if (!v4 && !v6)
		return 0;
	struct finding *f = add_finding(&c->out->warnings, &c->out->nwarnings);
	if (!f)
		return -2;
	*f = (struct finding){ .kind = FK_VNET_TAG, .nsg = c->in->nsg, .size = (u128)v4 + v6 };
	snprintf(f->message, sizeof(f->message),
		 "VirtualNetwork also holds the prefixes of the route table's user-defined routes: %s addresses beyond "
		 "the address space (%llu IPv4). Rules naming VirtualNetwork, AllowVnetInBound among them, admit them "
		 "([inference] a service-tag route adds its tag's prefixes)",
		 u128_format(f->size, n), (unsigned long long)v4);
	return 0;
}

/* ---- messages ---- */

/* Tags whose addresses send inbound management traffic: their replies must return through the Internet. */
static bool inbound_mgmt(const char *tag)
{
	return !strcasecmp(tag, "SqlManagement") || !strcasecmp(tag, "CorpNetSaw") || !strcasecmp(tag, "CorpNetPublic");
}

static void describe(struct verify_report *o)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], n[40];
	for (size_t i = 0; i < o->nviolations; i++) {
		struct finding *f = &o->violations[i];
		const struct contract_result *cr = NULL;
		for (size_t k = 0; k < o->ncontracts && !cr; k++)
			if (o->contracts[k].def->id == f->contract)
				cr = &o->contracts[k];
		u128_format(f->size, n);
		if (f->kind == FK_NSG) {
			int len = snprintf(f->message, sizeof(f->message),
				"rule '%s' (priority %d, NSG '%s') denies %s packets of %s -> %s; e.g. %s %s", f->rule->name,
				f->rule->priority, f->nsg->name, n, cr->src, cr->dst, proto_name(f->example.proto),
				addr_format(f->example.src, a));
			if (f->example.sport >= 0)
				len += snprintf(f->message + len, sizeof(f->message) - (size_t)len, ":%d", f->example.sport);
			len += snprintf(f->message + len, sizeof(f->message) - (size_t)len, " -> %s", addr_format(f->example.dst, b));
			if (f->example.dport >= 0)
				snprintf(f->message + len, sizeof(f->message) - (size_t)len, ":%d", f->example.dport);
		} else if (f->kind == FK_ROUTE) {
			const struct fib_route *r = f->route;
			char who[160];
			if (r->user)
				snprintf(who, sizeof(who), "route '%s' (%s -> %s%s%s)", r->user->name, r->prefix_text,
					 next_hop_name(r->hop), r->user->has_hop_ip ? " " : "",
					 r->user->has_hop_ip ? r->user->hop_ip_text : "");
			else
				snprintf(who, sizeof(who), "system route %s -> %s", r->prefix_text, next_hop_name(r->hop));
			snprintf(f->message, sizeof(f->message), "%s takes %s addresses of %s away from %s; e.g. %s%s", who,
				 n, cr->dst, next_hop_name(cr->def->hop), addr_format(f->example_dst, a),
				 inbound_mgmt(cr->dst) ? ". Replies to inbound management traffic from these addresses "
							 "would not leave through the Internet: asymmetric routing breaks "
							 "the management endpoint" : "");
		}
	}
}

/* ---- the run ---- */

static bool needs_region(const struct contract_def *defs, size_t n, char which)
{
	for (size_t i = 0; i < n; i++)
		if ((defs[i].src && strchr(defs[i].src, which)) || (defs[i].dst && strchr(defs[i].dst, which)))
			return true;
	return false;
}

int verify_run(const struct verify_input *in, struct verify_report *out, struct diag *d)
{
	struct ctx c = { .in = in, .out = out, .d = d };
	struct stages st[2] = { 0 };
	char buf[96];
	const char *canon;
	int rc = -1, before = d->errors;

	memset(out, 0, sizeof(*out));
	if (ipset_add_cidr(&c.subnet, &in->subnet) < 0)
		return -2;
	if (!ipset_is_subset(&c.subnet, &in->env->vnet_set))
		diag_err(d, NULL, "--subnet %s is not inside the virtual network's address space",
			 cidr_format(&in->subnet, buf));
	const char *regions[2] = { in->region, in->pair };
	for (int i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf), "AzureCloud.%s", regions[i]);
		if (needs_region(in->defs, in->ndefs, i ? 'P' : 'R') && !netenv_tag(in->env, buf, &canon))
			diag_err(d, NULL, "unknown %s '%s': the --tags files have no tag %s", i ? "pair region" : "region",
				 regions[i], buf);
	}
	if (d->errors != before)
		goto out;
	if (!(out->contracts = calloc(in->ndefs, sizeof(*out->contracts))))
		goto oom;
	out->ncontracts = in->ndefs;
	for (size_t i = 0; i < in->ndefs; i++) {
		struct contract_result *cr = &out->contracts[i];
		cr->def = &in->defs[i];
		cr->holds = true;
		if (cr->def->src)
			expand(in, cr->def->src, cr->src, sizeof(cr->src));
		expand(in, cr->def->dst, cr->dst, sizeof(cr->dst));
		if ((cr->def->src && !resolve(&c, cr->def->src, cr->src, cr->def->id)) ||
		    !resolve(&c, cr->def->dst, cr->dst, cr->def->id))
			continue;
	}
	if (d->errors != before)
		goto out;
	if (fib_build(&out->fib, in->env, in->rt) < 0 || stages_build(&st[DIR_IN], in, DIR_IN) < 0 ||
	    stages_build(&st[DIR_OUT], in, DIR_OUT) < 0)
		goto oom;
	for (size_t i = 0; i < out->ncontracts; i++) {
		struct contract_result *cr = &out->contracts[i];
		int r = cr->def->kind == CK_ROUTE ? check_route(&c, cr)
						  : check_nsg(&c, cr, &st[cr->def->kind == CK_NSG_IN ? DIR_IN : DIR_OUT]);
		if (!r && in->strict)
			r = cr->def->kind == CK_ROUTE ? check_intent_route(&c, cr) : check_intent_nsg(&c, cr);
		if (r == -2)
			goto oom;
	}
	if (shadowed_rules(&c, in->nsg, in->nic ? NULL : st) < 0 || (in->nic && shadowed_rules(&c, in->nic, NULL) < 0))
		goto oom;
	if (vnet_tag_note(&c) < 0)
		goto oom;
	describe(out);
	rc = 0;
	goto out;
oom:
	diag_oom(d, NULL);
	rc = -2;
out:
	stages_free(&st[0]);
	stages_free(&st[1]);
	ipset_free(&c.subnet);
	if (rc)
		verify_report_free(out);
	return rc;
}

void verify_report_free(struct verify_report *r)
{
	free(r->contracts);
	free(r->violations);
	free(r->warnings);
	fib_free(&r->fib);
	memset(r, 0, sizeof(*r));
}

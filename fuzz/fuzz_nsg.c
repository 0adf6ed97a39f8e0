/* libFuzzer: the NSG parser (jsonin_load_buf + nsg_load_json, ARM or az shape) against a fixed tags DB and a netenv
 * whose VirtualNetwork includes a user-defined route, so tag names resolve. A file that loads is then evaluated on
 * flows at every boundary its rules draw (and a few derived from the input), by the reference evaluator
 * (nsg_decide, flow_verdict) and by the fast engine (nsgc_build + nsgc_decide): abort() when they differ. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/classify.h"
#include "analysis/flow.h"
#include "fuzz_common.h"
#include "model/netenv.h"
#include "model/nsg.h"
#include "model/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char routes_json[] =
	"{\"name\":\"rt\",\"properties\":{\"routes\":["
	"{\"name\":\"nva\",\"properties\":{\"addressPrefix\":\"192.168.50.0/24\",\"nextHopType\":\"VirtualAppliance\","
	"\"nextHopIpAddress\":\"10.0.1.4\"}},"
	"{\"name\":\"sqlm\",\"properties\":{\"addressPrefix\":\"SqlManagement\",\"nextHopType\":\"Internet\"}}]}}";

static struct netenv env;
static struct route_table rt;

static void setup(void)
{
	static int done;
	if (done)
		return;
	struct diag d = { .out = NULL, .file = "fuzz-env" };
	struct tagdb *tags = fuzz_tags();
	json_t *root = jsonin_load_buf(routes_json, strlen(routes_json), &d);
	if (!root || rt_load_json(&rt, root, "rt.json", tags, &d) < 0)
		abort();
	json_decref(root);
	if (netenv_init(&env, tags, "10.0.0.0/16,fd00:db8::/48", &d) < 0 || netenv_add_routes(&env, &rt) < 0)
		abort();
	done = 1;
}

struct engines {
	const struct nsg *g;
	struct nsg_classifier *c[2];
};

static void check(struct engines *e, const struct flow *f)
{
	const struct nsg_rule *slow = nsg_decide(e->g, f);
	const struct nsg_rule *fast = nsgc_decide(e->c[f->dir], f);
	if (!slow || slow != fast)
		abort();
	if (rule_mismatch(slow, f) != 0)
		abort();
	struct verdict v = flow_verdict(e->g, e->g, f);
	if (v.allow != slow->allow || !v.rule)
		abort();
}

/* Points worth testing in a set: each range's ends and the addresses just outside. */
static size_t set_points(const struct ipset *s, u128 *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n && n + 4 <= max; i++) {
		out[n++] = s->r[i].lo;
		out[n++] = s->r[i].hi;
		out[n++] = s->r[i].lo - 1;
		out[n++] = s->r[i].hi + 1;
	}
	return n;
}

static const unsigned protos[] = { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ESP, PROTO_AH };

static void run_flows(struct engines *e, const uint8_t *data, size_t size)
{
	size_t n;
	enum { MAXP = 64 };
	u128 pts[MAXP + 8];
	for (int dir = 0; dir < 2; dir++) {
		const struct nsg_rule *rules = nsg_rules(e->g, (enum direction)dir, &n);
		size_t limit = n < 40 ? n : 40; /* keep each input fast */
		for (size_t i = 0; i < limit; i++) {
			const struct nsg_rule *r = &rules[i];
			size_t np = set_points(r->src.set, pts, MAXP / 2);
			np += set_points(r->dst.set, pts + np, MAXP / 2);
			pts[np++] = addr_from_v4(0x0a000004); /* 10.0.0.4 */
			pts[np++] = (u128)0xfd000db8 << 96 | 4;
			pts[np++] = addr_from_v4(0xa83f8110); /* 168.63.129.16 */
			int ports[6] = { r->sport.r[0].lo, r->sport.r[0].hi, r->dport.r[0].lo, r->dport.r[0].hi,
					 r->dport.r[0].hi < 65535 ? r->dport.r[0].hi + 1 : 0,
					 r->sport.r[0].lo > 0 ? r->sport.r[0].lo - 1 : 65535 };
			for (size_t a = 0; a < np; a++)
				for (size_t b = 0; b < np; b += 3) {
					struct flow f = { .dir = (enum direction)dir, .src = pts[a], .dst = pts[b] };
					unsigned pi = (unsigned)(a + b + i) % 5;
					f.proto = protos[pi];
					if (proto_has_ports(f.proto)) {
						f.sport = ports[(a + b) % 6];
						f.dport = ports[(a * 7 + b) % 6];
					} else {
						f.sport = f.dport = -1;
					}
					check(e, &f);
				}
		}
	}
	/* A few flows straight from the input bytes. */
	for (size_t off = 0; off + 40 <= size && off < 40 * 16; off += 40) {
		struct flow f = { 0 };
		const uint8_t *p = data + off;
		u128 s = 0, t = 0;
		for (int k = 0; k < 16; k++)
			s = s << 8 | p[k], t = t << 8 | p[16 + k];
		if (p[32] & 1)
			s = addr_from_v4((uint32_t)s), t = addr_from_v4((uint32_t)t);
		f.src = s;
		f.dst = t;
		f.dir = (enum direction)(p[33] & 1);
		f.proto = protos[p[34] % 5];
		f.sport = proto_has_ports(f.proto) ? (p[35] << 8 | p[36]) : -1;
		f.dport = proto_has_ports(f.proto) ? (p[37] << 8 | p[38]) : -1;
		check(e, &f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct diag d = { .out = NULL, .file = "nsg.json" };
	json_t *root = jsonin_load_buf((const char *)data, size, &d);
	if (!root)
		return 0;
	struct nsg g;
	int rc = nsg_load_json(&g, root, "nsg.json", &env, &d);
	json_decref(root);
	if (rc < 0) {
		if (d.errors == 0)
			abort(); /* a failure must say why */
		return 0;
	}
	if (d.errors)
		abort();
	struct engines e = { .g = &g };
	e.c[DIR_IN] = nsgc_build(&g, DIR_IN);
	e.c[DIR_OUT] = nsgc_build(&g, DIR_OUT);
	if (!e.c[DIR_IN] || !e.c[DIR_OUT])
		abort();
	run_flows(&e, data, size);
	nsgc_free(e.c[DIR_IN]);
	nsgc_free(e.c[DIR_OUT]);
	nsg_free(&g);
	return 0;
}

/* Differential tests: the fast engines against deliberately simple evaluators written from the doc,
 * on random NSGs and route tables that use service tags, ranges, lists and the defaults.
 *   flows:  nsgc_decide (classes and bitsets) vs nsg_decide (linear, rule by rule)
 *   routes: fib_lookup (flattened segments) vs a linear scan of every prefix with §3's tie-breaks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analysis/classify.h"
#include "analysis/nexthop.h"
#include "testutil.h"

static struct tagdb tags;

static int setup(void **st)
{
	struct diag d = { .out = stderr };
	if (tagdb_load_file(&tags, repo_file("data/servicetags/ServiceTags_Public_20221107.json.gz"), &d) < 0)
		return -1;
	return tagdb_load_file(&tags, repo_file("examples/corpnet-tags.json"), &d);
}

static int teardown(void **st)
{
	tagdb_free(&tags);
	return 0;
}

static const char *const tag_pool[] = {
	"*", "VirtualNetwork", "Internet", "AzureLoadBalancer", "SqlManagement", "AzureCloud", "AzureCloud.westeurope",
	"Storage", "Storage.WestEurope", "EventHub.northeurope", "CorpNetSaw", "CorpNetPublic", "AzureMonitor",
	"AzureActiveDirectory", "internet", "VIRTUAL_NETWORK",
};
#define NTAGS (sizeof(tag_pool) / sizeof(tag_pool[0]))

static void random_cidr(uint64_t *s, char *out, size_t n)
{
	static const int lens[] = { 8, 12, 16, 20, 24, 27, 28, 32 };
	int len = lens[rnd(s) % 8];
	uint32_t a = (uint32_t)rnd(s);
	if (rnd(s) % 3 == 0)
		a = (10u << 24) | (a & 0xffffff); /* inside or near the VNet */
	if (rnd(s) % 5 == 0) {
		u128 b = rnd(s) % 2 ? 0x20010db8u : 0x2a010110u;
		int l6 = 32 + (int)(rnd(s) % 5) * 16;
		snprintf(out, n, "%x:%x:%x::/%d", (unsigned)(b >> 16), (unsigned)(b & 0xffff),
			 l6 > 32 ? (unsigned)(rnd(s) & 0xffff) : 0, l6 > 32 ? 48 : 32);
		return;
	}
	a = len ? a & ~(uint32_t)((1ull << (32 - len)) - 1) : 0;
	snprintf(out, n, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
}

static void random_ports(uint64_t *s, char *out, size_t n)
{
	unsigned lo = (unsigned)(rnd(s) % 65536), hi = lo + (unsigned)(rnd(s) % 2000);
	switch (rnd(s) % 4) {
	case 0: snprintf(out, n, "\"*\""); break;
	case 1: snprintf(out, n, "\"%u\"", lo); break;
	case 2: snprintf(out, n, "\"%u-%u\"", lo, hi > 65535 ? 65535 : hi); break;
	default: snprintf(out, n, "[\"%u\",\"%u-%u\",\"%u\"]", lo, lo / 2, lo / 2 + 100, (lo * 7) % 65536);
	}
}

/* One side of a rule: the singular key with a tag or prefix, or the plural key with a list. */
static int side(uint64_t *s, char *out, size_t n, const char *one, const char *many)
{
	char a[64], b[64];
	if (rnd(s) % 3) {
		if (rnd(s) % 2) {
			random_cidr(s, a, sizeof(a));
			return snprintf(out, n, "\"%s\":\"%s\"", one, a);
		}
		return snprintf(out, n, "\"%s\":\"%s\"", one, tag_pool[rnd(s) % NTAGS]);
	}
	random_cidr(s, a, sizeof(a));
	random_cidr(s, b, sizeof(b));
	return snprintf(out, n, "\"%s\":[\"%s\",\"%s\"]", many, a, b);
}

static char *random_nsg(uint64_t *s, int nrules)
{
	size_t cap = 4096 + (size_t)nrules * 600, len = 0;
	char *j = malloc(cap), sp[96], dp[96], src[160], dst[160];
	static const char *const protos[] = { "Tcp", "Udp", "Icmp", "Esp", "Ah", "*", "*" };
	len += (size_t)snprintf(j, cap, "{\"name\":\"rnd\",\"properties\":{\"securityRules\":[");
	for (int i = 0; i < nrules; i++) {
		random_ports(s, sp, sizeof(sp));
		random_ports(s, dp, sizeof(dp));
		side(s, src, sizeof(src), "sourceAddressPrefix", "sourceAddressPrefixes");
		side(s, dst, sizeof(dst), "destinationAddressPrefix", "destinationAddressPrefixes");
		len += (size_t)snprintf(j + len, cap - len,
			"%s{\"name\":\"r%d\",\"properties\":{\"priority\":%d,\"direction\":\"%s\",\"access\":\"%s\","
			"\"protocol\":\"%s\",%s,%s,\"%s\":%s,\"%s\":%s}}",
			i ? "," : "", i, 100 + i * 3 + (int)(rnd(s) % 3), i % 2 ? "Outbound" : "Inbound",
			rnd(s) % 2 ? "Allow" : "Deny", protos[rnd(s) % 7], src, dst,
			sp[0] == '[' ? "sourcePortRanges" : "sourcePortRange", sp,
			dp[0] == '[' ? "destinationPortRanges" : "destinationPortRange", dp);
	}
	snprintf(j + len, cap - len, "]}}");
	return j;
}

/* Addresses worth testing: random ones and the edges of every range the rules name. */
static u128 pick_addr(uint64_t *s, const struct nsg *g, bool v4)
{
	u128 a;
	size_t k = rnd(s) % g->n;
	const struct ipset *set = rnd(s) % 2 ? g->rules[k].src.set : g->rules[k].dst.set;
	switch (rnd(s) % 4) {
	case 0:
		return v4 ? addr_from_v4((uint32_t)rnd(s)) : (((u128)0x20010db8u << 96) | (rnd(s) % 3 ? 0 : rnd(s)));
	case 1: addr_parse(v4 ? "168.63.129.16" : "2001:db8::", &a); return a;
	default:
		if (!set->n)
			return addr_from_v4((uint32_t)rnd(s));
		const struct range *r = &set->r[rnd(s) % set->n];
		u128 e = rnd(s) % 2 ? r->lo : r->hi;
		e += (u128)(int64_t)(rnd(s) % 3) - 1;
		return e;
	}
}

static int pick_port(uint64_t *s, const struct nsg *g)
{
	const struct nsg_rule *r = &g->rules[rnd(s) % g->n];
	const struct port_field *p = rnd(s) % 2 ? &r->sport : &r->dport;
	if (rnd(s) % 3 == 0)
		return (int)(rnd(s) % 65536);
	int e = rnd(s) % 2 ? p->r[0].lo : p->r[p->n - 1].hi;
	e += (int)(rnd(s) % 3) - 1;
	return e < 0 ? 0 : e > 65535 ? 65535 : e;
}

static void test_flow_differential(void **st)
{
	uint64_t seed = 0x5eed1234abcdull;
	size_t flows = 0;
	for (int round = 0; round < 40; round++) {
		struct netenv env;
		struct diag d = { .out = stderr };
		struct nsg g;
		assert_int_equal(netenv_init(&env, &tags, "10.0.0.0/16,2001:db8::/48", &d), 0);
		char *text = random_nsg(&seed, 5 + (int)(rnd(&seed) % 60));
		json_t *j = json_of(text);
		assert_non_null(j);
		if (nsg_load_json(&g, j, "rnd.json", &env, &d) < 0)
			fail_msg("generated NSG rejected: %s", text);
		json_decref(j);
		free(text);
		struct nsg_classifier *c[2] = { nsgc_build(&g, DIR_IN), nsgc_build(&g, DIR_OUT) };
		assert_non_null(c[0]);
		assert_non_null(c[1]);
		for (int i = 0; i < 3000; i++, flows++) {
			static const unsigned protos[] = { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ESP, PROTO_AH };
			bool v4 = rnd(&seed) % 4 != 0;
			struct flow f = { .dir = (enum direction)(rnd(&seed) % 2), .proto = protos[rnd(&seed) % 5] };
			do
				f.src = pick_addr(&seed, &g, v4);
			while (addr_is_v4(f.src) != v4);
			do
				f.dst = pick_addr(&seed, &g, v4);
			while (addr_is_v4(f.dst) != v4);
			f.sport = proto_has_ports(f.proto) ? pick_port(&seed, &g) : -1;
			f.dport = proto_has_ports(f.proto) ? pick_port(&seed, &g) : -1;
			const struct nsg_rule *slow = nsg_decide(&g, &f), *fast = nsgc_decide(c[f.dir], &f);
			if (slow != fast) {
				char a[ADDR_STRLEN], b[ADDR_STRLEN];
				fail_msg("round %d: %s %s %s:%d -> %s:%d: linear says %s, fast engine says %s", round,
					 f.dir ? "out" : "in", proto_name(f.proto), addr_format(f.src, a), f.sport,
					 addr_format(f.dst, b), f.dport, slow->name, fast ? fast->name : "(none)");
			}
		}
		nsgc_free(c[0]);
		nsgc_free(c[1]);
		nsg_free(&g);
		netenv_free(&env);
	}
	assert_true(flows >= 100000);
}

/* ---- routes ---- */

struct simple_route {
	struct cidr c;
	int rank; /* 0 explicit … 4 AzureCloud, 9 system */
	int order;
	const char *what;
};

/* §3.1 and §3.2 in the plainest form: list every prefix, pick the longest, break ties by source and rank. */
static const struct simple_route *simple_lookup(const struct simple_route *r, size_t n, u128 a)
{
	const struct simple_route *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (a < r[i].c.lo || a > r[i].c.hi)
			continue;
		if (r[i].c.v4 != addr_is_v4(a))
			continue;
		if (!best || r[i].c.len > best->c.len ||
		    (r[i].c.len == best->c.len && (r[i].rank < best->rank ||
						   (r[i].rank == best->rank && r[i].order < best->order))))
			best = &r[i];
	}
	return best;
}

static size_t simple_routes(struct simple_route *out, const struct netenv *env, const struct route_table *rt)
{
	static const char *const reserved[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10" };
	const char *why;
	size_t n = 0;
	for (size_t i = 0; i < env->nvnet; i++)
		out[n++] = (struct simple_route){ env->vnet[i], 9, 0, "VnetLocal" };
	cidr_parse("0.0.0.0/0", &out[n].c, &why), out[n].rank = 9, out[n++].what = "Internet";
	cidr_parse("::/0", &out[n].c, &why), out[n].rank = 9, out[n++].what = "Internet";
	for (size_t i = 0; i < 4; i++) {
		struct cidr c;
		bool drop = false;
		cidr_parse(reserved[i], &c, &why);
		for (size_t k = 0; k < env->nvnet; k++)
			drop |= env->vnet[k].lo <= c.lo && env->vnet[k].hi >= c.hi;
		if (!drop)
			out[n++] = (struct simple_route){ c, 9, 0, "None" };
	}
	for (size_t i = 0; i < rt->n; i++) {
		const struct route *r = &rt->routes[i];
		if (!r->tag)
			out[n++] = (struct simple_route){ r->cidr, 0, (int)i, r->name };
		else
			for (size_t k = 0; k < r->tag->nprefixes; k++)
				out[n++] = (struct simple_route){ r->tag->prefixes[k], r->rank, (int)i, r->name };
	}
	return n;
}

static const char *fib_what(const struct fib_route *r)
{
	return r->user ? r->user->name : next_hop_name(r->hop);
}

static void test_route_differential(void **st)
{
	static const char *const rtags[] = { "AzureCloud", "AzureCloud.westeurope", "AzureCloud.northeurope", "Storage",
					     "Storage.WestEurope", "SqlManagement", "EventHub", "AzureMonitor" };
	static const char *const hops[] = { "Internet", "VnetLocal", "None", "VirtualNetworkGateway", "VirtualAppliance" };
	uint64_t seed = 77;
	size_t lookups = 0;
	for (int round = 0; round < 30; round++) {
		struct netenv env;
		struct diag d = { .out = stderr };
		struct route_table rt;
		const char *vnets[] = { "10.0.0.0/16", "10.0.0.0/8", "100.0.0.0/8,172.16.0.0/12", "192.168.0.0/16,2001:db8::/48" };
		assert_int_equal(netenv_init(&env, &tags, vnets[round % 4], &d), 0);
		char *j = malloc(1 << 16);
		size_t len = (size_t)snprintf(j, 1 << 16, "{\"properties\":{\"routes\":[");
		int nr = 1 + (int)(rnd(&seed) % 30), ntag = 0;
		const struct service_tag *cloud = tagdb_find(&tags, "AzureCloud");
		for (int i = 0; i < nr; i++) {
			char pfx[80];
			const char *hop = hops[rnd(&seed) % 5];
			unsigned kind = (unsigned)(rnd(&seed) % 4);
			if (kind == 0 && ntag < 8) {
				snprintf(pfx, sizeof(pfx), "%s", rtags[(i + round) % 8]);
				ntag++;
			} else if (kind == 1) { /* exactly a tag's prefix: an exact-prefix tie */
				cidr_format(&cloud->prefixes[rnd(&seed) % cloud->nprefixes], pfx);
			} else {
				random_cidr(&seed, pfx, sizeof(pfx));
			}
			len += (size_t)snprintf(j + len, (1 << 16) - len,
				"%s{\"name\":\"u%d\",\"properties\":{\"addressPrefix\":\"%s\",\"nextHopType\":\"%s\"%s}}",
				i ? "," : "", i, pfx, hop, strcmp(hop, "VirtualAppliance") ? "" : ",\"nextHopIpAddress\":\"10.0.9.4\"");
		}
		snprintf(j + len, (1 << 16) - len, "]}}");
		json_t *root = json_of(j);
		d.out = NULL; /* random tables may repeat a prefix: those are rejected, as Azure does */
		if (rt_load_json(&rt, root, "rt.json", &tags, &d) < 0) {
			json_decref(root);
			free(j);
			netenv_free(&env);
			continue;
		}
		json_decref(root);
		free(j);
		struct fib fib;
		assert_int_equal(fib_build(&fib, &env, &rt), 0);
		size_t cap = 16 + rt.n;
		for (size_t i = 0; i < rt.n; i++)
			cap += rt.routes[i].tag ? rt.routes[i].tag->nprefixes : 0;
		struct simple_route *sr = malloc(cap * sizeof(*sr));
		size_t ns = simple_routes(sr, &env, &rt);
		for (int i = 0; i < 4000; i++, lookups++) {
			u128 a;
			const struct simple_route *pick = &sr[rnd(&seed) % ns];
			switch (rnd(&seed) % 3) {
			case 0: a = addr_from_v4((uint32_t)rnd(&seed)); break;
			case 1: a = pick->c.lo + (u128)(rnd(&seed) % 2) - (pick->c.lo ? 1 : 0); break;
			default: a = pick->c.hi - (u128)(rnd(&seed) % 2); break;
			}
			const struct simple_route *want = simple_lookup(sr, ns, a);
			int flen;
			const struct fib_route *got = fib_lookup(&fib, a, &flen);
			if (!want)
				continue; /* the junk between families: neither covers it */
			char as[ADDR_STRLEN];
			if (strcmp(want->what, fib_what(got)) || flen != want->c.len)
				fail_msg("round %d: %s: simple says %s /%d, fib says %s /%d", round, addr_format(a, as),
					 want->what, want->c.len, fib_what(got), flen);
		}
		free(sr);
		fib_free(&fib);
		rt_free(&rt);
		netenv_free(&env);
	}
	assert_true(lookups >= 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_differential),
		cmocka_unit_test(test_route_differential),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests of the model: addresses, sets, service tags files, NSG and route table parsing rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analysis/flow.h"
#include "model/netenv.h"
#include "model/nsg.h"
#include "model/regions.h"
#include "model/routes.h"
#include "model/tags.h"
#include "testutil.h"

#include <unistd.h>

static u128 A(const char *s)
{
	u128 a;
	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static void test_cidr(void **st)
{
	struct cidr c;
	const char *why;
	assert_int_equal(cidr_parse("10.0.0.0/8", &c, &why), 0);
	assert_true(c.v4 && c.len == 8 && c.lo == A("10.0.0.0") && c.hi == A("10.255.255.255"));
	assert_int_equal(cidr_parse("10.0.0.5/24", &c, &why), -1);
	assert_string_equal(why, "host bits are set below the prefix length");
	assert_int_equal(cidr_parse("10.0.0.0/33", &c, &why), -1);
	assert_int_equal(cidr_parse("10.0.0/8", &c, &why), -1);
	assert_int_equal(cidr_parse("10.0.0.0/", &c, &why), -1);
	assert_int_equal(cidr_parse("10.0.0.0/-1", &c, &why), -1);
	assert_int_equal(cidr_parse("2001:db8::/32", &c, &why), 0);
	assert_true(!c.v4 && c.len == 32);
	assert_int_equal(cidr_parse("1.2.3.4", &c, &why), 0);
	assert_true(c.len == 32 && c.lo == c.hi);
	assert_int_equal(cidr_parse("0.0.0.0/0", &c, &why), 0);
	assert_true(c.lo == V4_BASE && c.hi == V4_LAST);
}

static void test_ports(void **st)
{
	struct prange p;
	const char *why;
	assert_int_equal(prange_parse("*", &p, &why), 0);
	assert_true(p.lo == 0 && p.hi == 65535);
	assert_int_equal(prange_parse("1000-2000", &p, &why), 0);
	assert_true(p.lo == 1000 && p.hi == 2000);
	assert_int_equal(prange_parse("2000-1000", &p, &why), -1);
	assert_string_equal(why, "range start is greater than its end");
	assert_int_equal(prange_parse("65536", &p, &why), -1);
	assert_int_equal(prange_parse("65535", &p, &why), 0);
	assert_int_equal(prange_parse("80,443", &p, &why), -1);
	assert_int_equal(prange_parse("", &p, &why), -1);
	int port;
	u128 a;
	assert_int_equal(endpoint_parse("[2001:db8::1]:443", &a, &port), 0);
	assert_int_equal(port, 443);
	assert_int_equal(endpoint_parse("2001:db8::1", &a, &port), 0);
	assert_int_equal(port, -1);
	assert_int_equal(endpoint_parse("1.2.3.4:70000", &a, &port), -1);
}

/* An IPv6 prefix never covers IPv4 addresses, and the whole-space complement keeps families apart. */
static void test_ipset_families(void **st)
{
	struct ipset s = { 0 }, c;
	struct cidr all6;
	const char *why;
	cidr_parse("::/0", &all6, &why);
	ipset_add_cidr(&s, &all6);
	ipset_normalize(&s);
	assert_false(ipset_contains(&s, A("1.2.3.4")));
	assert_true(ipset_contains(&s, A("2001:db8::1")));
	assert_int_equal(ipset_count_v4(&s), 0);
	ipset_complement(&c, &s);
	assert_int_equal(ipset_count_v4(&c), 1ull << 32);
	assert_true(ipset_count_v6(&c) == 0);
	ipset_free(&s);
	ipset_free(&c);
}

static void test_ipset_algebra(void **st)
{
	struct ipset a = { 0 }, b = { 0 }, u, i, d;
	struct cidr c;
	const char *why;
	cidr_parse("10.0.0.0/24", &c, &why), ipset_add_cidr(&a, &c);
	cidr_parse("10.0.1.0/24", &c, &why), ipset_add_cidr(&a, &c);
	ipset_normalize(&a);
	assert_int_equal(a.n, 1); /* adjacent ranges merge */
	cidr_parse("10.0.0.128/25", &c, &why), ipset_add_cidr(&b, &c);
	ipset_normalize(&b);
	ipset_union(&u, &a, &b);
	ipset_intersect(&i, &a, &b);
	ipset_subtract(&d, &a, &b);
	assert_true(ipset_equal(&u, &a));
	assert_true(ipset_equal(&i, &b));
	assert_int_equal(ipset_count_v4(&d), 512 - 128);
	assert_true(ipset_is_subset(&b, &a));
	assert_false(ipset_is_subset(&a, &b));
	assert_true(ipset_overlaps(&a, &b));
	assert_false(ipset_contains(&d, A("10.0.0.200")));
	assert_true(ipset_contains(&d, A("10.0.1.200")));
	ipset_free(&a), ipset_free(&b), ipset_free(&u), ipset_free(&i), ipset_free(&d);
}

static void load_tags(struct tagdb *db, const char *file)
{
	struct diag d = { .out = stderr };
	assert_int_equal(tagdb_load_file(db, repo_file(file), &d), 0);
}

/* §4.2: entry counts, SqlManagement's size, and the SqlManagement prefixes outside AzureCloud. */
static void test_tags_2022(void **st)
{
	struct tagdb db = { 0 };
	load_tags(&db, "data/servicetags/ServiceTags_Public_20221107.json.gz");
	assert_int_equal(db.n, 2640);
	const struct service_tag *sql = tagdb_find(&db, "sqlmanagement");
	assert_non_null(sql);
	assert_string_equal(sql->name, "SqlManagement");
	assert_int_equal(sql->nprefixes, 628);
	const struct service_tag *cloud = tagdb_find(&db, "AzureCloud");
	assert_int_equal(cloud->nprefixes, 6991);
	assert_true(ipset_contains(&sql->set, A("13.104.248.40")));
	assert_false(ipset_contains(&cloud->set, A("13.104.248.40")));
	assert_true(ipset_contains(&sql->set, A("13.104.248.100")));
	assert_false(ipset_contains(&cloud->set, A("13.104.248.100")));
	/* Case-insensitive names across the file's mixed casing. */
	assert_non_null(tagdb_find(&db, "AzureCloud.WestEurope"));
	assert_non_null(tagdb_find(&db, "storage.westeurope"));
	assert_int_equal(tagdb_find(&db, "AzureCloud.westeurope")->nprefixes, 314);
	/* Regional tags are subsets of their global tag. */
	assert_true(ipset_is_subset(&tagdb_find(&db, "AzureCloud.westeurope")->set, &cloud->set));
	assert_int_equal(tag_route_rank(tagdb_find(&db, "Storage.WestEurope")), 1);
	assert_int_equal(tag_route_rank(tagdb_find(&db, "Storage")), 2);
	assert_int_equal(tag_route_rank(tagdb_find(&db, "AzureCloud.westeurope")), 3);
	assert_int_equal(tag_route_rank(cloud), 4);
	tagdb_free(&db);
}

static void test_tags_all_vintages(void **st)
{
	struct tagdb db = { 0 };
	size_t v4 = 0, v6 = 0;
	load_tags(&db, "data/servicetags/ServiceTags_Public_20200224.json.gz");
	assert_int_equal(db.n, 937);
	for (size_t i = 0; i < db.n; i++)
		for (size_t k = 0; k < db.v[i].nprefixes; k++)
			db.v[i].prefixes[k].v4 ? v4++ : v6++;
	assert_int_equal(v4, 18952);
	assert_int_equal(v6, 0);
	tagdb_free(&db);
	load_tags(&db, "data/servicetags/ServiceTags_Public_20251028.json.gz");
	assert_int_equal(db.n, 3039);
	v4 = v6 = 0;
	for (size_t i = 0; i < db.n; i++)
		for (size_t k = 0; k < db.v[i].nprefixes; k++)
			db.v[i].prefixes[k].v4 ? v4++ : v6++;
	assert_int_equal(v4, 68933);
	assert_int_equal(v6, 24429);
	tagdb_free(&db);
}

/* Later files add tags; a tag defined twice is an error and the second file adds nothing. */
static void test_tags_twice(void **st)
{
	struct tagdb db = { 0 };
	struct diag d = { 0 };
	json_t *a = json_of("{\"values\":[{\"name\":\"CorpNetSaw\",\"properties\":{\"region\":\"\","
			    "\"addressPrefixes\":[\"192.0.2.0/24\"]}}]}");
	json_t *b = json_of("{\"values\":[{\"name\":\"Extra\",\"properties\":{\"addressPrefixes\":[]}},"
			    "{\"name\":\"corpnetsaw\",\"properties\":{\"addressPrefixes\":[\"198.51.100.0/24\"]}}]}");
	assert_int_equal(tagdb_load_json(&db, a, "a.json", &d), 0);
	assert_int_equal(tagdb_load_json(&db, b, "b.json", &d), -1);
	assert_int_equal(d.errors, 1);
	assert_int_equal(db.n, 1);
	assert_null(tagdb_find(&db, "Extra"));
	assert_non_null(tagdb_find(&db, "CORPNETSAW"));
	json_decref(a), json_decref(b);
	tagdb_free(&db);
}

/* §1.5: VirtualNetwork = address space ∪ 168.63.129.16 ∪ UDR prefixes; Internet = the rest minus the private
 * ranges Azure's expansion of the tag leaves out (docs/azure-semantics-notes.md §1). */
static void test_builtin_tags(void **st)
{
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	struct route_table rt;
	const char *canon;
	assert_int_equal(netenv_init(&env, &db, "10.0.0.0/16,2001:db8::/48", &d), 0);
	const struct ipset *vn = netenv_tag(&env, "VIRTUAL_NETWORK", &canon);
	assert_string_equal(canon, "VirtualNetwork");
	assert_true(ipset_contains(vn, A("168.63.129.16")));
	assert_true(ipset_contains(vn, A("10.0.200.1")));
	assert_true(ipset_contains(vn, A("2001:db8::5")));
	assert_false(ipset_contains(vn, A("10.1.0.0")));
	const struct ipset *inet = netenv_tag(&env, "internet", &canon);
	assert_false(ipset_contains(inet, A("10.1.0.0")));
	assert_false(ipset_contains(inet, A("172.31.0.100"))); /* the Network Watcher quickstart's verdict */
	assert_false(ipset_contains(inet, A("192.168.0.1")));
	assert_false(ipset_contains(inet, A("100.64.0.1")));
	assert_false(ipset_contains(inet, A("0.0.0.1")));
	assert_true(ipset_contains(inet, A("11.0.0.0")));
	assert_true(ipset_contains(inet, A("13.107.21.200")));
	assert_true(ipset_contains(inet, A("2001:db9::1")));
	assert_false(ipset_contains(inet, A("2001:db8::1")));
	/* IPv4: 2^32 minus 0/8, 10/8, 100.64/10, 172.16/12, 192.168/16 and 168.63.129.16 */
	assert_int_equal(ipset_count_v4(inet), (1ull << 32) - (1u << 24) * 2 - (1u << 22) - (1u << 20) - (1u << 16) - 1);
	assert_false(ipset_contains(netenv_tag(&env, "Internet", &canon), A("168.63.129.16")));
	const struct ipset *lb = netenv_tag(&env, "AzureLoadBalancer", &canon);
	assert_int_equal(ipset_count_v4(lb), 1);
	assert_null(netenv_tag(&env, "NoSuchTag", &canon));
	json_t *j = json_of("{\"properties\":{\"routes\":[{\"name\":\"fw\",\"properties\":{\"addressPrefix\":"
			    "\"0.0.0.0/0\",\"nextHopType\":\"VirtualAppliance\",\"nextHopIpAddress\":\"10.0.9.4\"}}]}}");
	assert_int_equal(rt_load_json(&rt, j, "rt.json", &db, &d), 0);
	assert_int_equal(netenv_add_routes(&env, &rt), 0);
	vn = netenv_tag(&env, "VirtualNetwork", &canon);
	assert_int_equal(ipset_count_v4(vn), 1ull << 32); /* issue #22178: a 0.0.0.0/0 UDR makes it everything */
	assert_int_equal(ipset_count_v4(netenv_tag(&env, "Internet", &canon)), 0);
	rt_free(&rt);
	json_decref(j);
	netenv_free(&env);
	d.out = NULL;
	assert_int_equal(netenv_init(&env, &db, "10.0.0.0/16,10.0.128.0/24", &d), -1); /* overlap */
	assert_int_equal(netenv_init(&env, &db, "10.0.0.1/16", &d), -1);               /* host bits */
}

static int nsg_from(struct nsg *g, const char *text, struct netenv *env, struct diag *d)
{
	json_t *j = json_of(text);
	assert_non_null(j);
	int rc = nsg_load_json(g, j, "nsg.json", env, d);
	json_decref(j);
	return rc;
}

/* Default rules: exact names, priorities, order after user rules. */
static void test_default_rules(void **st)
{
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	struct nsg g;
	netenv_init(&env, &db, "10.0.0.0/16", &d);
	assert_int_equal(nsg_from(&g, "{\"name\":\"x\",\"securityRules\":[]}", &env, &d), 0);
	size_t n;
	const struct nsg_rule *in = nsg_rules(&g, DIR_IN, &n);
	assert_int_equal(n, 3);
	assert_string_equal(in[0].name, "AllowVnetInBound");
	assert_int_equal(in[0].priority, 65000);
	assert_string_equal(in[1].name, "AllowAzureLoadBalancerInBound");
	assert_int_equal(in[1].priority, 65001);
	assert_string_equal(in[2].name, "DenyAllInBound");
	assert_int_equal(in[2].priority, 65500);
	const struct nsg_rule *out = nsg_rules(&g, DIR_OUT, &n);
	assert_string_equal(out[0].name, "AllowVnetOutBound");
	assert_string_equal(out[1].name, "AllowInternetOutBound");
	assert_string_equal(out[2].name, "DenyAllOutBound");
	assert_int_equal(out[2].priority, 65500);

	struct flow f = { .dir = DIR_IN, .proto = PROTO_TCP, .src = A("10.0.5.5"), .dst = A("10.0.0.4"), .sport = 1, .dport = 2 };
	assert_string_equal(nsg_decide(&g, &f)->name, "AllowVnetInBound");
	f.src = A("168.63.129.16");
	assert_string_equal(nsg_decide(&g, &f)->name, "AllowVnetInBound"); /* the host VIP is in VirtualNetwork */
	f.src = A("198.51.100.7");
	assert_string_equal(nsg_decide(&g, &f)->name, "DenyAllInBound");
	f.dir = DIR_OUT;
	f.src = A("10.0.0.4");
	f.dst = A("198.51.100.7");
	assert_string_equal(nsg_decide(&g, &f)->name, "AllowInternetOutBound");
	f.proto = PROTO_ESP, f.sport = f.dport = -1;
	assert_string_equal(nsg_decide(&g, &f)->name, "AllowInternetOutBound");
	nsg_free(&g);
	netenv_free(&env);
}

/* First match by priority, whatever the order in the file; both shapes; ports of portless protocols. */
static void test_first_match(void **st)
{
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	struct nsg g;
	netenv_init(&env, &db, "10.0.0.0/16", &d);
	assert_int_equal(nsg_from(&g,
		"{\"securityRules\":["
		"{\"name\":\"allow\",\"priority\":200,\"direction\":\"Inbound\",\"access\":\"Allow\",\"protocol\":\"*\","
		" \"sourceAddressPrefix\":\"*\",\"sourcePortRange\":\"*\",\"destinationAddressPrefix\":\"*\","
		" \"destinationPortRange\":\"*\"},"
		"{\"name\":\"deny80\",\"priority\":100,\"direction\":\"Inbound\",\"access\":\"Deny\",\"protocol\":\"Tcp\","
		" \"sourceAddressPrefixes\":[\"192.0.2.0/24\",\"198.51.100.1\"],\"sourcePortRange\":\"*\","
		" \"destinationAddressPrefix\":\"*\",\"destinationPortRanges\":[\"80\",\"8000-8080\"]},"
		"{\"name\":\"denyicmp\",\"priority\":150,\"direction\":\"Inbound\",\"access\":\"Deny\",\"protocol\":\"*\","
		" \"sourceAddressPrefix\":\"*\",\"sourcePortRange\":\"*\",\"destinationAddressPrefix\":\"*\","
		" \"destinationPortRange\":\"22\"}]}", &env, &d), 0);
	struct flow f = { .dir = DIR_IN, .proto = PROTO_TCP, .src = A("192.0.2.9"), .dst = A("10.0.0.4"), .sport = 5, .dport = 8080 };
	assert_string_equal(nsg_decide(&g, &f)->name, "deny80");
	f.dport = 8081;
	assert_string_equal(nsg_decide(&g, &f)->name, "allow");
	f.dport = 80, f.src = A("198.51.100.2");
	assert_string_equal(nsg_decide(&g, &f)->name, "allow");
	f.proto = PROTO_UDP, f.src = A("198.51.100.1");
	assert_string_equal(nsg_decide(&g, &f)->name, "allow");
	f.proto = PROTO_TCP, f.dport = 22;
	assert_string_equal(nsg_decide(&g, &f)->name, "denyicmp");
	f.proto = PROTO_ICMP, f.sport = f.dport = -1; /* port 22 only: no match for a portless flow */
	assert_string_equal(nsg_decide(&g, &f)->name, "allow");
	assert_int_equal(rule_mismatch(&nsg_rules(&g, DIR_IN, &(size_t){ 0 })[1], &f), MISS_DPORT);
	nsg_free(&g);
	netenv_free(&env);
}

/* Subnet and NIC NSGs: inbound subnet first, outbound NIC first, both must allow. */
static void test_two_levels(void **st)
{
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	struct nsg sub, nic;
	netenv_init(&env, &db, "10.0.0.0/16", &d);
	static const char deny_all[] = "{\"name\":\"%s\",\"securityRules\":[{\"name\":\"deny\",\"priority\":100,\"direction\":\"%s\","
			       "\"access\":\"Deny\",\"protocol\":\"*\",\"sourceAddressPrefix\":\"*\",\"sourcePortRange\":\"*\","
			       "\"destinationAddressPrefix\":\"*\",\"destinationPortRange\":\"*\"}]}";
	char buf[1024];
	snprintf(buf, sizeof(buf), deny_all, "sub", "Outbound");
	assert_int_equal(nsg_from(&sub, buf, &env, &d), 0);
	snprintf(buf, sizeof(buf), deny_all, "nic", "Inbound");
	assert_int_equal(nsg_from(&nic, buf, &env, &d), 0);
	struct flow f = { .dir = DIR_IN, .proto = PROTO_TCP, .src = A("10.0.1.1"), .dst = A("10.0.0.4"), .sport = 1, .dport = 2 };
	struct verdict v = flow_verdict(&sub, &nic, &f);
	assert_false(v.allow);
	assert_ptr_equal(v.nsg, &nic);
	assert_ptr_equal(v.stage_nsg[0], &sub);
	assert_string_equal(v.stage_rule[0]->name, "AllowVnetInBound");
	f.dir = DIR_OUT;
	v = flow_verdict(&sub, &nic, &f);
	assert_false(v.allow);
	assert_ptr_equal(v.stage_nsg[0], &nic);
	assert_ptr_equal(v.nsg, &sub);
	v = flow_verdict(NULL, &nic, &f);
	assert_true(v.allow);
	v = flow_verdict(NULL, NULL, &f);
	assert_true(v.allow);
	assert_null(v.rule);
	nsg_free(&sub), nsg_free(&nic);
	netenv_free(&env);
}

/* The simdjson fast path and the jansson reader build the same tags from every published file. */
static void test_tags_fast_equals_slow(void **st)
{
	static const char *const files[] = { "data/servicetags/ServiceTags_Public_20200224.json.gz",
					     "data/servicetags/ServiceTags_Public_20221107.json.gz",
					     "data/servicetags/ServiceTags_Public_20251028.json.gz" };
	for (size_t f = 0; f < 3; f++) {
		struct tagdb fast = { 0 }, slow = { 0 };
		struct diag d = { .out = stderr };
		assert_int_equal(tagdb_load_file(&fast, repo_file(files[f]), &d), 0);
		json_t *root = jsonin_load_file(repo_file(files[f]), TAGS_MAX_BYTES, &d);
		assert_non_null(root);
		assert_int_equal(tagdb_load_json(&slow, root, files[f], &d), 0);
		json_decref(root);
		assert_int_equal(fast.n, slow.n);
		for (size_t i = 0; i < fast.n; i++) {
			assert_string_equal(fast.v[i].name, slow.v[i].name);
			assert_string_equal(fast.v[i].region, slow.v[i].region);
			assert_string_equal(fast.v[i].system_service, slow.v[i].system_service);
			assert_int_equal(fast.v[i].nprefixes, slow.v[i].nprefixes);
			for (size_t k = 0; k < fast.v[i].nprefixes; k++) {
				const struct cidr *a = &fast.v[i].prefixes[k], *b = &slow.v[i].prefixes[k];
				assert_true(a->lo == b->lo && a->hi == b->hi && a->len == b->len && a->v4 == b->v4);
			}
			assert_true(ipset_equal(&fast.v[i].set, &slow.v[i].set));
		}
		tagdb_free(&fast);
		tagdb_free(&slow);
	}
}

/* The loader's prefix parser gives cidr_parse's answer on every form, plain or not. */
static void test_tags_prefix_parse(void **st)
{
	static const char *const cases[] = {
		"1.2.3.0/24", "0.0.0.0/0", "255.255.255.255", "255.255.255.255/32", "10.0.0.0/8", "1.2.3.4/024",
		"01.2.3.0/24", "1.2.3.00/32", "256.1.1.0/24", "1.2.3.4/33", "1.2.3.4/24", "1.2.3/24", "1.2.3.4.5/32",
		"1.2.3.4/", "1.2.3.4 /32", "1.2.3.4/+8", "1.2.3.4/0032", " 1.2.3.4", "1.2.3.1234",
		"2001:db8::/32", "::/0", "::", "::1", "::1/128", "2603:1000:4::/47", "2603:1000:4:0:0:0:0:0/47",
		"FE80::/10", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8:9", "1::2::3", ":1::/16", "1:::2", "1:2:3:4:5:6:7", "12345::/16", "0001:0db8::/32",
		"::ffff:1.2.3.4", "::ffff:1.2.3.0/120", "2001:db8::1/32", "2001:db8::/129", "2001:db8::/", "1:/16",
		"g::/16", "", "/", "1.2.3.4/32x",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr a, b;
		const char *why;
		int slow = cidr_parse(cases[i], &a, &why), fast = tags_prefix_parse(cases[i], strlen(cases[i]), &b);
		if (slow != fast)
			fail_msg("%s: cidr_parse %d, tags_prefix_parse %d", cases[i], slow, fast);
		if (slow == 0)
			assert_true(a.lo == b.lo && a.hi == b.hi && a.len == b.len && a.v4 == b.v4);
	}
	struct cidr c;
	assert_int_equal(tags_prefix_parse("1.2.3.0/24\0x", 10, &c), 0); /* the length bounds it */
	assert_int_equal(tags_prefix_parse("1.2.3.0\0/24", 10, &c), -1); /* an embedded NUL is refused */
}

/* tagdb_load_file (mapped or inflated in one call, the simdjson scan, the arena) loads what jsonin and the
 * jansson reader load, from every form of a file: plain, gzip, two gzip members, bytes after the member. */
static void same_as_slow(const char *path)
{
	struct tagdb fast = { 0 }, slow = { 0 };
	struct diag d = { .out = stderr };
	assert_int_equal(tagdb_load_file(&fast, path, &d), 0);
	assert_non_null(fast.arena); /* the simdjson scan took it (the jansson reader uses no arena) */
	json_t *root = jsonin_load_file(path, TAGS_MAX_BYTES, &d);
	assert_non_null(root);
	assert_int_equal(tagdb_load_json(&slow, root, path, &d), 0);
	json_decref(root);
	assert_int_equal(fast.n, slow.n);
	for (size_t i = 0; i < fast.n; i++) {
		assert_string_equal(fast.v[i].name, slow.v[i].name);
		assert_int_equal(fast.v[i].nprefixes, slow.v[i].nprefixes);
		for (size_t k = 0; k < fast.v[i].nprefixes; k++) {
			const struct cidr *a = &fast.v[i].prefixes[k], *b = &slow.v[i].prefixes[k];
			assert_true(a->lo == b->lo && a->hi == b->hi && a->len == b->len && a->v4 == b->v4);
		}
		assert_true(ipset_equal(&fast.v[i].set, &slow.v[i].set));
	}
	tagdb_free(&fast);
	tagdb_free(&slow);
}

static void test_tags_file_forms(void **st)
{
	static const char *const files[] = { "fuzz/corpus/tags_file/excerpt-2025.json",
					     "fuzz/corpus/tags_file/excerpt-2025.json.gz",
					     "fuzz/corpus/tags_file/two-members.json.gz",
					     "fuzz/corpus/tags_file/trailing-bytes.json.gz" };
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		same_as_slow(repo_file(files[f]));
	/* IPv6 prefixes over the IPv4-mapped block take two ranges each: the arena grows the set. */
	char path[] = "/tmp/minet-tags-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "{\"values\":[{\"name\":\"Six\",\"properties\":{\"addressPrefixes\":"
				   "[\"::/0\",\"::/1\",\"1.2.3.0/24\",\"::/8\",\"::/64\",\"2001:db8::/32\"]}}]}";
	assert_true(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	same_as_slow(path);
	unlink(path);
	/* A broken member is jsonin's to report. */
	char out[512] = { 0 };
	FILE *mem = fmemopen(out, sizeof(out) - 1, "w");
	struct diag d = { .out = mem };
	struct tagdb db = { 0 };
	assert_int_equal(tagdb_load_file(&db, repo_file("fuzz/corpus/tags_file/wrong-crc.json.gz"), &d), -1);
	fclose(mem);
	assert_int_equal(db.n, 0);
	assert_non_null(strstr(out, "not a valid gzip file"));
	tagdb_free(&db);
}

/* A bad file falls back to the reader that names every error's place, and adds nothing. */
static void test_tags_bad_file_reports(void **st)
{
	char path[] = "/tmp/minet-tags-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "{\"values\":[{\"name\":\"A\",\"properties\":{\"addressPrefixes\":[\"10.0.0.0/33\"]}},"
				   "{\"name\":\"B\",\"properties\":{\"addressPrefixes\":[\"1.2.3.4\",7]}}]}";
	assert_true(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	char out[1024] = { 0 };
	FILE *mem = fmemopen(out, sizeof(out) - 1, "w");
	struct diag d = { .out = mem };
	struct tagdb db = { 0 };
	assert_int_equal(tagdb_load_file(&db, path, &d), -1);
	fclose(mem);
	unlink(path);
	assert_int_equal(d.errors, 2);
	assert_int_equal(db.n, 0);
	assert_non_null(strstr(out, "values[0].properties.addressPrefixes[0]: '10.0.0.0/33': prefix length must be 0-32"));
	assert_non_null(strstr(out, "values[1].properties.addressPrefixes[1]: expected a string, found an integer"));
	tagdb_free(&db);
}

/* Pairs as Microsoft publishes them (see the source comment in src/model/regions.c): symmetric ones, the
 * asymmetric ones in both directions, sovereign clouds, nonpaired regions, display names, unknown names. */
static void test_region_pairs(void **st)
{
	(void)st;
	static const char *const want[][2] = {
		{ "westeurope", "northeurope" },
		{ "northeurope", "westeurope" },
		{ "eastus2", "centralus" },
		{ "centralus", "eastus2" },
		/* asymmetric: X -> Y while Y pairs elsewhere */
		{ "westus3", "eastus" },
		{ "eastus", "westus" },
		{ "westus", "eastus" },
		{ "brazilsouth", "southcentralus" },
		{ "southcentralus", "northcentralus" },
		{ "brazilsoutheast", "brazilsouth" },
		{ "westindia", "southindia" },
		{ "southindia", "centralindia" },
		{ "westcentralus", "westus2" },
		{ "swedencentral", "swedensouth" },
		{ "usgovarizona", "usgovtexas" },
		{ "usgovtexas", "usgovvirginia" },
		{ "usgovvirginia", "usgovtexas" },
		{ "usdodeast", "usdodcentral" },
		{ "chinanorth3", "chinaeast3" },
		{ "chinaeast3", "chinanorth3" },
		{ "West US 3", "eastus" },
		{ "UK South", "ukwest" },
	};
	bool unpaired;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *got = region_pair(want[i][0], &unpaired);
		if (!got || strcmp(got, want[i][1]))
			fail_msg("pair of %s: %s, want %s", want[i][0], got ? got : "NULL", want[i][1]);
		assert_false(unpaired);
		/* every pair named is itself a region of the table */
		bool u2;
		assert_true(region_pair(got, &u2) || u2);
	}
	static const char *const nonpaired[] = { "italynorth", "polandcentral", "spaincentral", "israelcentral",
						 "qatarcentral", "mexicocentral", "newzealandnorth", "austriaeast",
						 "denmarkeast", "Belgium Central" };
	for (size_t i = 0; i < sizeof(nonpaired) / sizeof(nonpaired[0]); i++) {
		assert_null(region_pair(nonpaired[i], &unpaired));
		if (!unpaired)
			fail_msg("%s should be listed as nonpaired", nonpaired[i]);
	}
	assert_null(region_pair("usgoviowa", &unpaired));
	assert_false(unpaired);
	assert_null(region_pair("atlantis", &unpaired));
	assert_false(unpaired);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_ipset_families),
		cmocka_unit_test(test_ipset_algebra),
		cmocka_unit_test(test_tags_2022),
		cmocka_unit_test(test_tags_all_vintages),
		cmocka_unit_test(test_tags_twice),
		cmocka_unit_test(test_tags_fast_equals_slow),
		cmocka_unit_test(test_tags_prefix_parse),
		cmocka_unit_test(test_tags_file_forms),
		cmocka_unit_test(test_tags_bad_file_reports),
		cmocka_unit_test(test_builtin_tags),
		cmocka_unit_test(test_default_rules),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_two_levels),
		cmocka_unit_test(test_region_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Compiling the lab's model to nftables scripts and routes. Everything is emitted as flat "add" commands, so
 * that pieces compose into one transaction (up) or replace their part of a running ruleset (apply). */
#include "realize/compile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realize/sb.h"

/* ---- address sets ---- */

/* The ranges of s in one family as nft elements ("a/len" when aligned, else "lo-hi"), comma separated.
 * Returns how many were written. */
static void element(struct sb *b, u128 lo, u128 hi, bool v4, size_t n)
{
	char a[ADDR_STRLEN], z[ADDR_STRLEN];
	u128 span = hi - lo + 1; /* 0: the whole space */
	int bits = 128;
	bool aligned = true;
	if (span) {
		for (bits = 0; bits < 127 && ((u128)1 << bits) < span; bits++)
			;
		aligned = ((u128)1 << bits) == span && !(lo & (span - 1));
	}
	if (lo == hi)
		sb_printf(b, "%s%s", n ? ", " : "", addr_format(lo, a));
	else if (aligned)
		sb_printf(b, "%s%s/%d", n ? ", " : "", addr_format(lo, a), (v4 ? 32 : 128) - bits);
	else
		sb_printf(b, "%s%s-%s", n ? ", " : "", addr_format(lo, a), addr_format(hi, z));
}

static size_t elements(struct sb *b, const struct ipset *s, bool v4)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		u128 lo = s->r[i].lo, hi = s->r[i].hi;
		if (v4) {
			if (hi < V4_BASE || lo > V4_LAST)
				continue;
			element(b, lo < V4_BASE ? V4_BASE : lo, hi > V4_LAST ? V4_LAST : hi, true, n++);
			continue;
		}
		/* IPv6: the parts below and above the IPv4 block */
		if (lo < V4_BASE)
			element(b, lo, hi < V4_BASE ? hi : V4_BASE - 1, false, n++);
		if (hi > V4_LAST)
			element(b, lo > V4_LAST ? lo : V4_LAST + 1, hi, false, n++);
	}
	return n;
}

/* Does s hold any address of the family? (The same test elements() applies range by range.) */
static bool has_family(const struct ipset *s, bool v4)
{
	for (size_t i = 0; i < s->n; i++)
		if (v4 ? s->r[i].hi >= V4_BASE && s->r[i].lo <= V4_LAST : s->r[i].lo < V4_BASE || s->r[i].hi > V4_LAST)
			return true;
	return false;
}

/* An nft set name for a tag: t_ + lower-case alphanumerics and '_'. */
static void set_name(char *buf, size_t len, const char *tag, bool v4)
{
	size_t o = snprintf(buf, len, "t_");
	for (const char *p = tag; *p && o + 3 < len; p++)
		buf[o++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
	snprintf(buf + o, len - o, "_%d", v4 ? 4 : 6);
}

static void declare_set(struct sb *b, const char *name, const struct ipset *s, bool v4)
{
	if (!has_family(s, v4) && strcmp(name, "region_cloud"))
		return; /* no rule of this family refers to it */
	sb_printf(b, "add set inet " LAB_TABLE " %s { type %s; flags interval; }\n", name, v4 ? "ipv4_addr" : "ipv6_addr");
	sb_printf(b, "flush set inet " LAB_TABLE " %s\n", name);
	if (has_family(s, v4)) {
		sb_printf(b, "add element inet " LAB_TABLE " %s { ", name);
		elements(b, s, v4);
		sb_printf(b, " }\n");
	}
}

/* ---- NSG ---- */

static bool everything(const struct addr_field *f)
{
	return !strcmp(f->text, "*");
}

static void addr_match(struct sb *b, const struct addr_field *f, const char *dir, bool v4)
{
	char name[128];
	if (everything(f))
		return;
	if (f->is_tag) {
		set_name(name, sizeof(name), f->text, v4);
		sb_printf(b, "%s %saddr @%s ", v4 ? "ip" : "ip6", dir, name);
		return;
	}
	sb_printf(b, "%s %saddr { ", v4 ? "ip" : "ip6", dir);
	elements(b, f->set, v4);
	sb_printf(b, " } ");
}

static void port_match(struct sb *b, const struct port_field *p, const char *dir)
{
	if (p->any)
		return;
	sb_printf(b, "th %sport { ", dir);
	for (size_t i = 0; i < p->n; i++) {
		if (p->r[i].lo == p->r[i].hi)
			sb_printf(b, "%s%u", i ? ", " : "", p->r[i].lo);
		else
			sb_printf(b, "%s%u-%u", i ? ", " : "", p->r[i].lo, p->r[i].hi);
	}
	sb_printf(b, " } ");
}

/* One rule, in one family (or none, when neither side names addresses). */
static void emit_rule(struct sb *b, const char *chain, const struct nsg_rule *r, int fam, const char *verdict)
{
	static const char *const l4[] = { "tcp", "udp", "icmp", "esp", "ah" };
	bool ports = !r->sport.any || !r->dport.any;
	/* [inference] flows without ports match only rules whose ports are *; so with ports, only tcp/udp. */
	unsigned protos = ports ? r->proto & (PROTO_TCP | PROTO_UDP) : r->proto;
	if (!protos)
		return; /* can never match (e.g. Icmp with a port): nothing to install */
	sb_printf(b, "add rule inet " LAB_TABLE " %s ", chain);
	if (fam) {
		addr_match(b, &r->src, "s", fam == 4);
		addr_match(b, &r->dst, "d", fam == 4);
		if (everything(&r->src) && everything(&r->dst))
			sb_printf(b, "meta nfproto %s ", fam == 4 ? "ipv4" : "ipv6");
	}
	if (protos != PROTO_ANY) {
		int count = __builtin_popcount(protos), k = 0;
		sb_printf(b, "meta l4proto %s", count > 1 ? "{ " : "");
		for (unsigned i = 0; i < 5; i++)
			if (protos & (1u << i))
				sb_printf(b, "%s%s", k++ ? ", " : "", i == 2 && fam == 6 ? "ipv6-icmp" : l4[i]);
		sb_printf(b, "%s ", count > 1 ? " }" : "");
	}
	port_match(b, &r->sport, "s");
	port_match(b, &r->dport, "d");
	sb_printf(b, "%s comment \"%s %d %s\"\n", verdict, r->is_default ? "default" : "rule", r->priority, r->name);
}

static void nsg_chain(struct sb *b, const struct nsg *g, enum direction dir)
{
	const char *chain = dir == DIR_IN ? "nsg_in" : "nsg_out";
	size_t n;
	const struct nsg_rule *rules = nsg_rules(g, dir, &n);
	sb_printf(b, "add chain inet " LAB_TABLE " %s\nflush chain inet " LAB_TABLE " %s\n", chain, chain);
	for (size_t i = 0; i < n; i++) {
		const struct nsg_rule *r = &rules[i];
		/* Outbound allows go on to the destination's inbound rules (traffic within the subnet meets both). */
		const char *verdict = !r->allow ? "drop" : dir == DIR_IN ? "accept" : "return";
		if (everything(&r->src) && everything(&r->dst)) {
			emit_rule(b, chain, r, 0, verdict);
			continue;
		}
		for (int fam = 4; fam <= 6; fam += 2) {
			bool v4 = fam == 4;
			if ((everything(&r->src) || has_family(r->src.set, v4)) &&
			    (everything(&r->dst) || has_family(r->dst.set, v4)))
				emit_rule(b, chain, r, fam, verdict);
		}
	}
}

/* One named set per tag the NSG names. f->set is the very set the analyzer evaluates (netenv_tag), so the
 * fabric's Internet leaves out what netenv.c's not_internet[] says, as flow and verify do. */
static void nsg_sets(struct sb *b, const struct nsg *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct addr_field *f[2] = { &g->rules[i].src, &g->rules[i].dst };
		for (int k = 0; k < 2; k++) {
			if (!f[k]->is_tag || everything(f[k]))
				continue;
			bool seen = false; /* declared already for an earlier rule */
			for (size_t j = 0; j < i && !seen; j++)
				seen = (g->rules[j].src.is_tag && !strcmp(g->rules[j].src.text, f[k]->text)) ||
				       (g->rules[j].dst.is_tag && !strcmp(g->rules[j].dst.text, f[k]->text));
			for (int kk = 0; kk < k && !seen; kk++)
				seen = f[kk]->is_tag && !strcmp(f[kk]->text, f[k]->text);
			if (seen)
				continue;
			char name[128];
			for (int fam = 4; fam <= 6; fam += 2) {
				set_name(name, sizeof(name), f[k]->text, fam == 4);
				declare_set(b, name, f[k]->set, fam == 4);
			}
		}
	}
}

char *compile_nsg(const struct lab *lab)
{
	struct sb b = { 0 };
	sb_printf(&b, "# the subnet's NSG '%s': rules by priority, default rules last\nadd table inet " LAB_TABLE "\n",
		  lab->nsg.name);
	nsg_sets(&b, &lab->nsg);
	nsg_chain(&b, &lab->nsg, DIR_IN);
	nsg_chain(&b, &lab->nsg, DIR_OUT);
	return sb_take(&b);
}

/* ---- the load balancer ---- */

static void lb_rules(struct sb *b, const struct lab *lab, const u128 *backends, size_t n)
{
	char m[ADDR_STRLEN], a[ADDR_STRLEN];
	addr_format(lab->mgmt_ip, m);
	sb_printf(b, "add chain inet " LAB_TABLE " lb\nflush chain inet " LAB_TABLE " lb\n");
	if (!n) {
		sb_printf(b, "add rule inet " LAB_TABLE " lb ip daddr %s tcp dport { " LAB_MGMT_PORTS " } drop "
			  "comment \"no healthy backend\"\n", m);
		return;
	}
	sb_printf(b, "add rule inet " LAB_TABLE " lb ip daddr %s tcp dport { " LAB_MGMT_PORTS " } dnat ip to ", m);
	if (n == 1) {
		sb_printf(b, "%s", addr_format(backends[0], a));
	} else {
		sb_printf(b, "jhash ip saddr . tcp sport mod %zu map { ", n);
		for (size_t i = 0; i < n; i++)
			sb_printf(b, "%s%zu : %s", i ? ", " : "", i, addr_format(backends[i], a));
		sb_printf(b, " }");
	}
	sb_printf(b, " comment \"management endpoint: %zu healthy\"\n", n);
}

char *compile_lb(const struct lab *lab, const u128 *backends, size_t n)
{
	struct sb b = { 0 };
	lb_rules(&b, lab, backends, n);
	return sb_take(&b);
}

/* ---- the fabric ---- */

/* A set of interface names: the nodes' links (which == 0) or the public hosts' links. */
static void links(struct sb *b, const struct lab *lab, const char *set, int which)
{
	size_t k = 0;
	sb_printf(b, "add set inet " LAB_TABLE " %s { type ifname; }\n", set);
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		if (which == 0 ? h->role != ROLE_NODE : !role_public(h->role))
			continue;
		if (!k++)
			sb_printf(b, "add element inet " LAB_TABLE " %s { ", set);
		else
			sb_printf(b, ", ");
		sb_printf(b, "\"%s\"", h->name);
	}
	if (k)
		sb_printf(b, " }\n");
}

char *compile_fabric(const struct lab *lab)
{
	struct sb b = { 0 };
	char m[ADDR_STRLEN], dns[ADDR_STRLEN], sub[CIDR_STRLEN], name[128];
	const struct service_tag *cloud;
	addr_format(lab->mgmt_ip, m);
	addr_format(lab->dns_addr, dns);
	cidr_format(&lab->subnet, sub);
	snprintf(name, sizeof(name), "AzureCloud.%s", lab->region);
	cloud = tagdb_find(&lab->tags, name);

	sb_printf(&b, "# fabric: Azure's host networking for cluster '%s'\nadd table inet " LAB_TABLE "\n", lab->name);
	links(&b, lab, "subnet_links", 0);
	links(&b, lab, "public_links", 1);
	sb_printf(&b, "add set inet " LAB_TABLE " vnet { type ipv4_addr; flags interval; }\n"
		      "add element inet " LAB_TABLE " vnet { ");
	elements(&b, &lab->env->vnet_set, true);
	sb_printf(&b, " }\n");
	declare_set(&b, "region_cloud", &cloud->set, true);
	char *nsg = compile_nsg(lab);
	sb_printf(&b, "%s", nsg ? nsg : "");
	if (!nsg)
		b.failed = true;
	free(nsg);

	sb_printf(&b, "# the external load balancer of the management endpoint %s (backends set by the prober)\n", m);
	lb_rules(&b, lab, NULL, 0);
	sb_printf(&b,
		"add chain inet " LAB_TABLE " hook_prerouting_nat { type nat hook prerouting priority dstnat; policy accept; }\n"
		"add rule inet " LAB_TABLE " hook_prerouting_nat jump lb\n"
		"# traffic that starts in the subnet follows the subnet's route table (table %d)\n"
		"add chain inet " LAB_TABLE " hook_prerouting_mark { type filter hook prerouting priority mangle; policy accept; }\n"
		"add rule inet " LAB_TABLE " hook_prerouting_mark iifname @subnet_links meta mark set 0x%x\n"
		"# outbound NAT to the management IP, except to the region's Azure services (AzureCloud.%s)\n"
		"add chain inet " LAB_TABLE " hook_postrouting_nat { type nat hook postrouting priority srcnat; policy accept; }\n"
		"add rule inet " LAB_TABLE " hook_postrouting_nat ip saddr %s oifname @public_links ip daddr != @region_cloud "
		"snat ip to %s\n"
		"# the fabric itself answers nothing\n"
		"add chain inet " LAB_TABLE " hook_input { type filter hook input priority filter; policy drop; }\n"
		"add rule inet " LAB_TABLE " hook_input ct state established,related accept\n"
		"add rule inet " LAB_TABLE " hook_input iif lo accept\n"
		"add rule inet " LAB_TABLE " hook_input ip daddr %s meta l4proto { tcp, udp } th dport 53 accept "
		"comment \"the lab's DNS server\"\n"
		"# the subnet's NSG, stateful: evaluated for new connections, after DNAT\n"
		"add chain inet " LAB_TABLE " hook_forward { type filter hook forward priority filter; policy accept; }\n"
		"add rule inet " LAB_TABLE " hook_forward ct state established,related accept\n"
		"add rule inet " LAB_TABLE " hook_forward ct state invalid drop\n"
		"add rule inet " LAB_TABLE " hook_forward iifname @public_links ip daddr @vnet ct status ! dnat drop "
		"comment \"private addresses are not reachable from the Internet\"\n"
		"add rule inet " LAB_TABLE " hook_forward ip saddr %s jump nsg_out\n"
		"add rule inet " LAB_TABLE " hook_forward ip daddr %s jump nsg_in\n"
		"# the health probes start here, and meet the NSG too (AllowAzureLoadBalancerInBound)\n"
		"add chain inet " LAB_TABLE " hook_output { type filter hook output priority filter; policy accept; }\n"
		"add rule inet " LAB_TABLE " hook_output ct state established,related accept\n"
		"add rule inet " LAB_TABLE " hook_output ip daddr %s jump nsg_in\n",
		LAB_RT_TABLE, LAB_RT_MARK, lab->region, sub, m, dns, sub, sub, sub);
	return sb_take(&b);
}

/* ---- the nodes' built-in firewall ---- */

char *compile_node(const struct lab *lab)
{
	static const struct {
		const char *tag, *ports;
	} allow[] = {
		{ "SqlManagement", LAB_MGMT_PORTS },
		{ "CorpNetSaw", "9000, 9003" },
		{ "CorpNetPublic", "9000, 9003" },
	};
	struct sb b = { 0 };
	char vip[ADDR_STRLEN], sub[CIDR_STRLEN], name[64];
	sb_printf(&b, "# built-in firewall: management ports only from Microsoft ranges\n"
		      "add table inet builtin_fw\n");
	for (size_t i = 0; i < 3; i++) {
		set_name(name, sizeof(name), allow[i].tag, true);
		sb_printf(&b, "add set inet builtin_fw %s { type ipv4_addr; flags interval; }\n", name);
		if (has_family(&tagdb_find(&lab->tags, allow[i].tag)->set, true)) {
			sb_printf(&b, "add element inet builtin_fw %s { ", name);
			elements(&b, &tagdb_find(&lab->tags, allow[i].tag)->set, true);
			sb_printf(&b, " }\n");
		}
	}
	sb_printf(&b, "add chain inet builtin_fw input { type filter hook input priority filter; policy drop; }\n"
		      "add rule inet builtin_fw input ct state established,related accept\n"
		      "add rule inet builtin_fw input iif lo accept\n");
	for (size_t i = 0; i < 3; i++) {
		set_name(name, sizeof(name), allow[i].tag, true);
		sb_printf(&b, "add rule inet builtin_fw input ip saddr @%s tcp dport { %s } accept comment \"%s\"\n", name,
			  allow[i].ports, allow[i].tag);
	}
	sb_printf(&b, "add rule inet builtin_fw input ip saddr %s accept comment \"health probe\"\n"
		      "add rule inet builtin_fw input ip saddr %s accept comment \"the subnet\"\n",
		  addr_format(lab->host_vip, vip), cidr_format(&lab->subnet, sub));
	return sb_take(&b);
}

char *compile_nva(const struct lab *lab)
{
	struct sb b = { 0 };
	sb_printf(&b, "# a stateful appliance: forwards connections it saw start, drops the rest\n"
		      "add table inet nva\n"
		      "add chain inet nva forward { type filter hook forward priority filter; policy drop; }\n"
		      "add rule inet nva forward ct state established,related accept\n"
		      "add rule inet nva forward ct state new tcp flags & (syn | ack) == syn accept\n"
		      "add rule inet nva forward ct state new meta l4proto != tcp accept\n");
	return sb_take(&b);
}

/* ---- DNS ---- */

static int argv_add(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int argv_add(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	char **nv = rc < 0 ? NULL : realloc(*v, (*n + 2) * sizeof(**v));
	if (!nv) {
		if (rc >= 0)
			free(s);
		return -1;
	}
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

char **compile_dns(const struct lab *lab, const char *exe, const char *pidfile)
{
	char **v = NULL, a[ADDR_STRLEN], m[ADDR_STRLEN], node[ADDR_STRLEN];
	char fqdn[256], vnet[256], worker[256], pub[256];
	size_t n = 0;
	lab_dns_name(lab, DNS_FQDN, fqdn, sizeof(fqdn));
	lab_dns_name(lab, DNS_WORKER_VNET, vnet, sizeof(vnet));
	lab_dns_name(lab, DNS_WORKER, worker, sizeof(worker));
	lab_dns_name(lab, DNS_PUBLIC, pub, sizeof(pub));
	addr_format(lab->dns_addr, a);
	addr_format(lab->mgmt_ip, m);
	/* [lab] the local endpoint's internal load balancer is not emulated: node0 stands for its private IP. */
	addr_format(lab->hosts[0].addr, node);
	int rc = argv_add(&v, &n, "%s", exe) | argv_add(&v, &n, "--keep-in-foreground") |
		 argv_add(&v, &n, "--no-resolv") | argv_add(&v, &n, "--no-hosts") | argv_add(&v, &n, "--no-poll") |
		 argv_add(&v, &n, "--bind-interfaces") | argv_add(&v, &n, "--listen-address=%s", a) |
		 argv_add(&v, &n, "--pid-file=%s", pidfile) | argv_add(&v, &n, "--user=nobody") |
		 argv_add(&v, &n, "--log-queries") | argv_add(&v, &n, "--log-facility=-") | argv_add(&v, &n, "--local-ttl=60") |
		 argv_add(&v, &n, "--local=/database.windows.net/") |
		 argv_add(&v, &n, "--host-record=%s,%s", vnet, node) | argv_add(&v, &n, "--host-record=%s,%s", worker, m) |
		 argv_add(&v, &n, "--cname=%s,%s", fqdn, vnet) | argv_add(&v, &n, "--cname=%s,%s", pub, worker);
	if (rc) {
		compile_free_argv(v);
		return NULL;
	}
	return v;
}

void compile_free_argv(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}

/* ---- routes ---- */

int compile_routes(const struct lab *lab, struct lab_route **out, size_t *n)
{
	struct rib_entry *e;
	size_t ne;
	*out = NULL;
	*n = 0;
	if (fib_prefixes(lab->env, &lab->rt, &e, &ne) < 0)
		return -1;
	if (!(*out = calloc(ne + 1, sizeof(**out)))) {
		free(e);
		return -1;
	}
	for (size_t i = 0; i < ne; i++) {
		if (!e[i].prefix.v4)
			continue; /* the lab is IPv4 */
		struct lab_route *r = &(*out)[(*n)++];
		r->prefix = e[i].prefix;
		r->why = e[i].user ? e[i].user->name : "system";
		switch (e[i].hop) {
		case HOP_INTERNET:
		case HOP_VNET_LOCAL:
			r->action = LR_THROW;
			break;
		case HOP_APPLIANCE:
			r->action = LR_BLACKHOLE; /* unless the appliance is one of the lab's hosts */
			for (size_t k = 0; k < lab->nhosts; k++)
				if (lab->hosts[k].addr == e[i].user->hop_ip) {
					r->action = LR_VIA;
					r->via = lab->hosts[k].addr;
					r->via_link = lab->hosts[k].name;
				}
			break;
		default: /* None; a VirtualNetworkGateway the lab does not have */
			r->action = LR_BLACKHOLE;
		}
	}
	free(e);
	return 0;
}

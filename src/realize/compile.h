/* From the lab's model to kernel policy: nftables scripts (one transaction per namespace) and the fabric's
 * routing table for traffic that starts in the MI subnet. Pure text and data: `minet compile` prints it,
 * `minet up` and `minet apply` install it. One semantics: the NSG chains come rule by rule from the same
 * validated model the analyzer evaluates. */
#ifndef MINET_COMPILE_H
#define MINET_COMPILE_H

#include "analysis/nexthop.h"
#include "realize/topology.h"

#define LAB_TABLE "minet"      /* table inet minet in the fabric */
#define LAB_RT_TABLE 100       /* the subnet's routing table in the fabric */
#define LAB_RT_MARK 0x100      /* packets that entered from a node link */
#define LAB_RT_PREF 1000       /* "ip rule" preference */
#define LAB_MGMT_PORTS "9000, 9003, 1438, 1440, 1452"

/* The whole fabric ruleset (a fresh namespace). NULL when out of memory. */
char *compile_fabric(const struct lab *lab);
/* The subnet's NSG only: sets and the nsg_in/nsg_out chains, replacing what is there (for `apply`). */
char *compile_nsg(const struct lab *lab);
/* The load balancer's chain for the given healthy backends (replacing what is there). */
char *compile_lb(const struct lab *lab, const u128 *backends, size_t n);
/* The built-in firewall of a node. */
char *compile_node(const struct lab *lab);
/* The stateful appliance. */
char *compile_nva(const struct lab *lab);

/* The DNS server's arguments (dnsmasq, answering only the lab's names, never recursing): a NULL-terminated
 * argv of strings the caller frees with compile_free_argv. exe is the dnsmasq binary, pidfile where it
 * writes its pid. */
char **compile_dns(const struct lab *lab, const char *exe, const char *pidfile);
void compile_free_argv(char **argv);

/* The fabric's routes for traffic from the subnet: each prefix in force with what the kernel does. */
struct lab_route {
	struct cidr prefix;
	enum { LR_THROW, LR_BLACKHOLE, LR_VIA } action; /* throw: the main table (Internet, VnetLocal) */
	u128 via;            /* LR_VIA: the appliance */
	const char *via_link; /* its link (host name) */
	const char *why;     /* route name or "system" */
};
int compile_routes(const struct lab *lab, struct lab_route **out, size_t *n);

#endif

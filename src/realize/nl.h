/* rtnetlink through libmnl: links, addresses, routes and rules in one network namespace (the one the
 * socket was opened in). Every call waits for the kernel's acknowledgement; returns 0 or -errno. */
#ifndef MINET_NL_H
#define MINET_NL_H

#include <stdint.h>

#include "model/addr.h"

struct nl;

/* A socket in the namespace behind nsfd (-1: the caller's own). NULL on failure (errno set). */
struct nl *nl_open(int nsfd);
void nl_close(struct nl *nl);

/* A veth pair: `name` in this socket's namespace, `peer` created directly in the namespace peer_nsfd. */
int nl_veth(struct nl *nl, const char *name, const char *peer, int peer_nsfd);
int nl_link_up(struct nl *nl, const char *name);
/* Interface index of name, or -errno. */
int nl_ifindex(struct nl *nl, const char *name);
/* Add an IPv4 or IPv6 address with prefix length len to interface name. */
int nl_addr_add(struct nl *nl, const char *name, u128 addr, int len);

enum nl_route_type { NLR_UNICAST, NLR_BLACKHOLE, NLR_THROW };
/* A route to prefix (dst, len) in table: via gw (when has_gw), out of oif (NULL: any), onlink. */
int nl_route_add(struct nl *nl, uint32_t table, enum nl_route_type type, u128 dst, int len, const char *oif,
		 bool has_gw, u128 gw, bool onlink);
/* Delete every route of an IPv4 table. */
int nl_table_flush(struct nl *nl, uint32_t table);
/* "ip rule add fwmark MARK lookup TABLE pref PREF" (IPv4). */
int nl_rule_add(struct nl *nl, uint32_t pref, uint32_t fwmark, uint32_t table);
int nl_rule_del(struct nl *nl, uint32_t pref);

#endif

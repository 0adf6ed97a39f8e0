/* rtnetlink requests built with libmnl. */
#include "realize/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "realize/netns.h"

enum { NL_BUF = 32768 };

struct nl {
	struct mnl_socket *s;
	uint32_t seq, portid;
	char buf[NL_BUF];
};

struct nl *nl_open(int nsfd)
{
	int self = -1;
	struct nl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	if (nsfd >= 0) {
		if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 || netns_enter(nsfd) < 0)
			goto fail;
	}
	nl->s = mnl_socket_open(NETLINK_ROUTE);
	int err = errno;
	if (self >= 0) {
		netns_enter(self);
		close(self);
		self = -1;
	}
	errno = err;
	if (!nl->s || mnl_socket_bind(nl->s, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->s);
	nl->seq = (uint32_t)time(NULL);
	return nl;
fail:
	err = errno;
	if (self >= 0) {
		netns_enter(self);
		close(self);
	}
	if (nl->s)
		mnl_socket_close(nl->s);
	free(nl);
	errno = err;
	return NULL;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->s);
	free(nl);
}

static struct nlmsghdr *start(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send and wait for the acknowledgement (or the answer, passed to cb). */
static int talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(nl->s, h, h->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		char rbuf[NL_BUF];
		ssize_t n = mnl_socket_recvfrom(nl->s, rbuf, sizeof(rbuf));
		if (n < 0)
			return -errno;
		int rc = mnl_cb_run(rbuf, (size_t)n, h->nlmsg_seq, nl->portid, cb, data);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

int nl_veth(struct nl *nl, const char *name, const char *peer, int peer_nsfd)
{
	struct nlmsghdr *h = start(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *p = mnl_attr_nest_start(h, VETH_INFO_PEER);
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	mnl_attr_put_strz(h, IFLA_IFNAME, peer);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(h, p);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return talk(nl, h, NULL, NULL);
}

int nl_link_up(struct nl *nl, const char *name)
{
	struct nlmsghdr *h = start(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return talk(nl, h, NULL, NULL);
}

static int link_cb(const struct nlmsghdr *h, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

int nl_ifindex(struct nl *nl, const char *name)
{
	struct nlmsghdr *h = start(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	int index = -ENODEV;
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	int rc = talk(nl, h, link_cb, &index);
	return rc < 0 ? rc : index;
}

/* The address as bytes of its family: 4 for IPv4 (mapped), 16 for IPv6. */
static int addr_bytes(u128 a, unsigned char *b)
{
	if (addr_is_v4(a)) {
		uint32_t v = (uint32_t)a;
		b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16), b[2] = (unsigned char)(v >> 8);
		b[3] = (unsigned char)v;
		return 4;
	}
	for (int i = 15; i >= 0; i--, a >>= 8)
		b[i] = (unsigned char)a;
	return 16;
}

int nl_addr_add(struct nl *nl, const char *name, u128 addr, int len)
{
	int index = nl_ifindex(nl, name);
	unsigned char b[16];
	if (index < 0)
		return index;
	struct nlmsghdr *h = start(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	int n = addr_bytes(addr, b);
	ifa->ifa_family = n == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)len;
	ifa->ifa_index = (unsigned)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(h, IFA_LOCAL, (size_t)n, b);
	mnl_attr_put(h, IFA_ADDRESS, (size_t)n, b);
	if (n == 16)
		ifa->ifa_flags = IFA_F_NODAD;
	return talk(nl, h, NULL, NULL);
}

int nl_route_add(struct nl *nl, uint32_t table, enum nl_route_type type, u128 dst, int len, const char *oif,
		 bool has_gw, u128 gw, bool onlink)
{
	int index = oif ? nl_ifindex(nl, oif) : 0;
	unsigned char b[16];
	if (index < 0)
		return index;
	struct nlmsghdr *h = start(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	int n = addr_bytes(dst, b);
	rt->rtm_family = n == 4 ? AF_INET : AF_INET6;
	rt->rtm_dst_len = (unsigned char)len;
	rt->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_type = type == NLR_BLACKHOLE ? RTN_BLACKHOLE : type == NLR_THROW ? RTN_THROW : RTN_UNICAST;
	rt->rtm_scope = type == NLR_UNICAST && !has_gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	if (onlink)
		rt->rtm_flags |= RTNH_F_ONLINK;
	if (table >= 256)
		mnl_attr_put_u32(h, RTA_TABLE, table);
	if (len)
		mnl_attr_put(h, RTA_DST, (size_t)n, b);
	if (has_gw) {
		n = addr_bytes(gw, b);
		mnl_attr_put(h, RTA_GATEWAY, (size_t)n, b);
	}
	if (index)
		mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return talk(nl, h, NULL, NULL);
}

/* The routes of one table, copied out of a dump (a dump cannot be interleaved with requests). */
struct dump {
	uint32_t table;
	char *msgs; /* struct nlmsghdr after nlmsghdr, each NLMSG_ALIGNed */
	size_t len, cap;
	int rc;
};

static int flush_cb(const struct nlmsghdr *h, void *data)
{
	struct dump *d = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	uint32_t table = rt->rtm_table;
	const struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof(*rt))
		if (mnl_attr_get_type(a) == RTA_TABLE)
			table = mnl_attr_get_u32(a);
	if (table != d->table)
		return MNL_CB_OK;
	size_t need = NLMSG_ALIGN(h->nlmsg_len);
	if (d->len + need > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16384;
		while (cap < d->len + need)
			cap *= 2;
		char *m = realloc(d->msgs, cap);
		if (!m) {
			d->rc = -ENOMEM;
			return MNL_CB_ERROR;
		}
		d->msgs = m;
		d->cap = cap;
	}
	memcpy(d->msgs + d->len, h, h->nlmsg_len);
	d->len += need;
	return MNL_CB_OK;
}

int nl_table_flush(struct nl *nl, uint32_t table)
{
	/* Dump the table, then delete each route on the same socket: in the socket's namespace, always. */
	struct dump d = { .table = table };
	struct nlmsghdr *h = start(nl, RTM_GETROUTE, NLM_F_DUMP);
	h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = AF_INET;
	int rc = talk(nl, h, flush_cb, &d);
	for (size_t off = 0; !rc && !d.rc && off < d.len;) {
		const struct nlmsghdr *m = (const struct nlmsghdr *)(d.msgs + off);
		struct nlmsghdr *del = start(nl, RTM_DELROUTE, 0);
		size_t payload = m->nlmsg_len - sizeof(*m);
		memcpy(mnl_nlmsg_put_extra_header(del, payload), mnl_nlmsg_get_payload(m), payload);
		int r = talk(nl, del, NULL, NULL);
		if (r < 0 && r != -ESRCH)
			d.rc = r;
		off += NLMSG_ALIGN(m->nlmsg_len);
	}
	free(d.msgs);
	return rc < 0 ? rc : d.rc;
}

static int rule(struct nl *nl, uint16_t type, uint32_t pref, uint32_t fwmark, uint32_t table)
{
	struct nlmsghdr *h = start(nl, type, type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *fr = mnl_nlmsg_put_extra_header(h, sizeof(*fr));
	fr->family = AF_INET;
	fr->action = type == RTM_NEWRULE ? FR_ACT_TO_TBL : FR_ACT_UNSPEC;
	mnl_attr_put_u32(h, FRA_PRIORITY, pref);
	if (type == RTM_NEWRULE) {
		mnl_attr_put_u32(h, FRA_FWMARK, fwmark);
		mnl_attr_put_u32(h, FRA_FWMASK, fwmark);
		mnl_attr_put_u32(h, FRA_TABLE, table);
	}
	return talk(nl, h, NULL, NULL);
}

int nl_rule_add(struct nl *nl, uint32_t pref, uint32_t fwmark, uint32_t table)
{
	return rule(nl, RTM_NEWRULE, pref, fwmark, table);
}

int nl_rule_del(struct nl *nl, uint32_t pref)
{
	return rule(nl, RTM_DELRULE, pref, 0, 0);
}

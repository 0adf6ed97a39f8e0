#!/bin/sh
# The reference for `minet up`'s timing: the same namespaces, veth pairs, addresses, routes, policy rule and
# sysctls built the way Mininet-style tools do it — one `ip` process per object. It does NOT start agents, make
# a PKI, or load nftables rulesets (minet up does all three): the comparison flatters the reference.
#
# usage: bench/up-reference.sh up NAME MGMT_IP HOST_VIP HOST=ADDR...   (table-100 routes on stdin, one per line,
#                                                                     as `ip route add` arguments: "throw 10.0.0.0/24")
#        bench/up-reference.sh down NAME
# Namespaces are called mref-NAME-HOST.
set -e
verb=$1 name=$2
case "$verb" in
up)
	mgmt=$3 vip=$4
	shift 4
	fab="mref-$name-fabric"
	ip netns add "$fab"
	ip -n "$fab" link set lo up
	ip -n "$fab" addr add "$mgmt/32" dev lo
	ip -n "$fab" addr add "$vip/32" dev lo
	for hv in "$@"; do
		h=${hv%%=*} a=${hv#*=}
		ns="mref-$name-$h"
		ip netns add "$ns"
		ip -n "$fab" link add "$h" type veth peer name eth0 netns "$ns"
		ip -n "$fab" link set "$h" up
		ip -n "$fab" addr add 169.254.0.1/32 dev "$h"
		ip -n "$fab" route add "$a/32" dev "$h"
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		ip -n "$ns" addr add "$a/32" dev eth0
		ip -n "$ns" route add default via 169.254.0.1 dev eth0 onlink
	done
	ip netns exec "$fab" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$fab" sysctl -qw net.ipv4.conf.all.rp_filter=0
	ip netns exec "$fab" sysctl -qw net.ipv4.conf.default.rp_filter=0
	while read -r r; do
		[ -n "$r" ] && ip -n "$fab" route add $r table 100
	done
	ip -n "$fab" rule add pref 1000 fwmark 0x100/0x100 lookup 100
	;;
down)
	for ns in $(ip netns list | awk '{print $1}' | grep "^mref-$name-"); do
		ip netns del "$ns"
	done
	;;
*)
	echo "usage: $0 up NAME MGMT_IP HOST_VIP HOST=ADDR... | down NAME" >&2
	exit 2
	;;
esac

/* Addresses, prefixes and port ranges.
 *
 * Every address lives in one 128-bit space: IPv6 as itself, IPv4 as the IPv4-mapped address ::ffff:a.b.c.d
 * (RFC 4291 §2.5.5.2). One set type then serves both families. An IPv6 prefix never covers IPv4: a prefix such
 * as ::/0 is the whole space minus the mapped block (see ipset_add_cidr). */
#ifndef MINET_ADDR_H
#define MINET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
#define V4_BASE (((u128)0xffff) << 32)
#define V4_LAST (V4_BASE | 0xffffffffu)

static inline bool addr_is_v4(u128 a) { return (a >> 32) == 0xffff; }
static inline u128 addr_from_v4(uint32_t v4) { return V4_BASE | v4; }

/* A prefix: [lo, hi] with its length as written (0-32 for IPv4, 0-128 for IPv6). */
struct cidr {
	u128 lo, hi;
	uint8_t len;
	bool v4;
};

/* Parse a bare IPv4 or IPv6 address. 0 on success, -1 if it is not one. */
int addr_parse(const char *s, u128 *out);

/* Parse "ADDR/LEN" or a bare address (a /32 or /128). On failure returns -1 and points *why at a static
 * explanation. Host bits set below the prefix length are an error, as Azure rejects them. */
int cidr_parse(const char *s, struct cidr *out, const char **why);

/* Text form of an address (no brackets). buf must hold ADDR_STRLEN bytes. */
#define ADDR_STRLEN 46
const char *addr_format(u128 a, char *buf);

/* Text form of a prefix. buf must hold CIDR_STRLEN bytes. */
#define CIDR_STRLEN 52
const char *cidr_format(const struct cidr *c, char *buf);

/* Parse "IP", "IP:PORT", "[IPv6]:PORT" (command lines, batch files). *port is -1 when absent. */
int endpoint_parse(const char *s, u128 *addr, int *port);

/* A range of ports, inclusive. */
struct prange {
	uint16_t lo, hi;
};

/* Parse "*", "N" or "N-M" (0-65535, N <= M). On failure -1 and *why explains. */
int prange_parse(const char *s, struct prange *out, const char **why);

#endif

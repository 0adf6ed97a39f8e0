/* Address, prefix and port parsing. inet_pton does the address syntax; we add prefixes and ports. */
#include "model/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_parse(const char *s, u128 *out)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, s, b) == 1) {
		*out = addr_from_v4((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		u128 a = 0;
		for (int i = 0; i < 16; i++)
			a = a << 8 | b[i];
		*out = a;
		return 0;
	}
	return -1;
}

/* Parse decimal digits only (no sign, no spaces, no leading '+'), bounded by max. */
static int parse_uint(const char *s, const char *end, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (s == end || end - s > 6)
		return -1;
	for (const char *p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int cidr_parse(const char *s, struct cidr *out, const char **why)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf)) {
		*why = "not an IP address or CIDR prefix";
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = 0;
	u128 a;
	if (addr_parse(buf, &a) < 0) {
		*why = "not an IP address or CIDR prefix";
		return -1;
	}
	bool v4 = strchr(buf, ':') == NULL;
	unsigned max = v4 ? 32 : 128, len = max;
	if (slash && parse_uint(slash + 1, slash + 1 + strlen(slash + 1), max, &len) < 0) {
		*why = v4 ? "prefix length must be 0-32" : "prefix length must be 0-128";
		return -1;
	}
	unsigned hostbits = max - len;
	u128 mask = hostbits == 128 ? U128_MAX : (((u128)1 << hostbits) - 1);
	if (v4)
		mask &= 0xffffffffu;
	if (a & mask) {
		*why = "host bits are set below the prefix length";
		return -1;
	}
	out->lo = a;
	out->hi = a | mask;
	out->len = (uint8_t)len;
	out->v4 = v4;
	return 0;
}

const char *addr_format(u128 a, char *buf)
{
	unsigned char b[16];
	if (addr_is_v4(a)) {
		uint32_t v = (uint32_t)a;
		snprintf(buf, ADDR_STRLEN, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
		return buf;
	}
	for (int i = 15; i >= 0; i--, a >>= 8)
		b[i] = (unsigned char)a;
	inet_ntop(AF_INET6, b, buf, ADDR_STRLEN);
	return buf;
}

const char *cidr_format(const struct cidr *c, char *buf)
{
	char a[ADDR_STRLEN];
	snprintf(buf, CIDR_STRLEN, "%s/%u", addr_format(c->lo, a), c->len);
	return buf;
}

int endpoint_parse(const char *s, u128 *addr, int *port)
{
	char buf[64];
	const char *host = s, *colon = NULL;
	size_t hlen;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -1;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close[1] ? close + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(buf))
		return -1;
	memcpy(buf, host, hlen);
	buf[hlen] = 0;
	if (addr_parse(buf, addr) < 0)
		return -1;
	*port = -1;
	if (colon) {
		unsigned p;
		if (parse_uint(colon + 1, colon + 1 + strlen(colon + 1), 65535, &p) < 0)
			return -1;
		*port = (int)p;
	}
	return 0;
}

int prange_parse(const char *s, struct prange *out, const char **why)
{
	if (!strcmp(s, "*")) {
		out->lo = 0;
		out->hi = 65535;
		return 0;
	}
	const char *dash = strchr(s, '-');
	const char *end = s + strlen(s);
	unsigned lo, hi;
	if (parse_uint(s, dash ? dash : end, 65535, &lo) < 0 ||
	    (dash && parse_uint(dash + 1, end, 65535, &hi) < 0)) {
		*why = "must be a port 0-65535, a range N-M, or *";
		return -1;
	}
	if (!dash)
		hi = lo;
	if (lo > hi) {
		*why = "range start is greater than its end";
		return -1;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

/* libFuzzer: the small parsers every input goes through: addresses, prefixes, endpoints (IP[:PORT],
 * [IPv6]:PORT) and port ranges. What parses must print back and parse to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[80], back[CIDR_STRLEN];
	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct cidr c, c2;
	const char *why;
	if (cidr_parse(s, &c, &why) == 0) {
		if (c.lo > c.hi || cidr_parse(cidr_format(&c, back), &c2, &why) < 0 || c2.lo != c.lo || c2.hi != c.hi ||
		    c2.len != c.len)
			abort();
	}
	u128 a;
	int port;
	if (endpoint_parse(s, &a, &port) == 0 && (port < -1 || port > 65535))
		abort();
	struct prange p;
	if (prange_parse(s, &p, &why) == 0 && p.lo > p.hi)
		abort();
	return 0;
}

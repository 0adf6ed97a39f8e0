/* A hash of a string that ignores ASCII letter case (FNV-1a over the lower-cased bytes), for the tables that look
 * names up as Azure compares them: resource ids, service tags, rule names. */
#ifndef MINET_HASHCI_H
#define MINET_HASHCI_H

#include <ctype.h>
#include <stdint.h>

static inline uint64_t hash_ci(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ull;
	return h;
}

#endif

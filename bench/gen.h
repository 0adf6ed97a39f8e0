/* Shared by the benchmark programs: a clock, a PRNG and generated inputs. Header-only, each bench is one
 * program. */
#ifndef MINET_BENCH_GEN_H
#define MINET_BENCH_GEN_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/clock.h"
#include "model/tags.h"

/* CPU time of this thread, in seconds: on a shared machine, time spent waiting for a core is not ours. */
static inline double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort order of doubles (for medians). */
static inline int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* An NSG whose rules name service tags (global and regional), with a few prefixes and port lists. */
static inline char *make_nsg(const struct tagdb *db, int nrules, uint64_t *s)
{
	size_t cap = (size_t)nrules * 400 + 256, len = 0;
	char *j = malloc(cap);
	len += (size_t)snprintf(j, cap, "{\"name\":\"bench\",\"properties\":{\"securityRules\":[");
	for (int i = 0; i < nrules; i++) {
		const struct service_tag *t = &db->v[rnd(s) % db->n];
		unsigned port = (unsigned)(rnd(s) % 60000);
		char dst[64];
		if (rnd(s) % 4 == 0)
			snprintf(dst, sizeof(dst), "\"destinationAddressPrefixes\":[\"10.0.%u.0/24\",\"10.1.0.0/16\"]",
				 (unsigned)(rnd(s) % 256));
		else
			snprintf(dst, sizeof(dst), "\"destinationAddressPrefix\":\"10.0.0.0/24\"");
		len += (size_t)snprintf(j + len, cap - len,
			"%s{\"name\":\"r%d\",\"properties\":{\"priority\":%d,\"direction\":\"Inbound\",\"access\":\"%s\","
			"\"protocol\":\"%s\",\"sourceAddressPrefix\":\"%s\",\"sourcePortRange\":\"*\",%s,"
			"\"destinationPortRanges\":[\"%u\",\"%u-%u\"]}}",
			i ? "," : "", i, 100 + i, rnd(s) % 3 ? "Allow" : "Deny", rnd(s) % 2 ? "Tcp" : "*", t->name, dst,
			port, port + 100, port + 200);
	}
	snprintf(j + len, cap - len, "]}}");
	return j;
}

#endif

/* Helpers shared by the cmocka unit tests. */
#ifndef MINET_TESTUTIL_H
#define MINET_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonin.h"

static inline const char *repo_file(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("MINET_ROOT");
	snprintf(buf, sizeof(buf), "%s/%s", root ? root : ".", rel);
	return buf;
}

static inline json_t *json_of(const char *text)
{
	struct diag d = { .out = stderr, .file = "test" };
	return jsonin_load_buf(text, strlen(text), &d);
}

/* xorshift64*, deterministic per seed */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#endif

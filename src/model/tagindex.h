/* Which service tags contain an address: every published prefix of every tag in one index, for
 * longest-prefix-first look-ups (minet tags which). Built once from a loaded tagdb and then only read. */
#ifndef MINET_TAGINDEX_H
#define MINET_TAGINDEX_H

#include "model/tags.h"

struct tagindex_entry {
	u128 net;        /* the prefix's first address */
	uint32_t tag;    /* index into tagdb.v */
	uint8_t len;     /* as published: 0-32 for IPv4, 0-128 for IPv6 */
	bool v4;
};

struct tagindex {
	const struct tagdb *db;
	struct tagindex_entry *e; /* sorted by (bits of the 128-bit space the prefix fixes, net, tag) */
	size_t n;
	/* For each number of fixed bits 0..128: [start[b], start[b + 1]) in e. */
	size_t start[130];
};

/* 0, or -1 when out of memory. */
int tagindex_build(struct tagindex *ix, const struct tagdb *db);

struct tagindex_hit {
	const struct service_tag *tag;
	struct cidr prefix; /* the tag's prefix that contains the address */
};

/* Every (tag, prefix) whose prefix contains a, longest prefix first (ties: by tag name). A tag that lists
 * two nested prefixes appears once, with its longest. Returns the number of hits (which may exceed max: only
 * the first max are stored). */
size_t tagindex_lookup(const struct tagindex *ix, u128 a, struct tagindex_hit *out, size_t max);

void tagindex_free(struct tagindex *ix);

#endif

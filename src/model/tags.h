/* Service tags: the named address sets Microsoft publishes in ServiceTags_Public_*.json (azure-semantics.md §4),
 * plus files of the same shape for tags it does not publish (CorpNetSaw, CorpNetPublic, the lab's ranges).
 * Names match case-insensitively (§4.1: the files mix AzureCloud.westeurope and Storage.WestEurope). */
#ifndef MINET_TAGS_H
#define MINET_TAGS_H

#include <jansson.h>

#include "model/diag.h"
#include "model/ipset.h"

struct service_tag {
	char *name;           /* as published */
	char *region;         /* "" for a global tag */
	char *system_service; /* "" when absent */
	const char *file;     /* the file that defined it */
	struct ipset set;     /* IPv4 and IPv6, merged */
	struct cidr *prefixes; /* as published: route selection needs each prefix's length */
	size_t nprefixes;
};

struct tagdb {
	struct service_tag *v;
	size_t n, cap;
	uint32_t *slot; /* open-addressing index: 0 empty, else 1 + index into v */
	size_t nslot;
	char **files;   /* paths loaded, owned */
	size_t nfiles;
};

/* Add every tag of one file. A tag already defined (in this or an earlier file) is an error.
 * Returns 0, or -1 with every error reported to d; on error nothing of the file is added. */
int tagdb_load_file(struct tagdb *db, const char *path, struct diag *d);
int tagdb_load_json(struct tagdb *db, json_t *root, const char *file, struct diag *d);

/* NULL when no such tag. */
const struct service_tag *tagdb_find(const struct tagdb *db, const char *name);

void tagdb_free(struct tagdb *db);

/* The order in which tag routes win exact-prefix ties (§3.3): regional tags 1, global tags 2,
 * AzureCloud.<region> 3, AzureCloud 4. (An explicit prefix is 0.) */
int tag_route_rank(const struct service_tag *t);

/* Largest Service Tags file accepted (the 2025 public file is 4 MB). */
#define TAGS_MAX_BYTES (64u << 20)

#endif

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
	long long change_number; /* properties.changeNumber, -1 when absent or not an integer */
	bool in_arena;           /* the strings and arrays above live in the tagdb's arena (not freed one by one) */
};

struct tagarena;

struct tagdb {
	struct service_tag *v;
	size_t n, cap;
	uint32_t *slot; /* open-addressing index: 0 empty, else 1 + index into v */
	size_t nslot;
	char **files;   /* paths loaded, owned */
	long long *file_change; /* each file's top-level changeNumber, -1 when absent or not an integer */
	size_t nfiles;
	struct tagarena *arena; /* chunks the fast reader allocates from, freed with the db */
};

/* Add every tag of one file. A tag already defined (in this or an earlier file) is an error.
 * Returns 0, or -1 with every error reported to d; on error nothing of the file is added. */
int tagdb_load_file(struct tagdb *db, const char *path, struct diag *d);
int tagdb_load_json(struct tagdb *db, json_t *root, const char *file, struct diag *d);

/* The top-level changeNumber of the file a tag came from (-1 when unknown). */
long long tagdb_file_change(const struct tagdb *db, const char *file);

/* NULL when no such tag. */
const struct service_tag *tagdb_find(const struct tagdb *db, const char *name);

void tagdb_free(struct tagdb *db);

/* One published prefix, s[0..n) (not NUL-terminated): the result of cidr_parse on it, faster for the plain
 * forms the files use. 0, or -1 when cidr_parse refuses it (or it holds a NUL). */
int tags_prefix_parse(const char *s, size_t n, struct cidr *out);

/* The order in which tag routes win exact-prefix ties (§3.3): regional tags 1, global tags 2,
 * AzureCloud.<region> 3, AzureCloud 4. (An explicit prefix is 0.) */
int tag_route_rank(const struct service_tag *t);

/* When a Service Tags file was published, as days since 1970-01-01 (UTC): the date in its name when it has
 * one (Microsoft names the weekly download ServiceTags_Public_YYYYMMDD.json; any _YYYYMMDD before the
 * extension counts), else an estimate from its top-level changeNumber (*estimated set). -1 when neither is
 * known. */
long tags_file_day(const char *path, long long change, bool *estimated);

/* Today as days since 1970-01-01 (UTC); MINET_NOW=YYYY-MM-DD stands for today (tests, reproducible reports).
 * -1 when MINET_NOW is set but not such a date. */
long tags_today(void);

/* Files older than this many days draw a warning from minet verify. */
#define TAGS_STALE_DAYS 28

/* Largest Service Tags file accepted (the 2025 public file is 4 MB). */
#define TAGS_MAX_BYTES (64u << 20)

#endif

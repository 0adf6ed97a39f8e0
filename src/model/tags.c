/* Loading Service Tags files into a case-insensitive index. */
#include "model/tags.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include "model/bigfile.h"
#include "model/hashci.h"
#include "model/jsonin.h"
#include "model/tagscan.h"

/* Rebuild the index for v[0..n) with room for at least `want` tags. */
static int reindex(struct tagdb *db, size_t want)
{
	size_t n = 64;
	while (n < want * 2)
		n *= 2;
	uint32_t *slot = calloc(n, sizeof(*slot));
	if (!slot)
		return -1;
	free(db->slot);
	db->slot = slot;
	db->nslot = n;
	for (size_t i = 0; i < db->n; i++) {
		size_t h = hash_ci(db->v[i].name) & (n - 1);
		while (slot[h])
			h = (h + 1) & (n - 1);
		slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int index_add(struct tagdb *db, size_t i)
{
	size_t h = hash_ci(db->v[i].name) & (db->nslot - 1);
	while (db->slot[h])
		h = (h + 1) & (db->nslot - 1);
	db->slot[h] = (uint32_t)i + 1;
	return 0;
}

const struct service_tag *tagdb_find(const struct tagdb *db, const char *name)
{
	if (!db->nslot)
		return NULL;
	for (size_t h = hash_ci(name) & (db->nslot - 1); db->slot[h]; h = (h + 1) & (db->nslot - 1))
		if (!strcasecmp(db->v[db->slot[h] - 1].name, name))
			return &db->v[db->slot[h] - 1];
	return NULL;
}

/* ---- the arena of the fast reader: a file's tags in a few large chunks (huge pages for the big file) ---- */

struct tagarena {
	struct tagarena *next;
	size_t maplen, used; /* bytes of the mapping, this header included */
};

static void arena_free(struct tagarena *a)
{
	while (a) {
		struct tagarena *next = a->next;
		munmap(a, a->maplen);
		a = next;
	}
}

/* n bytes, 16-aligned, from the first chunk of *head; a new chunk of at least `chunk` bytes when it is full. */
static void *arena_alloc(struct tagarena **head, size_t n, size_t chunk)
{
	const size_t hdr = (sizeof(struct tagarena) + 15) & ~(size_t)15;
	struct tagarena *a = *head;
	n = (n + 15) & ~(size_t)15;
	if (!a || a->maplen - a->used < n) {
		size_t maplen;
		a = bigfile_anon(hdr + (n > chunk ? n : chunk), &maplen);
		if (!a)
			return NULL;
		*a = (struct tagarena){ .next = *head, .maplen = maplen, .used = hdr };
		*head = a;
	}
	void *p = (char *)a + a->used;
	a->used += n;
	return p;
}

static char *arena_strndup(struct tagarena **head, const char *s, size_t n, size_t chunk)
{
	char *p = arena_alloc(head, n + 1, chunk);
	if (p) {
		if (n) /* an empty string_view may have no data pointer */
			memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

static void tag_free(struct service_tag *t)
{
	if (t->in_arena) {
		*t = (struct service_tag){ 0 };
		return;
	}
	free(t->name);
	free(t->region);
	free(t->system_service);
	free(t->prefixes);
	ipset_free(&t->set);
}

void tagdb_free(struct tagdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		tag_free(&db->v[i]);
	free(db->v);
	free(db->slot);
	for (size_t i = 0; i < db->nfiles; i++)
		free(db->files[i]);
	free(db->files);
	free(db->file_change);
	arena_free(db->arena);
	*db = (struct tagdb){ 0 };
}

int tag_route_rank(const struct service_tag *t)
{
	bool azurecloud = !strncasecmp(t->name, "AzureCloud", 10) && (!t->name[10] || t->name[10] == '.');
	bool regional = t->region[0] || strchr(t->name, '.');
	if (azurecloud)
		return regional ? 3 : 4;
	return regional ? 1 : 2;
}

/* Parse one entry of values[] into t. Returns 0, or -1 with errors reported. */
static int parse_entry(json_t *e, const char *path, struct service_tag *t, struct diag *d)
{
	char p[256], pp[256];
	const char *name = NULL, *region = "", *svc = "";
	json_t *props, *prefixes = NULL, *cn;
	int before = d->errors;

	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (jsonin_str(e, path, "name", &name, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "missing");
	else if (name && !*name)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "empty tag name");
	jsonin_path(p, sizeof(p), path, "properties");
	props = json_object_get(e, "properties");
	if (!json_is_object(props)) {
		if (props)
			diag_err(d, p, "expected an object, found %s", jsonin_typename(props));
		else
			diag_err(d, p, "missing");
		return -1;
	}
	jsonin_str(props, p, "region", &region, d);
	jsonin_str(props, p, "systemService", &svc, d);
	if (jsonin_arr(props, p, "addressPrefixes", &prefixes, d) == 0)
		diag_err(d, jsonin_path(pp, sizeof(pp), p, "addressPrefixes"), "missing");
	if (d->errors != before)
		return -1;

	*t = (struct service_tag){ 0 };
	/* changeNumber is informative (tags diff): a value of another type is ignored, not refused. */
	cn = json_object_get(props, "changeNumber");
	t->change_number = json_is_integer(cn) ? (long long)json_integer_value(cn) : -1;
	jsonin_path(pp, sizeof(pp), p, "addressPrefixes");
	t->prefixes = malloc((json_array_size(prefixes) + 1) * sizeof(*t->prefixes));
	if (!t->prefixes) {
		diag_oom(d, pp);
		return -1;
	}
	size_t i;
	json_t *v;
	json_array_foreach(prefixes, i, v) {
		struct cidr c;
		const char *why;
		char ip[280];
		if (!json_is_string(v)) {
			diag_err(d, jsonin_index(ip, sizeof(ip), pp, i), "expected a string, found %s", jsonin_typename(v));
		} else if (cidr_parse(json_string_value(v), &c, &why) < 0) {
			diag_err(d, jsonin_index(ip, sizeof(ip), pp, i), "'%s': %s", json_string_value(v), why);
		} else if (ipset_add_cidr(&t->set, &c) < 0) {
			diag_oom(d, pp);
		} else {
			t->prefixes[t->nprefixes++] = c;
		}
	}
	ipset_normalize(&t->set);
	t->name = strdup(name);
	t->region = strdup(region);
	t->system_service = strdup(svc);
	if (!t->name || !t->region || !t->system_service)
		diag_oom(d, path);
	if (d->errors != before) {
		tag_free(t);
		return -1;
	}
	return 0;
}

/* Remember a file name for the tags it defines; returns the owned copy. */
static const char *add_file(struct tagdb *db, const char *file)
{
	char *fcopy = strdup(file ? file : "-");
	char **files = realloc(db->files, (db->nfiles + 1) * sizeof(*files));
	if (files)
		db->files = files;
	long long *ch = realloc(db->file_change, (db->nfiles + 1) * sizeof(*ch));
	if (ch)
		db->file_change = ch;
	if (!fcopy || !files || !ch) {
		free(fcopy);
		return NULL;
	}
	db->files[db->nfiles] = fcopy;
	db->file_change[db->nfiles++] = -1;
	return fcopy;
}

long long tagdb_file_change(const struct tagdb *db, const char *file)
{
	for (size_t i = 0; i < db->nfiles; i++)
		if (db->files[i] == file || !strcmp(db->files[i], file))
			return db->file_change[i];
	return -1;
}

/* Append a parsed tag and index it. -1 when out of memory (t is then freed). */
static int push(struct tagdb *db, struct service_tag *t)
{
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 256;
		struct service_tag *nv = realloc(db->v, cap * sizeof(*nv));
		if (!nv) {
			tag_free(t);
			return -1;
		}
		db->v = nv;
		db->cap = cap;
	}
	db->v[db->n++] = *t;
	if (db->n * 2 > db->nslot)
		return reindex(db, db->n * 2);
	return index_add(db, db->n - 1);
}

/* Drop the tags added since `first` (a file that failed adds nothing). */
static void rollback(struct tagdb *db, size_t first)
{
	while (db->n > first)
		tag_free(&db->v[--db->n]);
	reindex(db, db->n);
}

int tagdb_load_json(struct tagdb *db, json_t *root, const char *file, struct diag *d)
{
	json_t *values = NULL, *e;
	size_t i, first = db->n;
	int before = d->errors;
	char path[64];

	if (jsonin_arr(root, "", "values", &values, d) == 0)
		diag_err(d, "values", "missing: not a Service Tags file");
	if (!values)
		return -1;
	const char *fcopy = add_file(db, file);
	if (!fcopy) {
		diag_oom(d, NULL);
		return -1;
	}
	json_t *cn = json_object_get(root, "changeNumber");
	db->file_change[db->nfiles - 1] = json_is_integer(cn) ? (long long)json_integer_value(cn) : -1;
	json_array_foreach(values, i, e) {
		struct service_tag t;
		jsonin_index(path, sizeof(path), "values", i);
		if (parse_entry(e, path, &t, d) < 0)
			continue;
		const struct service_tag *dup = tagdb_find(db, t.name);
		if (dup) {
			diag_err(d, path, "tag '%s' is already defined in %s", t.name, dup->file);
			tag_free(&t);
			continue;
		}
		t.file = fcopy;
		if (push(db, &t) < 0) {
			diag_oom(d, path);
			break;
		}
	}
	if (d->errors != before) {
		rollback(db, first);
		return -1;
	}
	return 0;
}

/* ---- the fast path for good files (tagscan.h) ---- */

/* A prefix length at p: "/" and one to three digits up to max, or nothing (the whole length). The NUL after
 * them is at the returned pointer (the caller checks that it is the end of the text); NULL when not such. */
static const char *plain_len(const char *p, unsigned max, unsigned *len)
{
	*len = max;
	if (!*p)
		return p;
	if (*p++ != '/')
		return NULL;
	unsigned v = 0, nd = 0;
	for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p || nd == 0 || nd > 3 || v > max)
		return NULL;
	*len = v;
	return p;
}

/* a.b.c.d (each 0-255, no leading zeros: inet_pton refuses them), then plain_len; the end, or NULL. */
static const char *v4_plain(const char *p, struct cidr *out)
{
	uint32_t v = 0;
	for (int i = 0;; i++) {
		unsigned o = (unsigned)(unsigned char)*p - '0', dg;
		if (o > 9)
			return NULL;
		p++;
		if ((dg = (unsigned)(unsigned char)*p - '0') <= 9) {
			if (o == 0)
				return NULL;
			o = o * 10 + dg;
			p++;
			if ((dg = (unsigned)(unsigned char)*p - '0') <= 9) {
				o = o * 10 + dg;
				p++;
				if (o > 255)
					return NULL;
			}
		}
		v = v << 8 | o;
		if (i == 3)
			break;
		if (*p++ != '.')
			return NULL;
	}
	unsigned len;
	if (!(p = plain_len(p, 32, &len)))
		return NULL;
	uint32_t host = len == 0 ? 0xffffffffu : (uint32_t)((1ull << (32 - len)) - 1);
	if (v & host)
		return NULL;
	*out = (struct cidr){ .lo = addr_from_v4(v), .hi = addr_from_v4(v | host), .len = (uint8_t)len, .v4 = true };
	return p;
}

/* Hex digit values, -1 for other bytes. */
static const signed char hexdig[256] = {
	['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1, ['4'] = 4 + 1, ['5'] = 5 + 1, ['6'] = 6 + 1,
	['7'] = 7 + 1, ['8'] = 8 + 1, ['9'] = 9 + 1, ['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1, ['d'] = 13 + 1,
	['e'] = 14 + 1, ['f'] = 15 + 1, ['A'] = 10 + 1, ['B'] = 11 + 1, ['C'] = 12 + 1, ['D'] = 13 + 1,
	['E'] = 14 + 1, ['F'] = 15 + 1,
}; /* one more than the value, so that the zero of the other bytes means "not a digit" */

/* IPv6 hex groups (one to four digits) with at most one "::" and no embedded IPv4, then plain_len. */
static const char *v6_plain(const char *p, struct cidr *out)
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	if (p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	}
	while (*p && *p != '/') {
		unsigned x = 0, nd = 0, h;
		while ((h = (unsigned)hexdig[(unsigned char)*p]) != 0 && nd < 5)
			x = x << 4 | (h - 1), nd++, p++;
		if (nd == 0 || nd > 4 || ng == 8)
			return NULL;
		g[ng++] = (uint16_t)x;
		if (!*p || *p == '/')
			break;
		if (*p++ != ':')
			return NULL;
		if (*p == ':') {
			if (gap >= 0)
				return NULL;
			gap = ng;
			p++;
		} else if (!*p || *p == '/') {
			return NULL; /* a trailing single ':' */
		}
	}
	if (gap < 0 ? ng != 8 : ng > 7)
		return NULL;
	unsigned len;
	if (!(p = plain_len(p, 128, &len)))
		return NULL;
	/* The groups after "::" go to the end. */
	uint16_t full[8] = { 0 };
	int head = gap < 0 ? ng : gap;
	for (int i = 0; i < head; i++)
		full[i] = g[i];
	for (int i = head; i < ng; i++)
		full[8 - ng + i] = g[i];
	uint64_t hi = (uint64_t)full[0] << 48 | (uint64_t)full[1] << 32 | (uint64_t)full[2] << 16 | full[3];
	uint64_t lo = (uint64_t)full[4] << 48 | (uint64_t)full[5] << 32 | (uint64_t)full[6] << 16 | full[7];
	u128 a = (u128)hi << 64 | lo;
	u128 mask = len == 0 ? U128_MAX : (((u128)1 << (128 - len)) - 1);
	if (a & mask)
		return NULL;
	*out = (struct cidr){ .lo = a, .hi = a | mask, .len = (uint8_t)len, .v4 = false };
	return p;
}

/* The plain forms Service Tags files use, as v4_plain and v6_plain read them: a subset of what cidr_parse
 * accepts, with the same result. 1 when s[0..n) is such a prefix, 0 when cidr_parse must decide (other forms,
 * host bits set, a NUL inside: parsing must end exactly at n). */
static int cidr_plain(const char *s, size_t n, struct cidr *out)
{
	char b[48];
	if (n >= sizeof(b))
		return 0;
	memcpy(b, s, n);
	b[n] = 0;
	const char *end = v4_plain(b, out);
	if (!end)
		end = v6_plain(b, out);
	return end == b + n;
}

int tags_prefix_parse(const char *s, size_t n, struct cidr *out)
{
	char buf[64];
	const char *why;
	if (cidr_plain(s, n, out))
		return 0;
	if (n >= sizeof(buf) || memchr(s, 0, n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return cidr_parse(buf, out, &why);
}

struct scan {
	struct tagdb *db;
	const char *file;
	struct service_tag t;
	size_t cap;
	bool open; /* t is being filled */
	struct tagarena *arena; /* this file's chunks, the db's once the file is loaded */
	size_t chunk;
};

static int scan_begin(void *ctx, const char *name, size_t nlen, const char *region, size_t rlen, const char *svc,
		      size_t slen, long long change, size_t nprefixes)
{
	struct scan *s = ctx;
	s->t = (struct service_tag){ .file = s->file, .change_number = change, .in_arena = true };
	if ((nlen && memchr(name, 0, nlen)) || (rlen && memchr(region, 0, rlen)) || (slen && memchr(svc, 0, slen)))
		return -1; /* jansson refuses NUL in strings: leave such files to it */
	size_t n = nprefixes ? nprefixes : 1;
	s->t.name = arena_strndup(&s->arena, name, nlen, s->chunk);
	s->t.region = arena_strndup(&s->arena, region, rlen, s->chunk);
	s->t.system_service = arena_strndup(&s->arena, svc, slen, s->chunk);
	/* Right-sized: one range a prefix (scan_prefix makes room in the rare case of two). */
	s->t.prefixes = arena_alloc(&s->arena, n * sizeof(*s->t.prefixes), s->chunk);
	s->t.set.r = arena_alloc(&s->arena, n * sizeof(*s->t.set.r), s->chunk);
	s->t.set.cap = n;
	s->cap = nprefixes;
	if (!s->t.name || !s->t.region || !s->t.system_service || !s->t.prefixes || !s->t.set.r ||
	    tagdb_find(s->db, s->t.name)) {
		tag_free(&s->t);
		return -1;
	}
	s->open = true;
	return 0;
}

static int scan_prefix(void *ctx, const char *text, size_t len)
{
	struct scan *s = ctx;
	struct cidr c;
	struct ipset *set = &s->t.set;
	if (s->t.nprefixes == s->cap || tags_prefix_parse(text, len, &c) < 0)
		goto fail;
	/* ipset_add_cidr adds one range, or two for an IPv6 prefix over the IPv4-mapped block (ipset.c). */
	size_t need = !c.v4 && c.lo <= V4_BASE && c.hi >= V4_LAST ? 2 : 1;
	if (set->n + need > set->cap) {
		/* Grow in the arena, never realloc. */
		struct range *r = arena_alloc(&s->arena, (set->cap * 2 + 2) * sizeof(*r), s->chunk);
		if (!r)
			goto fail;
		memcpy(r, set->r, set->n * sizeof(*r));
		set->r = r;
		set->cap = set->cap * 2 + 2;
	}
	if (ipset_add_cidr(set, &c) < 0)
		goto fail;
	s->t.prefixes[s->t.nprefixes++] = c;
	return 0;
fail:
	tag_free(&s->t);
	s->open = false;
	return -1;
}

static int scan_end(void *ctx)
{
	struct scan *s = ctx;
	ipset_normalize(&s->t.set);
	s->open = false;
	return push(s->db, &s->t);
}

static int scan_file_change(void *ctx, long long change)
{
	struct scan *s = ctx;
	s->db->file_change[s->db->nfiles - 1] = change;
	return 0;
}

static const struct tagscan_ops scan_ops = { scan_begin, scan_prefix, scan_end, scan_file_change };

int tagdb_load_file(struct tagdb *db, const char *path, struct diag *d)
{
	const char *saved = d->file, *text;
	size_t first = db->n, len;
	int rc = -1;
	char *buf = NULL;
	struct bigfile tf;
	d->file = path;
	if (bigfile_open(&tf, path, TAGS_MAX_BYTES, TAGSCAN_PADDING) == 0) {
		text = tf.text;
		len = tf.len;
	} else {
		/* Whatever the quick reader does not take, jsonin reads (or refuses, in its words). */
		buf = jsonin_read_file(path, TAGS_MAX_BYTES, TAGSCAN_PADDING, &len, d);
		if (!buf)
			goto out;
		text = buf;
	}
	/* The file's tags take about twice its size (a 48-byte cidr and a 32-byte range for each prefix of
	 * 10-40 characters): chunks of three times it, so that one serves a published file (only the pages
	 * touched cost memory). */
	struct scan s = { .db = db, .file = add_file(db, path), .chunk = len * 3 > 65536 ? len * 3 : 65536 };
	if (s.file && tagscan(text, len, &scan_ops, &s) == 0) {
		struct tagarena **tail = &s.arena;
		while (*tail)
			tail = &(*tail)->next;
		*tail = db->arena;
		db->arena = s.arena;
		rc = 0;
		goto out;
	}
	/* Not a clean file: read it again with the reader that reports every error and its place. */
	if (s.open)
		tag_free(&s.t);
	rollback(db, first);
	arena_free(s.arena);
	if (s.file)
		free(db->files[--db->nfiles]); /* tagdb_load_json names the file again */
	json_t *root = jsonin_load_buf(text, len, d);
	rc = root ? tagdb_load_json(db, root, path, d) : -1;
	json_decref(root);
out:
	free(buf);
	bigfile_close(&tf);
	d->file = saved;
	return rc;
}

/* ---- the age of a file ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned dd)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + dd - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* "YYYYMMDD" or "YYYY-MM-DD" at s (exactly), as a day number; -1 if not a valid date. */
static long parse_day(const char *s, bool dashes)
{
	unsigned y = 0, m = 0, dd = 0;
	const char *fmt = dashes ? "dddd-dd-dd" : "dddddddd";
	for (size_t i = 0; fmt[i]; i++) {
		if (fmt[i] == '-') {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	if (dashes) {
		y = (unsigned)atoi(s), m = (unsigned)atoi(s + 5), dd = (unsigned)atoi(s + 8);
	} else {
		char b[9];
		memcpy(b, s, 8);
		b[8] = 0;
		unsigned v = (unsigned)atoi(b);
		y = v / 10000, m = v / 100 % 100, dd = v % 100;
	}
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 2000 || y > 2999 || m < 1 || m > 12 || dd < 1 || dd > mdays[m - 1])
		return -1;
	return days_from_civil((long)y, m, dd);
}

/* [inference] The top-level changeNumber grows by about one a week: three published files pin it (97 on
 * 2020-02-24, 227 on 2022-11-07, 375 on 2025-10-28, data/servicetags/); between them the date is interpolated,
 * outside them extrapolated with the nearest segment's rate. An estimate, good to a few weeks. */
static long day_from_change(long long change)
{
	static const struct {
		long long change;
		unsigned y, m, d;
	} pin[] = { { 97, 2020, 2, 24 }, { 227, 2022, 11, 7 }, { 375, 2025, 10, 28 } };
	size_t i = change < pin[1].change ? 0 : 1;
	long d0 = days_from_civil(pin[i].y, pin[i].m, pin[i].d), d1 = days_from_civil(pin[i + 1].y, pin[i + 1].m,
										  pin[i + 1].d);
	double rate = (double)(d1 - d0) / (double)(pin[i + 1].change - pin[i].change);
	return d0 + (long)((double)(change - pin[i].change) * rate + 0.5);
}

long tags_file_day(const char *path, long long change, bool *estimated)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	*estimated = false;
	for (const char *p = strchr(base, '_'); p; p = strchr(p + 1, '_')) {
		long day = strlen(p + 1) >= 8 && !isdigit((unsigned char)p[9]) ? parse_day(p + 1, false) : -1;
		if (day >= 0)
			return day;
	}
	if (change < 0)
		return -1;
	*estimated = true;
	return day_from_change(change);
}

long tags_today(void)
{
	const char *env = getenv("MINET_NOW");
	if (env && *env)
		return strlen(env) == 10 ? parse_day(env, true) : -1;
	return (long)(time(NULL) / 86400);
}

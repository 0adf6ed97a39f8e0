/* libFuzzer: the Service Tags parser. The input is a whole file: jsonin_load_buf + tagdb_load_json (the reader that
 * reports every error), alone and after the fixed DB of fuzz_common.h so that duplicate-tag checks across files run
 * too. The same input also goes through the simdjson fast path (tagscan), which must never accept a file the
 * jansson reader rejects, nor see other tags or prefixes than it: abort() when they disagree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"
#include "model/tagscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the fast path saw. */
struct seen {
	size_t tags, prefixes;
	char **names;
	size_t *nprefix;
	int bad; /* a prefix that does not parse, a NUL in a string, or a duplicate name */
};

static int on_begin(void *ctx, const char *name, size_t nlen, const char *region, size_t rlen, const char *svc,
		    size_t slen, long long change, size_t nprefixes)
{
	struct seen *s = ctx;
	(void)region, (void)svc, (void)change, (void)nprefixes;
	if (memchr(name, 0, nlen) || memchr(region, 0, rlen) || memchr(svc, 0, slen))
		s->bad = 1;
	char **nn = realloc(s->names, (s->tags + 1) * sizeof(*nn));
	size_t *np = realloc(s->nprefix, (s->tags + 1) * sizeof(*np));
	if (nn)
		s->names = nn;
	if (np)
		s->nprefix = np;
	if (!nn || !np)
		abort();
	s->names[s->tags] = strndup(name, nlen);
	s->nprefix[s->tags] = 0;
	for (size_t i = 0; i < s->tags; i++)
		if (!strcasecmp(s->names[i], s->names[s->tags]))
			s->bad = 1;
	s->tags++;
	return 0;
}

static int on_prefix(void *ctx, const char *text, size_t len)
{
	struct seen *s = ctx;
	struct cidr c, f;
	const char *why;
	char *z = strndup(text, len);
	if (!z)
		abort();
	int slow = memchr(text, 0, len) ? -1 : cidr_parse(z, &c, &why);
	free(z);
	/* the loader's own prefix parser agrees with cidr_parse */
	if ((tags_prefix_parse(text, len, &f) == 0) != (slow == 0))
		abort();
	if (slow == 0 && (f.lo != c.lo || f.hi != c.hi || f.len != c.len || f.v4 != c.v4))
		abort();
	if (slow < 0)
		s->bad = 1;
	s->prefixes++;
	if (s->tags)
		s->nprefix[s->tags - 1]++;
	return 0;
}

static int on_end(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct tagscan_ops ops = { on_begin, on_prefix, on_end, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { .out = NULL, .file = "fuzz.json" };

	/* 1. the jansson reader, on a DB of its own (fresh each time, so inputs do not pile up). */
	struct tagdb db = { 0 };
	json_t *root = jsonin_load_buf((const char *)data, size, &d);
	int ok = root && tagdb_load_json(&db, root, "fuzz.json", &d) == 0;
	if (ok != (d.errors == 0))
		abort(); /* success exactly when nothing was reported */
	json_decref(root);

	/* 2. the same file after the fixed DB (duplicate checks across files): it adds all its tags or none. */
	struct tagdb two = { 0 };
	size_t nfixed;
	{
		struct diag d2 = { .out = NULL, .file = "fuzz-tags" };
		json_t *r2 = jsonin_load_buf(fuzz_tags_json, strlen(fuzz_tags_json), &d2);
		if (!r2 || tagdb_load_json(&two, r2, "fuzz-tags", &d2) < 0)
			abort();
		json_decref(r2);
		nfixed = two.n;
		d2.file = "fuzz2.json";
		r2 = jsonin_load_buf((const char *)data, size, &d2);
		int ok2 = r2 && tagdb_load_json(&two, r2, "fuzz2.json", &d2) == 0;
		json_decref(r2);
		if (!ok2 && two.n != nfixed)
			abort();
		if (ok2 && (!ok || two.n != nfixed + db.n))
			abort();
		for (size_t i = 0; i < two.n; i++)
			if (tagdb_find(&two, two.v[i].name) != &two.v[i])
				abort(); /* the index finds every tag */
		tagdb_free(&two);
	}

	/* 3. the fast path must not accept what the reader rejects, and must see the same tags. */
	char *buf = malloc(size + TAGSCAN_PADDING + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	memset(buf + size, 0, TAGSCAN_PADDING + 1);
	struct seen s = { 0 };
	int fast = tagscan(buf, size, &ops, &s) == 0;
	if (fast && !s.bad) {
		if (!ok)
			abort(); /* accepted by the fast path, rejected by the reader */
		if (s.tags != db.n)
			abort();
		for (size_t i = 0; i < db.n; i++)
			if (strcmp(db.v[i].name, s.names[i]) || db.v[i].nprefixes != s.nprefix[i])
				abort();
	}
	for (size_t i = 0; i < s.tags; i++)
		free(s.names[i]);
	free(s.names);
	free(s.nprefix);
	free(buf);
	tagdb_free(&db);
	return 0;
}

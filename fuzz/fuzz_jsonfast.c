/* libFuzzer: jsonfast_loadb against json_loadb (JSON_REJECT_DUPLICATES) on the same text: the same tree (key order,
 * integer or real, value) or the same error (text, line, column); and with members left out (jsonfast_prune).
 * Any difference aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonfast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a (jsonfast, members left out) against b (json_loadb's tree with them left out by hand): the same text, or a is
 * json_loadb's whole tree `whole` (simdjson gave the text to json_loadb, which leaves nothing out). */
static void same_pruned(json_t *a, json_t *b, const char *whole)
{
	char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (!sa || !sb || (strcmp(sa, sb) && (!whole || strcmp(sa, whole))))
		abort();
	free(sa);
	free(sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t padding = size % 2 ? JSONFAST_PADDING : 0; /* both the copying and the padded path */
	char *buf = malloc(size + padding + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, 0, padding + 1);
	json_error_t e1, e2;
	json_t *a = jsonfast_loadb(buf, size, padding, &e1);
	json_t *b = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e2);
	if (!a != !b)
		abort();
	if (!b) {
		if (strcmp(e1.text, e2.text) || e1.line != e2.line || e1.column != e2.column)
			abort();
	} else {
		char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		if (!sa || !sb || strcmp(sa, sb) || !json_equal(a, b))
			abort();
		free(sa);
		free(sb);
	}
	json_decref(a);
	/* Left out ("b", and every element of "c", when the root has "a" not null): json_loadb's tree without them, or
	 * its error; or its whole tree, where simdjson gave the text to json_loadb (e.g. a raw NUL byte between tokens,
	 * which jansson takes for white space). */
	char *whole = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
	static const char *const has[] = { "a", NULL }, *const pb[] = { "b", NULL }, *const pc[] = { "c", "*", NULL };
	static const char *const *const paths[] = { pb, pc, NULL };
	static const struct jsonfast_prune rule = { .has = has, .paths = paths };
	a = jsonfast_loadb_pruned(buf, size, padding, &rule, 1, &e1);
	if (!a != !b)
		abort();
	if (b) {
		json_t *x = json_object_get(b, "a");
		if (x && !json_is_null(x)) {
			json_object_del(b, "b");
			json_array_clear(json_object_get(b, "c"));
		}
		same_pruned(a, b, whole);
	} else if (strcmp(e1.text, e2.text) || e1.line != e2.line || e1.column != e2.column) {
		abort();
	}
	free(whole);
	json_decref(a);
	/* Made null: elements of "s" that are objects whose "t" is a string beginning with neither "k" nor "K", without
	 * "r" (when the root has "a" not null). */
	static const char *const ps[] = { "s", "*", NULL }, *const keep[] = { "k", NULL }, *const keys[] = { "r", NULL };
	static const char *const *const spaths[] = { ps, NULL };
	static const struct jsonfast_prune stub = { .has = has, .paths = spaths, .stub_key = "t", .keep_prefixes = keep,
						    .keep_keys = keys };
	a = jsonfast_loadb_pruned(buf, size, padding, &stub, 1, &e1);
	json_decref(b); /* changed above */
	b = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e2);
	if (!a != !b)
		abort();
	if (b) {
		whole = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		json_t *x = json_object_get(b, "a"), *s = json_object_get(b, "s"), *el;
		size_t i;
		if (x && !json_is_null(x))
			json_array_foreach(s, i, el) {
				const char *t = json_string_value(json_object_get(el, "t"));
				if (t && *t != 'k' && *t != 'K' && !json_object_get(el, "r"))
					json_array_set_new(s, i, json_null());
			}
		same_pruned(a, b, whole);
		free(whole);
	}
	json_decref(a);
	json_decref(b);
	free(buf);
	return 0;
}

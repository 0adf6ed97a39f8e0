/* json_loadb, faster: simdjson parses and validates the text, and the jansson tree is built from its DOM. */
#ifndef MINET_JSONFAST_H
#define MINET_JSONFAST_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* json_loadb(buf, len, JSON_REJECT_DUPLICATES, err): the same tree, or NULL and the same error. Whatever simdjson
 * and jansson might read differently (a syntax error, a repeated key, an integer beyond 64 bits, "\u0000", an
 * escaped surrogate, nesting deeper than simdjson's limit, a scalar at the top) is left to json_loadb itself, so
 * errors keep jansson's line and column. buf is read up to len + padding: with JSONFAST_PADDING or more the
 * text is not copied. When it returns NULL, errno is ENOMEM if memory ran out (jsonin_load_error in jsonin.h tells
 * the two apart): while json_loadb read, or before, and then json_loadb is not run at all (its lexer reads past what
 * it had no memory to save: see short_of_memory in jsonfast.cc). */
json_t *jsonfast_loadb(const char *buf, size_t len, size_t padding, json_error_t *err);

/* Members a reader never looks at, left out of the tree: when the root object has every key of `has` (with a value
 * other than null) and every key of `objects` (with an object), each path of `paths` (member names from the root,
 * "*" for every element of an array, then NULL; the list ends with NULL) is left out. What is left out is still
 * checked as json_loadb checks it: a text gets the same answer, only a smaller tree. At most 16 paths apply.
 * With stub_key set, paths end at array elements ("*"), and only an element the reader skips is replaced, by null
 * (so that the others keep their indexes): an object whose stub_key is a string beginning (case-insensitively)
 * with none of keep_prefixes, and that has none of the keys keep_keys. */
struct jsonfast_prune {
	const char *const *has, *const *objects;
	const char *const *const *paths;
	const char *stub_key, *const *keep_prefixes, *const *keep_keys;
};
json_t *jsonfast_loadb_pruned(const char *buf, size_t len, size_t padding, const struct jsonfast_prune *rules,
			      size_t nrules, json_error_t *err);

#define JSONFAST_PADDING 64 /* SIMDJSON_PADDING */

/* simdjson chooses the implementation for this CPU on first use, with allocations that throw std::bad_alloc (the
 * end of the program here) when memory is short: call this at the start, when it is not. */
void jsonfast_init(void);

#ifdef __cplusplus
}
#endif

#endif

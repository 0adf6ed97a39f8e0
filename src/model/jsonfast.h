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
 * text is not copied. */
json_t *jsonfast_loadb(const char *buf, size_t len, size_t padding, json_error_t *err);

#define JSONFAST_PADDING 64 /* SIMDJSON_PADDING */

#ifdef __cplusplus
}
#endif

#endif

/* Reading JSON input files with jansson, with errors that name the file and the place. */
#ifndef MINET_JSONIN_H
#define MINET_JSONIN_H

#include <jansson.h>
#include <stdbool.h>

#include "model/diag.h"

/* Parse a whole file (at most max_bytes) or a buffer. On failure report to d and return NULL. */
json_t *jsonin_load_file(const char *path, size_t max_bytes, struct diag *d);
json_t *jsonin_load_buf(const char *buf, size_t len, struct diag *d);
/* What json_loadb (or jsonfast_loadb, jsonfast.h) refused: "line L, column C: why"; or, when memory ran out while
 * it read (errno ENOMEM, or jansson's own out-of-memory code), "out of memory" (jansson then names a place and a
 * reason that are not the text's). Call it with errno as the load left it, set to 0 before the load. */
void jsonin_load_error(struct diag *d, const json_error_t *err);
/* Did the load that gave err fail for lack of memory (errno ENOMEM, set to 0 before the load; or jansson's own
 * out-of-memory code)? Then err's place and reason are not the text's. */
bool jsonin_out_of_memory(const json_error_t *err);
/* Read a whole regular file of at most max_bytes, followed by `padding` zero bytes; a gzip file is
 * inflated (at most max_bytes after inflating). NULL on error (reported). The caller frees the buffer. */
char *jsonin_read_file(const char *path, size_t max_bytes, size_t padding, size_t *len, struct diag *d);
/* Free what jansson hands out that is not a tree (json_dumps' text) with jansson's free function, which
 * json_set_alloc_funcs may have replaced (cli/heap.h). */
void jsonin_free(void *p);
/* json_decref for a tree dropped for good, or nothing while trees are kept: a short run (cli/heap.h) allocates
 * jansson's memory from a region where freeing does nothing, so walking a tree of thousands of values to free
 * it is time spent for nothing before the process exits. The leaves a kept tree shares stay valid either way.
 * jsonin_keep_trees is set before a second thread is started and cleared after it is joined. */
void jsonin_drop(json_t *t);
void jsonin_keep_trees(bool on);

/* jansson's allocations, watched. jsonin_watch_allocs (first thing in a program's main) has jansson allocate
 * through jsonin_malloc, which counts those that fail (jsonin_alloc_failures). After one, a tree built meanwhile
 * may lack members (json_array_append_new and json_object_set_new drop what they cannot add, quietly), and a text
 * json_dumps made may lack a character (jansson 2.14 leaves the result of some of its writes unchecked: a key's
 * closing quote went missing in a fault-injection run). jsonin_alloc_failed counts a failure of memory of one's
 * own that an output would quietly go without. jsonin_dumps is json_dumps, or NULL when an allocation failed while
 * it ran (free the text with jsonin_free). */
void jsonin_watch_allocs(void);
void *jsonin_malloc(size_t n);
void jsonin_alloc_failed(void);
unsigned long jsonin_alloc_failures(void);
char *jsonin_dumps(const json_t *j, size_t flags);

/* Member lookups along a JSON path. `path` is the path of obj ("" for the root); errors are reported at
 * path.key. A JSON null counts as absent.
 *   jsonin_str: 1 found (a string), 0 absent, -1 wrong type (reported).
 *   jsonin_int: 1 found (an integer), 0 absent, -1 wrong type.
 *   jsonin_arr: 1 found (an array), 0 absent, -1 wrong type. */
int jsonin_str(json_t *obj, const char *path, const char *key, const char **out, struct diag *d);
int jsonin_int(json_t *obj, const char *path, const char *key, long long *out, struct diag *d);
int jsonin_arr(json_t *obj, const char *path, const char *key, json_t **out, struct diag *d);

/* path + "." + key (or just key at the root) into buf of size n. */
const char *jsonin_path(char *buf, size_t n, const char *path, const char *key);
/* path + "[" i "]" into buf. */
const char *jsonin_index(char *buf, size_t n, const char *path, size_t i);

const char *jsonin_typename(const json_t *v);

#endif

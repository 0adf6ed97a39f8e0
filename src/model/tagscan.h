/* A fast, validating scan of a Service Tags file with simdjson (On Demand), for the common case of a good
 * file. It reports each entry through callbacks and stops at the first problem of any kind, returning -1;
 * the caller then re-reads the file with jansson (tags.c), which reports every error with its place.
 * So this path only has to be fast and never wrong about success. */
#ifndef MINET_TAGSCAN_H
#define MINET_TAGSCAN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tagscan_ops {
	/* A new entry, once the whole entry has been read; strings are not NUL-terminated and point into buf;
	 * change: properties.changeNumber, -1 when absent or not an integer; nprefixes: how many prefix calls
	 * follow. Return 0 to go on, -1 to stop. */
	int (*begin)(void *ctx, const char *name, size_t nlen, const char *region, size_t rlen, const char *svc,
		     size_t slen, long long change, size_t nprefixes);
	/* One address prefix of the current entry (not NUL-terminated). */
	int (*prefix)(void *ctx, const char *text, size_t len);
	int (*end)(void *ctx);
	/* The top-level changeNumber (-1 when absent or not an integer), after the last entry; may be NULL. */
	int (*file_change)(void *ctx, long long change);
};

/* buf must have TAGSCAN_PADDING readable bytes after len. 0 when the whole file was scanned. */
int tagscan(const char *buf, size_t len, const struct tagscan_ops *ops, void *ctx);

#define TAGSCAN_PADDING 64

#ifdef __cplusplus
}
#endif

#endif

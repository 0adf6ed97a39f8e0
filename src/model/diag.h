/* Diagnostics for bad input: every error names the file and the place (line:column for syntax, a JSON path
 * for meaning), one per line, and parsing goes on so that all errors of a file are reported together.
 * Library code never exits: it reports here and returns -1. */
#ifndef MINET_DIAG_H
#define MINET_DIAG_H

#include <stdbool.h>
#include <stdio.h>

struct diag {
	FILE *out;        /* where lines go; NULL discards them (fuzzers) */
	const char *file; /* the file being read, as the user named it */
	int errors;
	/* When set, rewrites a path in the data being read into the path in the user's file (shapes.h):
	 * the data was converted from another shape. */
	const char *(*map_path)(const void *ctx, const char *path, char *buf, size_t n);
	const void *map_ctx;
	bool oom_said; /* diag_oom printed its line */
};

/* "FILE: PATH: message" (PATH may be NULL or empty for the whole file). */
void diag_err(struct diag *d, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE: PATH: out of memory", once: memory that ran out for one value runs out for the values after it, and a page
 * of the same line would bury what matters. Every call counts as an error. */
void diag_oom(struct diag *d, const char *path);

#endif

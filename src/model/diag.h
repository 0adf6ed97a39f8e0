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

/* Lines held back, to be printed in another order than they are made in (a file read on another thread, a part of
 * a file read by a worker): h->d is a copy of like that writes into memory. diag_hold_begin is false when there is
 * no memory to hold lines in (end it all the same). diag_hold_end prints what was held to into, as into would have
 * printed it, and counts its errors there; with into NULL it drops it. */
struct diag_hold {
	struct diag d;
	FILE *mem;
	char *text;
	size_t len;
};
bool diag_hold_begin(struct diag_hold *h, const struct diag *like);
void diag_hold_end(struct diag_hold *h, struct diag *into);

#endif

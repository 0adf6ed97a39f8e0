/* Reading a Service Tags file with little work and few page faults (the cold `minet flow` reads 4 MB of it;
 * a page fault costs about 10 us on the VMs we measure, a 2 MiB huge page about as much as one).
 * A plain file is read whole into a buffer of its size; a gzip file of one member is inflated in one call into
 * a buffer of the size its trailer (ISIZE) gives. Buffers from 2 MiB are 2 MiB-aligned and marked for huge
 * pages. Either way `padding` zero bytes follow the text.
 * Anything else (an error of any kind, a gzip file of several members or with bytes after it, a file over the
 * limit, an empty file) gives -1 without a word: the caller then uses jsonin_read_file, which reads every file
 * and reports every error in its own words. Every run reads the file afresh; nothing is cached. */
#ifndef MINET_TAGFILE_H
#define MINET_TAGFILE_H

#include <stddef.h>

struct tagfile {
	const char *text; /* len bytes, then at least `padding` zero bytes */
	size_t len;
	void *map;        /* what to unmap */
	size_t maplen;
};

int tagfile_open(struct tagfile *f, const char *path, size_t max_bytes, size_t padding);
void tagfile_close(struct tagfile *f);

/* An anonymous zeroed mapping of at least n bytes (nothing reserved until touched); from 2 MiB up, 2 MiB-aligned
 * and marked for huge pages (one fault per 2 MiB instead of 512). Unmap with munmap(p, *maplen). NULL on error. */
void *tagfile_anon(size_t n, size_t *maplen);

#endif

/* Reading a large JSON input (a Service Tags file, an estate inventory) with little work and few page faults (the
 * cold `minet flow` reads 4 MB of tags; a page fault costs about 10 us on the VMs we measure, a 2 MiB huge page
 * about as much as one).
 * A plain file is read whole into a buffer of its size; a gzip file of one member is inflated in one call into
 * a buffer of the size its trailer (ISIZE) gives. Buffers from 256 KiB are whole 2 MiB blocks marked for huge
 * pages. Either way `padding` zero bytes follow the text.
 * Anything else (an error of any kind, a gzip file of several members or with bytes after it, a file over the
 * limit, an empty file) gives -1 without a word: the caller then uses jsonin_read_file, which reads every file
 * and reports every error in its own words. Every run reads the file afresh; nothing is cached. */
#ifndef MINET_BIGFILE_H
#define MINET_BIGFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bigfile {
	const char *text; /* len bytes, then at least `padding` zero bytes */
	size_t len;
	void *map;        /* what to unmap */
	size_t maplen;
};

int bigfile_open(struct bigfile *f, const char *path, size_t max_bytes, size_t padding);
void bigfile_close(struct bigfile *f);

/* The size of a transparent huge page on x86-64, and the alignment that makes one possible. */
#define BIGFILE_HUGE_PAGE ((size_t)2 << 20)

/* An anonymous zeroed mapping of at least n bytes (nothing reserved until touched); from 256 KiB up, whole 2 MiB
 * blocks, 2 MiB-aligned and marked for huge pages (one fault per 2 MiB instead of 512: zeroing 2 MiB costs less
 * than 64 faults). Unmap with munmap(p, *maplen). NULL on error. */
void *bigfile_anon(size_t n, size_t *maplen);

#ifdef __cplusplus
}
#endif

#endif

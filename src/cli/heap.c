/* See heap.h. */
#include "cli/heap.h"

#include <jansson.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/bigfile.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_PLAIN 1
#endif
#endif

#define HUGE_SZ ((uintptr_t)2 << 20)
#define BRK_STEP ((size_t)64 << 20)
#define REGION ((size_t)1 << 30)

static char *region;
static _Atomic size_t region_used;

static void *region_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15; /* malloc's alignment */
	size_t at = atomic_fetch_add_explicit(&region_used, n, memory_order_relaxed);
	if (n <= REGION && at <= REGION - n)
		return region + at;
	return malloc(n);
}

static void region_free(void *p)
{
	if ((char *)p >= region && (char *)p < region + REGION)
		return;
	free(p);
}

/* Grow the brk heap by BRK_STEP now (an allocation larger than its first piece, given back at once and kept by a
 * trim threshold above it), and mark the whole 2 MiB blocks of what it added for huge pages. */
static void brk_on_huge_pages(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20); /* the largest it takes */
	mallopt(M_TRIM_THRESHOLD, (int)(2 * BRK_STEP));
	mallopt(M_TOP_PAD, (int)BRK_STEP);
	char *lo = sbrk(0);
	void *volatile grow = malloc(1 << 20); /* volatile: a malloc freed unused may be left out by the compiler */
	free(grow);
	char *hi = sbrk(0);
	uintptr_t a = ((uintptr_t)lo + HUGE_SZ - 1) & ~(HUGE_SZ - 1), b = (uintptr_t)hi & ~(HUGE_SZ - 1);
	if (lo != (char *)-1 && b > a)
		madvise((void *)a, b - a, MADV_HUGEPAGE); /* a hint: it may fail, and memory is memory */
}

void heap_short_run_begin(void)
{
#ifndef HEAP_PLAIN
	static bool done;
	size_t maplen;
	if (!done) {
		done = true;
		brk_on_huge_pages();
		region = bigfile_anon(REGION, &maplen);
	}
	if (region)
		json_set_alloc_funcs(region_alloc, region_free);
#endif
}

void heap_short_run_end(void)
{
	if (region)
		json_set_alloc_funcs(malloc, region_free);
}

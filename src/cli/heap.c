/* See heap.h. */
#include "cli/heap.h"

#include <jansson.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/bigfile.h"
#include "model/jsonin.h"

int heap_print_json(json_t *o, size_t flags, const char *who)
{
	char *text = o && !jsonin_alloc_failures() ? jsonin_dumps(o, flags) : NULL;
	if (!text) {
		fprintf(stderr, "%s: out of memory\n", who);
		return -1;
	}
	puts(text);
	jsonin_free(text);
	return 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_PLAIN 1
#endif
#endif

#ifdef HEAP_PLAIN
void heap_short_run_begin(void)
{
}

void heap_short_run_end(void)
{
}
#else
#define HUGE_SZ ((uintptr_t)BIGFILE_HUGE_PAGE)
#define BRK_STEP ((size_t)64 << 20)
#define REGION ((size_t)1 << 30)

static char *region;
static _Atomic size_t region_used;

static void *region_alloc(size_t n)
{
	if (n > REGION) /* before rounding: a size near SIZE_MAX would round into a small one */
		return jsonin_malloc(n);
	n = n ? (n + 15) & ~(size_t)15 : 16; /* malloc's alignment; every allocation its own place */
	size_t at = atomic_fetch_add_explicit(&region_used, n, memory_order_relaxed);
	if (at <= REGION - n)
		return region + at;
	return jsonin_malloc(n);
}

static void region_free(void *p)
{
	if ((char *)p >= region && (char *)p < region + REGION)
		return;
	free(p);
}

/* Grow the brk heap by BRK_STEP now (an allocation larger than what is left of it grows it, and comes back at
 * once, kept by a trim threshold above the step), and mark the whole 2 MiB blocks of the top chunk for huge
 * pages. The top chunk would be handed out from its start, which is rarely 2 MiB-aligned: up to 2 MiB of 4 KiB
 * pages (512 faults) before the first huge one. So that stretch is taken by one allocation that is never
 * used (only its header's page is touched) nor freed. A 2 MiB block becomes a huge page only if nothing of it
 * was touched before it was marked. */
static void *volatile below_huge; /* that allocation (volatile: never read, it would be left out) */

static void brk_on_huge_pages(void)
{
	mallopt(M_ARENA_MAX, 1); /* a second thread (policy.c reads the files on one) allocates here too, not in an
				  * arena of its own in 4 KiB pages */
	mallopt(M_MMAP_THRESHOLD, 32 << 20); /* the largest it takes */
	mallopt(M_TRIM_THRESHOLD, (int)(2 * BRK_STEP));
	mallopt(M_TOP_PAD, (int)BRK_STEP);
	char *volatile top = malloc(1 << 20); /* volatile: a malloc freed unused may be left out by the compiler */
	uintptr_t t = (uintptr_t)top, hi = (uintptr_t)sbrk(0);
	free(top);
	if (!t || hi == (uintptr_t)-1)
		return;
	/* the growth wrote the header of what was left at t + 1 MiB, before the range was marked: its 2 MiB block
	 * would stay in 4 KiB pages, so the marked range begins above it */
	uintptr_t a = (t + (1 << 20) + 32 + HUGE_SZ - 1) & ~(HUGE_SZ - 1), b = hi & ~(HUGE_SZ - 1);
	if (b <= a)
		return;
	madvise((void *)a, b - a, MADV_HUGEPAGE); /* a hint: it may fail, and memory is memory */
	if (a - t > 64)
		below_huge = malloc(a - t - 32);
}

void heap_short_run_begin(void)
{
	static bool done;
	size_t maplen;
	if (!done) {
		done = true;
		brk_on_huge_pages();
		region = bigfile_anon(REGION, &maplen);
	}
	if (region) {
		json_set_alloc_funcs(region_alloc, region_free);
		jsonin_keep_trees(true);
	}
}

void heap_short_run_end(void)
{
	if (region) {
		json_set_alloc_funcs(jsonin_malloc, region_free);
		jsonin_keep_trees(false);
	}
}
#endif

/* A natural merge sort for arrays that arrive as a few sorted runs (normalized sets appended to each other, the
 * prefixes of a route table's tags, each published in order): linear for one or two runs and n log(runs) in
 * general, where qsort pays n log n whatever the input. RUNSORT_DEFINE(name, type, key, cmp) defines
 *   static void name(type *a, size_t n)
 * sorting by the member key (any type with <) with the comparison inlined; cmp is qsort's comparator for the
 * same order, used when no memory is left for the merge buffer. Not stable. */
#ifndef MINET_RUNSORT_H
#define MINET_RUNSORT_H

#include <stdlib.h>
#include <string.h>

#define RUNSORT_DEFINE(name, type, key, cmp)                                                                    \
	static size_t name##_run_end(const type *r, size_t n, size_t a)                                          \
	{                                                                                                        \
		size_t b = a + 1;                                                                                \
		while (b < n && r[b - 1].key <= r[b].key)                                                        \
			b++;                                                                                     \
		return b;                                                                                        \
	}                                                                                                        \
	static void name(type *a, size_t n)                                                                      \
	{                                                                                                        \
		if (n < 2 || name##_run_end(a, n, 0) == n)                                                       \
			return;                                                                                  \
		type *tmp = malloc(n * sizeof(*tmp)), *src = a, *dst = tmp;                                      \
		if (!tmp) {                                                                                      \
			qsort(a, n, sizeof(*a), cmp);                                                            \
			return;                                                                                  \
		}                                                                                                \
		for (;;) {                                                                                       \
			size_t i = 0, o = 0, runs = 0;                                                           \
			while (i < n) {                                                                          \
				size_t b = name##_run_end(src, n, i), c = b < n ? name##_run_end(src, n, b) : n; \
				size_t x = i, y = b;                                                             \
				while (x < b && y < c)                                                           \
					dst[o++] = src[y].key < src[x].key ? src[y++] : src[x++];                \
				while (x < b)                                                                    \
					dst[o++] = src[x++];                                                     \
				while (y < c)                                                                    \
					dst[o++] = src[y++];                                                     \
				i = c;                                                                           \
				runs++;                                                                          \
			}                                                                                        \
			type *t = src;                                                                           \
			src = dst;                                                                               \
			dst = t;                                                                                 \
			if (runs == 1)                                                                           \
				break;                                                                           \
		}                                                                                                \
		if (src != a)                                                                                    \
			memcpy(a, src, n * sizeof(*src));                                                        \
		free(tmp);                                                                                       \
	}

#endif

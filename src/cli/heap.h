/* Memory for a short run: `minet flow`, `route` and `verify` of one subnet read their inputs, answer and exit.
 * On the VMs we measure a page fault costs about 10 us, and reading a 1,000-rule NSG in a Terraform plan touched
 * some 2,800 fresh 4 KiB pages (28 ms) for 10 ms of work; malloc and free were a third of the work that was left.
 * heap_short_run_begin() trades reuse of memory for both:
 *  - the brk heap grows in one 64 MiB step marked for transparent huge pages, and allocations of up to 32 MiB come
 *    from it (not one mmap each), so a page fault brings in 2 MiB rather than 4 KiB;
 *  - until heap_short_run_end(), jansson allocates from a region with a bump pointer (json_set_alloc_funcs):
 *    allocation is an addition, freeing does nothing, and nothing of a tree is reused before the process exits;
 *    so a tree dropped for good is not walked to be freed either (jsonin_drop, model/jsonin.h).
 *    A run that outgrows the region (1 GiB of address space; only what is touched is memory) goes on with malloc.
 *    After the end jansson allocates from the heap again (through jsonin_malloc, model/jsonin.h); a tree of the
 *    region may still be freed at any time.
 *    What jansson hands out that is not a tree (json_dumps' text) is freed with jsonin_free, not free().
 * For a process that exits after its answer (not the estate, whose trees come and go by the thousand, nor
 * anything that stays up): policy_load calls them when policy_args.short_run says so. Without THP it is
 * ordinary memory; under AddressSanitizer it does nothing, so that every tree is still checked allocation by
 * allocation. */
#ifndef MINET_CLI_HEAP_H
#define MINET_CLI_HEAP_H

#include <jansson.h>

void heap_short_run_begin(void);
void heap_short_run_end(void);

/* A command's JSON output, printed whole or not at all: o's text and a newline, 0; or "WHO: out of memory" on
 * stderr, -1, when o is NULL or an allocation of jansson's has failed (jsonin_alloc_failures, model/jsonin.h:
 * something may be missing from it), or there is no memory for its text. */
int heap_print_json(json_t *o, size_t flags, const char *who);

#endif

/* A growing string for the rulesets the lab compiles; after an allocation failure it stays failed and sb_take
 * returns NULL. */
#ifndef MINET_REALIZE_SB_H
#define MINET_REALIZE_SB_H

#include <stdbool.h>
#include <stddef.h>

struct sb {
	char *s;
	size_t n, cap;
	bool failed;
};

void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (the caller frees it; "" when nothing was written), or NULL after a failure (b's memory freed). */
char *sb_take(struct sb *b);

#endif

/* The verbs' command lines, each from one table of its options: where each value goes and how it is checked.
 * One parser (getopt_long underneath) gives every verb the same -h/--help, the same messages for a bad option or
 * value, and the same count of operands. */
#ifndef MINET_CLI_ARGS_H
#define MINET_CLI_ARGS_H

#include <stdbool.h>

enum arg_kind {
	A_FLAG, /* to: bool *, set to true */
	A_STR,  /* to: const char **, the last one given */
	A_INT,  /* to: int *, a decimal number in [min, max] */
	A_LIST, /* to: const char *[max], n: int * counting them; repeatable up to max times */
	A_FN,   /* fn(to, value): 0, or -1 after saying why on stderr (checks that need the options before it) */
};

struct arg {
	const char *name; /* the long option, without "--" */
	enum arg_kind kind;
	void *to;
	int *n;
	int min, max;
	int (*fn)(void *to, const char *value);
	bool no_value;    /* A_FN: the option takes no value (fn gets NULL) */
};

/* The entries of a table. */
#define ARG_FLAG(name, p) { name, A_FLAG, p, NULL, 0, 0, NULL, false }
#define ARG_STR(name, p) { name, A_STR, p, NULL, 0, 0, NULL, false }
#define ARG_INT(name, p, min, max) { name, A_INT, p, NULL, min, max, NULL, false }
#define ARG_LIST(name, array, count, max) { name, A_LIST, array, count, 0, max, NULL, false }
#define ARG_FN(name, ctx, fn) { name, A_FN, ctx, NULL, 0, 0, fn, false }
#define ARGS_END { NULL, A_FLAG, NULL, NULL, 0, 0, NULL, false }

enum { ARGS_HELP = -1, ARGS_BAD = -2 };

/* Parse argv[1..] (argv[0] is the verb) against the table ended by ARGS_END. Returns the index of the first
 * operand; ARGS_HELP after printing usage to stdout for -h or --help; ARGS_BAD after printing the reason
 * ("minet VERB: …") and usage to stderr: an unknown option, a missing or bad value, or more than max_operands
 * operands (-1: any number). */
int args_parse(const char *verb, int argc, char **argv, const struct arg *table, int max_operands,
	       const char *usage);

/* What a verb returns for a result of args_parse below 0: 0 after --help, 2 on misuse. */
static inline int args_exit(int r)
{
	return r == ARGS_HELP ? 0 : 2;
}

#endif

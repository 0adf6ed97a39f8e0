/* One parser for the verbs' options; see args.h. */
#include "cli/args.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_ARGS = 64, FIRST_VAL = 0x1000 };

static int bad(const char *verb, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const char *verb, const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "minet %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return ARGS_BAD;
}

/* Store one option's value; 0, or ARGS_BAD (reported). */
static int store(const char *verb, const struct arg *a, const char *v)
{
	switch (a->kind) {
	case A_FLAG: *(bool *)a->to = true; return 0;
	case A_STR: *(const char **)a->to = v; return 0;
	case A_INT: {
		char *end;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (!*v || *end || errno || x < a->min || x > a->max) {
			fprintf(stderr, "minet %s: --%s '%s': want %d-%d\n", verb, a->name, v, a->min, a->max);
			return ARGS_BAD;
		}
		*(int *)a->to = (int)x;
		return 0;
	}
	case A_LIST:
		if (*a->n == a->max) {
			fprintf(stderr, "minet %s: at most %d --%s\n", verb, a->max, a->name);
			return ARGS_BAD;
		}
		((const char **)a->to)[(*a->n)++] = v;
		return 0;
	case A_FN:
	default: return a->fn(a->to, v) < 0 ? ARGS_BAD : 0;
	}
}

int args_parse(const char *verb, int argc, char **argv, const struct arg *table, int max_operands,
	       const char *usage)
{
	struct option opts[MAX_ARGS + 2];
	int n = 0, c;
	for (; table[n].name; n++) {
		if (n == MAX_ARGS)
			return bad(verb, usage, "more than %d options in one table", MAX_ARGS);
		bool none = table[n].kind == A_FLAG || (table[n].kind == A_FN && table[n].no_value);
		opts[n] = (struct option){ table[n].name, none ? no_argument : required_argument, NULL, FIRST_VAL + n };
	}
	opts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n + 1] = (struct option){ 0 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return ARGS_HELP;
		}
		if (c == ':')
			return bad(verb, usage, "%s needs a value", argv[optind - 1]);
		if (c < FIRST_VAL || c >= FIRST_VAL + n)
			return bad(verb, usage, "unknown option '%s'", argv[optind - 1]);
		if (store(verb, &table[c - FIRST_VAL], optarg) < 0)
			return ARGS_BAD;
	}
	if (max_operands >= 0 && argc - optind > max_operands)
		return bad(verb, usage, "unexpected argument '%s'", argv[optind + max_operands]);
	return optind;
}

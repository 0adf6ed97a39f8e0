/* Internal to the ARM template evaluator (armtmpl.c: parser, parameters, resources; armfn.c: the functions):
 * the evaluation state and the small helpers both use. Not an API. */
#ifndef MINET_ARMTMPL_INT_H
#define MINET_ARMTMPL_INT_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/diag.h"
#include "model/jsonin.h"

/* What only a real deployment knows (docs/arm-templates.md). */
#define PH_SUB "00000000-0000-0000-0000-000000000000"
#define PH_TENANT "00000000-0000-0000-0000-000000000000"
#define PH_RG "resourceGroup"
#define PH_LOC "resourceGroupLocation"

enum {
	MAX_DEPTH = 100,    /* nested values, expressions and variables together */
	MAX_LOOPS = 16,
	MAX_COPY = 800,     /* Azure's limit on a copy loop's count */
	MAX_RANGE = 10000,  /* Azure's limit on range()'s count */
	MAX_ITEMS = 100000, /* elements of an array built by a function */
	MAX_STR = 4 << 20,  /* bytes of a string built by a function (Azure's template size limit) */
	MAX_WORK = 4000000, /* values evaluated in one call: bounds what a hostile template can cost */
	MAX_ARGS = 64,
};

struct loop {
	const char *name;
	long long i;
	bool resource; /* a resource copy: copyIndex() without a name means this one */
};

struct ev {
	json_t *pdefs, *pvals, *params, *vdefs, *vars;
	json_t *busy;   /* "p:NAME" / "v:NAME" being evaluated: a cycle is an error */
	json_t *failed; /* the same keys, for values whose error is already reported */
	struct loop loops[MAX_LOOPS];
	int nloops, lbase; /* copyIndex() sees loops[lbase..nloops) */
	struct diag *d;
	int depth;
	long work;
	char err[512];     /* why the current expression failed */
	bool reported;     /* a diag line already says it */
	const char *top;   /* path of the outermost expression being evaluated */
	const char *base;  /* path of this template: "" at the root, "resources[3].properties.template." in a nested one */
	struct ev *caller; /* a nested deployment with inner scope: where its parameters' values are evaluated */
	const char *caller_path; /* the nested deployment resource's path in the caller */
};


static inline json_t *fail(struct ev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline json_t *fail(struct ev *e, const char *fmt, ...)
{
	if (!e->err[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->err, sizeof(e->err), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static inline json_t *geti(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k), *val;
	const char *key;
	if (v || !json_is_object(o))
		return v;
	json_object_foreach(o, key, val)
		if (!strcasecmp(key, k))
			return val;
	return NULL;
}

static inline const char *tname(const json_t *v)
{
	return v ? jsonin_typename(v) : "missing";
}

/* ---- strings ---- */

struct sb {
	char *p;
	size_t n, cap;
};

bool armsb_add(struct sb *b, const char *s, size_t n);
/* A value as ARM's string() writes it: booleans as .NET does ("True"), objects and arrays as compact JSON. */
bool armsb_value(struct sb *b, const json_t *v);
/* The buffer as a new string (freeing it), or NULL with e->err set. */
json_t *armsb_done(struct ev *e, struct sb *b);

static inline json_t *str(struct ev *e, const char *s, size_t n)
{
	json_t *r = json_stringn(s, n);
	return r ? r : fail(e, "the result is not valid UTF-8");
}

/* Argument i of fn must be of type t (JSON_TRUE: a boolean). */
static inline bool need(struct ev *e, json_t *v, json_type t, const char *fn, int i)
{
	static const char *names[] = { [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
				       [JSON_INTEGER] = "an integer", [JSON_TRUE] = "a boolean" };
	if (json_typeof(v) == t || (t == JSON_TRUE && json_is_boolean(v)))
		return true;
	fail(e, "%s(): argument %d must be %s, not %s", fn, i + 1, names[t], tname(v));
	return false;
}

static inline bool need_all(struct ev *e, json_t **a, int n, json_type t, const char *fn)
{
	for (int i = 0; i < n; i++)
		if (!need(e, a[i], t, fn, i))
			return false;
	return true;
}


/* ---- functions (armfn.c) ---- */

typedef json_t *fn_t(struct ev *e, json_t **a, int n);

struct fn {
	const char *name; /* lower case; the table is sorted by it */
	int min, max;     /* argument counts */
	fn_t *f;          /* NULL: if() (the parser evaluates it) or not supported */
	bool unsupported; /* needs a real deployment */
};

/* The function named `name` (case-insensitive), or NULL. */
const struct fn *armfn_find(const char *name);

/* In armtmpl.c: parameters('name'), variables('name'). */
json_t *armtmpl_parameters(struct ev *e, json_t **a, int n);
json_t *armtmpl_variables(struct ev *e, json_t **a, int n);


#endif

/* ARM template evaluation: a recursive-descent parser for the "[…]" expression language that evaluates as it
 * parses (no tree), a table of functions, and a walk over "resources" that expands copy loops and conditions.
 * Values are jansson values; every function returns a new reference or NULL with ev.err set.
 * Parameters and variables are evaluated on first use and cached, so a variable used by 1,000 rules costs once. */
#include "model/armtmpl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
};

static json_t *ev_value(struct ev *e, json_t *v, const char *path);

static json_t *fail(struct ev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *fail(struct ev *e, const char *fmt, ...)
{
	if (!e->err[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->err, sizeof(e->err), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static json_t *geti(json_t *o, const char *k)
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

static const char *tname(const json_t *v)
{
	if (!v)
		return "missing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* ---- strings ---- */

struct sb {
	char *p;
	size_t n, cap;
};

static bool sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
	return true;
}

/* A value as ARM's string() writes it: booleans as .NET does ("True"), objects and arrays as compact JSON. */
static bool sb_value(struct sb *b, const json_t *v)
{
	char tmp[32];
	switch (json_typeof(v)) {
	case JSON_STRING: return sb_add(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return sb_add(b, tmp, strlen(tmp));
	case JSON_TRUE: return sb_add(b, "True", 4);
	case JSON_FALSE: return sb_add(b, "False", 5);
	case JSON_NULL: return true;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		bool ok = s && sb_add(b, s, strlen(s));
		free(s);
		return ok;
	}
	}
}

static json_t *sb_done(struct ev *e, struct sb *b)
{
	json_t *r = NULL;
	if (b->n > MAX_STR)
		fail(e, "the result is longer than %d bytes", MAX_STR);
	else if (!(r = json_stringn(b->p ? b->p : "", b->n)))
		fail(e, "the result is not valid UTF-8");
	free(b->p);
	return r;
}

static json_t *str(struct ev *e, const char *s, size_t n)
{
	json_t *r = json_stringn(s, n);
	return r ? r : fail(e, "the result is not valid UTF-8");
}

/* ---- the expression parser ---- */

struct px {
	struct ev *e;
	const char *start, *p, *end;
	int skip; /* > 0: parse only (the branch of if() not taken) */
};

static json_t *parse_expr(struct px *x);

static void ws(struct px *x)
{
	while (x->p < x->end && isspace((unsigned char)*x->p))
		x->p++;
}

static json_t *parse_string(struct px *x)
{
	struct sb b = { 0 };
	x->p++;
	for (;;) {
		if (x->p >= x->end) {
			free(b.p);
			return fail(x->e, "unterminated string literal");
		}
		const char *q = x->p;
		while (q < x->end && *q != '\'')
			q++;
		if (!sb_add(&b, x->p, (size_t)(q - x->p))) {
			free(b.p);
			return fail(x->e, "out of memory");
		}
		x->p = q;
		if (q + 1 < x->end && q[1] == '\'') {
			sb_add(&b, "'", 1);
			x->p += 2;
		} else if (q < x->end) {
			x->p++;
			break;
		}
	}
	if (x->skip) {
		free(b.p);
		return json_null();
	}
	return sb_done(x->e, &b);
}

static json_t *parse_number(struct px *x)
{
	const char *s = x->p;
	long long v = 0;
	bool neg = *x->p == '-';
	if (neg)
		x->p++;
	if (x->p >= x->end || !isdigit((unsigned char)*x->p))
		return fail(x->e, "expected a number after '-'");
	for (; x->p < x->end && isdigit((unsigned char)*x->p); x->p++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *x->p - '0', &v))
			return fail(x->e, "number %.*s is out of range", (int)(x->end - s), s);
	if (x->p < x->end && *x->p == '.')
		return fail(x->e, "only integer literals are supported");
	return json_integer(neg ? -v : v);
}

static size_t ident(struct px *x)
{
	const char *s = x->p;
	while (x->p < x->end && (isalnum((unsigned char)*x->p) || *x->p == '_'))
		x->p++;
	return (size_t)(x->p - s);
}

/* obj.name or obj[index]; both case-insensitive on object keys, as ARM is. */
static json_t *member(struct ev *e, json_t *obj, json_t *key)
{
	json_t *r = NULL;
	if (json_is_string(key)) {
		if (!json_is_object(obj))
			return fail(e, "cannot read property '%s' of %s", json_string_value(key), tname(obj));
		r = geti(obj, json_string_value(key));
		if (!r)
			return fail(e, "the object has no property '%s'", json_string_value(key));
	} else if (json_is_integer(key)) {
		json_int_t i = json_integer_value(key);
		if (!json_is_array(obj))
			return fail(e, "cannot index %s with an integer", tname(obj));
		if (i < 0 || (size_t)i >= json_array_size(obj))
			return fail(e, "index %" JSON_INTEGER_FORMAT " is out of range (the array has %zu elements)", i,
				    json_array_size(obj));
		r = json_array_get(obj, (size_t)i);
	} else {
		return fail(e, "an index must be an integer or a string, not %s", tname(key));
	}
	return json_incref(r);
}

static json_t *call(struct px *x, const char *name, size_t len);

static json_t *parse_primary(struct px *x)
{
	ws(x);
	if (x->p >= x->end)
		return fail(x->e, "unexpected end of expression");
	char c = *x->p;
	if (c == '\'')
		return parse_string(x);
	if (c == '-' || isdigit((unsigned char)c))
		return parse_number(x);
	const char *name = x->p;
	size_t len = ident(x);
	if (!len)
		return fail(x->e, "unexpected '%c' at offset %td", c, x->p - x->start);
	ws(x);
	if (x->p >= x->end || *x->p != '(')
		return fail(x->e, "'%.*s' is not a function call (expected '(')", (int)len, name);
	x->p++;
	return call(x, name, len);
}

static json_t *parse_expr(struct px *x)
{
	if (++x->e->depth > MAX_DEPTH) {
		x->e->depth--;
		return fail(x->e, "nested too deeply");
	}
	json_t *v = parse_primary(x);
	while (v) {
		ws(x);
		if (x->p >= x->end || (*x->p != '.' && *x->p != '['))
			break;
		json_t *key;
		if (*x->p == '.') {
			x->p++;
			ws(x);
			const char *s = x->p;
			size_t n = ident(x);
			if (!n) {
				json_decref(v);
				v = fail(x->e, "expected a property name after '.'");
				break;
			}
			key = json_stringn(s, n);
		} else {
			x->p++;
			key = parse_expr(x);
			ws(x);
			if (key && (x->p >= x->end || *x->p != ']')) {
				json_decref(key);
				key = fail(x->e, "expected ']'");
			} else if (key) {
				x->p++;
			}
		}
		json_t *r = !key ? NULL : x->skip ? json_null() : member(x->e, v, key);
		json_decref(key);
		json_decref(v);
		v = r;
	}
	x->e->depth--;
	return v;
}

/* ---- functions ---- */

typedef json_t *fn_t(struct ev *e, json_t **a, int n);

struct fn {
	const char *name; /* lower case; the table is sorted by it */
	int min, max;     /* argument counts */
	fn_t *f;
};

static bool need(struct ev *e, json_t *v, json_type t, const char *fn, int i)
{
	static const char *names[] = { [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
				       [JSON_INTEGER] = "an integer", [JSON_TRUE] = "a boolean" };
	if (json_typeof(v) == t || (t == JSON_TRUE && json_is_boolean(v)))
		return true;
	fail(e, "%s(): argument %d must be %s, not %s", fn, i + 1, names[t], tname(v));
	return false;
}

static bool need_all(struct ev *e, json_t **a, int n, json_type t, const char *fn)
{
	for (int i = 0; i < n; i++)
		if (!need(e, a[i], t, fn, i))
			return false;
	return true;
}

static json_t *f_parameters(struct ev *e, json_t **a, int n);
static json_t *f_variables(struct ev *e, json_t **a, int n);

static json_t *f_true(struct ev *e, json_t **a, int n) { return json_true(); }
static json_t *f_false(struct ev *e, json_t **a, int n) { return json_false(); }
static json_t *f_null(struct ev *e, json_t **a, int n) { return json_null(); }

static json_t *f_concat(struct ev *e, json_t **a, int n)
{
	if (n && json_is_array(a[0])) {
		json_t *r = json_array();
		for (int i = 0; i < n; i++) {
			if (!need(e, a[i], JSON_ARRAY, "concat", i) ||
			    json_array_size(r) + json_array_size(a[i]) > MAX_ITEMS) {
				json_decref(r);
				return e->err[0] ? NULL : fail(e, "concat(): more than %d elements", MAX_ITEMS);
			}
			json_array_extend(r, a[i]);
		}
		return r;
	}
	struct sb b = { 0 };
	for (int i = 0; i < n; i++) {
		if (json_is_object(a[i]) || json_is_array(a[i])) {
			free(b.p);
			return fail(e, "concat(): argument %d is %s; concat joins strings or arrays", i + 1, tname(a[i]));
		}
		if (!sb_value(&b, a[i]) || b.n > MAX_STR)
			break;
	}
	return sb_done(e, &b);
}

/* .NET composite formatting: {N}, {N,width}, {N:format} (width and format are ignored), {{ and }}. */
static json_t *f_format(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "format", 0))
		return NULL;
	const char *s = json_string_value(a[0]), *end = s + json_string_length(a[0]);
	struct sb b = { 0 };
	while (s < end && b.n <= MAX_STR) {
		if ((*s == '{' || *s == '}') && s + 1 < end && s[1] == *s) {
			sb_add(&b, s, 1);
			s += 2;
		} else if (*s == '{') {
			char *q;
			long i = strtol(s + 1, &q, 10);
			if (q == s + 1 || i < 0 || i >= n - 1) {
				free(b.p);
				return fail(e, "format(): placeholder at offset %td names no argument", s - json_string_value(a[0]));
			}
			while (q < end && *q != '}')
				q++;
			if (q >= end) {
				free(b.p);
				return fail(e, "format(): '{' without '}'");
			}
			sb_value(&b, a[i + 1]);
			s = q + 1;
		} else {
			const char *q = s + 1;
			while (q < end && *q != '{' && *q != '}')
				q++;
			sb_add(&b, s, (size_t)(q - s));
			s = q;
		}
	}
	return sb_done(e, &b);
}

static json_t *f_string(struct ev *e, json_t **a, int n)
{
	struct sb b = { 0 };
	sb_value(&b, a[0]);
	return sb_done(e, &b);
}

static json_t *f_int(struct ev *e, json_t **a, int n)
{
	if (json_is_integer(a[0]))
		return json_incref(a[0]);
	if (!need(e, a[0], JSON_STRING, "int", 0))
		return NULL;
	const char *s = json_string_value(a[0]);
	char *q;
	errno = 0;
	long long v = strtoll(s, &q, 10);
	while (isspace((unsigned char)*q))
		q++;
	if (q == s || *q || errno)
		return fail(e, "int(): '%s' is not an integer", s);
	return json_integer(v);
}

static json_t *f_bool(struct ev *e, json_t **a, int n)
{
	if (json_is_boolean(a[0]))
		return json_incref(a[0]);
	if (json_is_integer(a[0]))
		return json_boolean(json_integer_value(a[0]) != 0);
	if (json_is_string(a[0]) && !strcasecmp(json_string_value(a[0]), "true"))
		return json_true();
	if (json_is_string(a[0]) && !strcasecmp(json_string_value(a[0]), "false"))
		return json_false();
	return fail(e, "bool(): cannot convert %s", tname(a[0]));
}

static json_t *f_json(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "json", 0))
		return NULL;
	json_error_t je;
	json_t *r = json_loadb(json_string_value(a[0]), json_string_length(a[0]), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	return r ? r : fail(e, "json(): %s", je.text);
}

static json_t *arith(struct ev *e, json_t **a, const char *fn, char op)
{
	if (!need_all(e, a, 2, JSON_INTEGER, fn))
		return NULL;
	long long x = json_integer_value(a[0]), y = json_integer_value(a[1]), r = 0;
	bool over = false;
	switch (op) {
	case '+': over = __builtin_add_overflow(x, y, &r); break;
	case '-': over = __builtin_sub_overflow(x, y, &r); break;
	case '*': over = __builtin_mul_overflow(x, y, &r); break;
	default:
		if (y == 0)
			return fail(e, "%s(): division by zero", fn);
		if (x == LLONG_MIN && y == -1)
			over = true;
		else
			r = op == '/' ? x / y : x % y;
	}
	return over ? fail(e, "%s(): integer overflow", fn) : json_integer(r);
}

static json_t *f_add(struct ev *e, json_t **a, int n) { return arith(e, a, "add", '+'); }
static json_t *f_sub(struct ev *e, json_t **a, int n) { return arith(e, a, "sub", '-'); }
static json_t *f_mul(struct ev *e, json_t **a, int n) { return arith(e, a, "mul", '*'); }
static json_t *f_div(struct ev *e, json_t **a, int n) { return arith(e, a, "div", '/'); }
static json_t *f_mod(struct ev *e, json_t **a, int n) { return arith(e, a, "mod", '%'); }

static json_t *minmax(struct ev *e, json_t **a, int n, const char *fn, int sign)
{
	json_t **v = a, *x;
	size_t cnt = (size_t)n;
	if (n == 1 && json_is_array(a[0])) {
		cnt = json_array_size(a[0]);
		v = NULL;
	}
	if (!cnt)
		return fail(e, "%s(): no values", fn);
	long long best = 0;
	for (size_t i = 0; i < cnt; i++) {
		x = v ? v[i] : json_array_get(a[0], i);
		if (!json_is_integer(x))
			return fail(e, "%s(): value %zu is %s, not an integer", fn, i + 1, tname(x));
		long long y = json_integer_value(x);
		if (!i || (sign > 0 ? y > best : y < best))
			best = y;
	}
	return json_integer(best);
}

static json_t *f_min(struct ev *e, json_t **a, int n) { return minmax(e, a, n, "min", -1); }
static json_t *f_max(struct ev *e, json_t **a, int n) { return minmax(e, a, n, "max", 1); }

/* [inference] equals() compares strings case-sensitively, like JSON; Microsoft's page shows only exact cases. */
static json_t *f_equals(struct ev *e, json_t **a, int n) { return json_boolean(json_equal(a[0], a[1])); }

static int compare(struct ev *e, json_t **a, const char *fn, bool *ok)
{
	*ok = true;
	if (json_is_integer(a[0]) && json_is_integer(a[1]))
		return (json_integer_value(a[0]) > json_integer_value(a[1])) - (json_integer_value(a[0]) < json_integer_value(a[1]));
	if (json_is_string(a[0]) && json_is_string(a[1]))
		return strcmp(json_string_value(a[0]), json_string_value(a[1]));
	*ok = false;
	fail(e, "%s(): cannot compare %s with %s", fn, tname(a[0]), tname(a[1]));
	return 0;
}

#define CMP(fname, label, test)                                                                                        \
	static json_t *fname(struct ev *e, json_t **a, int n)                                                          \
	{                                                                                                              \
		bool ok;                                                                                               \
		int c = compare(e, a, label, &ok);                                                                     \
		return ok ? json_boolean(test) : NULL;                                                                 \
	}
CMP(f_less, "less", c < 0)
CMP(f_lessorequals, "lessOrEquals", c <= 0)
CMP(f_greater, "greater", c > 0)
CMP(f_greaterorequals, "greaterOrEquals", c >= 0)

static json_t *f_not(struct ev *e, json_t **a, int n)
{
	return need(e, a[0], JSON_TRUE, "not", 0) ? json_boolean(!json_is_true(a[0])) : NULL;
}

static json_t *f_and(struct ev *e, json_t **a, int n)
{
	bool r = true;
	for (int i = 0; i < n; i++) {
		if (!need(e, a[i], JSON_TRUE, "and", i))
			return NULL;
		r = r && json_is_true(a[i]);
	}
	return json_boolean(r);
}

static json_t *f_or(struct ev *e, json_t **a, int n)
{
	bool r = false;
	for (int i = 0; i < n; i++) {
		if (!need(e, a[i], JSON_TRUE, "or", i))
			return NULL;
		r = r || json_is_true(a[i]);
	}
	return json_boolean(r);
}

static json_t *f_coalesce(struct ev *e, json_t **a, int n)
{
	for (int i = 0; i < n; i++)
		if (!json_is_null(a[i]))
			return json_incref(a[i]);
	return json_null();
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static json_t *f_length(struct ev *e, json_t **a, int n)
{
	switch (json_typeof(a[0])) {
	case JSON_STRING: return json_integer((json_int_t)utf8_len(json_string_value(a[0]), json_string_length(a[0])));
	case JSON_ARRAY: return json_integer((json_int_t)json_array_size(a[0]));
	case JSON_OBJECT: return json_integer((json_int_t)json_object_size(a[0]));
	default: return fail(e, "length(): argument is %s; expected a string, an array or an object", tname(a[0]));
	}
}

static json_t *f_empty(struct ev *e, json_t **a, int n)
{
	switch (json_typeof(a[0])) {
	case JSON_STRING: return json_boolean(json_string_length(a[0]) == 0);
	case JSON_ARRAY: return json_boolean(json_array_size(a[0]) == 0);
	case JSON_OBJECT: return json_boolean(json_object_size(a[0]) == 0);
	case JSON_NULL: return json_true();
	default: return fail(e, "empty(): argument is %s", tname(a[0]));
	}
}

static json_t *f_contains(struct ev *e, json_t **a, int n)
{
	size_t i;
	json_t *v;
	switch (json_typeof(a[0])) {
	case JSON_STRING: {
		struct sb b = { 0 };
		if (!sb_value(&b, a[1]))
			return fail(e, "out of memory");
		bool r = strstr(json_string_value(a[0]), b.p ? b.p : "") != NULL;
		free(b.p);
		return json_boolean(r);
	}
	case JSON_ARRAY:
		json_array_foreach(a[0], i, v)
			if (json_equal(v, a[1]))
				return json_true();
		return json_false();
	case JSON_OBJECT:
		return need(e, a[1], JSON_STRING, "contains", 1) ? json_boolean(geti(a[0], json_string_value(a[1])) != NULL) : NULL;
	default: return fail(e, "contains(): argument 1 is %s", tname(a[0]));
	}
}

/* A string argument, or a list of them (split's delimiters). */
static json_t *f_split(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "split", 0))
		return NULL;
	json_t *delims = json_is_array(a[1]) ? a[1] : NULL;
	if (!delims && !need(e, a[1], JSON_STRING, "split", 1))
		return NULL;
	size_t nd = delims ? json_array_size(delims) : 1;
	for (size_t k = 0; k < nd; k++) {
		json_t *d = delims ? json_array_get(delims, k) : a[1];
		if (!json_is_string(d) || !json_string_length(d))
			return fail(e, "split(): delimiters must be non-empty strings");
	}
	const char *s = json_string_value(a[0]), *end = s + json_string_length(a[0]), *start = s;
	json_t *r = json_array();
	while (s <= end) {
		size_t hit = 0;
		for (size_t k = 0; k < nd && s < end; k++) {
			json_t *d = delims ? json_array_get(delims, k) : a[1];
			size_t dl = json_string_length(d);
			if ((size_t)(end - s) >= dl && !memcmp(s, json_string_value(d), dl)) {
				hit = dl;
				break;
			}
		}
		if (hit || s == end) {
			json_array_append_new(r, json_stringn(start, (size_t)(s - start)));
			if (json_array_size(r) > MAX_ITEMS) {
				json_decref(r);
				return fail(e, "split(): more than %d parts", MAX_ITEMS);
			}
			if (s == end)
				break;
			s += hit;
			start = s;
		} else {
			s++;
		}
	}
	return r;
}

static json_t *f_replace(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, 3, JSON_STRING, "replace"))
		return NULL;
	const char *s = json_string_value(a[0]), *old = json_string_value(a[1]), *end = s + json_string_length(a[0]);
	size_t ol = json_string_length(a[1]);
	if (!ol)
		return fail(e, "replace(): the string to replace is empty");
	struct sb b = { 0 };
	while (s < end && b.n <= MAX_STR) {
		const char *q = memmem(s, (size_t)(end - s), old, ol);
		if (!q) {
			sb_add(&b, s, (size_t)(end - s));
			break;
		}
		sb_add(&b, s, (size_t)(q - s));
		sb_add(&b, json_string_value(a[2]), json_string_length(a[2]));
		s = q + ol;
	}
	if (!b.p)
		sb_add(&b, "", 0);
	return sb_done(e, &b);
}

static json_t *casemap(struct ev *e, json_t *v, const char *fn, int (*map)(int))
{
	if (!need(e, v, JSON_STRING, fn, 0))
		return NULL;
	size_t n = json_string_length(v);
	char *s = malloc(n + 1);
	if (!s)
		return fail(e, "out of memory");
	for (size_t i = 0; i < n; i++)
		s[i] = (char)((unsigned char)json_string_value(v)[i] < 0x80 ? map((unsigned char)json_string_value(v)[i])
									    : json_string_value(v)[i]);
	json_t *r = str(e, s, n);
	free(s);
	return r;
}

static json_t *f_tolower(struct ev *e, json_t **a, int n) { return casemap(e, a[0], "toLower", tolower); }
static json_t *f_toupper(struct ev *e, json_t **a, int n) { return casemap(e, a[0], "toUpper", toupper); }

static json_t *f_trim(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "trim", 0))
		return NULL;
	const char *s = json_string_value(a[0]), *end = s + json_string_length(a[0]);
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return str(e, s, (size_t)(end - s));
}

/* [inference] startsWith/endsWith/indexOf are case-insensitive (Microsoft's pages say so); ASCII folding only. */
static const char *find_ci(const char *h, size_t hn, const char *nd, size_t nn, bool last)
{
	const char *hit = NULL;
	for (size_t i = 0; i + nn <= hn; i++)
		if (!strncasecmp(h + i, nd, nn)) {
			hit = h + i;
			if (!last)
				break;
		}
	return hit;
}

static json_t *f_startswith(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, 2, JSON_STRING, "startsWith"))
		return NULL;
	size_t hn = json_string_length(a[0]), nn = json_string_length(a[1]);
	return json_boolean(nn <= hn && !strncasecmp(json_string_value(a[0]), json_string_value(a[1]), nn));
}

static json_t *f_endswith(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, 2, JSON_STRING, "endsWith"))
		return NULL;
	size_t hn = json_string_length(a[0]), nn = json_string_length(a[1]);
	return json_boolean(nn <= hn && !strncasecmp(json_string_value(a[0]) + hn - nn, json_string_value(a[1]), nn));
}

static json_t *indexof(struct ev *e, json_t **a, const char *fn, bool last)
{
	if (!need_all(e, a, 2, JSON_STRING, fn))
		return NULL;
	const char *h = json_string_value(a[0]);
	const char *q = find_ci(h, json_string_length(a[0]), json_string_value(a[1]), json_string_length(a[1]), last);
	return json_integer(q ? (json_int_t)utf8_len(h, (size_t)(q - h)) : -1);
}

static json_t *f_indexof(struct ev *e, json_t **a, int n) { return indexof(e, a, "indexOf", false); }
static json_t *f_lastindexof(struct ev *e, json_t **a, int n) { return indexof(e, a, "lastIndexOf", true); }

static json_t *f_substring(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "substring", 0) || !need(e, a[1], JSON_INTEGER, "substring", 1) ||
	    (n > 2 && !need(e, a[2], JSON_INTEGER, "substring", 2)))
		return NULL;
	long long len = (long long)json_string_length(a[0]), st = json_integer_value(a[1]);
	long long cnt = n > 2 ? json_integer_value(a[2]) : len - st;
	if (st < 0 || cnt < 0 || st > len || cnt > len - st)
		return fail(e, "substring(): start %lld and length %lld are outside the string (length %lld)", st, cnt, len);
	return str(e, json_string_value(a[0]) + st, (size_t)cnt);
}

static json_t *f_padleft(struct ev *e, json_t **a, int n)
{
	struct sb v = { 0 }, b = { 0 };
	if (!need(e, a[1], JSON_INTEGER, "padLeft", 1) || (n > 2 && !need(e, a[2], JSON_STRING, "padLeft", 2)))
		return NULL;
	const char *pad = n > 2 ? json_string_value(a[2]) : " ";
	if (strlen(pad) != 1)
		return fail(e, "padLeft(): the padding must be one character");
	long long want = json_integer_value(a[1]);
	if (want > MAX_STR)
		return fail(e, "padLeft(): length %lld is too large", want);
	sb_value(&v, a[0]);
	for (long long i = (long long)v.n; i < want; i++)
		sb_add(&b, pad, 1);
	sb_add(&b, v.p ? v.p : "", v.n);
	free(v.p);
	return sb_done(e, &b);
}

/* first/last/take/skip on an array or a string. */
static json_t *slice(struct ev *e, json_t *v, long long from, long long cnt, const char *fn)
{
	if (!json_is_array(v) && !json_is_string(v))
		return fail(e, "%s(): argument is %s; expected an array or a string", fn, tname(v));
	long long len = (long long)(json_is_array(v) ? json_array_size(v) : json_string_length(v));
	from = from < 0 ? 0 : from > len ? len : from;
	cnt = cnt < 0 ? 0 : cnt > len - from ? len - from : cnt;
	if (json_is_string(v))
		return str(e, json_string_value(v) + from, (size_t)cnt);
	json_t *r = json_array();
	for (long long i = from; i < from + cnt; i++)
		json_array_append(r, json_array_get(v, (size_t)i));
	return r;
}

static json_t *f_first(struct ev *e, json_t **a, int n)
{
	if (json_is_array(a[0]))
		return json_array_size(a[0]) ? json_incref(json_array_get(a[0], 0)) : json_null();
	return slice(e, a[0], 0, 1, "first");
}

static json_t *f_last(struct ev *e, json_t **a, int n)
{
	if (json_is_array(a[0])) {
		size_t k = json_array_size(a[0]);
		return k ? json_incref(json_array_get(a[0], k - 1)) : json_null();
	}
	if (!need(e, a[0], JSON_STRING, "last", 0))
		return NULL;
	long long len = (long long)json_string_length(a[0]);
	return slice(e, a[0], len ? len - 1 : 0, 1, "last");
}

static json_t *f_take(struct ev *e, json_t **a, int n)
{
	return need(e, a[1], JSON_INTEGER, "take", 1) ? slice(e, a[0], 0, json_integer_value(a[1]), "take") : NULL;
}

static json_t *f_skip(struct ev *e, json_t **a, int n)
{
	return need(e, a[1], JSON_INTEGER, "skip", 1) ? slice(e, a[0], json_integer_value(a[1]), LLONG_MAX / 2, "skip")
						      : NULL;
}

static json_t *f_range(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, 2, JSON_INTEGER, "range"))
		return NULL;
	long long st = json_integer_value(a[0]), cnt = json_integer_value(a[1]);
	if (cnt < 0 || cnt > MAX_RANGE || st > INT32_MAX - cnt || st < INT32_MIN)
		return fail(e, "range(): count %lld from %lld is outside 0..%d or overflows", cnt, st, MAX_RANGE);
	json_t *r = json_array();
	for (long long i = 0; i < cnt; i++)
		json_array_append_new(r, json_integer(st + i));
	return r;
}

static json_t *f_createarray(struct ev *e, json_t **a, int n)
{
	json_t *r = json_array();
	for (int i = 0; i < n; i++)
		json_array_append(r, a[i]);
	return r;
}

static json_t *f_createobject(struct ev *e, json_t **a, int n)
{
	if (n % 2)
		return fail(e, "createObject(): needs pairs of key and value");
	json_t *r = json_object();
	for (int i = 0; i < n; i += 2) {
		if (!need(e, a[i], JSON_STRING, "createObject", i)) {
			json_decref(r);
			return NULL;
		}
		json_object_set(r, json_string_value(a[i]), a[i + 1]);
	}
	return r;
}

/* [inference] union() of objects is shallow: a later object's member replaces an earlier one whole. */
static json_t *f_union(struct ev *e, json_t **a, int n)
{
	if (json_is_object(a[0])) {
		json_t *r = json_object();
		for (int i = 0; i < n; i++) {
			if (!need(e, a[i], JSON_OBJECT, "union", i)) {
				json_decref(r);
				return NULL;
			}
			json_object_update(r, a[i]);
		}
		return r;
	}
	json_t *r = json_array(), *v;
	size_t k;
	for (int i = 0; i < n; i++) {
		if (!need(e, a[i], JSON_ARRAY, "union", i)) {
			json_decref(r);
			return NULL;
		}
		json_array_foreach(a[i], k, v) {
			bool dup = false;
			for (size_t j = 0; j < json_array_size(r) && !dup; j++)
				dup = json_equal(json_array_get(r, j), v);
			if (!dup && json_array_size(r) < MAX_ITEMS)
				json_array_append(r, v);
		}
	}
	return r;
}

static json_t *f_intersection(struct ev *e, json_t **a, int n)
{
	json_t *r, *v;
	size_t k;
	const char *key;
	if (json_is_object(a[0])) {
		if (!need_all(e, a, n, JSON_OBJECT, "intersection"))
			return NULL;
		r = json_object();
		json_object_foreach(a[0], key, v) {
			bool all = true;
			for (int i = 1; i < n && all; i++)
				all = json_equal(json_object_get(a[i], key), v);
			if (all)
				json_object_set(r, key, v);
		}
		return r;
	}
	if (!need_all(e, a, n, JSON_ARRAY, "intersection"))
		return NULL;
	r = json_array();
	json_array_foreach(a[0], k, v) {
		bool all = true;
		for (int i = 1; i < n && all; i++) {
			bool found = false;
			for (size_t j = 0; j < json_array_size(a[i]) && !found; j++)
				found = json_equal(json_array_get(a[i], j), v);
			all = found;
		}
		for (size_t j = 0; j < json_array_size(r) && all; j++)
			all = !json_equal(json_array_get(r, j), v);
		if (all)
			json_array_append(r, v);
	}
	return r;
}

/* Not Azure's hash (which is not published): FNV-1a over the arguments, deterministic, 13 characters of
 * [a-z2-7] like Azure's. A name built with uniqueString() differs from the deployed one. */
static uint64_t fnv(json_t **a, int n, uint64_t h)
{
	for (int i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)json_string_value(a[i]);
		for (size_t k = 0; k < json_string_length(a[i]); k++)
			h = (h ^ s[k]) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull; /* separator: ('ab','c') differs from ('a','bc') */
	}
	return h;
}

static json_t *f_uniquestring(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, n, JSON_STRING, "uniqueString"))
		return NULL;
	uint64_t h = fnv(a, n, 0xcbf29ce484222325ull);
	char s[14];
	for (int i = 0; i < 13; i++, h >>= 5)
		s[i] = "abcdefghijklmnopqrstuvwxyz234567"[h & 31];
	s[13] = 0;
	return json_string(s);
}

static json_t *f_guid(struct ev *e, json_t **a, int n)
{
	if (!need_all(e, a, n, JSON_STRING, "guid"))
		return NULL;
	uint64_t h1 = fnv(a, n, 0xcbf29ce484222325ull), h2 = fnv(a, n, 0x84222325cbf29ce4ull);
	char s[40];
	snprintf(s, sizeof(s), "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, h1 >> 32,
		 (h1 >> 16) & 0xffff, h1 & 0xffff, h2 >> 48, h2 & (uint64_t)0xffffffffffff);
	return json_string(s);
}

static json_t *f_subscription(struct ev *e, json_t **a, int n)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "id", "/subscriptions/" PH_SUB, "subscriptionId", PH_SUB, "tenantId",
			 PH_TENANT, "displayName", "subscription");
}

static json_t *f_resourcegroup(struct ev *e, json_t **a, int n)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:{},s:{s:s}}", "id", "/subscriptions/" PH_SUB "/resourceGroups/" PH_RG,
			 "name", PH_RG, "type", "Microsoft.Resources/resourceGroups", "location", PH_LOC, "tags",
			 "properties", "provisioningState", "Succeeded");
}

/* resourceId([subscriptionId], [resourceGroupName], type, name1, name2…): the first argument with a '/' is the
 * type; its segments after the namespace pair with the names. */
static json_t *resource_id(struct ev *e, json_t **a, int n, const char *fn, bool with_rg)
{
	if (!need_all(e, a, n, JSON_STRING, fn))
		return NULL;
	int t = 0;
	while (t < n && !strchr(json_string_value(a[t]), '/'))
		t++;
	if (t == n || t > (with_rg ? 2 : 1))
		return fail(e, "%s(): no resource type (Namespace/type) among the first arguments", fn);
	const char *type = json_string_value(a[t]);
	int segs = 0;
	for (const char *p = type; *p; p++)
		segs += *p == '/';
	if (n - t - 1 != segs)
		return fail(e, "%s(): type '%s' needs %d name(s), %d given", fn, type, segs, n - t - 1);
	const char *sub = PH_SUB, *rg = PH_RG;
	if (t == 2 || (t == 1 && !with_rg))
		sub = json_string_value(a[0]);
	if (with_rg && t >= 1)
		rg = json_string_value(a[t - 1]);
	struct sb b = { 0 };
	sb_add(&b, "/subscriptions/", 15);
	sb_add(&b, sub, strlen(sub));
	if (with_rg) {
		sb_add(&b, "/resourceGroups/", 16);
		sb_add(&b, rg, strlen(rg));
	}
	sb_add(&b, "/providers/", 11);
	const char *p = strchr(type, '/') + 1;
	sb_add(&b, type, (size_t)(p - 1 - type));
	for (int i = t + 1; i < n; i++) {
		const char *q = strchr(p, '/');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		sb_add(&b, "/", 1);
		sb_add(&b, p, l);
		sb_add(&b, "/", 1);
		sb_add(&b, json_string_value(a[i]), json_string_length(a[i]));
		p = q ? q + 1 : p + l;
	}
	return sb_done(e, &b);
}

static json_t *f_resourceid(struct ev *e, json_t **a, int n) { return resource_id(e, a, n, "resourceId", true); }
static json_t *f_subscriptionresourceid(struct ev *e, json_t **a, int n)
{
	return resource_id(e, a, n, "subscriptionResourceId", false);
}

/* copyIndex(), copyIndex(offset), copyIndex('loop'), copyIndex('loop', offset). */
static json_t *f_copyindex(struct ev *e, json_t **a, int n)
{
	const char *name = NULL;
	long long off = 0;
	for (int i = 0; i < n; i++) {
		if (json_is_string(a[i]) && i == 0)
			name = json_string_value(a[i]);
		else if (json_is_integer(a[i]))
			off = json_integer_value(a[i]);
		else
			return fail(e, "copyIndex(): argument %d is %s", i + 1, tname(a[i]));
	}
	for (int i = e->nloops - 1; i >= e->lbase; i--) {
		const struct loop *l = &e->loops[i];
		if (name ? !strcasecmp(l->name, name) : l->resource)
			return json_integer(l->i + off);
	}
	return name ? fail(e, "copyIndex(): no copy loop named '%s' here", name)
		    : fail(e, "copyIndex() outside a resource copy loop (a property or variable loop needs its name)");
}

/* A marker in the table: calling it is an error. */
static json_t *f_unsupported(struct ev *e, json_t **a, int n) { return NULL; }

/* Sorted by name (bsearch). */
static const struct fn fns[] = {
	{ "add", 2, 2, f_add },
	{ "and", 1, MAX_ARGS, f_and },
	{ "bool", 1, 1, f_bool },
	{ "coalesce", 1, MAX_ARGS, f_coalesce },
	{ "concat", 0, MAX_ARGS, f_concat },
	{ "contains", 2, 2, f_contains },
	{ "copyindex", 0, 2, f_copyindex },
	{ "createarray", 0, MAX_ARGS, f_createarray },
	{ "createobject", 0, MAX_ARGS, f_createobject },
	{ "deployment", 0, 0, f_unsupported },
	{ "div", 2, 2, f_div },
	{ "empty", 1, 1, f_empty },
	{ "endswith", 2, 2, f_endswith },
	{ "environment", 0, 0, f_unsupported },
	{ "equals", 2, 2, f_equals },
	{ "extensionresourceid", 0, MAX_ARGS, f_unsupported },
	{ "false", 0, 0, f_false },
	{ "filter", 0, MAX_ARGS, f_unsupported },
	{ "first", 1, 1, f_first },
	{ "format", 1, MAX_ARGS, f_format },
	{ "greater", 2, 2, f_greater },
	{ "greaterorequals", 2, 2, f_greaterorequals },
	{ "guid", 1, MAX_ARGS, f_guid },
	{ "if", 3, 3, NULL },
	{ "indexof", 2, 2, f_indexof },
	{ "int", 1, 1, f_int },
	{ "intersection", 1, MAX_ARGS, f_intersection },
	{ "json", 1, 1, f_json },
	{ "lambda", 0, MAX_ARGS, f_unsupported },
	{ "last", 1, 1, f_last },
	{ "lastindexof", 2, 2, f_lastindexof },
	{ "length", 1, 1, f_length },
	{ "less", 2, 2, f_less },
	{ "lessorequals", 2, 2, f_lessorequals },
	{ "managementgroup", 0, MAX_ARGS, f_unsupported },
	{ "map", 0, MAX_ARGS, f_unsupported },
	{ "max", 1, MAX_ARGS, f_max },
	{ "min", 1, MAX_ARGS, f_min },
	{ "mod", 2, 2, f_mod },
	{ "mul", 2, 2, f_mul },
	{ "not", 1, 1, f_not },
	{ "null", 0, 0, f_null },
	{ "or", 1, MAX_ARGS, f_or },
	{ "padleft", 2, 3, f_padleft },
	{ "parameters", 1, 1, f_parameters },
	{ "pickzones", 0, MAX_ARGS, f_unsupported },
	{ "providers", 0, MAX_ARGS, f_unsupported },
	{ "range", 2, 2, f_range },
	{ "reference", 0, MAX_ARGS, f_unsupported },
	{ "replace", 3, 3, f_replace },
	{ "resourcegroup", 0, 0, f_resourcegroup },
	{ "resourceid", 1, MAX_ARGS, f_resourceid },
	{ "skip", 2, 2, f_skip },
	{ "split", 2, 2, f_split },
	{ "startswith", 2, 2, f_startswith },
	{ "string", 1, 1, f_string },
	{ "sub", 2, 2, f_sub },
	{ "subscription", 0, 0, f_subscription },
	{ "subscriptionresourceid", 1, MAX_ARGS, f_subscriptionresourceid },
	{ "substring", 2, 3, f_substring },
	{ "take", 2, 2, f_take },
	{ "tenant", 0, MAX_ARGS, f_unsupported },
	{ "tenantresourceid", 0, MAX_ARGS, f_unsupported },
	{ "tolower", 1, 1, f_tolower },
	{ "toupper", 1, 1, f_toupper },
	{ "trim", 1, 1, f_trim },
	{ "true", 0, 0, f_true },
	{ "union", 1, MAX_ARGS, f_union },
	{ "uniquestring", 1, MAX_ARGS, f_uniquestring },
	{ "variables", 1, 1, f_variables },
};

static int fn_cmp(const void *k, const void *el)
{
	return strcasecmp(k, ((const struct fn *)el)->name);
}

/* After "name(": the arguments, then the call. if() parses its untaken branch without evaluating it. */
static json_t *call(struct px *x, const char *name, size_t len)
{
	char nm[64];
	snprintf(nm, sizeof(nm), "%.*s", (int)(len < 63 ? len : 63), name);
	const struct fn *f = bsearch(nm, fns, sizeof(fns) / sizeof(fns[0]), sizeof(fns[0]), fn_cmp);
	if (!f) {
		if (!strncasecmp(nm, "list", 4))
			return fail(x->e, "function '%s' is not supported (it reads a deployed resource)", nm);
		return fail(x->e, "unknown function '%s'", nm);
	}
	json_t *a[MAX_ARGS], *r = NULL;
	int n = 0;
	bool is_if = !f->f;
	ws(x);
	if (x->p < x->end && *x->p == ')') {
		x->p++;
	} else {
		for (;;) {
			if (n == MAX_ARGS) {
				fail(x->e, "%s(): more than %d arguments", nm, MAX_ARGS);
				goto out;
			}
			int skip = is_if && n > 0 && !x->skip && json_is_true(a[0]) != (n == 1);
			x->skip += skip;
			a[n] = parse_expr(x);
			x->skip -= skip;
			if (!a[n])
				goto out;
			if (is_if && n == 0 && !x->skip && !json_is_boolean(a[0])) {
				n++;
				fail(x->e, "if(): the condition is %s, not a boolean", tname(a[0]));
				goto out;
			}
			n++;
			ws(x);
			if (x->p < x->end && *x->p == ',') {
				x->p++;
				continue;
			}
			if (x->p < x->end && *x->p == ')') {
				x->p++;
				break;
			}
			fail(x->e, "%s(): expected ',' or ')'", nm);
			goto out;
		}
	}
	if (n < f->min || n > f->max) {
		if (f->min == f->max)
			fail(x->e, "%s() takes %d argument(s), not %d", nm, f->min, n);
		else
			fail(x->e, "%s() takes %d to %d arguments, not %d", nm, f->min, f->max, n);
	} else if (x->skip) {
		r = json_null();
	} else if (is_if) {
		r = json_incref(json_is_true(a[0]) ? a[1] : a[2]);
	} else if (f->f == f_unsupported) {
		fail(x->e, "function '%s' is not supported (it needs a real deployment)", nm);
	} else if (!(r = f->f(x->e, a, n)) && !x->e->err[0]) {
		fail(x->e, "%s(): out of memory", nm);
	}
out:
	for (int i = 0; i < n; i++)
		json_decref(a[i]);
	return r;
}

/* ---- parameters and variables ---- */

static json_t *cached(struct ev *e, json_t *cache, char kind, const char *name, bool *busy)
{
	char key[300];
	snprintf(key, sizeof(key), "%c:%s", kind, name);
	*busy = json_object_get(e->busy, key) != NULL;
	if (json_object_get(e->failed, key)) {
		e->reported = true;
		return fail(e, "%s", "already reported");
	}
	return json_incref(json_object_get(cache, name));
}

static void mark(struct ev *e, char kind, const char *name, int on, bool failed)
{
	char key[300];
	snprintf(key, sizeof(key), "%c:%s", kind, name);
	if (on)
		json_object_set_new(e->busy, key, json_true());
	else
		json_object_del(e->busy, key);
	if (failed)
		json_object_set_new(e->failed, key, json_true());
}

static const char *ptype(json_t *def)
{
	const char *t = json_string_value(json_object_get(def, "type"));
	return t ? t : "";
}

static bool type_ok(const char *t, json_t *v)
{
	if (!strcasecmp(t, "string") || !strcasecmp(t, "securestring"))
		return json_is_string(v);
	if (!strcasecmp(t, "int"))
		return json_is_integer(v);
	if (!strcasecmp(t, "bool"))
		return json_is_boolean(v);
	if (!strcasecmp(t, "object") || !strcasecmp(t, "secureobject"))
		return json_is_object(v);
	if (!strcasecmp(t, "array"))
		return json_is_array(v);
	return true; /* user-defined types ($ref) are not checked */
}

static bool allowed(json_t *allow, json_t *v)
{
	size_t i, k;
	json_t *a, *x;
	if (json_is_array(v) && json_array_size(v)) {
		json_array_foreach(v, k, x) {
			bool ok = false;
			json_array_foreach(allow, i, a)
				ok = ok || json_equal(a, x);
			if (!ok)
				return false;
		}
		return true;
	}
	json_array_foreach(allow, i, a)
		if (json_equal(a, v))
			return true;
	return false;
}

/* Checks a parameter's value against its declaration; reports at path. */
static bool param_check(struct ev *e, const char *name, json_t *def, json_t *v, const char *path, const char *from)
{
	const char *t = ptype(def);
	json_t *allow = json_object_get(def, "allowedValues");
	json_t *mn, *mx;
	char *s = NULL;
	bool ok = false;
	if (!type_ok(t, v)) {
		diag_err(e->d, path, "parameter '%s' is %s (%s), but its type is %s", name, tname(v), from, t);
	} else if (json_is_array(allow) && !allowed(allow, v)) {
		s = json_dumps(allow, JSON_COMPACT);
		diag_err(e->d, path, "parameter '%s' (%s) is not one of the allowedValues %s", name, from, s ? s : "");
	} else if (json_is_integer(v) && (mn = json_object_get(def, "minValue")) && json_is_integer(mn) &&
		   json_integer_value(v) < json_integer_value(mn)) {
		diag_err(e->d, path, "parameter '%s' is below its minValue %" JSON_INTEGER_FORMAT, name, json_integer_value(mn));
	} else if (json_is_integer(v) && (mx = json_object_get(def, "maxValue")) && json_is_integer(mx) &&
		   json_integer_value(v) > json_integer_value(mx)) {
		diag_err(e->d, path, "parameter '%s' is above its maxValue %" JSON_INTEGER_FORMAT, name, json_integer_value(mx));
	} else {
		ok = true;
	}
	free(s);
	return ok;
}

static json_t *get_param(struct ev *e, const char *name)
{
	bool busy;
	json_t *v = cached(e, e->params, 'p', name, &busy), *def = geti(e->pdefs, name), *given;
	char path[512];
	if (v || e->reported)
		return v;
	if (!def)
		return fail(e, "parameter '%s' is not declared", name);
	if (busy)
		return fail(e, "parameter '%s' refers to itself", name);
	snprintf(path, sizeof(path), "%sparameters.%s", e->base, name);
	if (!json_is_object(def)) {
		diag_err(e->d, path, "a parameter's declaration must be an object, not %s", tname(def));
		goto bad;
	}
	given = geti(e->pvals, name);
	if (given) {
		if (!json_is_object(given) || !(v = json_object_get(given, "value"))) {
			diag_err(e->d, path, "the parameters file gives '%s' %s; only {\"value\": …} is supported here%s", name,
				 json_is_object(given) ? "without a value" : tname(given),
				 geti(given, "reference") ? " (a Key Vault reference needs a real deployment)" : "");
			goto bad;
		}
		json_incref(v);
		/* [inference] values from a parameters file are taken literally, not evaluated as expressions. */
		if (!param_check(e, name, def, v, path, "from the parameters file"))
			goto bad;
	} else if (json_object_get(def, "defaultValue")) {
		char dpath[600];
		snprintf(dpath, sizeof(dpath), "%s.defaultValue", path);
		mark(e, 'p', name, 1, false);
		v = ev_value(e, json_object_get(def, "defaultValue"), dpath);
		mark(e, 'p', name, 0, false);
		if (!v || !param_check(e, name, def, v, path, "its defaultValue"))
			goto bad;
	} else if (json_is_true(json_object_get(def, "nullable"))) {
		v = json_null();
	} else {
		diag_err(e->d, path, "parameter '%s' needs a value: it has no defaultValue and %s", name,
			 e->pvals ? "the parameters file does not give it" : "no parameters file was given");
		goto bad;
	}
	json_object_set(e->params, name, v);
	return v;
bad:
	json_decref(v);
	mark(e, 'p', name, 0, true);
	e->reported = true;
	return fail(e, "%s", "already reported");
}

static json_t *f_parameters(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "parameters", 0))
		return NULL;
	int lbase = e->lbase;
	e->lbase = e->nloops;
	json_t *v = get_param(e, json_string_value(a[0]));
	e->lbase = lbase;
	return v;
}

static json_t *copy_loop(struct ev *e, json_t *spec, const char *path, bool resource, json_t *(*body)(struct ev *, json_t *, const char *, void *), void *arg);

static json_t *var_copy_input(struct ev *e, json_t *spec, const char *path, void *arg)
{
	char p[600];
	json_t *in = json_object_get(spec, "input");
	if (!in) {
		diag_err(e->d, path, "copy loop '%s' has no input", json_string_value(json_object_get(spec, "name")));
		e->reported = true;
		return fail(e, "%s", "already reported");
	}
	snprintf(p, sizeof(p), "%s.input", path);
	return ev_value(e, in, p);
}

/* variables.copy: [{name, count, input}] defines variable `name` as the array of inputs. */
static json_t *var_def(struct ev *e, const char *name, char *path, size_t n)
{
	json_t *def = geti(e->vdefs, name), *cp = json_object_get(e->vdefs, "copy"), *c;
	size_t i;
	if (def && strcasecmp(name, "copy")) {
		snprintf(path, n, "%svariables.%s", e->base, name);
		return ev_value(e, def, path);
	}
	json_array_foreach(cp, i, c) {
		const char *cn = json_string_value(json_object_get(c, "name"));
		if (cn && !strcasecmp(cn, name)) {
			snprintf(path, n, "%svariables.copy[%zu]", e->base, i);
			return copy_loop(e, c, path, false, var_copy_input, NULL);
		}
	}
	return fail(e, "variable '%s' is not declared", name);
}

static json_t *f_variables(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "variables", 0))
		return NULL;
	const char *name = json_string_value(a[0]);
	bool busy;
	char path[600];
	json_t *v = cached(e, e->vars, 'v', name, &busy);
	if (v || e->reported)
		return v;
	if (busy)
		return fail(e, "variable '%s' refers to itself", name);
	int lbase = e->lbase;
	e->lbase = e->nloops;
	mark(e, 'v', name, 1, false);
	path[0] = 0;
	v = var_def(e, name, path, sizeof(path));
	mark(e, 'v', name, 0, !v && e->reported);
	e->lbase = lbase;
	if (v)
		json_object_set(e->vars, name, v);
	return v;
}

/* ---- values ---- */

/* "[…]" is an expression, "[[…" a literal "[…". [inference] "[]" stays a literal string. */
static bool is_expr(json_t *s)
{
	const char *p = json_string_value(s);
	size_t n = json_string_length(s);
	return n >= 3 && p[0] == '[' && p[n - 1] == ']' && p[1] != '[';
}

static json_t *ev_string(struct ev *e, json_t *s, const char *path)
{
	const char *p = json_string_value(s);
	size_t n = json_string_length(s);
	if (!is_expr(s))
		return n >= 2 && p[0] == '[' && p[1] == '[' ? json_stringn(p + 1, n - 1) : json_incref(s);
	struct px x = { .e = e, .start = p + 1, .p = p + 1, .end = p + n - 1 };
	bool outer = !e->top;
	if (outer)
		e->top = path;
	e->err[0] = 0;
	e->reported = false;
	json_t *v = parse_expr(&x);
	if (v) {
		ws(&x);
		if (x.p < x.end) {
			json_decref(v);
			v = fail(e, "unexpected '%c' after the expression", *x.p);
		}
	}
	if (!v && !e->reported) {
		diag_err(e->d, path, "cannot evaluate %s: %s%s%s%s", p, e->err, outer ? "" : " (needed by ",
			 outer ? "" : e->top, outer ? "" : ")");
		e->reported = true;
	}
	if (outer)
		e->top = NULL;
	return v;
}

static json_t *prop_copy_input(struct ev *e, json_t *spec, const char *path, void *arg)
{
	return var_copy_input(e, spec, path, arg);
}

/* A copy loop's count, then body() once per index with the loop pushed; the results as an array. */
static json_t *copy_loop(struct ev *e, json_t *spec, const char *path, bool resource,
			 json_t *(*body)(struct ev *, json_t *, const char *, void *), void *arg)
{
	char p[600];
	const char *name = json_string_value(json_object_get(spec, "name"));
	json_t *cnt, *r = NULL;
	if (!json_is_object(spec) || !name) {
		diag_err(e->d, path, "a copy loop needs a name");
		goto bad;
	}
	snprintf(p, sizeof(p), "%s.count", path);
	if (!(cnt = ev_value(e, json_object_get(spec, "count") ? json_object_get(spec, "count") : json_null(), p)))
		return NULL;
	long long c = json_integer_value(cnt);
	if (!json_is_integer(cnt) || c < 0 || c > MAX_COPY) {
		diag_err(e->d, p, "the count of copy loop '%s' is %s%s; it must be an integer from 0 to %d", name,
			 json_is_integer(cnt) ? "" : tname(cnt), json_is_integer(cnt) ? "out of range" : "", MAX_COPY);
		json_decref(cnt);
		goto bad;
	}
	json_decref(cnt);
	if (e->nloops == MAX_LOOPS) {
		diag_err(e->d, path, "copy loops nested more than %d deep", MAX_LOOPS);
		goto bad;
	}
	r = json_array();
	e->loops[e->nloops++] = (struct loop){ .name = name, .resource = resource };
	for (long long i = 0; i < c; i++) {
		e->loops[e->nloops - 1].i = i;
		json_t *v = body(e, spec, path, arg);
		if (!v) {
			json_decref(r);
			r = NULL;
			break;
		}
		json_array_append_new(r, v);
	}
	e->nloops--;
	return r;
bad:
	e->reported = true;
	return fail(e, "%s", "already reported");
}

static json_t *ev_object(struct ev *e, json_t *o, const char *path)
{
	json_t *r = json_object(), *v, *cp = json_object_get(o, "copy");
	const char *k;
	char p[600];
	json_object_foreach(o, k, v) {
		if (json_is_array(cp) && v == cp)
			continue;
		json_t *x = ev_value(e, v, jsonin_path(p, sizeof(p), path, k));
		if (!x)
			goto bad;
		json_object_set_new(r, k, x);
	}
	/* Property copy: "copy": [{"name": "securityRules", "count": N, "input": {…}}] */
	size_t i;
	json_array_foreach(cp, i, v) {
		snprintf(p, sizeof(p), "%s%scopy[%zu]", path, *path ? "." : "", i);
		json_t *arr = copy_loop(e, v, p, false, prop_copy_input, NULL);
		if (!arr)
			goto bad;
		json_object_set_new(r, json_string_value(json_object_get(v, "name")), arr);
	}
	return r;
bad:
	json_decref(r);
	return NULL;
}

static json_t *ev_value(struct ev *e, json_t *v, const char *path)
{
	json_t *r = NULL;
	if (++e->work > MAX_WORK) {
		if (e->work == MAX_WORK + 1)
			diag_err(e->d, path, "the template expands to more than %d values; not evaluated", MAX_WORK);
		e->reported = true;
		return fail(e, "%s", "already reported");
	}
	if (++e->depth > MAX_DEPTH) {
		e->depth--;
		diag_err(e->d, path, "nested more than %d deep", MAX_DEPTH);
		e->reported = true;
		return fail(e, "%s", "already reported");
	}
	if (json_is_string(v)) {
		r = ev_string(e, v, path);
	} else if (json_is_object(v)) {
		r = ev_object(e, v, path);
	} else if (json_is_array(v)) {
		char p[600];
		size_t i;
		json_t *x;
		r = json_array();
		json_array_foreach(v, i, x) {
			json_t *y = ev_value(e, x, jsonin_index(p, sizeof(p), path, i));
			if (!y) {
				json_decref(r);
				r = NULL;
				break;
			}
			json_array_append_new(r, y);
		}
	} else {
		r = json_incref(v);
	}
	e->depth--;
	return r;
}

/* ---- resources ---- */

struct walk {
	struct ev *e; /* of the template being walked */
	struct diag *d;
	int nesting; /* nested deployments being walked */
	const char *type;
	size_t tlen;
	json_t *out;      /* the resources of `type` */
	json_t *children; /* [[parentName, propertyName, {name, properties}, path]] */
	bool bad;
};

/* 1: the type itself; 2: a direct child type (type/xxx); 0: neither. */
static int kind(const struct walk *w, const char *t)
{
	if (strncasecmp(t, w->type, w->tlen))
		return 0;
	if (!t[w->tlen])
		return 1;
	return t[w->tlen] == '/' && t[w->tlen + 1] && !strchr(t + w->tlen + 1, '/') ? 2 : 0;
}

static void walk_list(struct walk *w, json_t *list, const char *path, const char *ptype, const char *pname);
static void walk_template(struct walk *w, json_t *root, json_t *pvals, const char *base, struct diag *d);

#define DEPLOYMENTS "Microsoft.Resources/deployments"

/* A nested deployment with an inline template (what Bicep makes of a module). With
 * expressionEvaluationOptions.scope "inner" (Bicep's), its parameters are evaluated here and the template on its
 * own; with the default "outer" scope its expressions see this template's parameters and variables. A linked
 * template (templateLink) cannot be read offline: it is skipped, as docs/arm-templates.md says. */
static bool deployment(struct walk *w, json_t *r, const char *path)
{
	struct ev *e = w->e;
	json_t *props = json_object_get(r, "properties"), *tmpl = json_object_get(props, "template");
	const char *scope = json_string_value(json_object_get(json_object_get(props, "expressionEvaluationOptions"), "scope"));
	char p[700], base[600];
	if (!json_is_object(tmpl))
		return true;
	if (w->nesting >= 8) {
		diag_err(e->d, path, "nested deployments more than 8 deep");
		return false;
	}
	snprintf(base, sizeof(base), "%s.properties.template.", path);
	w->nesting++;
	if (scope && !strcasecmp(scope, "inner")) {
		json_t *pv = json_object_get(props, "parameters"), *vals = NULL;
		if (pv && !(vals = ev_value(e, pv, jsonin_path(p, sizeof(p), path, "properties.parameters")))) {
			w->nesting--;
			return false;
		}
		walk_template(w, tmpl, vals, base, e->d);
		json_decref(vals);
	} else {
		snprintf(p, sizeof(p), "%sresources", base);
		walk_list(w, json_object_get(tmpl, "resources"), p, NULL, NULL);
	}
	w->nesting--;
	return true;
}

/* A field of a resource, evaluated; a missing field is NULL without error. */
static json_t *field(struct walk *w, json_t *r, const char *key, const char *path, bool *ok)
{
	char p[600];
	json_t *v = json_object_get(r, key);
	if (!v)
		return NULL;
	v = ev_value(w->e, v, jsonin_path(p, sizeof(p), path, key));
	if (!v)
		*ok = false;
	return v;
}

struct inst {
	struct walk *w;
	json_t *r;
	const char *ptype, *pname, *type, *path;
};

/* One instance of a resource (inside its copy loop, if any). Returns an empty array (for copy_loop), NULL on error. */
static json_t *instance(struct ev *e, json_t *spec, const char *copy_path, void *arg)
{
	struct inst *in = arg;
	struct walk *w = in->w;
	json_t *r = in->r;
	const char *path = in->path;
	bool ok = true;
	json_t *cond = field(w, r, "condition", path, &ok), *name = NULL, *res = NULL;
	char full[1024], p[600];
	if (!ok)
		goto out;
	if (cond && !json_is_boolean(cond)) {
		diag_err(e->d, jsonin_path(p, sizeof(p), path, "condition"), "condition is %s, not a boolean", tname(cond));
		ok = false;
		goto out;
	}
	if (json_is_false(cond))
		goto out;
	if (!strcasecmp(in->type, DEPLOYMENTS)) { /* its name is not needed (and often uses deployment()) */
		ok = deployment(w, r, path);
		goto out;
	}
	name = field(w, r, "name", path, &ok);
	if (!ok)
		goto out;
	if (!json_is_string(name)) {
		diag_err(e->d, jsonin_path(p, sizeof(p), path, "name"), "a resource's name must be a string, not %s",
			 name ? tname(name) : "missing");
		ok = false;
		goto out;
	}
	const char *nm = json_string_value(name);
	if (in->pname && !strchr(nm, '/'))
		snprintf(full, sizeof(full), "%s/%s", in->pname, nm);
	else
		snprintf(full, sizeof(full), "%s", nm);
	int k = kind(w, in->type);
	if (k) {
		json_t *props = field(w, r, "properties", path, &ok);
		if (!ok)
			goto out;
		if (props && !json_is_object(props)) {
			diag_err(e->d, jsonin_path(p, sizeof(p), path, "properties"), "properties must be an object, not %s",
				 tname(props));
			json_decref(props);
			ok = false;
			goto out;
		}
		if (!props)
			props = json_object();
		const char *slash = strrchr(full, '/');
		if (k == 1) {
			res = json_pack("{s:s,s:s,s:o}", "name", full, "type", in->type, "properties", props);
			json_t *loc = field(w, r, "location", path, &ok);
			if (loc)
				json_object_set_new(res, "location", loc);
			json_array_append_new(w->out, res);
		} else if (!slash) {
			diag_err(e->d, jsonin_path(p, sizeof(p), path, "name"),
				 "the name '%s' of a %s resource must be 'parent/child'", full, in->type);
			json_decref(props);
			ok = false;
		} else {
			json_t *item = json_pack("{s:s,s:o}", "name", slash + 1, "properties", props);
			json_array_append_new(w->children, json_pack("[s#,s,o,s]", full, (int)(slash - full),
								     strrchr(in->type, '/') + 1, item, path));
		}
	}
	json_t *nested = json_object_get(r, "resources");
	if (ok && nested)
		walk_list(w, nested, jsonin_path(p, sizeof(p), path, "resources"), in->type, full);
out:
	json_decref(cond);
	json_decref(name);
	if (!ok) {
		w->bad = true;
		return NULL;
	}
	return json_array();
}

/* Does this resource or a nested one have a type we want? Avoids evaluating (and failing on) unrelated ones. */
static bool wanted(struct walk *w, json_t *r, const char *ptype, char *type, size_t n)
{
	const char *t = json_string_value(json_object_get(r, "type"));
	if (!t || is_expr(json_object_get(r, "type")))
		return false;
	if (ptype && !strchr(t, '/'))
		snprintf(type, n, "%s/%s", ptype, t);
	else
		snprintf(type, n, "%s", t);
	if (kind(w, type))
		return true;
	json_t *nested = json_object_get(r, "resources"), *x;
	if (!strcasecmp(type, DEPLOYMENTS))
		nested = json_object_get(json_object_get(json_object_get(r, "properties"), "template"), "resources");
	size_t i;
	const char *key;
	char sub[512];
	if (json_is_array(nested)) {
		json_array_foreach(nested, i, x)
			if (json_is_object(x) && wanted(w, x, type, sub, sizeof(sub)))
				return true;
	} else if (json_is_object(nested)) {
		json_object_foreach(nested, key, x)
			if (json_is_object(x) && wanted(w, x, type, sub, sizeof(sub)))
				return true;
	}
	return false;
}

static void walk_one(struct walk *w, json_t *r, const char *path, const char *ptype, const char *pname)
{
	char type[512];
	if (!json_is_object(r) || json_is_true(json_object_get(r, "existing")) || !wanted(w, r, ptype, type, sizeof(type)))
		return;
	struct inst in = { .w = w, .r = r, .ptype = ptype, .pname = pname, .type = type, .path = path };
	json_t *cp = json_object_get(r, "copy"), *x;
	w->e->reported = false;
	w->e->err[0] = 0;
	if (json_is_object(cp)) {
		char p[600];
		x = copy_loop(w->e, cp, jsonin_path(p, sizeof(p), path, "copy"), true, instance, &in);
		if (!x) {
			/* instance() reported; a count error was reported by copy_loop */
			w->bad = true;
		}
		json_decref(x);
	} else {
		json_decref(instance(w->e, r, path, &in));
	}
}

static void walk_list(struct walk *w, json_t *list, const char *path, const char *ptype, const char *pname)
{
	char p[600];
	size_t i;
	const char *key;
	json_t *r;
	if (json_is_array(list)) {
		json_array_foreach(list, i, r)
			walk_one(w, r, jsonin_index(p, sizeof(p), path, i), ptype, pname);
	} else if (json_is_object(list)) { /* languageVersion 2.0: symbolic names */
		json_object_foreach(list, key, r)
			walk_one(w, r, jsonin_path(p, sizeof(p), path, key), ptype, pname);
	} else if (list) {
		diag_err(w->d, path, "resources must be an array or an object, not %s", tname(list));
		w->bad = true;
	}
}

/* Child resources into their parent's properties.<securityRules|routes>. */
static void fold(struct walk *w)
{
	size_t i, k;
	json_t *c, *res;
	json_array_foreach(w->children, i, c) {
		const char *parent = json_string_value(json_array_get(c, 0));
		const char *prop = json_string_value(json_array_get(c, 1));
		json_t *found = NULL;
		json_array_foreach(w->out, k, res)
			if (!strcasecmp(json_string_value(json_object_get(res, "name")), parent))
				found = res;
		if (!found) {
			diag_err(w->d, json_string_value(json_array_get(c, 3)),
				 "the parent '%s' of this %s resource is not a %s this template deploys", parent, prop, w->type);
			w->bad = true;
			continue;
		}
		json_t *props = json_object_get(found, "properties"), *list = json_object_get(props, prop);
		if (json_is_null(list) || !list) {
			list = json_array();
			json_object_set_new(props, prop, list);
		}
		if (!json_is_array(list)) {
			diag_err(w->d, json_string_value(json_array_get(c, 3)), "the parent '%s' has properties.%s that is %s",
				 parent, prop, tname(list));
			w->bad = true;
			continue;
		}
		json_array_append(list, json_array_get(c, 2));
	}
}

bool armtmpl_is_template(const json_t *root)
{
	const char *schema = json_string_value(json_object_get(root, "$schema"));
	if (schema && strcasestr(schema, "deploymentTemplate"))
		return true;
	return json_object_get(root, "contentVersion") && json_object_get(root, "resources");
}

/* Evaluates one template (the root, or a nested deployment's) with pvals ({name: {value}}, or NULL) into w. */
static void walk_template(struct walk *w, json_t *root, json_t *pvals, const char *base, struct diag *d)
{
	struct ev e = { .d = d, .base = base, .pvals = pvals }, *outer = w->e;
	char p[600];
	const char *key;
	json_t *v;

	w->e = &e;
	e.pdefs = json_object_get(root, "parameters");
	e.vdefs = json_object_get(root, "variables");
	if ((e.pdefs && !json_is_object(e.pdefs)) || (e.vdefs && !json_is_object(e.vdefs))) {
		snprintf(p, sizeof(p), "%s%s", base, e.pdefs && !json_is_object(e.pdefs) ? "parameters" : "variables");
		diag_err(d, p, "must be an object");
		goto out;
	}
	snprintf(p, sizeof(p), "%sparameters", base);
	json_object_foreach(e.pvals, key, v)
		if (!geti(e.pdefs, key))
			diag_err(d, p, "the parameters file gives '%s', which the template does not declare", key);
	e.params = json_object();
	e.vars = json_object();
	e.busy = json_object();
	e.failed = json_object();
	/* Every parameter is checked, used or not, as a deployment does. */
	json_object_foreach(e.pdefs, key, v) {
		e.reported = false;
		e.err[0] = 0;
		json_t *x = get_param(&e, key);
		if (!x && !e.reported) {
			snprintf(p, sizeof(p), "%sparameters.%s", base, key);
			diag_err(d, p, "%s", e.err);
		}
		json_decref(x);
	}
	snprintf(p, sizeof(p), "%sresources", base);
	walk_list(w, json_object_get(root, "resources"), p, NULL, NULL);
out:
	json_decref(e.params);
	json_decref(e.vars);
	json_decref(e.busy);
	json_decref(e.failed);
	w->e = outer;
}

json_t *armtmpl_resources(const json_t *croot, const json_t *cparams, const char *type, struct diag *d)
{
	json_t *root = (json_t *)(uintptr_t)croot, *params = (json_t *)(uintptr_t)cparams, *pvals = NULL;
	struct walk w = { .d = d, .type = type, .tlen = strlen(type), .out = json_array(), .children = json_array() };
	int errors0 = d->errors;

	if (!json_is_object(root)) {
		diag_err(d, NULL, "a template must be a JSON object, not %s", tname(root));
		goto out;
	}
	if (params) {
		pvals = json_object_get(params, "parameters");
		if (!json_is_object(pvals)) {
			diag_err(d, "parameters", "the parameters file's parameters must be an object, not %s", tname(pvals));
			goto out;
		}
	}
	walk_template(&w, root, pvals, "", d);
	fold(&w);
out:
	json_decref(w.children);
	if (w.bad || d->errors > errors0) {
		json_decref(w.out);
		return NULL;
	}
	return w.out;
}

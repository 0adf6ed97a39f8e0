/* The template language's functions, as a table (docs/arm-templates.md lists them). Each takes its evaluated
 * arguments (borrowed) and returns a new reference, or NULL with the reason in e->err. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>

#include "model/armtmpl_int.h"
#include "model/jsonin.h"

bool armsb_add(struct sb *b, const char *s, size_t n)
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

bool armsb_value(struct sb *b, const json_t *v)
{
	char tmp[32];
	switch (json_typeof(v)) {
	case JSON_STRING: return armsb_add(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return armsb_add(b, tmp, strlen(tmp));
	case JSON_TRUE: return armsb_add(b, "True", 4);
	case JSON_FALSE: return armsb_add(b, "False", 5);
	case JSON_NULL: return true;
	default: {
		char *s = jsonin_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		bool ok = s && armsb_add(b, s, strlen(s));
		jsonin_free(s);
		return ok;
	}
	}
}

json_t *armsb_done(struct ev *e, struct sb *b)
{
	json_t *r = NULL;
	if (b->n > MAX_STR)
		fail(e, "the result is longer than %d bytes", MAX_STR);
	else if (!(r = json_stringn_nocheck(b->p ? b->p : "", b->n))) /* joins of valid UTF-8 strings */
		fail(e, "out of memory");
	free(b->p);
	return r;
}


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
		if (!armsb_value(&b, a[i]) || b.n > MAX_STR)
			break;
	}
	return armsb_done(e, &b);
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
			armsb_add(&b, s, 1);
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
			armsb_value(&b, a[i + 1]);
			s = q + 1;
		} else {
			const char *q = s + 1;
			while (q < end && *q != '{' && *q != '}')
				q++;
			armsb_add(&b, s, (size_t)(q - s));
			s = q;
		}
	}
	return armsb_done(e, &b);
}

static json_t *f_string(struct ev *e, json_t **a, int n)
{
	struct sb b = { 0 };
	armsb_value(&b, a[0]);
	return armsb_done(e, &b);
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
	json_t *r = json_loadb(json_string_value(a[0]), json_string_length(a[0]), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			       &je);
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
		if (!armsb_value(&b, a[1]))
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
			armsb_add(&b, s, (size_t)(end - s));
			break;
		}
		armsb_add(&b, s, (size_t)(q - s));
		armsb_add(&b, json_string_value(a[2]), json_string_length(a[2]));
		s = q + ol;
	}
	if (!b.p)
		armsb_add(&b, "", 0);
	return armsb_done(e, &b);
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
	armsb_value(&v, a[0]);
	for (long long i = (long long)v.n; i < want; i++)
		armsb_add(&b, pad, 1);
	armsb_add(&b, v.p ? v.p : "", v.n);
	free(v.p);
	return armsb_done(e, &b);
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

static json_t *f_array(struct ev *e, json_t **a, int n)
{
	return json_is_array(a[0]) ? json_incref(a[0]) : json_pack("[O]", a[0]);
}

static json_t *f_join(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_ARRAY, "join", 0) || !need(e, a[1], JSON_STRING, "join", 1))
		return NULL;
	struct sb b = { 0 };
	size_t i;
	json_t *v;
	armsb_add(&b, "", 0);
	json_array_foreach(a[0], i, v) {
		if (json_is_object(v) || json_is_array(v)) {
			free(b.p);
			return fail(e, "join(): element %zu is %s", i, tname(v));
		}
		if (i)
			armsb_add(&b, json_string_value(a[1]), json_string_length(a[1]));
		armsb_value(&b, v);
	}
	return armsb_done(e, &b);
}

/* tryGet(value, key or index, …): null where a step is missing (Bicep's ".?"). */
static json_t *f_tryget(struct ev *e, json_t **a, int n)
{
	json_t *v = a[0];
	for (int i = 1; i < n && v; i++) {
		if (json_is_object(v) && json_is_string(a[i]))
			v = geti(v, json_string_value(a[i]));
		else if (json_is_array(v) && json_is_integer(a[i]) && json_integer_value(a[i]) >= 0)
			v = json_array_get(v, (size_t)json_integer_value(a[i]));
		else
			v = NULL;
	}
	return v ? json_incref(v) : json_null();
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
	armsb_add(&b, "/subscriptions/", 15);
	armsb_add(&b, sub, strlen(sub));
	if (with_rg) {
		armsb_add(&b, "/resourceGroups/", 16);
		armsb_add(&b, rg, strlen(rg));
	}
	armsb_add(&b, "/providers/", 11);
	const char *p = strchr(type, '/') + 1;
	armsb_add(&b, type, (size_t)(p - 1 - type));
	for (int i = t + 1; i < n; i++) {
		const char *q = strchr(p, '/');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		armsb_add(&b, "/", 1);
		armsb_add(&b, p, l);
		armsb_add(&b, "/", 1);
		armsb_add(&b, json_string_value(a[i]), json_string_length(a[i]));
		p = q ? q + 1 : p + l;
	}
	return armsb_done(e, &b);
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

#define UNSUPPORTED NULL, true /* an error: it needs a real deployment */

/* Sorted by name (bsearch). */
static const struct fn fns[] = {
	{ "add", 2, 2, f_add, false },
	{ "and", 1, MAX_ARGS, f_and, false },
	{ "array", 1, 1, f_array, false },
	{ "bool", 1, 1, f_bool, false },
	{ "coalesce", 1, MAX_ARGS, f_coalesce, false },
	{ "concat", 0, MAX_ARGS, f_concat, false },
	{ "contains", 2, 2, f_contains, false },
	{ "copyindex", 0, 2, f_copyindex, false },
	{ "createarray", 0, MAX_ARGS, f_createarray, false },
	{ "createobject", 0, MAX_ARGS, f_createobject, false },
	{ "deployment", 0, 0, UNSUPPORTED },
	{ "div", 2, 2, f_div, false },
	{ "empty", 1, 1, f_empty, false },
	{ "endswith", 2, 2, f_endswith, false },
	{ "environment", 0, 0, UNSUPPORTED },
	{ "equals", 2, 2, f_equals, false },
	{ "extensionresourceid", 0, MAX_ARGS, UNSUPPORTED },
	{ "false", 0, 0, f_false, false },
	{ "filter", 0, MAX_ARGS, UNSUPPORTED },
	{ "first", 1, 1, f_first, false },
	{ "format", 1, MAX_ARGS, f_format, false },
	{ "greater", 2, 2, f_greater, false },
	{ "greaterorequals", 2, 2, f_greaterorequals, false },
	{ "guid", 1, MAX_ARGS, f_guid, false },
	{ "if", 3, 3, NULL, false },
	{ "indexof", 2, 2, f_indexof, false },
	{ "int", 1, 1, f_int, false },
	{ "intersection", 1, MAX_ARGS, f_intersection, false },
	{ "join", 2, 2, f_join, false },
	{ "json", 1, 1, f_json, false },
	{ "lambda", 0, MAX_ARGS, UNSUPPORTED },
	{ "last", 1, 1, f_last, false },
	{ "lastindexof", 2, 2, f_lastindexof, false },
	{ "length", 1, 1, f_length, false },
	{ "less", 2, 2, f_less, false },
	{ "lessorequals", 2, 2, f_lessorequals, false },
	{ "managementgroup", 0, MAX_ARGS, UNSUPPORTED },
	{ "map", 0, MAX_ARGS, UNSUPPORTED },
	{ "max", 1, MAX_ARGS, f_max, false },
	{ "min", 1, MAX_ARGS, f_min, false },
	{ "mod", 2, 2, f_mod, false },
	{ "mul", 2, 2, f_mul, false },
	{ "not", 1, 1, f_not, false },
	{ "null", 0, 0, f_null, false },
	{ "or", 1, MAX_ARGS, f_or, false },
	{ "padleft", 2, 3, f_padleft, false },
	{ "parameters", 1, 1, armtmpl_parameters, false },
	{ "pickzones", 0, MAX_ARGS, UNSUPPORTED },
	{ "providers", 0, MAX_ARGS, UNSUPPORTED },
	{ "range", 2, 2, f_range, false },
	{ "reference", 0, MAX_ARGS, UNSUPPORTED },
	{ "replace", 3, 3, f_replace, false },
	{ "resourcegroup", 0, 0, f_resourcegroup, false },
	{ "resourceid", 1, MAX_ARGS, f_resourceid, false },
	{ "skip", 2, 2, f_skip, false },
	{ "split", 2, 2, f_split, false },
	{ "startswith", 2, 2, f_startswith, false },
	{ "string", 1, 1, f_string, false },
	{ "sub", 2, 2, f_sub, false },
	{ "subscription", 0, 0, f_subscription, false },
	{ "subscriptionresourceid", 1, MAX_ARGS, f_subscriptionresourceid, false },
	{ "substring", 2, 3, f_substring, false },
	{ "take", 2, 2, f_take, false },
	{ "tenant", 0, MAX_ARGS, UNSUPPORTED },
	{ "tenantresourceid", 0, MAX_ARGS, UNSUPPORTED },
	{ "tolower", 1, 1, f_tolower, false },
	{ "toupper", 1, 1, f_toupper, false },
	{ "trim", 1, 1, f_trim, false },
	{ "true", 0, 0, f_true, false },
	{ "tryget", 2, MAX_ARGS, f_tryget, false },
	{ "union", 1, MAX_ARGS, f_union, false },
	{ "uniquestring", 1, MAX_ARGS, f_uniquestring, false },
	{ "variables", 1, 1, armtmpl_variables, false },
};

static int fn_cmp(const void *k, const void *el)
{
	return strcasecmp(k, ((const struct fn *)el)->name);
}

const struct fn *armfn_find(const char *name)
{
	return bsearch(name, fns, sizeof(fns) / sizeof(fns[0]), sizeof(fns[0]), fn_cmp);
}

/* ARM template evaluation: a recursive-descent parser for the "[…]" expression language that evaluates as it
 * parses (no tree), calling the table of functions in armfn.c, and a walk over "resources" that expands copy loops,
 * conditions and nested deployments.
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

#include "model/armtmpl_int.h"
#include "model/jsonin.h"

static json_t *ev_value(struct ev *e, json_t *v, const char *path);

/* ---- paths: built for every value evaluated, so without snprintf ---- */

static const char *pjoin(char *buf, size_t n, const char *path, const char *key)
{
	size_t a = strlen(path), b = strlen(key), dot = a ? 1 : 0;
	if (a + dot + b + 1 > n)
		return jsonin_path(buf, n, path, key); /* truncates */
	memcpy(buf, path, a);
	buf[a] = '.';
	memcpy(buf + a + dot, key, b + 1);
	return buf;
}

static const char *pindex(char *buf, size_t n, const char *path, size_t i)
{
	char num[24], *q = num + sizeof(num);
	size_t k = i;
	*--q = 0;
	do
		*--q = (char)('0' + k % 10);
	while (k /= 10);
	size_t a = strlen(path), b = (size_t)(num + sizeof(num) - 1 - q);
	if (a + b + 3 > n)
		return jsonin_index(buf, n, path, i);
	memcpy(buf, path, a);
	buf[a] = '[';
	memcpy(buf + a + 1, q, b);
	buf[a + 1 + b] = ']';
	buf[a + 2 + b] = 0;
	return buf;
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
	const char *close = memchr(x->p, '\'', (size_t)(x->end - x->p));
	if (close && (close + 1 >= x->end || close[1] != '\'')) { /* no '' inside: the common case, without a buffer */
		const char *s = x->p;
		x->p = close + 1;
		/* cut at ASCII quotes of a valid UTF-8 string: still valid */
		return x->skip ? json_null() : json_stringn_nocheck(s, (size_t)(close - s));
	}
	for (;;) {
		if (x->p >= x->end) {
			free(b.p);
			return fail(x->e, "unterminated string literal");
		}
		const char *q = x->p;
		while (q < x->end && *q != '\'')
			q++;
		if (!armsb_add(&b, x->p, (size_t)(q - x->p))) {
			free(b.p);
			return fail(x->e, "out of memory");
		}
		x->p = q;
		if (q + 1 < x->end && q[1] == '\'') {
			armsb_add(&b, "'", 1);
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
	return armsb_done(x->e, &b);
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
			if (!x->skip && json_is_object(v)) { /* the common case, without allocating the key */
				json_t *r = json_object_getn(v, s, n);
				if (r) {
					json_incref(r);
					json_decref(v);
					v = r;
					continue;
				}
			}
			key = json_stringn_nocheck(s, n);
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

/* After "name(": the arguments, then the call. if() parses its untaken branch without evaluating it. */
static json_t *call(struct px *x, const char *name, size_t len)
{
	char nm[64];
	len = len < 63 ? len : 63;
	memcpy(nm, name, len);
	nm[len] = 0;
	const struct fn *f = armfn_find(nm);
	if (!f) {
		if (!strncasecmp(nm, "list", 4))
			return fail(x->e, "function '%s' is not supported (it reads a deployed resource)", nm);
		return fail(x->e, "unknown function '%s'", nm);
	}
	json_t *a[MAX_ARGS], *r = NULL;
	int n = 0;
	bool is_if = !f->f && !f->unsupported;
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
	} else if (f->unsupported) {
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
	json_t *v = json_object_get(cache, name);
	*busy = false;
	if (v) /* the common case, without building the key */
		return json_incref(v);
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
		s = jsonin_dumps(allow, JSON_COMPACT);
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
	jsonin_free(s);
	return ok;
}

static json_t *get_param(struct ev *e, const char *name)
{
	bool busy;
	json_t *v = cached(e, e->params, 'p', name, &busy), *def, *given;
	char path[512];
	if (v || e->reported)
		return v;
	def = geti(e->pdefs, name);
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
		if (e->caller) { /* a module's parameter: evaluated in the caller, when first used */
			char cpath[700];
			snprintf(cpath, sizeof(cpath), "%s.properties.parameters.%s.value", e->caller_path, name);
			if (!(v = ev_value(e->caller, v, cpath))) {
				if (!e->caller->reported)
					diag_err(e->d, cpath, "%s", e->caller->err);
				goto bad;
			}
		} else {
			/* [inference] values from a parameters file are taken literally, not evaluated as expressions. */
			json_incref(v);
		}
		if (!param_check(e, name, def, v, path, e->caller ? "as the module passes it" : "from the parameters file"))
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
			 e->caller ? "the deployment does not pass it" : e->pvals ? "the parameters file does not give it"
								  : "no parameters file was given");
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

json_t *armtmpl_parameters(struct ev *e, json_t **a, int n)
{
	if (!need(e, a[0], JSON_STRING, "parameters", 0))
		return NULL;
	int lbase = e->lbase;
	e->lbase = e->nloops;
	json_t *v = get_param(e, json_string_value(a[0]));
	e->lbase = lbase;
	return v;
}

typedef json_t *loop_body(struct ev *e, json_t *spec, const char *path, void *arg);
static json_t *copy_loop(struct ev *e, json_t *spec, const char *path, bool resource, loop_body *body, void *arg);

/* The body of a variable or property copy loop: its input, evaluated at the current index. */
static json_t *copy_input(struct ev *e, json_t *spec, const char *path, void *arg)
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
			return copy_loop(e, c, path, false, copy_input, NULL);
		}
	}
	return fail(e, "variable '%s' is not declared", name);
}

json_t *armtmpl_variables(struct ev *e, json_t **a, int n)
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
	unsigned long failures = jsonin_alloc_failures(); /* a value jansson could not make is not the expression's */
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
			v = fail(e, "unexpected text after the expression at offset %td: %.*s", x.p - x.start,
				 (int)(x.end - x.p < 20 ? x.end - x.p : 20), x.p);
		}
	}
	if (!v && !e->reported) {
		if (jsonin_alloc_failures() != failures)
			diag_oom(e->d, path);
		else
			diag_err(e->d, path, "cannot evaluate %s: %s%s%s%s", p, e->err, outer ? "" : " (needed by ",
				 outer ? "" : e->top, outer ? "" : ")");
		e->reported = true;
	}
	if (outer)
		e->top = NULL;
	return v;
}

/* A copy loop's count, then body() once per index with the loop pushed; the results as an array. */
static json_t *copy_loop(struct ev *e, json_t *spec, const char *path, bool resource, loop_body *body, void *arg)
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

/* Objects and arrays are copied only from their first member that evaluates to something new: a subtree with no
 * expression is shared (reference counted) with the template, which keeps unrelated bulk cheap. */
static json_t *ev_object(struct ev *e, json_t *o, const char *path)
{
	json_t *r = NULL, *v, *cp = json_object_get(o, "copy");
	const char *k;
	char p[600];
	if (!json_is_array(cp))
		cp = NULL;
	json_object_foreach(o, k, v) {
		if (v == cp)
			continue;
		json_t *x = ev_value(e, v, pjoin(p, sizeof(p), path, k));
		if (!x)
			goto bad;
		if (x == v && !r && !cp) {
			json_decref(x);
			continue;
		}
		if (!r) { /* the members before this one were unchanged */
			const char *k2;
			json_t *v2;
			r = json_object();
			json_object_foreach(o, k2, v2) {
				if (!strcmp(k2, k))
					break;
				if (v2 != cp)
					json_object_set_nocheck(r, k2, v2); /* keys of a parsed document */
			}
		}
		json_object_set_new_nocheck(r, k, x);
	}
	if (!r && !cp)
		return json_incref(o);
	if (!r)
		r = json_object();
	/* Property copy: "copy": [{"name": "securityRules", "count": N, "input": {…}}] */
	size_t i;
	json_array_foreach(cp, i, v) {
		snprintf(p, sizeof(p), "%s%scopy[%zu]", path, *path ? "." : "", i);
		json_t *arr = copy_loop(e, v, p, false, copy_input, NULL);
		if (!arr)
			goto bad;
		json_object_set_new(r, json_string_value(json_object_get(v, "name")), arr);
	}
	return r;
bad:
	json_decref(r);
	return NULL;
}

static json_t *ev_array(struct ev *e, json_t *a, const char *path)
{
	json_t *r = NULL, *x;
	char p[600];
	size_t i;
	json_array_foreach(a, i, x) {
		json_t *y = ev_value(e, x, pindex(p, sizeof(p), path, i));
		if (!y) {
			json_decref(r);
			return NULL;
		}
		if (y == x && !r) {
			json_decref(y);
			continue;
		}
		if (!r) {
			r = json_array();
			for (size_t j = 0; j < i; j++)
				json_array_append(r, json_array_get(a, j));
		}
		json_array_append_new(r, y);
	}
	return r ? r : json_incref(a);
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
		r = ev_array(e, v, path);
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
static void walk_template(struct walk *w, json_t *root, json_t *pvals, const char *base, struct ev *caller,
			  const char *caller_path, struct diag *d);

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
		json_t *pv = json_object_get(props, "parameters");
		if (pv && !json_is_object(pv)) {
			diag_err(e->d, pjoin(p, sizeof(p), path, "properties.parameters"), "must be an object, not %s", tname(pv));
			w->nesting--;
			return false;
		}
		walk_template(w, tmpl, pv, base, e, path, e->d);
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
	v = ev_value(w->e, v, pjoin(p, sizeof(p), path, key));
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
		diag_err(e->d, pjoin(p, sizeof(p), path, "condition"), "condition is %s, not a boolean", tname(cond));
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
		diag_err(e->d, pjoin(p, sizeof(p), path, "name"), "a resource's name must be a string, not %s",
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
			diag_err(e->d, pjoin(p, sizeof(p), path, "properties"), "properties must be an object, not %s",
				 tname(props));
			json_decref(props);
			ok = false;
			goto out;
		}
		/* a shallow copy: fold() adds to it, and unevaluated subtrees are shared with the template */
		json_t *own = props ? json_copy(props) : json_object();
		json_decref(props);
		props = own;
		const char *slash = strrchr(full, '/');
		if (k == 1) {
			res = json_pack("{s:s,s:s,s:o}", "name", full, "type", in->type, "properties", props);
			json_t *loc = field(w, r, "location", path, &ok);
			if (loc)
				json_object_set_new(res, "location", loc);
			json_array_append_new(w->out, res);
		} else if (!slash) {
			diag_err(e->d, pjoin(p, sizeof(p), path, "name"),
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
		walk_list(w, nested, pjoin(p, sizeof(p), path, "resources"), in->type, full);
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
		x = copy_loop(w->e, cp, pjoin(p, sizeof(p), path, "copy"), true, instance, &in);
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
			walk_one(w, r, pindex(p, sizeof(p), path, i), ptype, pname);
	} else if (json_is_object(list)) { /* languageVersion 2.0: symbolic names */
		json_object_foreach(list, key, r)
			walk_one(w, r, pjoin(p, sizeof(p), path, key), ptype, pname);
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
		if (!list || json_is_null(list) || (json_is_array(list) && list->refcount > 1)) {
			/* a list shared with the template is copied before it grows */
			list = json_is_array(list) ? json_copy(list) : json_array();
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
static void walk_template(struct walk *w, json_t *root, json_t *pvals, const char *base, struct ev *caller,
			  const char *caller_path, struct diag *d)
{
	struct ev e = { .d = d, .base = base, .pvals = pvals, .caller = caller, .caller_path = caller_path }, *outer = w->e;
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
	/* Every parameter is checked, used or not, as a deployment does; but a module's parameter is evaluated only when
	 * used, so that one built with reference() (another module's output) does not stop the rest being read. */
	json_object_foreach(e.pdefs, key, v) {
		if (caller && geti(pvals, key))
			continue;
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
	walk_template(&w, root, pvals, "", NULL, NULL, d);
	fold(&w);
out:
	json_decref(w.children);
	if (w.bad || d->errors > errors0) {
		json_decref(w.out);
		return NULL;
	}
	return w.out;
}

/* Unit tests of jsonfast_loadb (model/jsonfast.h): on every text, the tree (with its key order, integer/real types
 * and values) or the error (text, line, column) that json_loadb(…, JSON_REJECT_DUPLICATES) gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/jsonfast.h"
#include "testutil.h"

/* Compare both readers on text (len bytes), given with padding and without; 1 when it parsed. */
static int same_n(const char *text, size_t len)
{
	int parsed = 0;
	for (int pad = 0; pad < 2; pad++) {
		size_t padding = pad ? JSONFAST_PADDING : 0;
		char *buf = malloc(len + padding + 1);
		assert_non_null(buf);
		memcpy(buf, text, len);
		memset(buf + len, 0, padding + 1);
		json_error_t e1, e2;
		json_t *a = jsonfast_loadb(buf, len, padding, &e1);
		json_t *b = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e2);
		if (!b) {
			assert_null(a);
			assert_string_equal(e1.text, e2.text);
			assert_int_equal(e1.line, e2.line);
			assert_int_equal(e1.column, e2.column);
		} else {
			assert_non_null(a);
			char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
			char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
			assert_string_equal(sa, sb);
			assert_true(json_equal(a, b));
			free(sa);
			free(sb);
			parsed = 1;
		}
		json_decref(a);
		json_decref(b);
		free(buf);
	}
	return parsed;
}

#define SAME(lit) same_n(lit, sizeof(lit) - 1)

static void test_values(void **st)
{
	assert_true(SAME("{\"b\":1,\"a\":[true,false,null,\"x\",{}],\"\":[]}"));
	assert_true(SAME("[1, -1, -0, 0, 9223372036854775807, -9223372036854775808]"));
	assert_true(SAME("[0.1, -0.0, 1E2, 1e-400, 2.5e+3, 3.1415926535897932384626433832795028841971693993751]"));
	assert_true(SAME("{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"\\\\\\/\\b\\f\\n\\r\\t \xc3\xa9\"}"));
	assert_true(SAME("{\"k\\\\ud800\":\"\\\\udc00\"}")); /* an escaped backslash, not an escape */
	assert_true(SAME(" \r\n\t[ {\"a\" : { \"b\" : [ [ ] ] } } ] \n"));
}

static void test_jansson_refuses(void **st)
{
	assert_false(SAME("{\"a\":1,\"a\":2}"));
	assert_false(SAME("[{\"x\":{\"a\":1,\"b\":2,\"a\":3}}]"));
	assert_false(SAME("{\"a\":\"x\\u0000y\"}"));
	assert_false(SAME("{\"a\\u0000b\":1}"));
	assert_false(SAME("[9223372036854775808]"));
	assert_false(SAME("[-9223372036854775809]"));
	assert_false(SAME("[12345678901234567890123]"));
	assert_false(SAME("[1e400]"));
	assert_false(SAME("[\"\\ud800\"]"));
	assert_false(SAME("[\"\\udc00\\ud800\"]"));
	assert_false(SAME("[\"\\uD83Dx\"]"));
	assert_false(SAME("\"a string\""));
	assert_false(SAME("42"));
	assert_false(SAME("   "));
	assert_false(SAME("{\"a\":1"));
	assert_false(SAME("{\"a\":1}\n x"));
	assert_false(SAME("{\"a\":1,}"));
	assert_false(SAME("[01]"));
	assert_false(SAME("[\"\xff\"]"));
	assert_false(SAME("[\"\xed\xa0\x80\"]"));
	assert_false(SAME("[\"tab\there\"]"));
	assert_false(SAME("\xef\xbb\xbf{}"));
	assert_false(SAME("[tru]"));
	assert_false(same_n("{\"a\":1}\0", 8));
	assert_false(same_n("[\"a\0b\"]", 7));
}

/* Nesting: simdjson stops at 1024 levels, jansson at 2048; either way the answer is jansson's. */
static void test_depth(void **st)
{
	for (size_t depth = 1000; depth <= 2100; depth += 1100 / 4) {
		char *t = malloc(2 * depth + 1);
		assert_non_null(t);
		memset(t, '[', depth);
		memset(t + depth, ']', depth);
		same_n(t, 2 * depth);
		free(t);
	}
}

/* Random documents of the shapes minet reads, and random bytes flipped in them. */
static void test_random(void **st)
{
	uint64_t s = 7;
	char t[4096];
	static const char *const atoms[] = { "1", "-2", "0.5", "-0", "1e3", "true", "null", "\"x\"", "\"\\u00e9\"",
					     "\"\\ud83d\\ude00\"", "[]", "{}", "\"a\\u0000\"", "99999999999999999999" };
	for (int n = 0; n < 2000; n++) {
		size_t len = 0;
		len += (size_t)snprintf(t + len, sizeof(t) - len, "{");
		int keys = (int)(rnd(&s) % 8);
		for (int k = 0; k < keys; k++)
			len += (size_t)snprintf(t + len, sizeof(t) - len, "%s\"k%d\":[%s,{\"k%d\":%s}]", k ? "," : "",
						(int)(rnd(&s) % 6), atoms[rnd(&s) % 14], (int)(rnd(&s) % 3),
						atoms[rnd(&s) % 14]);
		len += (size_t)snprintf(t + len, sizeof(t) - len, "}");
		if (n % 3 == 0 && len)
			t[rnd(&s) % len] = "{}[],:\"\\u0 e."[rnd(&s) % 14];
		same_n(t, len);
	}
}

/* Left-out members: the tree of `expect` (the text without them), or json_loadb's error on the whole text. */
static const char *const has_v[] = { "v", NULL }, *const obj_p[] = { "p", NULL };
static const char *const after[] = { "rc", "*", "ch", "after", NULL }, *const cfg[] = { "cfg", NULL };
static const char *const *const paths[] = { after, cfg, NULL };
static const struct jsonfast_prune rule = { .has = has_v, .objects = obj_p, .paths = paths };

/* Array elements made null (stub_key): those of r whose type begins with neither "keep" nor "Also", without "sub". */
static const char *const res[] = { "r", "*", NULL };
static const char *const *const res_paths[] = { res, NULL };
static const char *const keep[] = { "keep", "Also", NULL }, *const keep_keys[] = { "sub", NULL };
static const struct jsonfast_prune stub_rule = { .has = has_v, .paths = res_paths, .stub_key = "type",
						 .keep_prefixes = keep, .keep_keys = keep_keys };

static void pruned_by(const struct jsonfast_prune *by, const char *text, const char *expect)
{
	size_t len = strlen(text);
	json_error_t e1, e2;
	json_t *a = jsonfast_loadb_pruned(text, len, 0, by, 1, &e1);
	json_t *b = expect ? json_loadb(expect, strlen(expect), JSON_REJECT_DUPLICATES, &e2)
			   : json_loadb(text, len, JSON_REJECT_DUPLICATES, &e2);
	if (!expect) {
		assert_null(b);
		assert_null(a);
		assert_string_equal(e1.text, e2.text);
		assert_int_equal(e1.line, e2.line);
		assert_int_equal(e1.column, e2.column);
		return;
	}
	assert_non_null(a);
	assert_non_null(b);
	char *sa = json_dumps(a, JSON_PRESERVE_ORDER), *sb = json_dumps(b, JSON_PRESERVE_ORDER);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

static void pruned(const char *text, const char *expect)
{
	pruned_by(&rule, text, expect);
}

static void test_stub(void **st)
{
	pruned_by(&stub_rule,
		  "{\"v\":1,\"r\":[{\"type\":\"KEEP.x\",\"a\":1},{\"type\":\"other\",\"a\":{\"b\":[1]}},{\"type\":\"also\"},"
		  "{\"type\":\"other\",\"sub\":[]},{\"type\":5},3,{\"t\":1},[{\"type\":\"other\"}]],"
		  "\"q\":[{\"type\":\"other\"}]}",
		  "{\"v\":1,\"r\":[{\"type\":\"KEEP.x\",\"a\":1},null,{\"type\":\"also\"},"
		  "{\"type\":\"other\",\"sub\":[]},{\"type\":5},3,{\"t\":1},[{\"type\":\"other\"}]],"
		  "\"q\":[{\"type\":\"other\"}]}");
	pruned_by(&stub_rule, "{\"r\":[{\"type\":\"other\"}]}", "{\"r\":[{\"type\":\"other\"}]}");
	pruned_by(&stub_rule, "{\"v\":1,\"r\":{\"*\":{\"type\":\"other\"}}}", "{\"v\":1,\"r\":{\"*\":{\"type\":\"other\"}}}");
	pruned_by(&stub_rule, "{\"v\":1,\"r\":[{\"type\":\"other\",\"a\":1,\"a\":2}]}", NULL);
	pruned_by(&stub_rule, "{\"v\":1,\"r\":[{\"type\":\"other\",\"a\":[18446744073709551615]}]}", NULL);
}

static void test_prune(void **st)
{
	pruned("{\"v\":1,\"p\":{},\"rc\":[{\"ch\":{\"after\":{\"x\":[1,2]},\"u\":1}},{\"ch\":{\"after\":null}},3],"
	       "\"cfg\":{\"a\":1},\"z\":2}",
	       "{\"v\":1,\"p\":{},\"rc\":[{\"ch\":{\"u\":1}},{\"ch\":{}},3],\"z\":2}");
	/* the rule applies only when the root has v (not null) and p (an object) */
	pruned("{\"v\":null,\"p\":{},\"cfg\":1}", "{\"v\":null,\"p\":{},\"cfg\":1}");
	pruned("{\"v\":1,\"p\":[],\"cfg\":1}", "{\"v\":1,\"p\":[],\"cfg\":1}");
	pruned("{\"p\":{},\"cfg\":1}", "{\"p\":{},\"cfg\":1}");
	pruned("[{\"v\":1,\"p\":{},\"cfg\":1}]", "[{\"v\":1,\"p\":{},\"cfg\":1}]");
	/* what is left out is still checked as json_loadb checks it */
	pruned("{\"v\":1,\"p\":{},\"cfg\":{\"a\":1,\"a\":2}}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":1,\"cfg\":2}", NULL);
	pruned("{\"cfg\":1,\"v\":1,\"p\":{},\"cfg\":2}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":[18446744073709551615]}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":[\"a\\u0000\"]}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":{\"a\\u0000\":1}}", NULL);
	pruned("{\"v\":1,\"p\":{},\"rc\":[{\"ch\":{\"after\":1,\"after\":2}}]}", NULL);
	pruned("{\"v\":1,\"p\":{},\"rc\":[{\"ch\":{\"after\":{\"k\":[{\"d\":1,\"d\":1}]}}}]}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":[1,}", NULL);
	/* a repeated key anywhere in a left-out object: among keys of the same length, far from its first, and in
	 * objects of up to 32 keys (each pair compared) and of more (sorted) */
	pruned("{\"v\":1,\"p\":{},\"cfg\":{\"ab\":1,\"ba\":2,\"ab\":3}}", NULL);
	pruned("{\"v\":1,\"p\":{},\"cfg\":{\"ab\":1,\"ba\":2,\"abc\":3}}", "{\"v\":1,\"p\":{}}");
	for (int n = 30; n <= 34; n++) {
		char text[1024], *at = text;
		at += sprintf(at, "{\"v\":1,\"p\":{},\"cfg\":{");
		for (int i = 0; i < n; i++)
			at += sprintf(at, "%s\"k%02d\":%d", i ? "," : "", i, i);
		sprintf(at, "}}");
		pruned(text, "{\"v\":1,\"p\":{}}");
		sprintf(at, ",\"k%02d\":0}}", n / 2);
		pruned(text, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_jansson_refuses),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_stub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

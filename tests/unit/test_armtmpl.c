/* Unit tests of the ARM template evaluator (src/model/armtmpl.c): each function, the errors, copy loops, child
 * resources, parameters, and real quickstart templates from tests/fixtures/arm/ (README.md there has their origin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/armtmpl.h"
#include "testutil.h"

#define NSG "Microsoft.Network/networkSecurityGroups"
#define RT "Microsoft.Network/routeTables"

static char errbuf[8192];

/* Evaluate a template text; NULL on error with the diag lines in errbuf. */
static json_t *run(const char *tmpl, const char *params, const char *type)
{
	json_t *root = json_of(tmpl), *p = params ? json_of(params) : NULL;
	assert_non_null(root);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct diag d = { .out = f, .file = "t.json" };
	json_t *r = armtmpl_resources(root, p, type, &d);
	fclose(f);
	snprintf(errbuf, sizeof(errbuf), "%s", buf ? buf : "");
	free(buf);
	if (!r)
		assert_true(d.errors > 0);
	else
		assert_int_equal(d.errors, 0);
	json_decref(root);
	json_decref(p);
	return r;
}

/* The value of EXPR (a JSON value, usually an expression string) with the given parameters/variables sections,
 * as compact JSON; NULL on error (errbuf holds the message). */
static char *eval_with(const char *params, const char *vars, const char *expr)
{
	static char out[4096];
	char *t;
	assert_true(asprintf(&t,
			     "{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\","
			     "\"contentVersion\":\"1.0.0.0\",\"parameters\":%s,\"variables\":%s,\"resources\":[{\"type\":\"" NSG
			     "\",\"name\":\"n\",\"properties\":{\"x\":%s}}]}",
			     params, vars, expr) > 0);
	json_t *r = run(t, NULL, NSG);
	free(t);
	if (!r)
		return NULL;
	char *s = json_dumps(json_object_get(json_object_get(json_array_get(r, 0), "properties"), "x"),
			     JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(out, sizeof(out), "%s", s);
	free(s);
	json_decref(r);
	return out;
}

static char *eval(const char *expr)
{
	return eval_with("{}", "{}", expr);
}

#define EQ(expr, want) assert_string_equal(eval(expr), want)
/* An error whose text contains `frag`. */
#define ERR(expr, frag)                                                                                                \
	do {                                                                                                           \
		assert_null(eval(expr));                                                                               \
		if (!strstr(errbuf, frag))                                                                             \
			fail_msg("error '%s' lacks '%s'", errbuf, frag);                                               \
	} while (0)

static void test_literals(void **st)
{
	EQ("\"plain\"", "\"plain\"");
	EQ("\"[[notexpr]\"", "\"[notexpr]\"");
	EQ("\"['it''s']\"", "\"it's\"");
	EQ("\"[  'spaced'  ]\"", "\"spaced\"");
	EQ("\"[-42]\"", "-42");
	EQ("\"[true()]\"", "true");
	EQ("\"[false()]\"", "false");
	EQ("\"[null()]\"", "null");
	EQ("7", "7");
	EQ("\"[]\"", "\"[]\""); /* too short to be an expression */
	ERR("\"['open]\"", "unterminated string literal");
	ERR("\"[foo]\"", "'foo' is not a function call");
	ERR("\"[concat('a') 'b']\"", "unexpected ''' after the expression");
	ERR("\"[1.5]\"", "only integer literals");
	ERR("\"[99999999999999999999]\"", "out of range");
	ERR("\"[concat('a',)]\"", "unexpected ')'");
}

static void test_strings(void **st)
{
	EQ("\"[concat('a', 'b', 1, true())]\"", "\"ab1True\"");
	EQ("\"[concat(createArray(1), createArray(2, 3))]\"", "[1,2,3]");
	ERR("\"[concat('a', createObject())]\"", "concat joins strings or arrays");
	EQ("\"[format('{0}-{1}-{0}', 'x', 5)]\"", "\"x-5-x\"");
	EQ("\"[format('{{literal}} {0:N0}', 3)]\"", "\"{literal} 3\"");
	ERR("\"[format('{2}', 'a')]\"", "names no argument");
	EQ("\"[toLower('AbC')]\"", "\"abc\"");
	EQ("\"[toUpper('AbC')]\"", "\"ABC\"");
	EQ("\"[replace('a.b.c', '.', '/')]\"", "\"a/b/c\"");
	ERR("\"[replace('a', '', 'b')]\"", "the string to replace is empty");
	EQ("\"[split('10.0.0.0/24,10.1.0.0/24', ',')]\"", "[\"10.0.0.0/24\",\"10.1.0.0/24\"]");
	EQ("\"[split('a;b,c', createArray(',', ';'))]\"", "[\"a\",\"b\",\"c\"]");
	EQ("\"[split('', ',')]\"", "[\"\"]");
	EQ("\"[split('a,', ',')]\"", "[\"a\",\"\"]");
	EQ("\"[string(12)]\"", "\"12\"");
	EQ("\"[string(createObject('a', 1))]\"", "\"{\\\"a\\\":1}\"");
	EQ("\"[string(false())]\"", "\"False\"");
	EQ("\"[trim('  x ')]\"", "\"x\"");
	EQ("\"[substring('abcdef', 2, 3)]\"", "\"cde\"");
	EQ("\"[substring('abcdef', 4)]\"", "\"ef\"");
	ERR("\"[substring('abc', 2, 5)]\"", "outside the string");
	EQ("\"[padLeft(7, 3, '0')]\"", "\"007\"");
	EQ("\"[startsWith('Hello', 'he')]\"", "true");
	EQ("\"[endsWith('Hello', 'LO')]\"", "true");
	EQ("\"[indexOf('abcabc', 'C')]\"", "2");
	EQ("\"[lastIndexOf('abcabc', 'c')]\"", "5");
	EQ("\"[indexOf('abc', 'z')]\"", "-1");
	EQ("\"[uniqueString('a', 'b')]\"", eval("\"[uniqueString('a', 'b')]\""));
	assert_int_equal(strlen(eval("\"[uniqueString('rg')]\"")), 15); /* 13 characters and quotes */
	assert_string_not_equal(eval("\"[uniqueString('ab', 'c')]\""), "x");
	char one[64];
	snprintf(one, sizeof(one), "%s", eval("\"[uniqueString('ab', 'c')]\""));
	assert_string_not_equal(one, eval("\"[uniqueString('a', 'bc')]\""));
	assert_int_equal(strlen(eval("\"[guid('x')]\"")), 38);
	ERR("\"[toLower(1)]\"", "toLower(): argument 1 must be a string, not an integer");
}

static void test_numbers_logic(void **st)
{
	EQ("\"[add(1, 2)]\"", "3");
	EQ("\"[sub(1, 2)]\"", "-1");
	EQ("\"[mul(6, 7)]\"", "42");
	EQ("\"[div(7, 2)]\"", "3");
	EQ("\"[mod(7, 2)]\"", "1");
	ERR("\"[div(1, 0)]\"", "division by zero");
	ERR("\"[mul(9223372036854775807, 2)]\"", "integer overflow");
	EQ("\"[int('42')]\"", "42");
	ERR("\"[int('4x')]\"", "'4x' is not an integer");
	EQ("\"[min(3, 1, 2)]\"", "1");
	EQ("\"[max(createArray(3, 9, 2))]\"", "9");
	EQ("\"[bool('TRUE')]\"", "true");
	EQ("\"[equals('a', 'a')]\"", "true");
	EQ("\"[equals(1, 2)]\"", "false");
	EQ("\"[equals(createArray(1), createArray(1))]\"", "true");
	EQ("\"[not(equals(1, 2))]\"", "true");
	EQ("\"[and(true(), true(), false())]\"", "false");
	EQ("\"[or(false(), true())]\"", "true");
	ERR("\"[not('x')]\"", "not(): argument 1 must be a boolean");
	EQ("\"[less(1, 2)]\"", "true");
	EQ("\"[greaterOrEquals('b', 'a')]\"", "true");
	EQ("\"[lessOrEquals(2, 2)]\"", "true");
	EQ("\"[greater(1, 2)]\"", "false");
	EQ("\"[if(equals(1, 1), 'yes', 'no')]\"", "\"yes\"");
	EQ("\"[if(false(), 'yes', 'no')]\"", "\"no\"");
	/* the branch not taken is not evaluated */
	EQ("\"[if(true(), 'ok', reference('x').id)]\"", "\"ok\"");
	EQ("\"[if(false(), div(1, 0), 1)]\"", "1");
	ERR("\"[if('x', 1, 2)]\"", "if(): the condition is a string, not a boolean");
	ERR("\"[if(true(), 1)]\"", "if() takes 3 argument(s), not 2");
}

static void test_collections(void **st)
{
	EQ("\"[length('héllo')]\"", "5");
	EQ("\"[length(createArray(1, 2))]\"", "2");
	EQ("\"[length(createObject('a', 1))]\"", "1");
	ERR("\"[length(1)]\"", "length(): argument is an integer");
	EQ("\"[empty('')]\"", "true");
	EQ("\"[empty(createArray())]\"", "true");
	EQ("\"[empty(createObject('a', 1))]\"", "false");
	EQ("\"[contains('abc', 'b')]\"", "true");
	EQ("\"[contains(createArray(1, 2), 2)]\"", "true");
	EQ("\"[contains(createObject('Key', 1), 'key')]\"", "true");
	EQ("\"[union(createArray(1, 2), createArray(2, 3))]\"", "[1,2,3]");
	EQ("\"[union(createObject('a', 1, 'b', 2), createObject('b', 3))]\"", "{\"a\":1,\"b\":3}");
	EQ("\"[intersection(createArray(1, 2, 3), createArray(3, 2))]\"", "[2,3]");
	EQ("\"[createObject('k', createArray('v'))]\"", "{\"k\":[\"v\"]}");
	ERR("\"[createObject('k')]\"", "pairs of key and value");
	EQ("\"[coalesce(null(), null(), 'x')]\"", "\"x\"");
	EQ("\"[first(createArray(4, 5))]\"", "4");
	EQ("\"[last(createArray(4, 5))]\"", "5");
	EQ("\"[first('abc')]\"", "\"a\"");
	EQ("\"[last('abc')]\"", "\"c\"");
	EQ("\"[take(createArray(1, 2, 3), 2)]\"", "[1,2]");
	EQ("\"[skip(createArray(1, 2, 3), 2)]\"", "[3]");
	EQ("\"[take('abc', 9)]\"", "\"abc\"");
	EQ("\"[skip('abc', -1)]\"", "\"abc\"");
	EQ("\"[range(5, 3)]\"", "[5,6,7]");
	ERR("\"[range(0, 10001)]\"", "range(): count 10001");
	EQ("\"[json('{\\\"a\\\": [1]}').a[0]]\"", "1");
	EQ("\"[tryGet(createObject('a', createArray(5, 6)), 'A', 1)]\"", "6");
	EQ("\"[tryGet(createObject('a', 1), 'b')]\"", "null");
	EQ("\"[join(createArray('a', 1, 'c'), ', ')]\"", "\"a, 1, c\"");
	EQ("\"[array('x')]\"", "[\"x\"]");
	EQ("\"[array(createArray(1))]\"", "[1]");
	EQ("\"[createObject('Name', 'x').name]\"", "\"x\""); /* property names are case-insensitive */
	EQ("\"[createArray('a', 'b')[1]]\"", "\"b\"");
	EQ("\"[createObject('a', 'b')['a']]\"", "\"b\"");
	ERR("\"[createArray(1)[3]]\"", "index 3 is out of range");
	ERR("\"[createObject('a', 1).b]\"", "has no property 'b'");
	ERR("\"[createArray(1).b]\"", "cannot read property 'b' of an array");
}

static void test_ids(void **st)
{
	EQ("\"[resourceId('Microsoft.Network/networkSecurityGroups', 'nsg1')]\"",
	   "\"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/resourceGroup/providers/"
	   "Microsoft.Network/networkSecurityGroups/nsg1\"");
	EQ("\"[resourceId('rg2', 'Microsoft.Network/virtualNetworks/subnets', 'vnet', 'sub')]\"",
	   "\"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg2/providers/"
	   "Microsoft.Network/virtualNetworks/vnet/subnets/sub\"");
	EQ("\"[resourceId('s1', 'rg2', 'Microsoft.Network/routeTables', 'rt')]\"",
	   "\"/subscriptions/s1/resourceGroups/rg2/providers/Microsoft.Network/routeTables/rt\"");
	EQ("\"[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'g')]\"",
	   "\"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Resources/resourceGroups/g\"");
	ERR("\"[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet')]\"", "needs 2 name(s), 1 given");
	EQ("\"[subscription().subscriptionId]\"", "\"00000000-0000-0000-0000-000000000000\"");
	EQ("\"[resourceGroup().name]\"", "\"resourceGroup\"");
	EQ("\"[resourceGroup().location]\"", "\"resourceGroupLocation\"");
}

static void test_unsupported(void **st)
{
	ERR("\"[reference('x').id]\"",
	    "t.json: resources[0].properties.x: cannot evaluate [reference('x').id]: function 'reference' is not supported");
	ERR("\"[listKeys('x', '2020-01-01').keys[0]]\"", "function 'listKeys' is not supported");
	ERR("\"[deployment().properties.templateLink.uri]\"", "function 'deployment' is not supported");
	ERR("\"[environment().name]\"", "function 'environment' is not supported");
	ERR("\"[frobnicate(1)]\"", "unknown function 'frobnicate'");
	ERR("\"[copyIndex()]\"", "copyIndex() outside a resource copy loop");
}

static void test_parameters_variables(void **st)
{
	const char *p = "{\"s\":{\"type\":\"string\",\"defaultValue\":\"dflt\"},"
			"\"n\":{\"type\":\"int\",\"defaultValue\":3,\"allowedValues\":[1,3]},"
			"\"o\":{\"type\":\"object\",\"defaultValue\":{\"k\":[\"[parameters('s')]\"]}},"
			"\"loc\":{\"type\":\"string\",\"defaultValue\":\"[resourceGroup().location]\"}}";
	const char *v = "{\"a\":\"[concat(parameters('s'), '-', variables('b'))]\",\"b\":\"B\","
			"\"obj\":{\"list\":[\"[variables('b')]\"]},"
			"\"copy\":[{\"name\":\"nums\",\"count\":3,\"input\":\"[mul(copyIndex('nums'), 10)]\"}],"
			"\"self\":\"[variables('self')]\","
			"\"prop\":{\"copy\":[{\"name\":\"items\",\"count\":2,\"input\":{\"i\":\"[copyIndex('items', 1)]\"}}]}}";
	assert_string_equal(eval_with(p, v, "\"[parameters('s')]\""), "\"dflt\"");
	assert_string_equal(eval_with(p, v, "\"[parameters('N')]\""), "3");
	assert_string_equal(eval_with(p, v, "\"[parameters('o').k[0]]\""), "\"dflt\"");
	assert_string_equal(eval_with(p, v, "\"[parameters('loc')]\""), "\"resourceGroupLocation\"");
	assert_string_equal(eval_with(p, v, "\"[variables('a')]\""), "\"dflt-B\"");
	assert_string_equal(eval_with(p, v, "\"[variables('obj').list]\""), "[\"B\"]");
	assert_string_equal(eval_with(p, v, "\"[variables('nums')]\""), "[0,10,20]");
	assert_string_equal(eval_with(p, v, "\"[variables('prop')]\""), "{\"items\":[{\"i\":1},{\"i\":2}]}");
	assert_null(eval_with(p, v, "\"[variables('self')]\""));
	assert_non_null(strstr(errbuf, "variable 'self' refers to itself"));
	assert_null(eval_with(p, v, "\"[variables('nope')]\""));
	assert_non_null(strstr(errbuf, "variable 'nope' is not declared"));
	assert_null(eval_with(p, v, "\"[parameters('nope')]\""));
	assert_non_null(strstr(errbuf, "parameter 'nope' is not declared"));
	/* an error inside a variable names the variable and where it was needed */
	assert_null(eval_with("{}", "{\"bad\":\"[reference('r').x]\"}", "\"[variables('bad')]\""));
	assert_string_equal(errbuf, "t.json: variables.bad: cannot evaluate [reference('r').x]: function 'reference' is not "
				    "supported (it needs a real deployment) (needed by resources[0].properties.x)\n");
}

static const char param_tmpl[] =
	"{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\","
	"\"contentVersion\":\"1.0.0.0\",\"parameters\":{"
	"\"name\":{\"type\":\"string\"},"
	"\"size\":{\"type\":\"int\",\"defaultValue\":16,\"allowedValues\":[8,16],\"minValue\":8},"
	"\"flag\":{\"type\":\"bool\",\"defaultValue\":false}},"
	"\"resources\":[{\"type\":\"" NSG "\",\"name\":\"[parameters('name')]\",\"properties\":{"
	"\"size\":\"[parameters('size')]\",\"flag\":\"[parameters('flag')]\"}}]}";

static void test_parameter_checks(void **st)
{
	assert_null(run(param_tmpl, NULL, NSG));
	assert_string_equal(errbuf, "t.json: parameters.name: parameter 'name' needs a value: it has no defaultValue and "
				    "no parameters file was given\n");
	json_t *r = run(param_tmpl, "{\"parameters\":{\"name\":{\"value\":\"mine\"},\"flag\":{\"value\":true}}}", NSG);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "mine");
	assert_true(json_is_true(json_object_get(json_object_get(json_array_get(r, 0), "properties"), "flag")));
	json_decref(r);
	assert_null(run(param_tmpl, "{\"parameters\":{\"name\":{\"value\":\"m\"},\"size\":{\"value\":12}}}", NSG));
	assert_string_equal(errbuf, "t.json: parameters.size: parameter 'size' (from the parameters file) is not one of "
				    "the allowedValues [8,16]\n");
	assert_null(run(param_tmpl, "{\"parameters\":{\"name\":{\"value\":5}}}", NSG));
	assert_string_equal(errbuf, "t.json: parameters.name: parameter 'name' is an integer (from the parameters file), "
				    "but its type is string\n");
	assert_null(run(param_tmpl, "{\"parameters\":{\"name\":{\"value\":\"m\"},\"extra\":{\"value\":1}}}", NSG));
	assert_non_null(strstr(errbuf, "the parameters file gives 'extra', which the template does not declare"));
	assert_null(run(param_tmpl, "{\"parameters\":{\"name\":{\"reference\":{\"keyVault\":{}}}}}", NSG));
	assert_non_null(strstr(errbuf, "Key Vault reference"));
}

/* Resource copy, property copy, conditions, nested and top-level child resources, languageVersion 2.0. */
static const char loops_tmpl[] =
	"{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\","
	"\"contentVersion\":\"1.0.0.0\","
	"\"parameters\":{\"prefixes\":{\"type\":\"array\",\"defaultValue\":[\"10.1.0.0/16\",\"10.2.0.0/16\"]},"
	"\"withRt\":{\"type\":\"bool\",\"defaultValue\":false}},"
	"\"variables\":{\"nsgName\":\"[concat('nsg-', 'web')]\"},"
	"\"resources\":["
	/* 0: NSG with a property copy and a nested child rule */
	"{\"type\":\"" NSG "\",\"name\":\"[variables('nsgName')]\",\"apiVersion\":\"2020-06-01\",\"location\":\"[resourceGroup().location]\","
	"\"properties\":{\"copy\":[{\"name\":\"securityRules\",\"count\":\"[length(parameters('prefixes'))]\",\"input\":{"
	"\"name\":\"[format('allow-{0}', copyIndex('securityRules'))]\",\"properties\":{\"priority\":\"[add(100, copyIndex('securityRules'))]\","
	"\"sourceAddressPrefix\":\"[parameters('prefixes')[copyIndex('securityRules')]]\",\"access\":\"Allow\"}}}]},"
	"\"resources\":[{\"type\":\"securityRules\",\"name\":\"nested\",\"properties\":{\"priority\":300}}]},"
	/* 1: top-level child rules via resource copy */
	"{\"type\":\"Microsoft.Network/networkSecurityGroups/securityRules\",\"name\":\"[format('{0}/deny{1}', variables('nsgName'), copyIndex(1))]\","
	"\"copy\":{\"name\":\"denies\",\"count\":2},\"properties\":{\"priority\":\"[add(4000, copyIndex())]\"}},"
	/* 2: an NSG per index, one dropped by condition */
	"{\"type\":\"" NSG "\",\"name\":\"[concat('loop', copyIndex())]\",\"copy\":{\"name\":\"nsgs\",\"count\":3},"
	"\"condition\":\"[not(equals(copyIndex(), 1))]\",\"properties\":{}},"
	/* 3: a route table under a false condition, and an unrelated resource with an unsupported function */
	"{\"type\":\"" RT "\",\"name\":\"rt\",\"condition\":\"[parameters('withRt')]\",\"properties\":{}},"
	"{\"type\":\"Microsoft.Storage/storageAccounts\",\"name\":\"[reference('x').name]\"},"
	/* 4: an existing route table with a route: its parent is not deployed here */
	"{\"type\":\"" RT "\",\"name\":\"rtB\",\"properties\":{\"routes\":null}},"
	"{\"type\":\"Microsoft.Network/routeTables/routes\",\"name\":\"rtB/r1\",\"properties\":{\"addressPrefix\":\"0.0.0.0/0\"}}"
	"]}";

static void test_loops_children(void **st)
{
	json_t *r = run(loops_tmpl, NULL, NSG);
	assert_non_null(r);
	char *s = json_dumps(r, JSON_COMPACT);
	assert_string_equal(
		s, "[{\"name\":\"nsg-web\",\"type\":\"" NSG "\",\"properties\":{\"securityRules\":["
		   "{\"name\":\"allow-0\",\"properties\":{\"priority\":100,\"sourceAddressPrefix\":\"10.1.0.0/16\",\"access\":\"Allow\"}},"
		   "{\"name\":\"allow-1\",\"properties\":{\"priority\":101,\"sourceAddressPrefix\":\"10.2.0.0/16\",\"access\":\"Allow\"}},"
		   "{\"name\":\"nested\",\"properties\":{\"priority\":300}},"
		   "{\"name\":\"deny1\",\"properties\":{\"priority\":4000}},"
		   "{\"name\":\"deny2\",\"properties\":{\"priority\":4001}}]},\"location\":\"resourceGroupLocation\"},"
		   "{\"name\":\"loop0\",\"type\":\"" NSG "\",\"properties\":{}},"
		   "{\"name\":\"loop2\",\"type\":\"" NSG "\",\"properties\":{}}]");
	free(s);
	json_decref(r);
	/* route tables: "rt" is dropped (condition false); rtB gets its child route, routes: null becomes a list */
	r = run(loops_tmpl, NULL, "microsoft.network/ROUTETABLES");
	assert_non_null(r);
	s = json_dumps(r, JSON_COMPACT);
	assert_string_equal(s, "[{\"name\":\"rtB\",\"type\":\"" RT "\",\"properties\":{\"routes\":["
			       "{\"name\":\"r1\",\"properties\":{\"addressPrefix\":\"0.0.0.0/0\"}}]}}]");
	free(s);
	json_decref(r);
	r = run(loops_tmpl, "{\"parameters\":{\"withRt\":{\"value\":true}}}", RT);
	assert_int_equal(json_array_size(r), 2);
	json_decref(r);
	/* the template is not changed: child routes fold into a copy of a literal parent's properties */
	json_t *root = json_of(loops_tmpl), *before = json_deep_copy(root);
	struct diag d = { .out = stderr, .file = "t.json" };
	for (int i = 0; i < 2; i++) {
		r = armtmpl_resources(root, NULL, RT, &d);
		assert_int_equal(json_array_size(json_object_get(json_object_get(json_array_get(r, 0), "properties"), "routes")), 1);
		json_decref(r);
	}
	assert_true(json_equal(root, before));
	json_decref(root);
	json_decref(before);
}

static void test_resource_errors(void **st)
{
	const char *head = "{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\","
			   "\"contentVersion\":\"1.0.0.0\",\"resources\":[";
	char t[2048];
	snprintf(t, sizeof(t), "%s{\"type\":\"" NSG "/securityRules\",\"name\":\"other/r\",\"properties\":{}}]}", head);
	assert_null(run(t, NULL, NSG));
	assert_string_equal(errbuf, "t.json: resources[0]: the parent 'other' of this securityRules resource is not a " NSG
				    " this template deploys\n");
	snprintf(t, sizeof(t), "%s{\"type\":\"" NSG "\",\"name\":\"a\",\"copy\":{\"name\":\"c\",\"count\":801}}]}", head);
	assert_null(run(t, NULL, NSG));
	assert_non_null(strstr(errbuf, "resources[0].copy.count: the count of copy loop 'c'"));
	snprintf(t, sizeof(t), "%s{\"type\":\"" NSG "\",\"name\":\"a\",\"condition\":\"yes\"}]}", head);
	assert_null(run(t, NULL, NSG));
	assert_string_equal(errbuf, "t.json: resources[0].condition: condition is a string, not a boolean\n");
	snprintf(t, sizeof(t), "%s{\"type\":\"" NSG "\",\"name\":\"a\",\"properties\":{\"securityRules\":[{\"name\":\"r\","
		 "\"properties\":{\"sourceAddressPrefix\":\"[reference('x').id]\"}}]}},"
		 "{\"type\":\"" NSG "\",\"name\":\"[listKeys('k')]\"}]}", head);
	assert_null(run(t, NULL, NSG));
	/* both errors are reported */
	assert_string_equal(errbuf, "t.json: resources[0].properties.securityRules[0].properties.sourceAddressPrefix: "
				    "cannot evaluate [reference('x').id]: function 'reference' is not supported (it needs a real deployment)\n"
				    "t.json: resources[1].name: cannot evaluate [listKeys('k')]: function 'listKeys' is "
				    "not supported (it reads a deployed resource)\n");
	/* languageVersion 2.0: symbolic names, existing resources skipped */
	snprintf(t, sizeof(t), "{\"languageVersion\":\"2.0\",\"contentVersion\":\"1.0.0.0\",\"resources\":{"
			       "\"old\":{\"existing\":true,\"type\":\"" NSG "\",\"name\":\"old\"},"
			       "\"nsg\":{\"type\":\"" NSG "\",\"name\":\"new\",\"properties\":{\"securityRules\":[]}}}}");
	json_t *r = run(t, NULL, NSG);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "new");
	json_decref(r);
}

static void test_is_template(void **st)
{
	json_t *a = json_of("{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\"}");
	json_t *b = json_of("{\"contentVersion\":\"1.0.0.0\",\"resources\":[]}");
	json_t *c = json_of("{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#\","
			    "\"contentVersion\":\"1.0.0.0\",\"parameters\":{}}");
	json_t *n = json_of("{\"name\":\"nsg\",\"properties\":{\"securityRules\":[]}}");
	assert_true(armtmpl_is_template(a));
	assert_true(armtmpl_is_template(b));
	assert_false(armtmpl_is_template(c));
	assert_false(armtmpl_is_template(n));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(n);
}

/* A fixture file (tests/fixtures/arm/NAME) evaluated with its parameters file (or none). */
static json_t *fixture(const char *name, const char *params, const char *type)
{
	char path[512];
	snprintf(path, sizeof(path), "tests/fixtures/arm/%s", name);
	struct diag d = { .out = stderr, .file = name };
	json_t *root = jsonin_load_file(repo_file(path), 1 << 24, &d), *p = NULL;
	assert_non_null(root);
	if (params) {
		snprintf(path, sizeof(path), "tests/fixtures/arm/%s", params);
		assert_non_null(p = jsonin_load_file(repo_file(path), 1 << 20, &d));
	}
	assert_true(armtmpl_is_template(root));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	d.out = f;
	json_t *r = armtmpl_resources(root, p, type, &d);
	fclose(f);
	snprintf(errbuf, sizeof(errbuf), "%s", buf ? buf : "");
	free(buf);
	json_decref(root);
	json_decref(p);
	return r;
}

/* "name priority access direction source destination port" of each rule, one line each. */
static char *rules_text(json_t *res, const char *prop)
{
	static char out[4096];
	size_t i, n = 0;
	json_t *r;
	out[0] = 0;
	json_array_foreach(json_object_get(json_object_get(res, "properties"), prop), i, r) {
		json_t *p = json_object_get(r, "properties");
		if (!strcmp(prop, "routes"))
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s %s %s %s\n", json_string_value(json_object_get(r, "name")),
					      json_string_value(json_object_get(p, "addressPrefix")),
					      json_string_value(json_object_get(p, "nextHopType")),
					      json_string_value(json_object_get(p, "nextHopIpAddress")) ?: "-");
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s %lld %s %s %s %s %s\n",
					      json_string_value(json_object_get(r, "name")),
					      (long long)json_integer_value(json_object_get(p, "priority")),
					      json_string_value(json_object_get(p, "access")),
					      json_string_value(json_object_get(p, "direction")),
					      json_string_value(json_object_get(p, "sourceAddressPrefix")),
					      json_string_value(json_object_get(p, "destinationAddressPrefix")),
					      json_string_value(json_object_get(p, "destinationPortRange")));
	}
	return out;
}

static void test_fixture_mi(void **st)
{
	json_t *r = fixture("mi-new-vnet.json", NULL, NSG);
	assert_null(r);
	assert_string_equal(errbuf, "mi-new-vnet.json: parameters.managedInstanceName: parameter 'managedInstanceName' needs "
				    "a value: it has no defaultValue and no parameters file was given\n"
				    "mi-new-vnet.json: parameters.administratorLoginPassword: parameter "
				    "'administratorLoginPassword' needs a value: it has no defaultValue and no parameters file "
				    "was given\n");
	r = fixture("mi-new-vnet.json", "mi-new-vnet.parameters.json", NSG);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "SQLMI-mi-demo-NSG");
	assert_string_equal(rules_text(json_array_get(r, 0), "securityRules"),
			    "allow_tds_inbound 1000 Allow Inbound VirtualNetwork * 1433\n"
			    "allow_redirect_inbound 1100 Allow Inbound VirtualNetwork * 11000-11999\n"
			    "deny_all_inbound 4096 Deny Inbound * * *\n"
			    "deny_all_outbound 4096 Deny Outbound * * *\n");
	json_decref(r);
	/* the route table has no routes: returned as it is */
	r = fixture("mi-new-vnet.json", "mi-new-vnet.parameters.json", RT);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "SQLMI-mi-demo-Route-Table");
	assert_null(json_object_get(json_object_get(json_array_get(r, 0), "properties"), "routes"));
	json_decref(r);
}

static void test_fixture_others(void **st)
{
	json_t *r = fixture("redis-nsg-reference.json", NULL, NSG);
	assert_null(r);
	assert_string_equal(errbuf, "redis-nsg-reference.json: resources[0].properties.securityRules[0].properties."
				    "destinationAddressPrefix: cannot evaluate [reference(variables('subnetId'), '2018-04-01')."
				    "addressPrefix]: function 'reference' is not supported (it needs a real deployment)\n");
	r = fixture("nsg-variable-copy.json", "nsg-variable-copy.parameters.json", NSG);
	assert_string_equal(rules_text(json_array_get(r, 0), "securityRules"),
			    "allow-https-in 100 Allow Inbound Internet 10.2.0.0/24 443\n"
			    "allow-ssh-mgmt 110 Allow Inbound 10.0.1.4 10.2.0.0/24 22\n"
			    "deny-all-in 4000 Deny Inbound * * *\n");
	json_decref(r);
	r = fixture("bicep-loops.json", NULL, NSG);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "spoke1-nsg");
	assert_string_equal(rules_text(json_array_get(r, 0), "securityRules"),
			    "allow-web 100 Allow Inbound Internet VirtualNetwork 443\n"
			    "allow-lb 110 Allow Inbound AzureLoadBalancer VirtualNetwork *\n");
	json_decref(r);
	r = fixture("bicep-loops.json", NULL, RT);
	assert_string_equal(rules_text(json_array_get(r, 0), "routes"),
			    "default-to-firewall 0.0.0.0/0 VirtualAppliance 10.0.1.4\n"
			    "onprem-0 192.168.0.0/16 VirtualAppliance 10.0.1.4\n"
			    "onprem-1 172.16.0.0/12 VirtualAppliance 10.0.1.4\n");
	json_decref(r);
}

/* A module whose parameter a has type %s, more declared parameters %s, and an NSG named %s. */
#define MOD "{\"contentVersion\":\"1.0.0.0\",\"resources\":[{\"type\":\"Microsoft.Resources/deployments\","\
			  "\"name\":\"m\",\"properties\":{\"expressionEvaluationOptions\":{\"scope\":\"inner\"},"\
			  "\"parameters\":{\"a\":{\"value\":\"[add(1, 2)]\"},\"unused\":{\"value\":\"[reference('v').outputs.x]\"}},"\
			  "\"template\":{\"parameters\":{\"a\":{\"type\":\"%s\"},\"unused\":{\"type\":\"string\"}%s},"\
			  "\"resources\":[{\"type\":\"" NSG "\",\"name\":\"%s\"}]}}}]}"

/* Nested deployments: Bicep modules (inner scope, in a copy loop) and a classic nested template (outer scope). */
static void test_fixture_module(void **st)
{
	json_t *r = fixture("bicep-module.json", NULL, NSG);
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "app-nsg");
	assert_string_equal(rules_text(json_array_get(r, 0), "securityRules"),
			    "allow-10-10-0-0_24 200 Allow Inbound 10.10.0.0/24 VirtualNetwork 443\n"
			    "allow-10-20-0-0_24 210 Allow Inbound 10.20.0.0/24 VirtualNetwork 443\n");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "name")), "data-nsg");
	assert_string_equal(rules_text(json_array_get(r, 1), "securityRules"),
			    "allow-10-30-1-0_24 200 Allow Inbound 10.30.1.0/24 VirtualNetwork 443\n");
	json_decref(r);
	r = fixture("bicep-module.json", NULL, RT);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "app-rt");
	assert_string_equal(rules_text(json_array_get(r, 0), "routes"), "to-hub 0.0.0.0/0 VirtualAppliance 10.0.0.4\n");
	json_decref(r);
	/* an error inside a module's template names the full path; a module's parameters are evaluated in the caller
	 * when used, so an unused one built with reference() is no error */
	char t[2048];
	snprintf(t, sizeof(t), MOD, "int", "", "[format('n{0}', parameters('a'))]");
	r = run(t, NULL, NSG);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "name")), "n3");
	json_decref(r);
	snprintf(t, sizeof(t), MOD, "string", ",\"b\":{\"type\":\"string\"}", "[parameters('a')]");
	assert_null(run(t, NULL, NSG));
	assert_string_equal(errbuf, "t.json: resources[0].properties.template.parameters.b: parameter 'b' needs a value: it has "
				    "no defaultValue and the deployment does not pass it\n"
				    "t.json: resources[0].properties.template.parameters.a: parameter 'a' is an integer (as the "
				    "module passes it), but its type is string\n");
	snprintf(t, sizeof(t), MOD, "int", "", "[parameters('unused')]");
	assert_null(run(t, NULL, NSG));
	assert_string_equal(errbuf, "t.json: resources[0].properties.parameters.unused.value: cannot evaluate "
				    "[reference('v').outputs.x]: function 'reference' is not supported (it needs a real deployment)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers_logic),
		cmocka_unit_test(test_collections),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_parameters_variables),
		cmocka_unit_test(test_parameter_checks),
		cmocka_unit_test(test_loops_children),
		cmocka_unit_test(test_resource_errors),
		cmocka_unit_test(test_is_template),
		cmocka_unit_test(test_fixture_mi),
		cmocka_unit_test(test_fixture_others),
		cmocka_unit_test(test_fixture_module),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

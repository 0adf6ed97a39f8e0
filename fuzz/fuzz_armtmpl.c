/* libFuzzer: the ARM template evaluator (armtmpl_resources). The input is a template, or {"template": …,
 * "parameters": …} for a template with a parameters file. Each call must either fail with at least one diag line or
 * return an array of {name: string, properties: object}; evaluating twice must give the same result, and the input
 * must not change. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/armtmpl.h"
#include "model/jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *eval(json_t *tmpl, json_t *params, const char *type)
{
	struct diag d = { .out = NULL, .file = "t.json" };
	json_t *r = armtmpl_resources(tmpl, params, type, &d);
	size_t i;
	json_t *res;
	if (!r) {
		if (d.errors == 0)
			abort(); /* a failure must say why */
		return NULL;
	}
	if (d.errors || !json_is_array(r))
		abort();
	json_array_foreach(r, i, res)
		if (!json_is_string(json_object_get(res, "name")) || !json_is_object(json_object_get(res, "properties")))
			abort();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *types[] = { "Microsoft.Network/networkSecurityGroups", "Microsoft.Network/routeTables" };
	struct diag d = { .out = NULL, .file = "t.json" };
	json_t *root = jsonin_load_buf((const char *)data, size, &d);
	if (!root)
		return 0;
	json_t *tmpl = json_object_get(root, "template"), *params = json_object_get(root, "parameters");
	if (!json_is_object(tmpl) || !json_is_object(params))
		tmpl = root, params = NULL;
	(void)armtmpl_is_template(tmpl);
	json_t *before = json_deep_copy(root);
	for (int t = 0; t < 2; t++) {
		json_t *a = eval(tmpl, params, types[t]), *b = eval(tmpl, params, types[t]);
		if (!a != !b || (a && !json_equal(a, b)))
			abort();
		json_decref(a);
		json_decref(b);
	}
	if (!json_equal(root, before))
		abort();
	json_decref(before);
	json_decref(root);
	return 0;
}

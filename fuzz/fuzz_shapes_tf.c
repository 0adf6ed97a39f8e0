/* libFuzzer: Terraform `show -json` shapes (plan with planned_values and resource_changes, state, standalone
 * rule and route resources) as whole files, and the input as the resources of a plan's root module.
 * fuzz_shapes_common.h says what is checked. */
#include "fuzz_shapes_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *as_plan_resources(json_t *v)
{
	return json_pack("{s:s, s:{s:{s:O}}, s:O}", "format_version", "1.2", "planned_values", "root_module",
			 "resources", v, "resource_changes", v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shapes_fuzz(data, size, NULL);
	shapes_fuzz(data, size, as_plan_resources);
	return 0;
}

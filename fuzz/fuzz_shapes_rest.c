/* libFuzzer: the REST-family shapes (REST resource, REST example wrapper, {"value":[…]} lists, az show / list /
 * rule list / create) as whole files, and the input as the body of a REST example. fuzz_shapes_common.h
 * says what is checked. */
#include "fuzz_shapes_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *as_example_body(json_t *v)
{
	return json_pack("{s:{}, s:{s:{s:O}}}", "parameters", "responses", "200", "body", v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shapes_fuzz(data, size, NULL);
	shapes_fuzz(data, size, as_example_body);
	return 0;
}

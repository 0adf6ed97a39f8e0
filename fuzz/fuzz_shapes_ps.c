/* libFuzzer: PowerShell ConvertTo-Json shapes (Get-AzNetworkSecurityGroup, Get-AzRouteTable) as whole files, and
 * the input as the SecurityRules / Routes of one. fuzz_shapes_common.h says what is checked. */
#include "fuzz_shapes_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *as_ps(json_t *v)
{
	return json_pack("{s:s, s:O, s:O}", "Name", "ps", "SecurityRules", v, "Routes", v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shapes_fuzz(data, size, NULL);
	shapes_fuzz(data, size, as_ps);
	return 0;
}

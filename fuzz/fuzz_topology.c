/* libFuzzer: the lab topology parser (lab_load: hosts, addresses, probe settings, and the tags, NSG and route
 * table inside it). A topology that loads is compiled (nftables scripts and routes), which must not fail. */
#include <stdint.h>
#include <stdlib.h>

#include "realize/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lab lab;
	struct diag d = { 0 };
	if (lab_load(&lab, (const char *)data, size, "fuzz", NULL, &d) < 0)
		return 0;
	char *s[4] = { compile_fabric(&lab), compile_nsg(&lab), compile_node(&lab), compile_nva(&lab) };
	for (int i = 0; i < 4; i++) {
		if (!s[i])
			abort();
		free(s[i]);
	}
	struct lab_route *r;
	size_t n;
	if (compile_routes(&lab, &r, &n) < 0)
		abort();
	free(r);
	lab_free(&lab);
	return 0;
}

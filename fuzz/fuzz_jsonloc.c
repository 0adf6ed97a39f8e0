/* libFuzzer: locating a JSON path in a text (jsonloc, for SARIF). Input: "PATH\nJSON". Whatever it finds must
 * lie inside the text, start before it ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl || nl - data > 200)
		return 0;
	char path[256];
	memcpy(path, data, (size_t)(nl - data));
	path[nl - data] = 0;
	size_t len = size - (size_t)(nl - data) - 1;
	char *buf = calloc(1, len + JSONLOC_PADDING);
	memcpy(buf, nl + 1, len);
	struct jsonloc_region r;
	if (jsonloc(buf, len, path, &r) == 0) {
		if (r.start_line < 1 || r.end_line < r.start_line ||
		    (r.end_line == r.start_line && r.end_column < r.start_column))
			abort();
	}
	free(buf);
	return 0;
}

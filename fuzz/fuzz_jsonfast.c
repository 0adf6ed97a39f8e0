/* libFuzzer: jsonfast_loadb against json_loadb (JSON_REJECT_DUPLICATES) on the same text: the same tree (key order,
 * integer or real, value) or the same error (text, line, column). Any difference aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonfast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t padding = size % 2 ? JSONFAST_PADDING : 0; /* both the copying and the padded path */
	char *buf = malloc(size + padding + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, 0, padding + 1);
	json_error_t e1, e2;
	json_t *a = jsonfast_loadb(buf, size, padding, &e1);
	json_t *b = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e2);
	if (!a != !b)
		abort();
	if (!b) {
		if (strcmp(e1.text, e2.text) || e1.line != e2.line || e1.column != e2.column)
			abort();
	} else {
		char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		if (!sa || !sb || strcmp(sa, sb) || !json_equal(a, b))
			abort();
		free(sa);
		free(sb);
	}
	json_decref(a);
	json_decref(b);
	free(buf);
	return 0;
}

/* Where a value is in a JSON text, for reports that point into input files (SARIF). jansson keeps no
 * positions, so this asks simdjson's On Demand parser, which walks the original text. */
#ifndef MINET_JSONLOC_H
#define MINET_JSONLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the value at path (minet's JSON path form, e.g. "properties.securityRules[3]") begins and ends in buf:
 * 1-based lines and columns, the end inclusive. buf must have JSONLOC_PADDING readable bytes after len.
 * 0; -1 when the text or the path does not lead anywhere, -2 when memory ran out (all are then 1). */
struct jsonloc_region {
	int start_line, start_column, end_line, end_column;
};
int jsonloc(const char *buf, size_t len, const char *path, struct jsonloc_region *r);

#define JSONLOC_PADDING 64

#ifdef __cplusplus
}
#endif

#endif

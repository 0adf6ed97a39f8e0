/* libFuzzer: the framing minet-agent's workers decode from the parent (ipc.c): a byte stream of frames, each
 * split into its blobs. Whatever the bytes, no read past them, and what parses re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct ipc_blob b[IPC_MAX_BLOBS];
		const uint8_t *payload;
		uint32_t type, len;
		size_t need, flen;
		long n = ipc_frame_parse(data + off, size - off, &type, &payload, &len, &need);
		uint8_t *again;

		if (n <= 0)
			break;
		if (ipc_blobs_parse(payload, len, ipc_type_blobs(type), b) == 0) {
			again = ipc_frame_build(type, b, ipc_type_blobs(type), &flen);
			if (!again || flen != (size_t)n || memcmp(again, data + off, flen))
				abort();
			free(again);
		}
		off += (size_t)n;
	}
	return 0;
}

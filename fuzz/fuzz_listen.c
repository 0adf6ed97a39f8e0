/* libFuzzer: what the agent and `minet pki` parse from their command lines: listen addresses, time options, names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/listenaddr.h"
#include "pki/ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[200], back[80];
	struct sockaddr_storage ss;
	struct pki_time t;
	socklen_t len;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (listen_addr_parse(s, &ss, &len, err, sizeof(err)) == 0) {
		struct sockaddr_storage again;

		listen_addr_format((struct sockaddr *)&ss, back, sizeof(back));
		if (listen_addr_parse(back, &again, &len, err, sizeof(err)) != 0)
			abort(); /* what we print we must parse */
	}
	pki_time_parse(s, &t);
	pki_name_ok(s);
	free(s);
	return 0;
}

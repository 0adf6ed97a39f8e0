/* libFuzzer: the --crl-url check (minet pki init/issue, minet-agent): libevent's strict URL parser behind it.
 * Whatever it accepts is an http URL without spaces or control characters (it goes into certificates as one
 * IA5String URI and into a request line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pki/pkifile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[1200];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (pki_crl_url_check(s, err, sizeof(err)) == 0) {
		if (strncasecmp(s, "http://", 7))
			abort();
		for (size_t i = 0; s[i]; i++)
			if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
				abort();
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(s);
	return 0;
}

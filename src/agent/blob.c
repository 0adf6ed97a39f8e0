/* Azure Blob service Shared Key authorization ("Authorize with Shared Key", Microsoft Learn:
 * https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key): HMAC-SHA256 with the decoded
 * account key over the string-to-sign, base64-encoded. */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agent/upload.h"

int blob_b64decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t n = strlen(in), pad = 0;
	if (n % 4 || n / 4 * 3 > outlen)
		return -1;
	while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
		pad++;
	int r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	return r < 0 ? -1 : r - (int)pad;
}

int blob_shared_key(const char *account, const unsigned char *key, size_t keylen, const char *verb,
		    unsigned long long content_length, const char *content_type, const char *xms, const char *resource,
		    const char *query, char *out, size_t outlen)
{
	char sts[2048], len[24] = "";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	unsigned char b64[EVP_MAX_MD_SIZE * 2];

	if (content_length) /* from version 2015-02-21 on, an empty string when the length is 0 */
		snprintf(len, sizeof(len), "%llu", content_length);
	/* VERB, Content-Encoding, Content-Language, Content-Length, Content-MD5, Content-Type, Date, If-Modified-Since,
	 * If-Match, If-None-Match, If-Unmodified-Since, Range; the x-ms- headers; the resource. */
	int n = snprintf(sts, sizeof(sts), "%s\n\n\n%s\n\n%s\n\n\n\n\n\n\n%s/%s%s%s", verb, len,
			 content_type ? content_type : "", xms, account, resource, query);
	if (n < 0 || (size_t)n >= sizeof(sts) || keylen > 256)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)sts, (size_t)n, mac, &maclen))
		return -1;
	EVP_EncodeBlock(b64, mac, (int)maclen);
	n = snprintf(out, outlen, "SharedKey %s:%s", account, (const char *)b64);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

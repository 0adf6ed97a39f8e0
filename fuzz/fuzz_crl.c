/* libFuzzer: the agent's CRL loading (crl_store_new: PEM/DER parsing, signature check, serial set) and lookups.
 * The seeds in fuzz/corpus/crl/ are CRLs really signed by the CA below, so mutations start from inputs that
 * get past the signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>

#include "pki/crlstore.h"

static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBjDCCATGgAwIBAgIUOuJW5YlrH10c1KspwJC+A3PHXAkwCgYIKoZIzj0EAwIw\n"
	"EjEQMA4GA1UEAwwHZnV6eiBDQTAgFw0yNjExMjcxMzAwMDZaGA8yMTI2MTEwMzEz\n"
	"MDAwNlowEjEQMA4GA1UEAwwHZnV6eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABK6fVqGFzN2x637bRNJWLWllKIknYihwIMtMEHpeDgginModB2OyGD2rrubm\n"
	"8Q7QeFCRLR6C38pPWEZ9+UeDY/qjYzBhMB0GA1UdDgQWBBQZR16jEB2gbgffwgFA\n"
	"q3hYQz6q5DAfBgNVHSMEGDAWgBQZR16jEB2gbgffwgFAq3hYQz6q5DAPBgNVHRMB\n"
	"Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNJADBGAiEA1GOR\n"
	"NDIByRIkvtvOvgehhWZ5DGSa4N287dzEDFkBKL0CIQCd9ysWPqhzGhHhs3biZNck\n"
	"gIa2t2BEDoA7XDHXRiE9Qg==\n"
	"-----END CERTIFICATE-----\n";

static STACK_OF(X509) *cas;
static X509 *probe;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *b = BIO_new_mem_buf(ca_pem, -1);
	X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	if (!ca)
		abort();
	cas = sk_X509_new_null();
	sk_X509_push(cas, ca);
	probe = X509_dup(ca); /* a "certificate" issued by the CA, serial looked up in the set */
	ASN1_INTEGER_set(X509_get_serialNumber(probe), 0x1001);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct crl_store *s = crl_store_new(cas, data, size, err, sizeof(err));
	STACK_OF(X509) *chain;
	int depth;

	if (!s)
		return 0;
	chain = sk_X509_new_null();
	sk_X509_push(chain, probe);
	sk_X509_push(chain, sk_X509_value(cas, 0));
	crl_store_check_chain(s, chain, time(NULL), 0, &depth);
	crl_store_chain_revoked(s, chain);
	for (size_t i = 0; i < crl_store_count(s); i++) {
		char hex[64];

		crl_serial_hex(&crl_store_info(s, i)->number, hex, sizeof(hex));
	}
	crl_store_not_older(s, s, err, sizeof(err));
	sk_X509_free(chain);
	crl_store_free(s);
	return 0;
}

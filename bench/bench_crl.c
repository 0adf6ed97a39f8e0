/* bench_crl CADIR N OUT.pem [LEAF.pem]
 * Writes a CRL of N random revoked serials signed by CADIR's CA (for the agent benchmark), then measures:
 * the agent's CRL load (parse + one signature check + serial set), its per-handshake lookup, and OpenSSL's
 * X509_V_FLAG_CRL_CHECK chain verification, which re-verifies the CRL signature every time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "model/clock.h"
#include "pki/crlstore.h"
#include "pki/pkifile.h"

static void *load_pem(const char *path, int key)
{
	FILE *f = fopen(path, "r");
	void *p;

	if (!f) {
		perror(path);
		exit(2);
	}
	p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) : (void *)PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!p) {
		fprintf(stderr, "%s: cannot parse\n", path);
		exit(2);
	}
	return p;
}

int main(int argc, char **argv)
{
	char path[4096], err[300];
	X509 *ca, *leaf;
	EVP_PKEY *key;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	FILE *out;
	long n;
	size_t len;
	char *buf;
	double t0, best = 1e9;
	struct crl_store *s = NULL;
	STACK_OF(X509) *cas = sk_X509_new_null();

	if (argc < 4) {
		fprintf(stderr, "usage: bench_crl CADIR N OUT.pem [LEAF.pem]\n");
		return 2;
	}
	n = atol(argv[2]);
	snprintf(path, sizeof(path), "%s/ca.pem", argv[1]);
	ca = load_pem(path, 0);
	snprintf(path, sizeof(path), "%s/ca.key", argv[1]);
	key = load_pem(path, 1);
	leaf = argc > 4 ? load_pem(argv[4], 0) : ca;
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_gmtime_adj(t, -60);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 7 * 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	for (long i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		unsigned char sn[16];
		BIGNUM *bn;
		ASN1_INTEGER *ai;

		RAND_bytes(sn, sizeof(sn));
		sn[0] = (sn[0] & 0x7f) | 0x10; /* positive, never a small counter serial */
		bn = BN_bin2bn(sn, sizeof(sn), NULL);
		ai = BN_to_ASN1_INTEGER(bn, NULL);
		X509_REVOKED_set_serialNumber(r, ai);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
	ASN1_INTEGER_set(num, 1000000);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, key, EVP_sha256());
	out = fopen(argv[3], "w");
	if (!out || !PEM_write_X509_CRL(out, crl) || fclose(out)) {
		perror(argv[3]);
		return 1;
	}
	buf = pki_read_file(argv[3], 1u << 30, &len, err, sizeof(err));
	if (!buf) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	sk_X509_push(cas, ca);
	for (int i = 0; i < 5; i++) {
		t0 = monotonic_seconds();
		crl_store_free(s);
		s = crl_store_new(cas, buf, len, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "load: %s\n", err);
			return 1;
		}
		if (monotonic_seconds() - t0 < best)
			best = monotonic_seconds() - t0;
	}
	printf("crl entries=%ld pem_bytes=%zu agent_load_ms=%.1f\n", n, len, best * 1e3);

	if (leaf != ca) {
		STACK_OF(X509) *chain = sk_X509_new_null();
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *xs = X509_STORE_CTX_new();
		int iters = 200000, depth, ok = 1;

		sk_X509_push(chain, leaf);
		sk_X509_push(chain, ca);
		t0 = monotonic_seconds();
		for (int i = 0; i < iters; i++)
			ok &= crl_store_check_chain(s, chain, time(NULL), 0, &depth) == CRL_OK;
		printf("agent_lookup_ns=%.0f (not revoked: %s)\n", (monotonic_seconds() - t0) / iters * 1e9, ok ? "yes" : "NO");
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		X509_CRL *parsed = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL); /* as nginx loads it: from the file */

		BIO_free(b);
		X509_STORE_add_cert(store, ca);
		X509_STORE_add_crl(store, parsed);
		X509_CRL_free(parsed);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
		iters = n > 10000 ? 50 : 2000;
		for (int i = -1; i < iters; i++) { /* i = -1: the first verification sorts the CRL */
			if (i == 0)
				t0 = monotonic_seconds();
			X509_STORE_CTX_init(xs, store, leaf, NULL);
			ok = X509_verify_cert(xs);
			X509_STORE_CTX_cleanup(xs);
		}
		printf("openssl_crl_check_verify_us=%.0f (ok=%d)\n", (monotonic_seconds() - t0) / iters * 1e6, ok);
		X509_STORE_CTX_free(xs);
		X509_STORE_free(store);
		sk_X509_free(chain);
		X509_free(leaf);
	}
	crl_store_free(s);
	free(buf);
	sk_X509_free(cas);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	X509_free(ca);
	EVP_PKEY_free(key);
	return 0;
}

/* crl_store: signature verified once at load, revoked serials found, fail-closed statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/crlstore.h"

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static X509 *make_cert(const char *cn, long serial, EVP_PKEY *key, const struct ca *issuer, int is_ca)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert) : n);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&ctx, issuer ? issuer->cert : c, c, NULL, NULL, 0);
	if (is_ca) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(c, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(c, issuer ? issuer->key : key, EVP_sha256());
	X509_NAME_free(n);
	return c;
}

static struct ca new_ca(const char *cn)
{
	struct ca ca;

	ca.key = EVP_EC_gen("P-256");
	ca.cert = make_cert(cn, 1, ca.key, NULL, 1);
	return ca;
}

static void free_ca(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
}

/* A PEM CRL by signer (issuer name from named), revoking serials[0..n), valid [now+tu, now+nu]. */
static char *make_crl(const struct ca *named, const struct ca *signer, const long *serials, int n, long tu, long nu,
		      long number, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long l;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(named->cert));
	X509_gmtime_adj(t, tu);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, nu);
	X509_CRL_set1_nextUpdate(crl, t);
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_INTEGER_set(num, number);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, signer->key, EVP_sha256());
	PEM_write_bio_X509_CRL(b, crl);
	l = BIO_get_mem_data(b, &p);
	out = malloc((size_t)l + 1);
	memcpy(out, p, (size_t)l);
	out[l] = 0;
	*len = (size_t)l;
	BIO_free(b);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return out;
}

struct world {
	struct ca root, other;
	STACK_OF(X509) *cas;
	EVP_PKEY *leafkey;
	X509 *ok, *revoked;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	w->root = new_ca("root");
	w->other = new_ca("root"); /* same name, other key */
	w->cas = sk_X509_new_null();
	sk_X509_push(w->cas, w->root.cert);
	w->leafkey = EVP_EC_gen("P-256");
	w->ok = make_cert("ok", 100, w->leafkey, &w->root, 0);
	w->revoked = make_cert("bad", 0x7f0203, w->leafkey, &w->root, 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	sk_X509_free(w->cas);
	free_ca(&w->root);
	free_ca(&w->other);
	EVP_PKEY_free(w->leafkey);
	X509_free(w->ok);
	X509_free(w->revoked);
	free(w);
	return 0;
}

static const long revoked_serials[] = { 5, 0x7f0203, 99, 1000000 };

static void test_revoked_and_not(void **state)
{
	struct world *w = *state;
	size_t len;
	char *pem = make_crl(&w->root, &w->root, revoked_serials, 4, -10, 3600, 7, &len);
	char err[256] = "";
	struct crl_store *s = crl_store_new(w->cas, pem, len, err, sizeof(err));
	time_t now = time(NULL);

	assert_non_null(s);
	assert_int_equal(crl_store_count(s), 1);
	assert_int_equal(crl_store_info(s, 0)->entries, 4);
	assert_int_equal(crl_store_info(s, 0)->number.len, 1);
	assert_int_equal(crl_store_check(s, w->ok, w->root.cert, now, 0), CRL_OK);
	assert_int_equal(crl_store_check(s, w->revoked, w->root.cert, now, 0), CRL_REVOKED);
	assert_int_equal(crl_store_check(s, w->ok, w->other.cert, now, 0), CRL_NO_CRL);
	assert_int_equal(crl_store_check(s, w->ok, w->root.cert, now + 7200, 0), CRL_EXPIRED);
	assert_int_equal(crl_store_check(s, w->ok, w->root.cert, now + 7200, 7200), CRL_OK_GRACE);
	assert_int_equal(crl_store_check(s, w->revoked, w->root.cert, now + 7200, 7200), CRL_REVOKED);
	assert_int_equal(crl_store_check(s, w->ok, w->root.cert, now - 3600, 0), CRL_NOT_YET_VALID);
	assert_int_equal(crl_store_check(NULL, w->ok, w->root.cert, now, 0), CRL_NO_CRL);
	crl_store_free(s);
	free(pem);
}

static void test_chain(void **state)
{
	struct world *w = *state;
	size_t len;
	char *pem = make_crl(&w->root, &w->root, revoked_serials, 4, -10, 3600, 7, &len);
	struct crl_store *s = crl_store_new(w->cas, pem, len, NULL, 0);
	STACK_OF(X509) *chain = sk_X509_new_null();
	int depth = -1;

	sk_X509_push(chain, w->revoked);
	sk_X509_push(chain, w->root.cert);
	assert_int_equal(crl_store_check_chain(s, chain, time(NULL), 0, &depth), CRL_REVOKED);
	assert_int_equal(depth, 0);
	assert_true(crl_store_chain_revoked(s, chain));
	sk_X509_set(chain, 0, w->ok);
	assert_int_equal(crl_store_check_chain(s, chain, time(NULL), 0, &depth), CRL_OK);
	assert_false(crl_store_chain_revoked(s, chain));
	sk_X509_free(chain);
	crl_store_free(s);
	free(pem);
}

static void test_wrong_signer_refused(void **state)
{
	struct world *w = *state;
	size_t len;
	char *pem = make_crl(&w->root, &w->other, revoked_serials, 1, -10, 3600, 1, &len);
	char err[256] = "";

	assert_null(crl_store_new(w->cas, pem, len, err, sizeof(err)));
	assert_non_null(strstr(err, "signature does not verify"));
	free(pem);
}

static void test_unknown_issuer_and_garbage(void **state)
{
	struct world *w = *state;
	struct ca stranger = new_ca("stranger");
	size_t len;
	char *pem = make_crl(&stranger, &stranger, NULL, 0, -10, 3600, 1, &len);
	char err[256] = "";

	assert_null(crl_store_new(w->cas, pem, len, err, sizeof(err)));
	assert_non_null(strstr(err, "not one of the trusted CAs"));
	assert_null(crl_store_new(w->cas, "garbage", 7, err, sizeof(err)));
	assert_null(crl_store_new(w->cas, "", 0, err, sizeof(err)));
	pem[len / 2] ^= 0x5; /* corrupt base64 */
	assert_null(crl_store_new(w->cas, pem, len, err, sizeof(err)));
	free(pem);
	free_ca(&stranger);
}

static void test_two_crls_and_rollback(void **state)
{
	struct world *w = *state;
	size_t l1, l2;
	char *a = make_crl(&w->root, &w->root, revoked_serials, 2, -10, 3600, 9, &l1);
	char *b = make_crl(&w->root, &w->root, revoked_serials, 1, -10, 3600, 8, &l2);
	char *both = malloc(l1 + l2 + 1), err[256] = "";
	struct crl_store *sa, *sb;

	memcpy(both, a, l1);
	memcpy(both + l1, b, l2 + 1);
	assert_null(crl_store_new(w->cas, both, l1 + l2, err, sizeof(err)));
	assert_non_null(strstr(err, "two CRLs"));
	sa = crl_store_new(w->cas, a, l1, NULL, 0);
	sb = crl_store_new(w->cas, b, l2, NULL, 0);
	assert_int_equal(crl_store_not_older(sa, sb, err, sizeof(err)), -1);
	assert_int_equal(crl_store_not_older(sb, sa, err, sizeof(err)), 0);
	assert_int_equal(crl_store_not_older(NULL, sa, err, sizeof(err)), 0);
	crl_store_free(sa);
	crl_store_free(sb);
	free(both);
	free(a);
	free(b);
}

/* Issue 9, defect 4: a newer CRL whose thisUpdate is ahead of this clock never replaces one valid now. */
static void test_not_yet_valid_never_replaces_valid(void **state)
{
	struct world *w = *state;
	time_t now = time(NULL);
	size_t l1, l2, l3, l4;
	char *cur = make_crl(&w->root, &w->root, revoked_serials, 1, -60, 3600, 5, &l1);
	char *future = make_crl(&w->root, &w->root, revoked_serials, 2, 30, 3600, 6, &l2);
	char *fresh = make_crl(&w->root, &w->root, revoked_serials, 2, -1, 3600, 6, &l3);
	char *stale = make_crl(&w->root, &w->root, revoked_serials, 1, -7200, -3600, 4, &l4);
	char err[256] = "";
	struct crl_store *sc = crl_store_new(w->cas, cur, l1, NULL, 0);
	struct crl_store *sf = crl_store_new(w->cas, future, l2, NULL, 0);
	struct crl_store *sn = crl_store_new(w->cas, fresh, l3, NULL, 0);
	struct crl_store *ss = crl_store_new(w->cas, stale, l4, NULL, 0);
	int later = 0;

	assert_non_null(sc);
	assert_non_null(sf);
	assert_non_null(sn);
	assert_non_null(ss);
	/* the older test alone would let it in: it is newer */
	assert_int_equal(crl_store_not_older(sc, sf, err, sizeof(err)), 0);
	assert_int_equal(crl_store_may_replace(sc, sf, now, 0, &later, err, sizeof(err)), -1);
	assert_int_equal(later, 1);
	assert_non_null(strstr(err, "not yet valid"));
	/* once the clock reaches its thisUpdate, it may */
	assert_int_equal(crl_store_may_replace(sc, sf, now + 31, 0, &later, err, sizeof(err)), 0);
	/* a valid newer one replaces; an older one never, and not 'later' either */
	assert_int_equal(crl_store_may_replace(sc, sn, now, 0, &later, err, sizeof(err)), 0);
	assert_int_equal(crl_store_may_replace(sn, sc, now, 0, &later, err, sizeof(err)), -1);
	assert_int_equal(later, 0);
	/* nothing valid in force (none, or expired beyond grace): not worse than what is there */
	assert_int_equal(crl_store_may_replace(NULL, sf, now, 0, &later, err, sizeof(err)), 0);
	assert_int_equal(crl_store_may_replace(ss, sf, now, 0, &later, err, sizeof(err)), 0);
	/* expired but within grace is still valid: kept */
	assert_int_equal(crl_store_may_replace(ss, sf, now, 7200, &later, err, sizeof(err)), -1);
	crl_store_free(sc);
	crl_store_free(sf);
	crl_store_free(sn);
	crl_store_free(ss);
	free(cur);
	free(future);
	free(fresh);
	free(stale);
}

static void test_serial_forms(void **state)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	struct crl_serial s;
	char hex[64];
	unsigned char big[21];

	ASN1_INTEGER_set(ai, 0);
	assert_int_equal(crl_serial_from_asn1(ai, &s), 0);
	crl_serial_hex(&s, hex, sizeof(hex));
	assert_string_equal(hex, "0");
	ASN1_INTEGER_set(ai, 0x1000);
	crl_serial_from_asn1(ai, &s);
	crl_serial_hex(&s, hex, sizeof(hex));
	assert_string_equal(hex, "1000");
	memset(big, 0x11, sizeof(big));
	ASN1_STRING_set(ai, big, sizeof(big));
	assert_int_equal(crl_serial_from_asn1(ai, &s), -1);
	ASN1_INTEGER_free(ai);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoked_and_not),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_wrong_signer_refused),
		cmocka_unit_test(test_unknown_issuer_and_garbage),
		cmocka_unit_test(test_two_crls_and_rollback),
		cmocka_unit_test(test_serial_forms),
		cmocka_unit_test(test_not_yet_valid_never_replaces_valid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

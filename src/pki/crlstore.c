/* CRL store: verify each CRL's signature once, keep its revoked serials as a sorted array, binary-search it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/crlstore.h"

struct crl_entry {
	struct crl_info info;
	X509 *ca;                   /* owned; info.ca points here */
	struct crl_serial *serials; /* sorted by serial_cmp */
};

struct crl_store {
	size_t n;
	struct crl_entry *e;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int serial_cmp(const void *a, const void *b)
{
	const struct crl_serial *x = a, *y = b;

	if (x->neg != y->neg)
		return x->neg ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

int crl_serial_from_asn1(const ASN1_INTEGER *ai, struct crl_serial *out)
{
	const unsigned char *p = ASN1_STRING_get0_data(ai);
	int n = ASN1_STRING_length(ai);

	memset(out, 0, sizeof(*out));
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n > CRL_SERIAL_MAX)
		return -1;
	out->neg = ASN1_STRING_type(ai) == V_ASN1_NEG_INTEGER && n > 0;
	out->len = (uint8_t)n;
	if (n)
		memcpy(out->b, p, (size_t)n);
	return 0;
}

void crl_serial_hex(const struct crl_serial *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 2)
		return;
	if (s->neg && o + 1 < len)
		buf[o++] = '-';
	if (!s->len && o + 1 < len)
		buf[o++] = '0';
	for (int i = 0; i < s->len && o + 2 < len; i++, o += 2)
		snprintf(buf + o, 3, "%02x", s->b[i]);
	buf[o] = 0;
}

const char *crl_status_str(enum crl_status st)
{
	switch (st) {
	case CRL_OK: return "not revoked";
	case CRL_OK_GRACE: return "not revoked (CRL past nextUpdate, within grace)";
	case CRL_REVOKED: return "certificate revoked";
	case CRL_NO_CRL: return "no valid CRL for the issuer";
	case CRL_EXPIRED: return "CRL expired";
	case CRL_NOT_YET_VALID: return "CRL not yet valid";
	case CRL_SERIAL_TOO_LONG: return "certificate serial longer than 20 octets";
	}
	return "?";
}

static int asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void entry_free(struct crl_entry *e)
{
	X509_free(e->ca);
	free(e->serials);
}

void crl_store_free(struct crl_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(&s->e[i]);
	free(s->e);
	free(s);
}

/* The CRL's extensions we understand; anything else critical, or a delta/indirect CRL, is refused. */
static int check_extensions(X509_CRL *crl, char *err, size_t errlen)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);

	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *x = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(x));

		if (nid == NID_delta_crl) {
			seterr(err, errlen, "delta CRLs are not supported");
			return -1;
		}
		if (nid == NID_issuing_distribution_point) {
			ISSUING_DIST_POINT *idp = X509V3_EXT_d2i(x);
			int bad = !idp || idp->indirectCRL || idp->onlysomereasons;

			ISSUING_DIST_POINT_free(idp);
			if (bad) {
				seterr(err, errlen, "indirect or partitioned CRLs are not supported");
				return -1;
			}
			continue;
		}
		if (X509_EXTENSION_get_critical(x) && nid != NID_crl_number && nid != NID_authority_key_identifier) {
			seterr(err, errlen, "unsupported critical CRL extension %s", OBJ_nid2sn(nid));
			return -1;
		}
	}
	return 0;
}

/* Verify one CRL against cas and turn it into an entry. */
static int entry_build(STACK_OF(X509) *cas, X509_CRL *crl, struct crl_entry *e, char *err, size_t errlen)
{
	const X509_NAME *iss = X509_CRL_get_issuer(crl);
	X509 *ca = NULL;
	int name_match = 0;
	char name[256];
	STACK_OF(X509_REVOKED) *rev;
	ASN1_INTEGER *num = NULL;
	int n, crit;

	memset(e, 0, sizeof(*e));
	X509_NAME_oneline(iss, name, sizeof(name));
	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *c = sk_X509_value(cas, i);

		if (X509_NAME_cmp(X509_get_subject_name(c), iss))
			continue;
		name_match = 1;
		if (X509_CRL_verify(crl, X509_get0_pubkey(c)) == 1) {
			ca = c;
			break;
		}
	}
	ERR_clear_error();
	if (!ca) {
		seterr(err, errlen, name_match ? "CRL signature does not verify with the key of CA %s"
					       : "CRL issuer %s is not one of the trusted CAs", name);
		return -1;
	}
	if (!(X509_get_key_usage(ca) & KU_CRL_SIGN)) {
		seterr(err, errlen, "CA %s may not sign CRLs (keyUsage lacks cRLSign)", name);
		return -1;
	}
	if (check_extensions(crl, err, errlen))
		return -1;
	if (asn1_time(X509_CRL_get0_lastUpdate(crl), &e->info.this_update)) {
		seterr(err, errlen, "CRL of %s has a malformed thisUpdate", name);
		return -1;
	}
	if (asn1_time(X509_CRL_get0_nextUpdate(crl), &e->info.next_update)) {
		seterr(err, errlen, "CRL of %s has no (or a malformed) nextUpdate", name);
		return -1;
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (num && crl_serial_from_asn1(num, &e->info.number)) {
		ASN1_INTEGER_free(num);
		seterr(err, errlen, "CRL of %s has a cRLNumber longer than 20 octets", name);
		return -1;
	}
	ASN1_INTEGER_free(num);

	rev = X509_CRL_get_REVOKED(crl);
	n = sk_X509_REVOKED_num(rev);
	e->serials = malloc(sizeof(*e->serials) * (size_t)(n > 0 ? n : 1));
	if (!e->serials) {
		seterr(err, errlen, "out of memory for %d CRL entries", n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i));

		if (crl_serial_from_asn1(sn, &e->serials[e->info.entries]) == 0)
			e->info.entries++;
		else
			e->info.skipped++;
	}
	qsort(e->serials, e->info.entries, sizeof(*e->serials), serial_cmp);
	X509_up_ref(ca);
	e->info.ca = e->ca = ca;
	return 0;
}

static int add_crl(struct crl_store *s, STACK_OF(X509) *cas, X509_CRL *crl, char *err, size_t errlen)
{
	struct crl_entry e, *ne;

	if (entry_build(cas, crl, &e, err, errlen)) {
		entry_free(&e);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (!X509_cmp(s->e[i].info.ca, e.info.ca)) {
			char name[256];

			X509_NAME_oneline(X509_get_subject_name(e.info.ca), name, sizeof(name));
			seterr(err, errlen, "two CRLs for CA %s", name);
			entry_free(&e);
			return -1;
		}
	ne = realloc(s->e, sizeof(*s->e) * (s->n + 1));
	if (!ne) {
		seterr(err, errlen, "out of memory");
		entry_free(&e);
		return -1;
	}
	s->e = ne;
	s->e[s->n++] = e;
	return 0;
}

struct crl_store *crl_store_new(STACK_OF(X509) *cas, const void *buf, size_t len, char *err, size_t errlen)
{
	struct crl_store *s = calloc(1, sizeof(*s));
	BIO *bio = NULL;
	X509_CRL *crl = NULL;
	int ok = 0;

	if (!s) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (len > INT32_MAX) {
		seterr(err, errlen, "CRL data too large");
		goto out;
	}
	if (memmem(buf, len, "-----BEGIN", 10)) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (!bio) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
			if (add_crl(s, cas, crl, err, errlen))
				goto out;
			X509_CRL_free(crl);
			crl = NULL;
		}
		if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
			seterr(err, errlen, "malformed PEM CRL (%s)", ERR_reason_error_string(ERR_peek_last_error()));
			goto out;
		}
	} else {
		const unsigned char *p = buf;

		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (!crl || p != (const unsigned char *)buf + len) {
			seterr(err, errlen, "not a PEM or DER CRL");
			goto out;
		}
		if (add_crl(s, cas, crl, err, errlen))
			goto out;
	}
	if (!s->n) {
		seterr(err, errlen, "no CRL found");
		goto out;
	}
	ok = 1;
out:
	ERR_clear_error();
	X509_CRL_free(crl);
	BIO_free(bio);
	if (!ok) {
		crl_store_free(s);
		s = NULL;
	}
	return s;
}

static const struct crl_entry *find_entry(const struct crl_store *s, const X509 *issuer)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!X509_cmp(s->e[i].info.ca, issuer))
			return &s->e[i];
	return NULL;
}

static int is_revoked(const struct crl_entry *e, const struct crl_serial *sn)
{
	return bsearch(sn, e->serials, e->info.entries, sizeof(*sn), serial_cmp) != NULL;
}

enum crl_status crl_store_check(const struct crl_store *s, const X509 *cert, const X509 *issuer, time_t now,
				long grace)
{
	const struct crl_entry *e = find_entry(s, issuer);
	struct crl_serial sn;
	int late;

	if (!e)
		return CRL_NO_CRL;
	if (now < e->info.this_update)
		return CRL_NOT_YET_VALID;
	late = now > e->info.next_update;
	if (late && (grace <= 0 || now > e->info.next_update + grace))
		return CRL_EXPIRED;
	if (crl_serial_from_asn1(X509_get0_serialNumber(cert), &sn))
		return CRL_SERIAL_TOO_LONG;
	if (is_revoked(e, &sn))
		return CRL_REVOKED;
	return late ? CRL_OK_GRACE : CRL_OK;
}

enum crl_status crl_store_check_chain(const struct crl_store *s, STACK_OF(X509) *chain, time_t now, long grace,
				      int *depth)
{
	enum crl_status worst = CRL_OK;
	int n = sk_X509_num(chain);

	*depth = 0;
	if (n < 1)
		return CRL_NO_CRL;
	for (int i = 0; i + 1 < n; i++) {
		enum crl_status st = crl_store_check(s, sk_X509_value(chain, i), sk_X509_value(chain, i + 1), now, grace);

		if (st == CRL_OK_GRACE)
			worst = st;
		else if (st != CRL_OK) {
			*depth = i;
			return st;
		}
	}
	return worst;
}

int crl_store_chain_revoked(const struct crl_store *s, STACK_OF(X509) *chain)
{
	int n = sk_X509_num(chain);

	for (int i = 0; i + 1 < n; i++) {
		const struct crl_entry *e = find_entry(s, sk_X509_value(chain, i + 1));
		struct crl_serial sn;

		if (!e || crl_serial_from_asn1(X509_get0_serialNumber(sk_X509_value(chain, i)), &sn))
			continue;
		if (is_revoked(e, &sn))
			return 1;
	}
	return 0;
}

size_t crl_store_count(const struct crl_store *s)
{
	return s ? s->n : 0;
}

const struct crl_info *crl_store_info(const struct crl_store *s, size_t i)
{
	return s && i < s->n ? &s->e[i].info : NULL;
}

int crl_store_not_older(const struct crl_store *cur, const struct crl_store *next, char *err, size_t errlen)
{
	for (size_t i = 0; cur && i < cur->n; i++) {
		const struct crl_info *a = &cur->e[i].info;
		const struct crl_entry *b = find_entry(next, a->ca);
		int older;

		if (!b)
			continue;
		if (a->number.len && b->info.number.len)
			older = serial_cmp(&b->info.number, &a->number) < 0;
		else
			older = b->info.this_update < a->this_update;
		if (older) {
			char name[256], x[64], y[64];

			X509_NAME_oneline(X509_get_subject_name(a->ca), name, sizeof(name));
			crl_serial_hex(&b->info.number, x, sizeof(x));
			crl_serial_hex(&a->number, y, sizeof(y));
			seterr(err, errlen, "CRL of %s is older than the one in force (number 0x%s < 0x%s)", name, x, y);
			return -1;
		}
	}
	return 0;
}

int crl_store_may_replace(const struct crl_store *cur, const struct crl_store *next, time_t now, long grace,
			  int *later, char *err, size_t errlen)
{
	if (later)
		*later = 0;
	if (crl_store_not_older(cur, next, err, errlen))
		return -1;
	for (size_t i = 0; cur && i < cur->n; i++) {
		const struct crl_info *a = &cur->e[i].info;
		const struct crl_entry *b = find_entry(next, a->ca);
		int valid_now = a->this_update <= now && now <= a->next_update + (grace > 0 ? grace : 0);

		if (b && valid_now && b->info.this_update > now) {
			char name[256], tu[32];
			struct tm tm;

			X509_NAME_oneline(X509_get_subject_name(a->ca), name, sizeof(name));
			strftime(tu, sizeof(tu), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&b->info.this_update, &tm));
			seterr(err, errlen, "CRL of %s is not yet valid (thisUpdate %s is %lld s ahead of this clock) "
			       "and the one in force still is", name, tu, (long long)(b->info.this_update - now));
			if (later)
				*later = 1;
			return -1;
		}
	}
	return 0;
}

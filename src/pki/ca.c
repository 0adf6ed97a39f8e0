/* The CA directory: keys, certificates, CRL, and the state file, under one flock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "pki/pkifile.h"
#include "model/jsonin.h"

#define STATE_VERSION 1
#define FIRST_SERIAL 0x1000
/* Certificates start, and CRLs are dated, this long before now, so that a relying party whose clock is a little
 * behind ours still finds them valid. */
#define BACKDATE 60

static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", NULL, NULL, "privilegeWithdrawn", "aACompromise",
};

static const char *const role_names[] = { "agent", "mgmt", "ca" };

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The first OpenSSL error as text, for messages. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown OpenSSL error";
}

int pki_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum_ascii(name[i]) || name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return 0;
	return strcmp(name, "ca") && strcmp(name, "crl") && strcmp(name, "state") && strcmp(name, "chain");
}

int pki_time_parse(const char *s, struct pki_time *t)
{
	ASN1_TIME *a;
	struct tm tm;
	char *end;

	memset(t, 0, sizeof(*t));
	if (s[0] == '+' || s[0] == '-') {
		errno = 0;
		t->rel = strtol(s, &end, 10);
		if (errno || *end || end == s + 1)
			return -1;
		t->set = 1;
		return 0;
	}
	a = ASN1_TIME_new();
	if (!a)
		return -1;
	if (strlen(s) != 15 || !ASN1_TIME_set_string_X509(a, s) || !ASN1_TIME_to_tm(a, &tm)) {
		ASN1_TIME_free(a);
		return -1;
	}
	ASN1_TIME_free(a);
	t->abs = timegm(&tm);
	t->set = t->is_abs = 1;
	return 0;
}

static time_t pki_time_at(const struct pki_time *t, time_t now, time_t dflt)
{
	if (!t || !t->set)
		return dflt;
	return t->is_abs ? t->abs : now + t->rel;
}

/* ---- keys and certificates ---- */

static EVP_PKEY *gen_key(int rsa)
{
	return rsa ? EVP_RSA_gen(3072) : EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* One CRL distribution point, the URL as one URI, built from structures: through the config-string API
 * ("URI:%s") a comma in the URL would start another distribution point. */
static int add_cdp(X509 *c, const char *url)
{
	CRL_DIST_POINTS *cdps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	int ok = 0;

	if (!cdps || !dp || !gn || !s || !ASN1_STRING_set(s, url, -1))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	s = NULL;
	if (!(dp->distpoint = DIST_POINT_NAME_new()))
		goto out;
	dp->distpoint->type = 0; /* fullName */
	if (!(dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(cdps, dp))
		goto out;
	dp = NULL;
	ok = X509_add1_ext_i2d(c, NID_crl_distribution_points, cdps, 0, X509V3_ADD_DEFAULT) == 1;
out:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdps);
	return ok ? 0 : -1;
}

/* The CA's private key must be the one its certificate certifies: otherwise everything signed here fails
 * verification everywhere. -2 (bad input) with the reason when it is not. */
static int check_ca_pair(const char *dir, X509 *ca, EVP_PKEY *key, char *err, size_t errlen)
{
	if (X509_check_private_key(ca, key) == 1)
		return 0;
	ERR_clear_error();
	seterr(err, errlen, "%s/ca.key does not match %s/ca.pem (the certificate's public key is another key's); "
	       "nothing was written", dir, dir);
	return -2;
}

static int asn1_time_t(const ASN1_TIME *a, time_t *out)
{
	struct tm tm;

	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

struct cert_req {
	const char *cn;
	enum pki_role role;
	int rsa;
	const char *san;
	const char *crl_url;     /* of the issuer */
	long long serial;
	time_t not_before, not_after;
};

/* A certificate for key, signed by issuer/ikey (issuer NULL: self-signed). */
static X509 *make_cert(const struct cert_req *r, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	int ok = 0;

	if (!c || !name)
		goto out;
	if (!X509_set_version(c, 2) || !ASN1_INTEGER_set_int64(X509_get_serialNumber(c), r->serial))
		goto out;
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"minet", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)r->cn, -1, -1, 0))
		goto out;
	if (!X509_set_subject_name(c, name) ||
	    !X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name))
		goto out;
	if (!X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &(time_t){ r->not_before }) ||
	    !X509_time_adj_ex(X509_getm_notAfter(c), 0, 0, &(time_t){ r->not_after }))
		goto out;
	if (!X509_set_pubkey(c, key))
		goto out;
	if (!issuer)
		issuer = c;
	if (add_ext(c, issuer, NID_subject_key_identifier, "hash") ||
	    (issuer != c && add_ext(c, issuer, NID_authority_key_identifier, "keyid:always")))
		goto out;
	if (r->role == PKI_ROLE_CA) {
		if (add_ext(c, issuer, NID_basic_constraints, issuer == c ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0") ||
		    add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign"))
			goto out;
	} else {
		if (add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
		    add_ext(c, issuer, NID_key_usage, r->rsa ? "critical,digitalSignature,keyEncipherment"
							      : "critical,digitalSignature") ||
		    add_ext(c, issuer, NID_ext_key_usage, r->role == PKI_ROLE_AGENT ? "serverAuth" : "clientAuth"))
			goto out;
		if (r->san && *r->san && add_ext(c, issuer, NID_subject_alt_name, r->san))
			goto out;
	}
	if (issuer != c && r->crl_url && *r->crl_url && add_cdp(c, r->crl_url))
		goto out;
	if (!X509_sign(c, ikey ? ikey : key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	X509_NAME_free(name);
	if (!ok) {
		X509_free(c);
		c = NULL;
	}
	return c;
}

static char *pem_cert(X509 *c, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;

	if (b && PEM_write_bio_X509(b, c) && (n = BIO_get_mem_data(b, &p)) > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, p, (size_t)n);
		out[n] = 0;
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

/* Write key PEM (unencrypted PKCS#8) to DIR/NAME.key with mode 0600, wiping the buffer afterwards. With tmp
 * (PATH_MAX bytes), only stage it there (pki_stage) for the caller to pki_commit. */
static int write_key(const char *dir, const char *file, EVP_PKEY *key, char *tmp, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) || (n = BIO_get_mem_data(b, &p)) <= 0) {
		seterr(err, errlen, "%s/%s: cannot encode key: %s", dir, file, ssl_reason());
		goto out;
	}
	rc = tmp ? pki_stage(dir, file, p, (size_t)n, 0600, tmp, PATH_MAX, err, errlen)
		 : pki_write_atomic(dir, file, p, (size_t)n, 0600, err, errlen);
	OPENSSL_cleanse(p, (size_t)n);
out:
	BIO_free(b);
	return rc;
}

static int write_cert(const char *dir, const char *file, X509 *c, const char *extra, char *tmp, char *err,
		      size_t errlen)
{
	size_t n, m = extra ? strlen(extra) : 0;
	char *p = pem_cert(c, &n);
	int rc;

	if (!p) {
		seterr(err, errlen, "%s/%s: cannot encode certificate: %s", dir, file, ssl_reason());
		return -1;
	}
	if (m) {
		char *q = realloc(p, n + m + 1);

		if (!q) {
			free(p);
			seterr(err, errlen, "out of memory");
			return -1;
		}
		p = q;
		memcpy(p + n, extra, m + 1);
	}
	rc = tmp ? pki_stage(dir, file, p, n + m, 0644, tmp, PATH_MAX, err, errlen)
		 : pki_write_atomic(dir, file, p, n + m, 0644, err, errlen);
	free(p);
	return rc;
}

static X509 *read_cert(const char *dir, const char *file, char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *f;
	X509 *c;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!c)
		seterr(err, errlen, "%s: not a PEM certificate (%s)", path, ssl_reason());
	return c;
}

static EVP_PKEY *read_key(const char *dir, const char *file, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t len;
	char *buf;
	BIO *b;
	EVP_PKEY *k = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf = pki_read_file(path, 1 << 20, &len, err, errlen);
	if (!buf)
		return NULL;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (!k)
		seterr(err, errlen, "%s: not a PEM private key (%s)", path, ssl_reason());
	return k;
}

/* ---- state ---- */

static json_t *state_read(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *st;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	st = json_load_file(path, 0, &je);
	if (!st) {
		if (access(path, F_OK))
			seterr(err, errlen, "%s: no CA here (run `minet pki init %s` first)", dir, dir);
		else
			seterr(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(st) || json_integer_value(json_object_get(st, "version")) != STATE_VERSION ||
	    !json_is_array(json_object_get(st, "certs")) || !json_is_integer(json_object_get(st, "next_serial"))) {
		seterr(err, errlen, "%s: not a minet CA state file (version %d)", path, STATE_VERSION);
		json_decref(st);
		return NULL;
	}
	return st;
}

static int state_write(const char *dir, json_t *st, char *err, size_t errlen)
{
	char *s = jsonin_dumps(st, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc;

	if (!s) {
		seterr(err, errlen, "%s/state.json: cannot encode", dir);
		return -1;
	}
	rc = pki_write_atomic(dir, "state.json", s, strlen(s), 0644, err, errlen);
	free(s);
	return rc;
}

static long long state_int(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *state_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long take_serial(json_t *st)
{
	long long s = state_int(st, "next_serial");

	json_object_set_new(st, "next_serial", json_integer(s + 1));
	return s;
}

/* The live (not revoked) certificate named name, or NULL. */
static json_t *find_live(json_t *st, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(st, "certs"), i, c)
		if (!strcmp(state_str(c, "name"), name) && !json_object_get(c, "revoked_at"))
			return c;
	return NULL;
}

static void record(json_t *st, const char *name, enum pki_role role, long long serial, time_t nb, time_t na)
{
	json_array_append_new(json_object_get(st, "certs"),
			      json_pack("{s:s, s:s, s:I, s:I, s:I}", "name", name, "role", role_names[role],
					"serial", (json_int_t)serial, "not_before", (json_int_t)nb,
					"not_after", (json_int_t)na));
}

/* ---- CRL ---- */

/* Sign and write DIR/crl.pem from the state, bumping crl_number. Caller holds the lock. */
static int publish_crl(const char *dir, json_t *st, X509 *ca, EVP_PKEY *key, const struct pki_crl_opts *o,
		       char *err, size_t errlen)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	BIO *b = BIO_new(BIO_s_mem());
	time_t now = time(NULL), tu, nu;
	long long days = o && o->days ? o->days : state_int(st, "crl_days");
	long long number = state_int(st, "crl_number") + 1;
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	char *p, tmp[PATH_MAX];
	long n;
	size_t i;
	json_t *c;
	int rc = -1;

	if (days <= 0)
		days = 7;
	tu = pki_time_at(o ? &o->this_update : NULL, now, now - BACKDATE);
	nu = pki_time_at(o ? &o->next_update : NULL, now, tu + days * 86400);
	if (!crl || !t || !num || !b || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !ASN1_TIME_set(t, tu) || !X509_CRL_set1_lastUpdate(crl, t) ||
	    !ASN1_TIME_set(t, nu) || !X509_CRL_set1_nextUpdate(crl, t))
		goto ssl_fail;
	json_array_foreach(json_object_get(st, "certs"), i, c) {
		X509_REVOKED *r;
		ASN1_INTEGER *sn;
		ASN1_ENUMERATED *e;
		int reason = -1;

		if (!json_object_get(c, "revoked_at"))
			continue;
		for (int k = 0; k < (int)(sizeof(reasons) / sizeof(reasons[0])); k++)
			if (reasons[k] && !strcmp(reasons[k], state_str(c, "reason")))
				reason = k;
		r = X509_REVOKED_new();
		sn = ASN1_INTEGER_new();
		e = ASN1_ENUMERATED_new();
		if (!r || !sn || !e || !ASN1_INTEGER_set_int64(sn, state_int(c, "serial")) ||
		    !X509_REVOKED_set_serialNumber(r, sn) || !ASN1_TIME_set(t, (time_t)state_int(c, "revoked_at")) ||
		    !X509_REVOKED_set_revocationDate(r, t) ||
		    (reason > 0 && (!ASN1_ENUMERATED_set(e, reason) ||
				    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0))) ||
		    !X509_CRL_add0_revoked(crl, r)) {
			X509_REVOKED_free(r);
			r = NULL;
		}
		ASN1_INTEGER_free(sn);
		ASN1_ENUMERATED_free(e);
		if (!r)
			goto ssl_fail;
	}
	X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1) || !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()) || !PEM_write_bio_X509_CRL(b, crl) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0)
		goto ssl_fail;
	json_object_set_new(st, "crl_number", json_integer(number));
	/* the CRL written out first (a full disk fails here, changing nothing), then the state, then the rename:
	 * a crash between the two renames leaves a CRL number gap, never a reused number */
	if (pki_stage(dir, "crl.pem", p, (size_t)n, 0644, tmp, sizeof(tmp), err, errlen))
		goto out;
	if (state_write(dir, st, err, errlen)) {
		unlink(tmp);
		goto out;
	}
	if (pki_commit(dir, tmp, "crl.pem", err, errlen))
		goto out;
	rc = 0;
	goto out;
ssl_fail:
	seterr(err, errlen, "%s/crl.pem: cannot build the CRL: %s", dir, ssl_reason());
out:
	X509_EXTENSION_free(aki);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	BIO_free(b);
	return rc;
}

/* ---- operations ---- */

int pki_init(const char *dir, const struct pki_init_opts *o, char *err, size_t errlen)
{
	int lk = -1, plk = -1, rc = -1;
	EVP_PKEY *key = NULL, *pkey = NULL;
	X509 *cert = NULL, *pcert = NULL;
	json_t *st = NULL, *pst = NULL;
	char path[PATH_MAX], *pchain = NULL;
	time_t now = time(NULL);
	struct cert_req r = { .role = PKI_ROLE_CA, .rsa = o->rsa };

	if (o->crl_url && *o->crl_url && pki_crl_url_check(o->crl_url, err, errlen)) {
		char why[1200];

		snprintf(why, sizeof(why), "--crl-url %s", err);
		seterr(err, errlen, "%s", why);
		return -2;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		seterr(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if ((lk = pki_lock(dir, err, errlen)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if (!access(path, F_OK)) {
		seterr(err, errlen, "%s: already holds a CA", dir);
		goto out;
	}
	if (o->parent) {
		if (!o->name || !pki_name_ok(o->name)) {
			seterr(err, errlen, "an intermediate CA needs --name NAME (letters, digits, '.', '_', '-')");
			goto out;
		}
		if ((plk = pki_lock(o->parent, err, errlen)) < 0 || !(pst = state_read(o->parent, err, errlen)) ||
		    !(pcert = read_cert(o->parent, "ca.pem", err, errlen)) ||
		    !(pkey = read_key(o->parent, "ca.key", err, errlen)))
			goto out;
		if ((rc = check_ca_pair(o->parent, pcert, pkey, err, errlen)))
			goto out;
		rc = -1;
		if (find_live(pst, o->name)) {
			seterr(err, errlen, "%s: a live certificate named '%s' exists", o->parent, o->name);
			goto out;
		}
		r.rsa = o->rsa || json_is_true(json_object_get(pst, "rsa"));
		r.serial = take_serial(pst);
		r.crl_url = state_str(pst, "crl_url");
		if (*r.crl_url && pki_crl_url_check(r.crl_url, err, errlen)) {
			char why[1200];

			snprintf(why, sizeof(why), "%s/state.json: crl_url %s (fix it there)", o->parent, err);
			seterr(err, errlen, "%s", why);
			rc = -2;
			goto out;
		}
	} else {
		r.serial = FIRST_SERIAL - 1;
	}
	r.cn = o->name ? o->name : "minet CA";
	r.not_before = now - BACKDATE;
	r.not_after = now + (time_t)(o->days ? o->days : 3650) * 86400;
	if (pcert && r.not_after > (time_t)state_int(pst, "not_after"))
		r.not_after = (time_t)state_int(pst, "not_after");
	if (!(key = gen_key(r.rsa)) || !(cert = make_cert(&r, key, pcert, pkey))) {
		seterr(err, errlen, "%s: cannot create the CA certificate: %s", dir, ssl_reason());
		goto out;
	}
	st = json_pack("{s:i, s:I, s:I, s:i, s:b, s:s, s:i, s:I, s:[]}", "version", STATE_VERSION, "next_serial",
		       (json_int_t)FIRST_SERIAL, "crl_number", (json_int_t)0, "crl_days", o->crl_days ? o->crl_days : 7,
		       "rsa", r.rsa, "crl_url", o->crl_url ? o->crl_url : "", "serial", 0, "not_after",
		       (json_int_t)r.not_after, "certs");
	if (!st) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	json_object_set_new(st, "serial", json_integer(r.serial));
	if (pcert) {
		/* chain.pem: this CA then the parent's chain (the root itself is the agents' trust anchor) */
		char ppath[PATH_MAX];
		size_t plen = 0;

		snprintf(ppath, sizeof(ppath), "%s/chain.pem", o->parent);
		pchain = access(ppath, F_OK) ? strdup("") : pki_read_file(ppath, 1 << 20, &plen, err, errlen);
		if (!pchain)
			goto out;
		if (write_cert(dir, "chain.pem", cert, pchain, NULL, err, errlen))
			goto out;
		json_object_set_new(st, "parent", json_string(o->parent));
	}
	if (write_key(dir, "ca.key", key, NULL, err, errlen) || write_cert(dir, "ca.pem", cert, NULL, NULL, err, errlen) ||
	    publish_crl(dir, st, cert, key, NULL, err, errlen))
		goto out;
	if (pst) {
		record(pst, o->name, PKI_ROLE_CA, r.serial, r.not_before, r.not_after);
		if (state_write(o->parent, pst, err, errlen))
			goto out;
	}
	rc = 0;
out:
	free(pchain);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	X509_free(pcert);
	json_decref(st);
	json_decref(pst);
	pki_unlock(plk);
	pki_unlock(lk);
	return rc;
}

int pki_issue(const char *dir, const char *name, const struct pki_issue_opts *o, char *err, size_t errlen)
{
	int lk, rc = -1;
	json_t *st = NULL;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	char file[96], san[1100], chainpath[PATH_MAX], *chain = NULL, ktmp[PATH_MAX] = "", ctmp[PATH_MAX] = "";
	size_t clen;
	time_t now = time(NULL), ca_na;
	struct cert_req r = { .cn = name, .role = o->role, .san = o->san };

	if (!pki_name_ok(name)) {
		seterr(err, errlen, "bad name '%s' (1-64 letters, digits, '.', '_', '-'; not ca/crl/state/chain)", name);
		return -1;
	}
	if ((lk = pki_lock(dir, err, errlen)) < 0)
		return -1;
	if (!(st = state_read(dir, err, errlen)) || !(ca = read_cert(dir, "ca.pem", err, errlen)) ||
	    !(cakey = read_key(dir, "ca.key", err, errlen)))
		goto out;
	if ((rc = check_ca_pair(dir, ca, cakey, err, errlen)))
		goto out;
	rc = -1;
	if (*state_str(st, "crl_url") && pki_crl_url_check(state_str(st, "crl_url"), err, errlen)) {
		char why[1200];

		snprintf(why, sizeof(why), "%s/state.json: crl_url %s (fix it there)", dir, err);
		seterr(err, errlen, "%s", why);
		rc = -2;
		goto out;
	}
	if (asn1_time_t(X509_get0_notAfter(ca), &ca_na)) {
		seterr(err, errlen, "%s/ca.pem: malformed notAfter", dir);
		goto out;
	}
	if (find_live(st, name)) {
		seterr(err, errlen, "%s: a live certificate named '%s' exists (revoke it first)", dir, name);
		goto out;
	}
	if (!r.san && o->role == PKI_ROLE_AGENT) {
		snprintf(san, sizeof(san), "DNS:%s", name);
		r.san = san;
	}
	r.rsa = json_is_true(json_object_get(st, "rsa"));
	r.crl_url = state_str(st, "crl_url");
	r.serial = take_serial(st);
	r.not_before = pki_time_at(&o->not_before, now, now - BACKDATE);
	r.not_after = pki_time_at(&o->not_after, now, now + (time_t)(o->days ? o->days : 365) * 86400);
	if (r.not_after > ca_na) {
		char a[32], b[32];
		struct tm tm;

		strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&r.not_after, &tm));
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ca_na, &tm));
		if (o->note)
			snprintf(o->note, o->notelen, "'%s' would end %s, after its CA (%s/ca.pem ends %s): clamped to %s",
				 name, a, dir, b, b);
		r.not_after = ca_na;
	}
	if (r.not_after <= r.not_before) {
		seterr(err, errlen, "the validity window is empty (notAfter <= notBefore)");
		goto out;
	}
	ERR_clear_error();
	if (!(key = gen_key(r.rsa)) || !(cert = make_cert(&r, key, ca, cakey))) {
		seterr(err, errlen, "%s: cannot issue '%s': %s%s", dir, name, ssl_reason(),
		       r.san ? " (check --san: DNS:name,IP:address,...)" : "");
		goto out;
	}
	snprintf(chainpath, sizeof(chainpath), "%s/chain.pem", dir);
	chain = access(chainpath, F_OK) ? NULL : pki_read_file(chainpath, 1 << 20, &clen, err, errlen);
	if (!access(chainpath, F_OK) && !chain)
		goto out;
	/* Both files written out (staged) first, then the state that makes the name live, then the renames: a full
	 * disk fails before the state changes and leaves nothing behind; the serial is recorded before the
	 * certificate appears under its name, so it is never reused. */
	snprintf(file, sizeof(file), "%s.key", name);
	if (write_key(dir, file, key, ktmp, err, errlen))
		goto out;
	snprintf(file, sizeof(file), "%s.pem", name);
	if (write_cert(dir, file, cert, chain, ctmp, err, errlen))
		goto out;
	record(st, name, o->role, r.serial, r.not_before, r.not_after);
	if (state_write(dir, st, err, errlen))
		goto out;
	snprintf(file, sizeof(file), "%s.key", name);
	if (pki_commit(dir, ktmp, file, err, errlen))
		goto out;
	*ktmp = 0;
	snprintf(file, sizeof(file), "%s.pem", name);
	if (pki_commit(dir, ctmp, file, err, errlen))
		goto out;
	*ctmp = 0;
	rc = 0;
out:
	if (*ktmp)
		unlink(ktmp);
	if (*ctmp)
		unlink(ctmp);
	free(chain);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	X509_free(cert);
	X509_free(ca);
	json_decref(st);
	pki_unlock(lk);
	return rc;
}

int pki_revoke(const char *dir, const char *name, const char *reason, char *err, size_t errlen)
{
	int lk, rc = -1, ok = !reason;
	json_t *st = NULL, *c;
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;

	for (size_t k = 0; !ok && k < sizeof(reasons) / sizeof(reasons[0]); k++)
		ok = reasons[k] && !strcmp(reasons[k], reason);
	if (!ok) {
		seterr(err, errlen, "unknown reason '%s' (unspecified, keyCompromise, cACompromise, affiliationChanged, "
		       "superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise)", reason);
		return -1;
	}
	if ((lk = pki_lock(dir, err, errlen)) < 0)
		return -1;
	if (!(st = state_read(dir, err, errlen)) || !(ca = read_cert(dir, "ca.pem", err, errlen)) ||
	    !(key = read_key(dir, "ca.key", err, errlen)))
		goto out;
	if ((rc = check_ca_pair(dir, ca, key, err, errlen)))
		goto out;
	rc = -1;
	if (!(c = find_live(st, name))) {
		seterr(err, errlen, "%s: no live certificate named '%s'", dir, name);
		goto out;
	}
	json_object_set_new(c, "revoked_at", json_integer(time(NULL)));
	json_object_set_new(c, "reason", json_string(reason ? reason : "unspecified"));
	rc = publish_crl(dir, st, ca, key, NULL, err, errlen);
out:
	EVP_PKEY_free(key);
	X509_free(ca);
	json_decref(st);
	pki_unlock(lk);
	return rc;
}

int pki_crl(const char *dir, const struct pki_crl_opts *o, char *err, size_t errlen)
{
	int lk, rc = -1;
	json_t *st = NULL;
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;

	if ((lk = pki_lock(dir, err, errlen)) < 0)
		return -1;
	if ((st = state_read(dir, err, errlen)) && (ca = read_cert(dir, "ca.pem", err, errlen)) &&
	    (key = read_key(dir, "ca.key", err, errlen)) && !(rc = check_ca_pair(dir, ca, key, err, errlen)))
		rc = publish_crl(dir, st, ca, key, o, err, errlen);
	EVP_PKEY_free(key);
	X509_free(ca);
	json_decref(st);
	pki_unlock(lk);
	return rc;
}

json_t *pki_state(const char *dir, char *err, size_t errlen)
{
	int lk = pki_lock(dir, err, errlen);
	json_t *st;

	if (lk < 0)
		return NULL;
	st = state_read(dir, err, errlen);
	pki_unlock(lk);
	return st;
}

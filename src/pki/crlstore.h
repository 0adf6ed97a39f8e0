/* The revocation state an mTLS server checks client chains against, built from CRLs whose signatures are
 * verified ONCE, when they are loaded. OpenSSL's own X509_V_FLAG_CRL_CHECK re-verifies the CRL signature on
 * every chain verification (≈2.7 ms for a 100,000-entry CRL); here a handshake pays one binary search.
 *
 * A crl_store is immutable once built and owns everything it points to; callers swap whole stores.
 * Building one is thread-safe (the agent builds in a worker thread); a built store may be read by any thread. */
#ifndef MINET_PKI_CRLSTORE_H
#define MINET_PKI_CRLSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

/* Longest serial the store represents (RFC 5280 §4.1.2.2: at most 20 octets). Longer certificate serials are
 * refused at check time, so skipping longer CRL entries cannot let a revoked certificate through. */
#define CRL_SERIAL_MAX 20

struct crl_serial {
	uint8_t neg;  /* 1 for a (non-conforming) negative serial */
	uint8_t len;  /* significant octets, no leading zeros */
	uint8_t b[CRL_SERIAL_MAX];
};

enum crl_status {
	CRL_OK,
	CRL_OK_GRACE,         /* the issuer's CRL is past nextUpdate but within the grace period */
	CRL_REVOKED,          /* the serial is on the issuer's CRL */
	CRL_NO_CRL,           /* no CRL from this certificate's issuer */
	CRL_EXPIRED,          /* the issuer's CRL is past nextUpdate (+ grace) */
	CRL_NOT_YET_VALID,    /* the issuer's CRL has thisUpdate in the future */
	CRL_SERIAL_TOO_LONG,  /* certificate serial longer than CRL_SERIAL_MAX octets */
};

/* One verified CRL, as reported by crl_store_info(). */
struct crl_info {
	const X509 *ca;              /* the issuing CA (owned by the store) */
	struct crl_serial number;    /* cRLNumber; len 0 when the CRL has none */
	time_t this_update, next_update;
	size_t entries;              /* revoked serials kept */
	size_t skipped;              /* entries skipped (serial too long) */
};

struct crl_store;

/* Build a store from buf (len bytes): one or more PEM "X509 CRL" blocks, or one DER CRL. Every CRL must be
 * signed by the certificate in cas whose subject is the CRL's issuer, carry a nextUpdate, be a complete
 * (not delta, not indirect) CRL, and be the only one for that CA. cas is only borrowed (the store takes its own
 * references). Returns NULL with a one-line reason in err when any CRL fails these checks. */
struct crl_store *crl_store_new(STACK_OF(X509) *cas, const void *buf, size_t len, char *err, size_t errlen);

/* Free a store (NULL is fine). */
void crl_store_free(struct crl_store *s);

/* Is cert, issued by issuer, revoked? now is the current time; grace (seconds) extends every nextUpdate. */
enum crl_status crl_store_check(const struct crl_store *s, const X509 *cert, const X509 *issuer, time_t now,
				long grace);

/* Check every link of a verified chain (chain[0] the leaf, the last element the trust anchor, which nobody
 * revokes). Returns the first status other than CRL_OK/CRL_OK_GRACE and its depth in *depth; otherwise CRL_OK,
 * or CRL_OK_GRACE when any link needed the grace period. s may be NULL (no CRL loaded): CRL_NO_CRL. */
enum crl_status crl_store_check_chain(const struct crl_store *s, STACK_OF(X509) *chain, time_t now, long grace,
				      int *depth);

/* Only the revocation test of crl_store_check_chain, without CRL time checks: for re-checking live
 * connections after a refresh. Returns 1 when some link is revoked. */
int crl_store_chain_revoked(const struct crl_store *s, STACK_OF(X509) *chain);

/* The number of CRLs in the store, and the i-th of them. */
size_t crl_store_count(const struct crl_store *s);
const struct crl_info *crl_store_info(const struct crl_store *s, size_t i);

/* 0 when next may replace cur: for every CA both cover, next's cRLNumber (or thisUpdate when either lacks a
 * number) is not older. -1 with the reason in err otherwise (a replayed older CRL would un-revoke). */
int crl_store_not_older(const struct crl_store *cur, const struct crl_store *next, char *err, size_t errlen);

/* 0 when next may replace cur at time now: crl_store_not_older, and no CA whose CRL in cur is valid now
 * (thisUpdate <= now <= nextUpdate + grace) gets one in next that is not yet valid (thisUpdate > now): a
 * relying party whose clock is behind the issuer's would otherwise swap a good CRL for one that refuses every
 * client. -1 with the reason in err; *later (when not NULL) is set to 1 when only the not-yet-valid test failed,
 * i.e. trying the same CRL again later may succeed. */
int crl_store_may_replace(const struct crl_store *cur, const struct crl_store *next, time_t now, long grace,
			  int *later, char *err, size_t errlen);

/* A certificate serial as a crl_serial; -1 when it is longer than CRL_SERIAL_MAX octets. */
int crl_serial_from_asn1(const ASN1_INTEGER *ai, struct crl_serial *out);

/* Lower-case hex of a serial ("0" for zero, "-" prefix when negative) into buf (at least 2*CRL_SERIAL_MAX+2). */
void crl_serial_hex(const struct crl_serial *s, char *buf, size_t len);

/* A short, stable description ("certificate revoked", "CRL expired", ...). */
const char *crl_status_str(enum crl_status st);

#endif

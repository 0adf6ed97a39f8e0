/* The cluster's certificate authority, kept in one directory:
 *   ca.pem ca.key(0600)  the CA (an intermediate CA's dir also has chain.pem: its certificate and those above it
 *                        except the root, which every NAME.pem of that dir carries after the leaf)
 *   NAME.pem NAME.key     issued certificates (key 0600)
 *   crl.pem               the CRL, re-signed on every revoke and by pki_crl()
 *   state.json            serial counter, CRL number, CRL URL, every issued certificate and its revocation
 *   .lock                 flock()ed for the whole of every operation; files are replaced by write-temp-then-rename,
 *                         so concurrent calls serialize and a crash never leaves a half-written file.
 * Every function returns 0, or -1 with a one-line reason naming the file in err; -2 when the input is bad (the
 * CA's key does not match its certificate, a malformed CRL URL): nothing was written. */
#ifndef MINET_PKI_CA_H
#define MINET_PKI_CA_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

enum pki_role { PKI_ROLE_AGENT, PKI_ROLE_MGMT, PKI_ROLE_CA };

/* A time option: absolute when abs is set, else now + rel seconds. */
struct pki_time {
	int set;
	time_t abs;
	long rel;
	int is_abs;
};

struct pki_init_opts {
	int rsa;                 /* RSA 3072 instead of ECDSA P-256 (issued keys follow the CA) */
	const char *name;        /* CA common name; for an intermediate also its entry name in the parent */
	const char *crl_url;     /* CRL distribution point written into every certificate issued (may be NULL) */
	const char *parent;      /* parent CA directory: make an intermediate CA signed by it */
	int days;                /* CA validity (0: 3650) */
	int crl_days;            /* CRL validity (0: 7) */
};

struct pki_issue_opts {
	enum pki_role role;
	const char *san;         /* "DNS:x,IP:y" (NULL: DNS:NAME for agents, none for mgmt) */
	int days;                /* 0: 365 */
	struct pki_time not_before, not_after; /* override the validity window (tests) */
	char *note;              /* when not NULL: why the validity was clamped to the CA's notAfter, else "" */
	size_t notelen;
};

struct pki_crl_opts {
	int days;                /* 0: the CA's default */
	struct pki_time this_update, next_update; /* override (tests) */
};

int pki_init(const char *dir, const struct pki_init_opts *o, char *err, size_t errlen);
int pki_issue(const char *dir, const char *name, const struct pki_issue_opts *o, char *err, size_t errlen);
/* reason: an RFC 5280 reason name ("keyCompromise", ...) or NULL for unspecified. */
int pki_revoke(const char *dir, const char *name, const char *reason, char *err, size_t errlen);
int pki_crl(const char *dir, const struct pki_crl_opts *o, char *err, size_t errlen);
/* A new reference to the state (read under the lock); the caller json_decref()s it. NULL on error. */
json_t *pki_state(const char *dir, char *err, size_t errlen);

/* Parse "+N"/"-N" (seconds from now) or "YYYYMMDDHHMMSSZ" into t; -1 when malformed. */
int pki_time_parse(const char *s, struct pki_time *t);

/* A certificate/entry name: [A-Za-z0-9._-], 1..64 characters, not starting with '.', not a CA file name. */
int pki_name_ok(const char *name);

#endif

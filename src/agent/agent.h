/* minet-agent: the node's management agent, reachable only over mutually authenticated TLS.
 * One event loop (libevent) serves every listener; CRLs are parsed and verified in a worker thread and swapped in
 * whole (crlsrc.c); the TLS context and the per-connection state live in tls.c; the HTTP API in api.c.
 * Everything here is touched only by the event-loop thread, except the CRL job handed to the worker. */
#ifndef MINET_AGENT_AGENT_H
#define MINET_AGENT_AGENT_H

#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "pki/crlstore.h"

#define AGENT_MAX_LISTEN 8

/* Why a handshake was refused; the index into the handshake-failure counters and the metric label. */
enum refusal {
	REF_NO_CERT, REF_SELF_SIGNED, REF_UNTRUSTED, REF_EXPIRED, REF_NOT_YET_VALID, REF_PURPOSE, REF_REVOKED,
	REF_CRL_EXPIRED, REF_CRL_NOT_YET_VALID, REF_CRL_INVALID, REF_BAD_SERIAL, REF_BAD_SIGNATURE, REF_PROTOCOL,
	REF_TIMEOUT, REF_PEER_CLOSED, REF_PEER_ALERT, REF_OVERLOAD, REF_OTHER,
	REF_COUNT
};

/* A connection: attached to its SSL as ex_data, freed with it, listed in agent.conns while it lives. */
struct conn {
	struct conn *prev, *next;
	struct agent *ag;
	SSL *ssl;
	struct event *hs_timer;   /* handshake timeout; NULL once established */
	time_t since;
	int established, closed_by_us, timed_out, counted;
	enum refusal ref;
	char reason[400];         /* refusal reason, "" while none */
	char peer[64];            /* address:port */
	char subject[160];
	char serial[48];
};

enum { PATH_HEALTH, PATH_STATUS, PATH_METRICS, PATH_OTHER, PATH_COUNT };
enum { CODE_200, CODE_404, CODE_405, CODE_COUNT };

struct agent_opts {
	const char *listen[AGENT_MAX_LISTEN];
	int nlisten;
	const char *cert, *key, *ca, *crl, *crl_url, *name, *user, *log;
	long crl_refresh, grace, hs_timeout, idle_timeout;
	long max_conns;
	int check_only;
	const char *dns;          /* --dns ADDR[:PORT]: the name server for --crl-url (default: /etc/resolv.conf) */
	long crl_max_size;        /* --crl-max-size: largest fetched CRL body, bytes */
	long crl_timeout;         /* --crl-timeout: a whole fetch (lookup, connect, transfer), seconds */
};

struct crl_job;
struct crl_fetch;

struct agent {
	struct agent_opts o;
	struct event_base *base;
	struct evhttp *http;
	struct event *sig_hup, *sig_term, *sig_int, *refresh_timer, *job_done_ev;
	SSL_CTX *ctx;              /* for new connections; live ones keep a reference to theirs */
	STACK_OF(X509) *cas;       /* the --ca bundle (trust anchors and intermediates the CRLs are checked with) */
	struct crl_store *crl;     /* NULL: no valid CRL, every handshake refused */
	char crl_err[640];         /* why the last CRL load failed ("" when it did not) */
	char crl_source[300];
	double crl_load_ms;
	time_t crl_loaded_at;
	struct stat crl_stat;      /* of --crl when last read, to notice changes */
	unsigned char fetched_digest[32];
	int have_fetched_digest;
	struct crl_fetch *fetch;   /* the --crl-url fetcher (crlsrc.c), or NULL */
	char crl_fetch_err[400];   /* why the last fetch failed ("" when it did not) */
	uint64_t crl_fetches_failed;
	struct crl_job *job;       /* running in the worker, or NULL */
	int job_efd;
	int pending_file;          /* reread --crl when the running job ends */
	char *pending_buf;         /* or load this fetched CRL then */
	size_t pending_len;
	unsigned char pending_digest[32];
	time_t started;
	struct conn *conns;
	long nconns;
	/* metrics */
	uint64_t hs_ok, hs_failed[REF_COUNT], revocation_closes, requests[PATH_COUNT][CODE_COUNT];
	uint64_t crl_loads_ok, crl_loads_failed;
};

/* log.c: one line, timestamped, to --log or stderr. */
int agent_log_open(const char *path);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tls.c */
int tls_init_indices(void);
/* A server context from --cert/--key/--ca, and the CA bundle in *cas. NULL + err on failure. */
SSL_CTX *tls_ctx_new(struct agent *ag, STACK_OF(X509) **cas, char *err, size_t errlen);
/* evhttp's bufferevent factory: one TLS connection. */
struct bufferevent *tls_bevcb(struct event_base *base, void *arg);
/* Close every established connection whose verified chain the current CRL now revokes. */
void tls_sweep_revoked(struct agent *ag);
const char *tls_refusal_slug(enum refusal r);
/* The connection behind an HTTP request (NULL if unknown). */
struct conn *tls_conn_of(struct evhttp_request *req);

/* crlsrc.c */
/* Load --crl now, in this thread (startup); failures are logged and leave ag->crl NULL. */
void crlsrc_load_initial(struct agent *ag);
/* Start the refresh machinery: worker completion event, refresh timer, HTTP fetch. 0 or -1. */
int crlsrc_start(struct agent *ag);
/* SIGHUP: reread --crl (in the worker). */
void crlsrc_reload_file(struct agent *ag);
/* Options of the fetcher (--crl-max-size, --crl-timeout, --dns): defaults, and one option's value.
 * crlsrc_opt returns 0, or -1 with the usage message in err. */
void crlsrc_opts_default(struct agent_opts *o);
int crlsrc_opt(struct agent_opts *o, const char *name, const char *val, char *err, size_t errlen);
void crlsrc_stop(struct agent *ag);

/* api.c */
void api_request(struct evhttp_request *req, void *arg);

#endif

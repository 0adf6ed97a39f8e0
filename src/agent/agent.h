/* minet-agent: the node's management agent, reachable only over mutually authenticated TLS.
 *
 * Privilege separation (OpenBSD relayd/httpd style, parent.c and worker.c): a small privileged parent reads the
 * certificate, key, CA and CRL files and fetches --crl-url (crlsrc.c, which parses and verifies each CRL once and
 * refuses rollbacks), and hands the bytes to unprivileged, chrooted workers over a socketpair (ipc.h framing).
 * Workers never open a file: one per core, each with its own SO_REUSEPORT listening sockets, one event loop
 * (libevent) serving TLS (tls.c) and the HTTP API (api.c). SIGHUP, changes of the CRL file (inotify) and URL
 * refreshes all go through the parent. Counters live in a shared mapping so /metrics and /v1/status report the
 * whole agent whichever worker answers. */
#ifndef MINET_AGENT_AGENT_H
#define MINET_AGENT_AGENT_H

#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "agent/ratelimit.h"
#include "pki/crlstore.h"

#define AGENT_MAX_LISTEN 8
#define AGENT_MAX_WORKERS 64
#define AGENT_FD_RESERVE 32 /* descriptors a worker keeps for itself (log, IPC, listeners, CRL thread) */

/* Why a handshake was refused; the index into the handshake-failure counters and the metric label. */
enum refusal {
	REF_NO_CERT, REF_SELF_SIGNED, REF_UNTRUSTED, REF_EXPIRED, REF_NOT_YET_VALID, REF_PURPOSE, REF_REVOKED,
	REF_CRL_EXPIRED, REF_CRL_NOT_YET_VALID, REF_CRL_INVALID, REF_BAD_SERIAL, REF_BAD_SIGNATURE, REF_PROTOCOL,
	REF_TIMEOUT, REF_PEER_CLOSED, REF_PEER_ALERT, REF_OVERLOAD, REF_RATE, REF_OTHER,
	REF_COUNT
};

/* A connection: attached to its SSL as ex_data, freed with it, listed in agent.conns while it lives. */
struct conn {
	struct conn *prev, *next;
	struct agent *ag;
	SSL *ssl;
	struct event *hs_timer;   /* handshake timeout; NULL once established */
	struct event *req_timer;  /* whole-request deadline: armed by a request's first byte, disarmed when whole */
	struct evbuffer *in;      /* the decrypted input, and our callback on it */
	struct evbuffer_cb_entry *in_cb;
	time_t since;
	int established, closed_by_us, timed_out, counted;
	enum refusal ref;
	char reason[400];         /* refusal reason, "" while none */
	char peer[64];            /* address:port */
	char subject[400];        /* escaped for log lines (agent_log_escape) */
	char serial[48];
};

enum { PATH_HEALTH, PATH_STATUS, PATH_METRICS, PATH_OTHER, PATH_COUNT };
enum { CODE_200, CODE_404, CODE_405, CODE_COUNT };

/* The options, parsed by the parent and copied whole into every worker across fork (so anything an API handler
 * needs from the command line reaches the worker in memory). */
struct agent_opts {
	const char *listen[AGENT_MAX_LISTEN];
	int nlisten;
	const char *cert, *key, *ca, *crl, *crl_url, *name, *user, *log, *chroot;
	long crl_refresh, grace, hs_timeout, idle_timeout, request_timeout;
	long max_conns;            /* the whole agent's; each worker gets its share */
	long workers;              /* 0: one per online CPU */
	double hs_rate, hs_burst;  /* per source address per second; 0: unlimited */
	int check_only;
	const char *dns;          /* --dns ADDR[:PORT]: the name server for --crl-url (default: /etc/resolv.conf) */
	long crl_max_size;        /* --crl-max-size: largest fetched CRL body, bytes */
	long crl_timeout;         /* --crl-timeout: a whole fetch (lookup, connect, transfer), seconds */
};

/* One worker's counters, in the shared mapping; written only by that worker. */
struct worker_stats {
	pid_t pid;
	long nconns;
	uint64_t hs_ok, hs_failed[REF_COUNT], revocation_closes, requests[PATH_COUNT][CODE_COUNT];
	uint64_t request_timeouts, accept_pauses, restarts;
};

/* What the parent publishes to the workers (seqlock: seq odd while it writes). */
struct parent_stats {
	uint64_t seq;
	uint64_t crl_loads_ok, crl_loads_failed, reloads, hup_signals;
	time_t crl_loaded_at, last_error_at;
	double crl_load_ms;
	char crl_source[300];
	char crl_err[640];     /* why no CRL is in force ("" when one is) */
	char last_error[640];  /* the last failed reload, kept after later successes */
	char fetch_err[400];   /* why the last --crl-url fetch failed ("" when it did not) */
	uint64_t fetches_failed;
};

struct agent_shared {
	struct parent_stats p;
	int nworkers;
	struct worker_stats w[AGENT_MAX_WORKERS];
};

/* The TLS material read by the parent: PEM bytes as in the files. */
struct tls_material {
	char *cert, *key, *ca;
	size_t cert_len, key_len, ca_len;
};

struct crl_job;
struct worker_slot;
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
	struct crl_job *job;       /* running in the CRL thread, or NULL */
	int job_efd;
	int pending_file;          /* reread --crl when the running job ends */
	char *pending_buf;         /* or load this fetched CRL then */
	size_t pending_len;
	unsigned char pending_digest[32];
	time_t started;
	uint64_t crl_loads_ok, crl_loads_failed;
	/* shared by parent and workers */
	struct agent_shared *sh;
	int is_worker;
	/* worker side */
	int slot;
	struct worker_stats *st;   /* this worker's counters (sh->w[slot]) */
	struct conn *conns;
	long nconns, max_conns;    /* live connections; this worker's limit */
	struct rl_table rl;
	struct evconnlistener *lev[AGENT_MAX_LISTEN];
	int nlev, paused_full, paused_fd;
	struct event *resume_timer;
};

/* log.c: one line, timestamped, to --log or stderr. */
int agent_log_open(const char *path);
/* Reopen --log (logrotate): the parent opens the new file; 0, or -1 keeping the old one. */
int agent_log_reopen(const char *path);
/* Make fd (an open log file) the log, in place: live writers see the new file. Takes fd. */
void agent_log_adopt(int fd);
int agent_log_fd(void);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Escape untrusted text (certificate subjects) for a quoted log field: \" \\ and \xHH for control and non-ASCII
 * bytes, so no field or line can be injected. */
void agent_log_escape(const char *in, char *out, size_t outlen);

/* tls.c */
int tls_init_indices(void);
/* Read --cert, --key (refusing a key readable by group or others) and --ca into m. 0, or -1 + err. */
int tls_material_read(const struct agent_opts *o, struct tls_material *m, char *err, size_t errlen);
void tls_material_free(struct tls_material *m);
/* A server context from PEM bytes, and the CA bundle in *cas. NULL + err (naming the option's file) on failure. */
SSL_CTX *tls_ctx_from_material(struct agent *ag, const struct tls_material *m, STACK_OF(X509) **cas, char *err,
			       size_t errlen);
/* evhttp's bufferevent factory: one TLS connection. */
struct bufferevent *tls_bevcb(struct event_base *base, void *arg);
/* Close every established connection whose verified chain the current CRL now revokes. */
void tls_sweep_revoked(struct agent *ag);
const char *tls_refusal_slug(enum refusal r);
/* The connection behind an HTTP request (NULL if unknown). */
struct conn *tls_conn_of(struct evhttp_request *req);
/* A whole request arrived on c: disarm its request deadline. */
void tls_request_done(struct conn *c);

/* crlsrc.c (runs in the parent) */
/* Load --crl now, in this thread (startup); failures are logged and leave ag->crl NULL. */
void crlsrc_load_initial(struct agent *ag);
/* Start the refresh machinery: worker completion event, refresh timer, HTTP fetch. 0 or -1. */
int crlsrc_start(struct agent *ag);
/* SIGHUP or file change: reread --crl (in the CRL thread). */
void crlsrc_reload_file(struct agent *ag);
/* Options of the fetcher (--crl-max-size, --crl-timeout, --dns): defaults, and one option's value.
 * crlsrc_opt returns 0, or -1 with the usage message in err. */
void crlsrc_opts_default(struct agent_opts *o);
int crlsrc_opt(struct agent_opts *o, const char *name, const char *val, char *err, size_t errlen);
void crlsrc_stop(struct agent *ag);

/* parent.c: called by crlsrc.c when a CRL was accepted (buf: its bytes) or refused. */
void agent_crl_applied(struct agent *ag, const char *source, const void *buf, size_t len);
void agent_crl_failed(struct agent *ag, const char *source, const char *err);
/* Run the parent: bind, start workers, serve signals/inotify/refresh until SIGTERM. Returns the exit status. */
int parent_run(struct agent *ag, const struct tls_material *m, uid_t uid, gid_t gid, int drop);

/* worker.c */
struct worker_args {
	int slot, ipc_fd, fd_sock;
	int listen_fds[AGENT_MAX_LISTEN];
	int nlisten;
	pid_t parent;
	uid_t uid;
	gid_t gid;
	int drop;                  /* chroot and setuid (the parent runs as root) */
};
/* The worker process's main: never returns. ag is the parent's (read for options and shared state only). */
void worker_main(const struct agent *parent, const struct worker_args *wa) __attribute__((noreturn));
/* The no-CRL reason the parent published (for refusal messages). */
const char *worker_crl_err(struct agent *ag, char *buf, size_t len);
/* Copy the parent's published state consistently. */
void agent_parent_stats(const struct agent *ag, struct parent_stats *out);
/* Stop/resume accepting on every listener of this worker (descriptor exhaustion, connection limit). */
void worker_conns_changed(struct agent *ag);

/* api.c */
void api_request(struct evhttp_request *req, void *arg);

#endif

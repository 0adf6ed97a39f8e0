/* Where the agent's CRL comes from: --crl at startup, on SIGHUP and when the file changes, and --crl-url every
 * --crl-refresh seconds. Parsing and the one signature verification run in a worker thread (a 100,000-entry CRL
 * takes ~0.2 s) so handshakes in progress never wait; the finished store is swapped in on the event loop, and
 * every live connection the new CRL revokes is closed there and then. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/sha.h>

#include "agent/agent.h"
#include "model/clock.h"
#include "pki/pkifile.h"

#define CRL_MAX_BYTES (64u << 20) /* the largest CRLs seen in the wild are ~12 MB */

struct crl_job {
	int efd;
	char *path;              /* read this file, or */
	char *buf;               /* parse this fetched body (owned) */
	size_t len;
	STACK_OF(X509) *cas;     /* own references */
	char source[300];
	pthread_t th;
	/* results */
	struct crl_store *store;
	struct stat st;
	char err[300];
	double ms;
	unsigned char digest[32]; /* of buf, when fetched */
};

static double now_ms(void)
{
	return monotonic_seconds() * 1e3;
}

static void job_run(struct crl_job *j)
{
	double t0 = now_ms();

	if (j->path) {
		if (stat(j->path, &j->st))
			memset(&j->st, 0, sizeof(j->st));
		j->buf = pki_read_file(j->path, CRL_MAX_BYTES, &j->len, j->err, sizeof(j->err));
	}
	if (j->buf)
		j->store = crl_store_new(j->cas, j->buf, j->len, j->err, sizeof(j->err));
	j->ms = now_ms() - t0;
}

static void *job_thread(void *arg)
{
	struct crl_job *j = arg;
	uint64_t one = 1;

	job_run(j);
	while (write(j->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	return NULL;
}

static void job_free(struct crl_job *j)
{
	if (!j)
		return;
	free(j->path);
	free(j->buf);
	sk_X509_pop_free(j->cas, X509_free);
	crl_store_free(j->store);
	free(j);
}

static void iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fetch_rejected(struct agent *ag, const unsigned char *digest, int later);

static void job_apply(struct agent *ag, struct crl_job *j)
{
	char err[300];
	int later = 0;

	if (j->store && crl_store_may_replace(ag->crl, j->store, time(NULL), ag->o.grace, &later, err, sizeof(err)))
		snprintf(j->err, sizeof(j->err), "%s", err);
	/* a file whose CRL is only early is read again at the next refresh tick (when the clock may have caught up) */
	if (j->path && !later)
		ag->crl_stat = j->st;
	if (j->store && !j->err[0]) {
		crl_store_free(ag->crl);
		ag->crl = j->store;
		j->store = NULL;
		ag->crl_err[0] = 0;
		ag->crl_loads_ok++;
		ag->crl_load_ms = j->ms;
		ag->crl_loaded_at = time(NULL);
		snprintf(ag->crl_source, sizeof(ag->crl_source), "%s", j->source);
		if (!j->path) {
			memcpy(ag->fetched_digest, j->digest, sizeof(ag->fetched_digest));
			ag->have_fetched_digest = 1;
		}
		for (size_t i = 0; i < crl_store_count(ag->crl); i++) {
			const struct crl_info *in = crl_store_info(ag->crl, i);
			char name[200], num[48], nu[32];

			X509_NAME_oneline(X509_get_subject_name(in->ca), name, sizeof(name));
			crl_serial_hex(&in->number, num, sizeof(num));
			iso(in->next_update, nu, sizeof(nu));
			agent_log("CRL loaded from %s in %.1f ms: issuer=\"%s\" number=0x%s entries=%zu nextUpdate=%s%s",
				  j->source, j->ms, name, num, in->entries, nu,
				  in->next_update < time(NULL) ? " (ALREADY EXPIRED: handshakes will be refused)" : "");
		}
		agent_crl_applied(ag, j->source, j->buf, j->len); /* hands it to the workers */
		return;
	}
	ag->crl_loads_failed++;
	if (!j->path)
		fetch_rejected(ag, j->digest, later);
	agent_log("error: CRL from %s rejected: %s; %s", j->source, j->err,
		  ag->crl ? "keeping the CRL in force" : "no CRL in force: refusing every handshake");
	if (!ag->crl)
		snprintf(ag->crl_err, sizeof(ag->crl_err), "%s: %s", j->source, j->err);
	agent_crl_failed(ag, j->source, j->err);
}

static struct crl_job *job_new(struct agent *ag, const char *source)
{
	struct crl_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->efd = ag->job_efd;
	j->cas = X509_chain_up_ref(ag->cas);
	snprintf(j->source, sizeof(j->source), "%s", source);
	return j;
}

/* Run j in the worker; with no thread available, run it here. Takes j. */
static void job_start(struct agent *ag, struct crl_job *j)
{
	if (!pthread_create(&j->th, NULL, job_thread, j)) {
		ag->job = j;
		return;
	}
	agent_log("warning: no worker thread (%s); loading the CRL inline", strerror(errno));
	job_run(j);
	job_apply(ag, j);
	job_free(j);
}

static void start_next(struct agent *ag)
{
	struct crl_job *j;

	if (ag->job)
		return;
	if (ag->pending_file) {
		ag->pending_file = 0;
		if ((j = job_new(ag, ag->o.crl))) {
			j->path = strdup(ag->o.crl);
			job_start(ag, j);
		}
	} else if (ag->pending_buf) {
		if ((j = job_new(ag, ag->o.crl_url))) {
			j->buf = ag->pending_buf;
			j->len = ag->pending_len;
			memcpy(j->digest, ag->pending_digest, sizeof(j->digest));
			ag->pending_buf = NULL;
			job_start(ag, j);
		} else {
			free(ag->pending_buf);
			ag->pending_buf = NULL;
		}
	}
}

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 || !ag->job)
		return;
	pthread_join(ag->job->th, NULL);
	job_apply(ag, ag->job);
	job_free(ag->job);
	ag->job = NULL;
	start_next(ag);
}

void crlsrc_load_initial(struct agent *ag)
{
	struct crl_job *j = job_new(ag, ag->o.crl);

	if (!j || !(j->path = strdup(ag->o.crl))) {
		job_free(j);
		snprintf(ag->crl_err, sizeof(ag->crl_err), "out of memory");
		return;
	}
	job_run(j);
	job_apply(ag, j);
	job_free(j);
}

void crlsrc_reload_file(struct agent *ag)
{
	fetch_rejected(ag, NULL, 0); /* the CAs may have changed too: a refused fetched CRL gets parsed again */
	ag->pending_file = 1;
	start_next(ag);
}

/* ---- HTTP fetch ----
 * One attempt at a time, each on a new connection: the name is resolved with evdns (never blocking the loop),
 * then a GET whose response headers are bounded by FETCH_MAX_HEADERS and whose body by --crl-max-size, the
 * whole attempt (lookup, connect, transfer) by --crl-timeout. Success schedules the next fetch --crl-refresh
 * seconds later; every failure is logged with its reason and retried with backoff (1, 2, 4 ... s, at most
 * --crl-refresh). The CRL in force stays until a fetched one is accepted. */

#define FETCH_MAX_HEADERS (64u << 10)

struct crl_fetch {
	struct agent *ag;
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *lookup;
	struct evhttp_connection *conn, *dead_conn; /* dead_conn: freed outside libevent's callbacks */
	struct event *next_ev, *deadline_ev, *reap_ev;
	char host[256];          /* as in the URL, brackets removed */
	char hosthdr[300];       /* the Host header */
	char target[2048];
	char addr[64];           /* the address it resolved to */
	int port, in_flight, failures, got_headers, cancelled;
	enum evhttp_request_error error;
	int have_error;
	unsigned char digest[SHA256_DIGEST_LENGTH]; /* of the body handed to the worker */
	int have_digest;
	unsigned char rejected[SHA256_DIGEST_LENGTH]; /* a body refused for good (not merely early) */
	int have_rejected;
	double t0;               /* when the attempt in flight started (now_ms) */
};

static void fetch_schedule(struct crl_fetch *f, long secs)
{
	struct timeval tv = { secs, 0 };

	event_add(f->next_ev, &tv);
}

/* Let go of the attempt's connection; freeing it inside libevent's request callbacks is not allowed, so it is
 * freed on the next loop iteration. */
static void fetch_release(struct crl_fetch *f)
{
	struct timeval zero = { 0, 0 };

	event_del(f->deadline_ev);
	f->in_flight = 0;
	if (f->conn) {
		if (f->dead_conn)
			evhttp_connection_free(f->dead_conn);
		f->dead_conn = f->conn;
		f->conn = NULL;
		event_add(f->reap_ev, &zero);
	}
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crl_fetch *f = arg;

	if (f->dead_conn)
		evhttp_connection_free(f->dead_conn);
	f->dead_conn = NULL;
}

static void fetch_failed(struct crl_fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fetch_failed(struct crl_fetch *f, const char *fmt, ...)
{
	struct agent *ag = f->ag;
	char why[400];
	long delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fetch_release(f);
	f->failures++;
	delay = f->failures > 12 ? ag->o.crl_refresh : 1L << (f->failures - 1);
	if (delay > ag->o.crl_refresh)
		delay = ag->o.crl_refresh;
	ag->crl_fetches_failed++;
	snprintf(ag->crl_fetch_err, sizeof(ag->crl_fetch_err), "%s", why);
	agent_log("error: CRL fetch from %s failed: %s; %s; retrying in %ld s (failure %d in a row)", ag->o.crl_url,
		  why, ag->crl ? "keeping the CRL in force" : "no CRL in force", delay, f->failures);
	fetch_schedule(f, delay);
}

static const char *http_error_str(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT: return "no data for too long";
	case EVREQ_HTTP_EOF: return "connection closed or refused";
	case EVREQ_HTTP_INVALID_HEADER: return "malformed response";
	case EVREQ_HTTP_BUFFER_ERROR: return "read or write error";
	case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG: return "response too large";
	}
	return "error";
}

static void fetch_error_cb(enum evhttp_request_error e, void *arg)
{
	struct crl_fetch *f = arg;

	f->error = e;
	f->have_error = 1;
}

static int fetch_header_cb(struct evhttp_request *req, void *arg)
{
	struct crl_fetch *f = arg;

	f->got_headers = 1;
	return 0;
}

/* connect and inactivity timeout of one attempt (the whole attempt has --crl-timeout) */
static long fetch_io_timeout(const struct agent *ag)
{
	return ag->o.crl_timeout < 10 ? ag->o.crl_timeout : 10;
}

static void fetch_done(struct evhttp_request *req, void *arg)
{
	struct crl_fetch *f = arg;
	struct agent *ag = f->ag;
	struct evbuffer *body;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	int code = req ? evhttp_request_get_response_code(req) : 0;
	size_t len;
	char *buf;

	if (f->cancelled || !f->in_flight)
		return;
	if (!req || !code) {
		/* libevent reports headers over the limit as invalid */
		if (f->have_error && f->error == EVREQ_HTTP_DATA_TOO_LONG && f->got_headers)
			fetch_failed(f, "body larger than --crl-max-size (%ld bytes)", ag->o.crl_max_size);
		else if (f->have_error && !f->got_headers &&
			 (f->error == EVREQ_HTTP_DATA_TOO_LONG || f->error == EVREQ_HTTP_INVALID_HEADER))
			fetch_failed(f, "response headers malformed or larger than %ld bytes (%s:%d)",
				     (long)FETCH_MAX_HEADERS, f->addr, f->port);
		else if (f->have_error && f->error == EVREQ_HTTP_TIMEOUT)
			fetch_failed(f, "no data for %ld s (%s:%d)", fetch_io_timeout(ag), f->addr, f->port);
		else
			fetch_failed(f, "%s (%s:%d)", f->have_error ? http_error_str(f->error) : "no connection, or no response",
				     f->addr, f->port);
		return;
	}
	if (code != 200) {
		fetch_failed(f, "HTTP %d", code);
		return;
	}
	body = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(body);
	if (!len) {
		fetch_failed(f, "empty body");
		return;
	}
	if (len > (size_t)ag->o.crl_max_size) {
		fetch_failed(f, "body larger than --crl-max-size (%ld bytes)", ag->o.crl_max_size);
		return;
	}
	if (!(buf = malloc(len + 1))) {
		fetch_failed(f, "out of memory for %zu bytes", len);
		return;
	}
	evbuffer_remove(body, buf, len);
	buf[len] = 0;
	fetch_release(f);
	f->failures = 0;
	ag->crl_fetch_err[0] = 0;
	fetch_schedule(f, ag->o.crl_refresh);
	SHA256((unsigned char *)buf, len, digest);
	if (ag->have_fetched_digest && !memcmp(digest, ag->fetched_digest, sizeof(digest))) {
		free(buf); /* the one in force, unchanged */
		return;
	}
	if (f->have_rejected && !memcmp(digest, f->rejected, sizeof(digest))) {
		free(buf); /* refused already, and would be again: not parsed every refresh (SIGHUP forgets it) */
		return;
	}
	if (f->have_digest && !memcmp(digest, f->digest, sizeof(digest)) && (ag->job || ag->pending_buf)) {
		free(buf); /* already being loaded */
		return;
	}
	agent_log("CRL fetched from %s (%s:%d): %zu bytes in %.1f ms", ag->o.crl_url, f->addr, f->port, len,
		  now_ms() - f->t0);
	memcpy(f->digest, digest, sizeof(digest));
	f->have_digest = 1;
	free(ag->pending_buf);
	ag->pending_buf = buf;
	ag->pending_len = len;
	memcpy(ag->pending_digest, digest, sizeof(digest));
	start_next(ag);
}

static void fetch_request(struct crl_fetch *f)
{
	struct agent *ag = f->ag;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	long io = fetch_io_timeout(ag);

	f->conn = evhttp_connection_base_new(ag->base, f->dns, f->addr, (unsigned short)f->port);
	if (!f->conn) {
		fetch_failed(f, "cannot create a connection to %s:%d", f->addr, f->port);
		return;
	}
	evhttp_connection_set_timeout(f->conn, (int)io);
	evhttp_connection_set_retries(f->conn, 0);
	evhttp_connection_set_max_headers_size(f->conn, FETCH_MAX_HEADERS);
	evhttp_connection_set_max_body_size(f->conn, (ev_ssize_t)ag->o.crl_max_size);
	/* read in large slices (libevent's default is 16 KiB per callback): a 5 MB CRL in ~20 reads, not ~300 */
	bufferevent_set_max_single_read(evhttp_connection_get_bufferevent(f->conn), 256 << 10);
	req = evhttp_request_new(fetch_done, f);
	if (!req) {
		fetch_failed(f, "out of memory");
		return;
	}
	evhttp_request_set_error_cb(req, fetch_error_cb);
	evhttp_request_set_header_cb(req, fetch_header_cb);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", f->hosthdr);
	evhttp_add_header(h, "User-Agent", "minet-agent");
	evhttp_add_header(h, "Connection", "close");
	if (evhttp_make_request(f->conn, req, EVHTTP_REQ_GET, f->target)) /* frees req */
		fetch_failed(f, "cannot send the request to %s:%d", f->addr, f->port);
}

static void lookup_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct crl_fetch *f = arg;
	const void *a = NULL;

	if (result == EVUTIL_EAI_CANCEL || f->cancelled) {
		/* the attempt it belonged to is over (and another may have started): touch nothing */
		if (res)
			evutil_freeaddrinfo(res);
		return;
	}
	f->lookup = NULL;
	if (result || !res) {
		fetch_failed(f, "name lookup of %s failed: %s", f->host, evutil_gai_strerror(result));
		if (res)
			evutil_freeaddrinfo(res);
		return;
	}
	if (res->ai_family == AF_INET)
		a = &((struct sockaddr_in *)res->ai_addr)->sin_addr;
	else if (res->ai_family == AF_INET6)
		a = &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	if (!a || !evutil_inet_ntop(res->ai_family, a, f->addr, sizeof(f->addr))) {
		evutil_freeaddrinfo(res);
		fetch_failed(f, "name lookup of %s: no usable address", f->host);
		return;
	}
	evutil_freeaddrinfo(res);
	fetch_request(f);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crl_fetch *f = arg;
	struct agent *ag = f->ag;

	if (!f->in_flight)
		return;
	/* no libevent callback is running: the connection (and its request) can go at once */
	f->cancelled = 1;
	if (f->lookup)
		evdns_getaddrinfo_cancel(f->lookup);
	f->lookup = NULL;
	if (f->conn)
		evhttp_connection_free(f->conn);
	f->conn = NULL;
	f->cancelled = 0;
	fetch_failed(f, "timed out after %ld s (--crl-timeout: name lookup, connect and transfer)",
		     ag->o.crl_timeout);
}

static void fetch_start(evutil_socket_t fd, short what, void *arg)
{
	struct crl_fetch *f = arg;
	struct timeval tv = { f->ag->o.crl_timeout, 0 };
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *r;

	if (f->in_flight)
		return;
	f->in_flight = 1;
	f->t0 = now_ms();
	f->got_headers = f->have_error = 0;
	f->addr[0] = 0;
	event_add(f->deadline_ev, &tv);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	r = evdns_getaddrinfo(f->dns, f->host, NULL, &hints, lookup_done, f);
	/* NULL: already answered (a numeric address, or an immediate failure), lookup_done has run */
	if (r && f->in_flight && !f->addr[0])
		f->lookup = r;
}

static void fetch_free(struct crl_fetch *f)
{
	if (!f)
		return;
	f->cancelled = 1;
	if (f->lookup)
		evdns_getaddrinfo_cancel(f->lookup);
	if (f->conn)
		evhttp_connection_free(f->conn);
	if (f->dead_conn)
		evhttp_connection_free(f->dead_conn);
	if (f->next_ev)
		event_free(f->next_ev);
	if (f->deadline_ev)
		event_free(f->deadline_ev);
	if (f->reap_ev)
		event_free(f->reap_ev);
	if (f->dns)
		evdns_base_free(f->dns, 0);
	free(f);
}

static struct crl_fetch *fetch_new(struct agent *ag)
{
	struct crl_fetch *f = calloc(1, sizeof(*f));
	struct evhttp_uri *u = NULL;
	const char *host, *path, *query;
	int rc;

	if (!f)
		return NULL;
	f->ag = ag;
	if (!(u = evhttp_uri_parse_with_flags(ag->o.crl_url, 0)) || !(host = evhttp_uri_get_host(u)) || !*host) {
		agent_log("error: --crl-url %s: not a valid URL", ag->o.crl_url);
		goto fail;
	}
	snprintf(f->hosthdr, sizeof(f->hosthdr), "%s", host);
	if (host[0] == '[') /* an IPv6 literal: the brackets belong to the URL, not to the address */
		snprintf(f->host, sizeof(f->host), "%.*s", (int)strlen(host) - 2, host + 1);
	else
		snprintf(f->host, sizeof(f->host), "%s", host);
	f->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	if (f->port != 80)
		snprintf(f->hosthdr + strlen(f->hosthdr), sizeof(f->hosthdr) - strlen(f->hosthdr), ":%d", f->port);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	snprintf(f->target, sizeof(f->target), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	evhttp_uri_free(u);
	u = NULL;
	f->dns = evdns_base_new(ag->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!f->dns)
		goto fail;
	if (ag->o.dns) {
		if (evdns_base_nameserver_ip_add(f->dns, ag->o.dns)) {
			agent_log("error: --dns %s: not an address[:port]", ag->o.dns);
			goto fail;
		}
	} else if ((rc = evdns_base_resolv_conf_parse(f->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf"))) {
		agent_log("warning: /etc/resolv.conf unusable (evdns error %d); asking 127.0.0.1 for names", rc);
	}
	evdns_base_set_option(f->dns, "timeout:", "3");
	evdns_base_set_option(f->dns, "attempts:", "2");
	f->next_ev = evtimer_new(ag->base, fetch_start, f);
	f->deadline_ev = evtimer_new(ag->base, deadline_cb, f);
	f->reap_ev = evtimer_new(ag->base, reap_cb, f);
	if (!f->next_ev || !f->deadline_ev || !f->reap_ev)
		goto fail;
	return f;
fail:
	if (u)
		evhttp_uri_free(u);
	fetch_free(f);
	return NULL;
}

/* A fetched CRL was refused; unless only because it is early, remember it so as not to parse it again.
 * digest NULL: forget. */
static void fetch_rejected(struct agent *ag, const unsigned char *digest, int later)
{
	struct crl_fetch *f = ag->fetch;

	if (!f || later)
		return;
	f->have_rejected = digest != NULL;
	if (digest)
		memcpy(f->rejected, digest, sizeof(f->rejected));
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	struct stat sb;

	if (!stat(ag->o.crl, &sb) &&
	    (sb.st_ino != ag->crl_stat.st_ino || sb.st_size != ag->crl_stat.st_size ||
	     sb.st_mtim.tv_sec != ag->crl_stat.st_mtim.tv_sec || sb.st_mtim.tv_nsec != ag->crl_stat.st_mtim.tv_nsec))
		crlsrc_reload_file(ag);
}

int crlsrc_start(struct agent *ag)
{
	struct timeval tv = { ag->o.crl_refresh, 0 };

	ag->job_done_ev = event_new(ag->base, ag->job_efd, EV_READ | EV_PERSIST, job_done_cb, ag);
	ag->refresh_timer = event_new(ag->base, -1, EV_PERSIST, refresh_cb, ag);
	if (!ag->job_done_ev || !ag->refresh_timer || event_add(ag->job_done_ev, NULL) ||
	    event_add(ag->refresh_timer, &tv))
		return -1;
	if (ag->o.crl_url) {
		if (!(ag->fetch = fetch_new(ag)))
			return -1;
		fetch_start(-1, 0, ag->fetch);
	}
	return 0;
}

void crlsrc_stop(struct agent *ag)
{
	if (ag->job) {
		pthread_join(ag->job->th, NULL);
		job_free(ag->job);
		ag->job = NULL;
	}
	fetch_free(ag->fetch);
	ag->fetch = NULL;
	if (ag->job_done_ev)
		event_free(ag->job_done_ev);
	if (ag->refresh_timer)
		event_free(ag->refresh_timer);
	ag->job_done_ev = ag->refresh_timer = NULL;
	free(ag->pending_buf);
	ag->pending_buf = NULL;
}

void crlsrc_opts_default(struct agent_opts *o)
{
	/* a 100,000-entry CRL is ~5 MB in PEM; the largest public CRLs are ~12 MB */
	o->crl_max_size = 16L << 20;
	o->crl_timeout = 30;
}

int crlsrc_opt(struct agent_opts *o, const char *name, const char *val, char *err, size_t errlen)
{
	char *end;
	long v;

	if (!strcmp(name, "dns")) {
		struct sockaddr_storage ss;
		int sl = sizeof(ss);

		if (evutil_parse_sockaddr_port(val, (struct sockaddr *)&ss, &sl)) {
			snprintf(err, errlen, "--dns wants ADDRESS[:PORT] (e.g. 127.0.0.53:53 or [::1]:53): %s", val);
			return -1;
		}
		o->dns = val;
		return 0;
	}
	errno = 0;
	v = strtol(val, &end, 10);
	if (!strcmp(name, "crl-max-size")) {
		if (*end == 'k' || *end == 'K')
			v <<= 10, end++;
		else if (*end == 'm' || *end == 'M')
			v <<= 20, end++;
		if (errno || end == val || *end || v < 1024 || v > (256L << 20)) {
			snprintf(err, errlen, "--crl-max-size wants 1k..256M bytes (a number, or with k or M): %s", val);
			return -1;
		}
		o->crl_max_size = v;
		return 0;
	}
	if (!strcmp(name, "crl-timeout")) {
		if (errno || end == val || *end || v < 1 || v > 3600) {
			snprintf(err, errlen, "--crl-timeout wants 1..3600 seconds: %s", val);
			return -1;
		}
		o->crl_timeout = v;
		return 0;
	}
	snprintf(err, errlen, "unknown option --%s", name);
	return -1;
}

/* Where the agent's CRL comes from: --crl at startup, on SIGHUP and when the file changes, and --crl-url every
 * --crl-refresh seconds. Parsing and the one signature verification run in a worker thread (a 100,000-entry CRL
 * takes ~0.2 s) so handshakes in progress never wait; the finished store is swapped in on the event loop, and
 * every live connection the new CRL revokes is closed there and then. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/sha.h>

#include "agent/agent.h"
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
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

static void job_apply(struct agent *ag, struct crl_job *j)
{
	char err[300];

	if (j->path)
		ag->crl_stat = j->st;
	if (j->store && crl_store_not_older(ag->crl, j->store, err, sizeof(err)))
		snprintf(j->err, sizeof(j->err), "%s", err);
	else if (j->store) {
		crl_store_free(ag->crl);
		ag->crl = j->store;
		j->store = NULL;
		ag->crl_err[0] = 0;
		ag->crl_loads_ok++;
		ag->crl_load_ms = j->ms;
		ag->crl_loaded_at = time(NULL);
		snprintf(ag->crl_source, sizeof(ag->crl_source), "%s", j->source);
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
	ag->pending_file = 1;
	start_next(ag);
}

/* ---- HTTP fetch ---- */

static void fetch_done(struct evhttp_request *req, void *arg)
{
	struct agent *ag = arg;
	struct evbuffer *body;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	int code = req ? evhttp_request_get_response_code(req) : 0;
	size_t len;
	char *buf;

	ag->fetch_in_flight = 0;
	if (code != 200) {
		agent_log("CRL fetch from %s failed (%s %d); keeping the CRL in force", ag->o.crl_url,
			  code ? "HTTP" : "no response, code", code);
		return;
	}
	body = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(body);
	if (!len || len > CRL_MAX_BYTES || !(buf = malloc(len + 1))) {
		agent_log("CRL fetch from %s: unusable body (%zu bytes)", ag->o.crl_url, len);
		return;
	}
	evbuffer_remove(body, buf, len);
	buf[len] = 0;
	SHA256((unsigned char *)buf, len, digest);
	if (ag->have_fetched_digest && !memcmp(digest, ag->fetched_digest, sizeof(digest))) {
		free(buf); /* unchanged since the last fetch */
		return;
	}
	memcpy(ag->fetched_digest, digest, sizeof(digest));
	ag->have_fetched_digest = 1;
	free(ag->pending_buf);
	ag->pending_buf = buf;
	ag->pending_len = len;
	start_next(ag);
}

static void fetch(struct agent *ag)
{
	struct evhttp_uri *u = evhttp_uri_parse(ag->o.crl_url);
	struct evhttp_request *req;
	const char *path, *query;
	char target[2048];

	if (!u)
		return;
	if (!ag->fetch_conn) {
		ag->fetch_conn = evhttp_connection_base_new(ag->base, NULL, evhttp_uri_get_host(u),
							    (unsigned short)(evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80));
		if (!ag->fetch_conn)
			goto out;
		evhttp_connection_set_timeout(ag->fetch_conn, 10);
		evhttp_connection_set_max_body_size(ag->fetch_conn, CRL_MAX_BYTES);
	}
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
	req = evhttp_request_new(fetch_done, ag);
	if (!req)
		goto out;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", evhttp_uri_get_host(u));
	evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent", "minet-agent");
	if (evhttp_make_request(ag->fetch_conn, req, EVHTTP_REQ_GET, target) == 0)
		ag->fetch_in_flight = 1;
out:
	evhttp_uri_free(u);
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	struct stat sb;

	if (!stat(ag->o.crl, &sb) &&
	    (sb.st_ino != ag->crl_stat.st_ino || sb.st_size != ag->crl_stat.st_size ||
	     sb.st_mtim.tv_sec != ag->crl_stat.st_mtim.tv_sec || sb.st_mtim.tv_nsec != ag->crl_stat.st_mtim.tv_nsec))
		crlsrc_reload_file(ag);
	if (ag->o.crl_url && !ag->fetch_in_flight)
		fetch(ag);
}

int crlsrc_start(struct agent *ag)
{
	struct timeval tv = { ag->o.crl_refresh, 0 };

	ag->job_done_ev = event_new(ag->base, ag->job_efd, EV_READ | EV_PERSIST, job_done_cb, ag);
	ag->refresh_timer = event_new(ag->base, -1, EV_PERSIST, refresh_cb, ag);
	if (!ag->job_done_ev || !ag->refresh_timer || event_add(ag->job_done_ev, NULL) ||
	    event_add(ag->refresh_timer, &tv))
		return -1;
	if (ag->o.crl_url)
		fetch(ag);
	return 0;
}

void crlsrc_stop(struct agent *ag)
{
	if (ag->job) {
		pthread_join(ag->job->th, NULL);
		job_free(ag->job);
		ag->job = NULL;
	}
	if (ag->fetch_conn)
		evhttp_connection_free(ag->fetch_conn);
	ag->fetch_conn = NULL;
	if (ag->job_done_ev)
		event_free(ag->job_done_ev);
	if (ag->refresh_timer)
		event_free(ag->refresh_timer);
	ag->job_done_ev = ag->refresh_timer = NULL;
	free(ag->pending_buf);
	ag->pending_buf = NULL;
}

/* The agent's HTTP/1.1 API, served by libevent's evhttp over the mutually authenticated TLS connections:
 *   GET /v1/health   {"status":"ok"} (503 {"status":"no-crl"} while no valid CRL is in force)
 *   GET /v1/status   node, uptime, own certificate, CRLs in force, live connections
 *   GET /metrics     Prometheus text
 *   POST /v1/backup, POST /v1/auditlog   upload a blob to a storage host (upload.c; every client of the agent is a
 *                    management client: the handshake admits only clientAuth certificates of the cluster's CA)
 * Nothing else executes anything or changes state. */
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "agent/agent.h"
#include "agent/upload.h"
#include "model/jsonin.h"

static const char *const path_names[PATH_COUNT] = { "/v1/health", "/v1/status", "/metrics", "other" };
static const int codes[CODE_COUNT] = { 200, 404, 405 };

static void iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void send_json(struct evhttp_request *req, int code, const char *reason, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *s = jsonin_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(j);
	if (!out || !s) {
		evhttp_send_error(req, 500, "Internal Server Error");
		goto out;
	}
	evbuffer_add(out, s, strlen(s));
	evbuffer_add(out, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, out);
out:
	free(s);
	if (out)
		evbuffer_free(out);
}

static json_t *cert_json(X509 *x)
{
	char subject[256], serial[48], na[32];
	struct crl_serial sn;
	struct tm tm;

	if (!x)
		return json_null();
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if (crl_serial_from_asn1(X509_get0_serialNumber(x), &sn))
		snprintf(serial, sizeof(serial), "?");
	else
		crl_serial_hex(&sn, serial, sizeof(serial));
	na[0] = 0;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:s, s:s}", "subject", subject, "serial", serial, "not_after", na);
}

/* The whole agent's counters: every worker's slot summed (whichever worker answers, the figures are the same). */
static void totals(struct agent *ag, struct worker_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < ag->sh->nworkers; i++) {
		const struct worker_stats *w = &ag->sh->w[i];

		t->nconns += w->nconns;
		t->hs_ok += w->hs_ok;
		t->revocation_closes += w->revocation_closes;
		t->request_timeouts += w->request_timeouts;
		t->accept_pauses += w->accept_pauses;
		t->restarts += w->restarts;
		for (int r = 0; r < REF_COUNT; r++)
			t->hs_failed[r] += w->hs_failed[r];
		for (int p = 0; p < PATH_COUNT; p++)
			for (int c = 0; c < CODE_COUNT; c++)
				t->requests[p][c] += w->requests[p][c];
	}
}

static json_t *status_json(struct agent *ag)
{
	json_t *crls = json_array(), *workers = json_array();
	struct worker_stats t;
	struct parent_stats ps;
	time_t now = time(NULL);
	char at[32], eat[32];

	totals(ag, &t);
	agent_parent_stats(ag, &ps);
	for (size_t i = 0; i < crl_store_count(ag->crl); i++) {
		const struct crl_info *in = crl_store_info(ag->crl, i);
		char name[256], num[48], tu[32], nu[32];

		X509_NAME_oneline(X509_get_subject_name(in->ca), name, sizeof(name));
		crl_serial_hex(&in->number, num, sizeof(num));
		iso(in->this_update, tu, sizeof(tu));
		iso(in->next_update, nu, sizeof(nu));
		json_array_append_new(crls, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "issuer", name, "number", num,
						      "this_update", tu, "next_update", nu, "age_seconds",
						      (json_int_t)(now - in->this_update), "entries",
						      (json_int_t)in->entries, "expired", in->next_update < now));
	}
	for (int i = 0; i < ag->sh->nworkers; i++)
		json_array_append_new(workers, json_pack("{s:i, s:I, s:I}", "pid", (int)ag->sh->w[i].pid, "connections",
							 (json_int_t)ag->sh->w[i].nconns, "restarts",
							 (json_int_t)ag->sh->w[i].restarts));
	iso(ps.crl_loaded_at, at, sizeof(at));
	iso(ps.last_error_at, eat, sizeof(eat));
	return json_pack("{s:s, s:I, s:i, s:o, s:{s:o, s:s, s:s?, s:f, s:s?, s:s?, s:I, s:I, s:s?, s:I},"
			 " s:{s:I, s:I, s:I}, s:o}",
			 "node", ag->o.name,
			 "uptime_seconds", (json_int_t)(now - ag->started),
			 "worker", ag->slot,
			 "certificate", cert_json(SSL_CTX_get0_certificate(ag->ctx)),
			 "crl",
			 "crls", crls,
			 "source", ag->crl ? ag->crl_source : "",
			 "loaded_at", ag->crl && ps.crl_loaded_at ? at : NULL,
			 "load_ms", ps.crl_load_ms,
			 "last_error", ps.last_error[0] ? ps.last_error : NULL,
			 "last_error_at", ps.last_error[0] ? eat : NULL,
			 "loads_ok", (json_int_t)ps.crl_loads_ok,
			 "loads_failed", (json_int_t)ps.crl_loads_failed,
			 "fetch_error", ps.fetch_err[0] ? ps.fetch_err : NULL,
			 "fetches_failed", (json_int_t)ps.fetches_failed,
			 "connections",
			 "live", (json_int_t)t.nconns,
			 "revocation_closes", (json_int_t)t.revocation_closes,
			 "request_timeouts", (json_int_t)t.request_timeouts,
			 "workers", workers);
}

static void send_metrics(struct evhttp_request *req, struct agent *ag)
{
	struct evbuffer *out = evbuffer_new();
	struct worker_stats t;
	struct parent_stats ps;
	time_t next = 0, this_up = 0, now = time(NULL);
	size_t entries = 0;

	if (!out) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	totals(ag, &t);
	agent_parent_stats(ag, &ps);
	for (size_t i = 0; i < crl_store_count(ag->crl); i++) {
		const struct crl_info *in = crl_store_info(ag->crl, i);

		entries += in->entries;
		if (!next || in->next_update < next)
			next = in->next_update;
		if (!this_up || in->this_update < this_up)
			this_up = in->this_update;
	}
	evbuffer_add_printf(out,
			    "# HELP minet_agent_handshakes_total Completed mTLS handshakes.\n"
			    "# TYPE minet_agent_handshakes_total counter\n"
			    "minet_agent_handshakes_total %llu\n"
			    "# HELP minet_agent_handshakes_failed_total Refused handshakes by reason.\n"
			    "# TYPE minet_agent_handshakes_failed_total counter\n",
			    (unsigned long long)t.hs_ok);
	for (int r = 0; r < REF_COUNT; r++)
		evbuffer_add_printf(out, "minet_agent_handshakes_failed_total{reason=\"%s\"} %llu\n",
				    tls_refusal_slug((enum refusal)r), (unsigned long long)t.hs_failed[r]);
	evbuffer_add_printf(out,
			    "# HELP minet_agent_revocation_closes_total Live connections closed because a new CRL revoked the peer.\n"
			    "# TYPE minet_agent_revocation_closes_total counter\n"
			    "minet_agent_revocation_closes_total %llu\n"
			    "# HELP minet_agent_request_timeouts_total Connections closed for not sending a whole request within --request-timeout.\n"
			    "# TYPE minet_agent_request_timeouts_total counter\n"
			    "minet_agent_request_timeouts_total %llu\n"
			    "# HELP minet_agent_accept_pauses_total Times a worker stopped accepting (descriptor or connection limit).\n"
			    "# TYPE minet_agent_accept_pauses_total counter\n"
			    "minet_agent_accept_pauses_total %llu\n"
			    "# HELP minet_agent_worker_restarts_total Workers the parent restarted after they died.\n"
			    "# TYPE minet_agent_worker_restarts_total counter\n"
			    "minet_agent_worker_restarts_total %llu\n"
			    "# HELP minet_agent_requests_total API requests by path and status.\n"
			    "# TYPE minet_agent_requests_total counter\n",
			    (unsigned long long)t.revocation_closes, (unsigned long long)t.request_timeouts,
			    (unsigned long long)t.accept_pauses, (unsigned long long)t.restarts);
	for (int p = 0; p < PATH_COUNT; p++)
		for (int c = 0; c < CODE_COUNT; c++)
			evbuffer_add_printf(out, "minet_agent_requests_total{path=\"%s\",code=\"%d\"} %llu\n",
					    path_names[p], codes[c], (unsigned long long)t.requests[p][c]);
	evbuffer_add_printf(out,
			    "# HELP minet_agent_connections Live connections (including handshakes in progress).\n"
			    "# TYPE minet_agent_connections gauge\n"
			    "minet_agent_connections %ld\n"
			    "# HELP minet_agent_crl_entries Revoked serials in force.\n"
			    "# TYPE minet_agent_crl_entries gauge\n"
			    "minet_agent_crl_entries %zu\n"
			    "# HELP minet_agent_crl_next_update_seconds Earliest nextUpdate of the CRLs in force (0: none).\n"
			    "# TYPE minet_agent_crl_next_update_seconds gauge\n"
			    "minet_agent_crl_next_update_seconds %lld\n"
			    "# HELP minet_agent_crl_this_update_seconds Earliest thisUpdate of the CRLs in force (0: none).\n"
			    "# TYPE minet_agent_crl_this_update_seconds gauge\n"
			    "minet_agent_crl_this_update_seconds %lld\n"
			    "# HELP minet_agent_crl_age_seconds Seconds since that thisUpdate.\n"
			    "# TYPE minet_agent_crl_age_seconds gauge\n"
			    "minet_agent_crl_age_seconds %lld\n"
			    "# HELP minet_agent_crl_info The CRL in force: where it came from.\n"
			    "# TYPE minet_agent_crl_info gauge\n"
			    "minet_agent_crl_info{source=\"%s\"} %d\n"
			    "# HELP minet_agent_crl_loads_total CRL loads by result.\n"
			    "# TYPE minet_agent_crl_loads_total counter\n"
			    "minet_agent_crl_loads_total{result=\"ok\"} %llu\n"
			    "minet_agent_crl_loads_total{result=\"error\"} %llu\n"
			    "# HELP minet_agent_crl_last_error_seconds When the last CRL or SIGHUP reload failed (0: never).\n"
			    "# TYPE minet_agent_crl_last_error_seconds gauge\n"
			    "minet_agent_crl_last_error_seconds %lld\n"
			    "# HELP minet_agent_crl_fetches_failed_total Failed --crl-url fetches.\n"
			    "# TYPE minet_agent_crl_fetches_failed_total counter\n"
			    "minet_agent_crl_fetches_failed_total %llu\n"
			    "# HELP minet_agent_reloads_total Reloads run by the parent (SIGHUPs are coalesced into them).\n"
			    "# TYPE minet_agent_reloads_total counter\n"
			    "minet_agent_reloads_total %llu\n"
			    "# HELP minet_agent_sighup_total SIGHUP signals received.\n"
			    "# TYPE minet_agent_sighup_total counter\n"
			    "minet_agent_sighup_total %llu\n",
			    t.nconns, entries, (long long)next, (long long)this_up,
			    (long long)(this_up ? now - this_up : 0), ag->crl ? ag->crl_source : "", ag->crl ? 1 : 0,
			    (unsigned long long)ps.crl_loads_ok, (unsigned long long)ps.crl_loads_failed,
			    (long long)ps.last_error_at, (unsigned long long)ps.fetches_failed, (unsigned long long)ps.reloads, (unsigned long long)ps.hup_signals);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

void api_request(struct evhttp_request *req, void *arg)
{
	struct agent *ag = arg;
	struct conn *c = tls_conn_of(req);
	const char *uri = evhttp_request_get_uri(req);
	const char *q = uri ? strchr(uri, '?') : NULL;
	size_t plen = uri ? (q ? (size_t)(q - uri) : strlen(uri)) : 0;
	int path = PATH_OTHER;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (!c || !c->established) { /* cannot happen: evhttp reads requests only after the handshake */
		evhttp_send_error(req, 403, "Forbidden");
		return;
	}
	tls_request_done(c); /* the whole request is here: its deadline is met */
	if ((plen == 10 && !memcmp(uri, "/v1/backup", 10)) || (plen == 12 && !memcmp(uri, "/v1/auditlog", 12))) {
		upload_request(req, plen == 10 ? "backup" : "auditlog");
		return;
	}
	for (int p = 0; p < PATH_OTHER; p++)
		if (plen == strlen(path_names[p]) && !memcmp(uri, path_names[p], plen))
			path = p;
	if (path == PATH_OTHER) {
		ag->st->requests[path][CODE_404]++;
		send_json(req, 404, "Not Found", json_pack("{s:s}", "error", "no such endpoint"));
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		ag->st->requests[path][CODE_405]++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		send_json(req, 405, "Method Not Allowed", json_pack("{s:s}", "error", "read-only endpoint: GET only"));
		return;
	}
	ag->st->requests[path][CODE_200]++;
	switch (path) {
	case PATH_HEALTH:
		if (ag->crl)
			send_json(req, 200, "OK", json_pack("{s:s}", "status", "ok"));
		else
			send_json(req, 503, "Service Unavailable", json_pack("{s:s}", "status", "no-crl"));
		break;
	case PATH_STATUS:
		send_json(req, 200, "OK", status_json(ag));
		break;
	default:
		send_metrics(req, ag);
	}
}

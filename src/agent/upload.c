/* Backups and audit logs to a storage host: Put Blob over TLS with Shared Key auth (upload.h). One job per
 * request: create the container (201, or 409 when it exists), then Put Blob, on one keep-alive connection. */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "agent/agent.h"
#include "agent/upload.h"
#include "model/clock.h"
#include "model/jsonin.h"

#define MAX_TARGETS 16
#define MAX_BYTES (1ull << 30)
#define CHUNK 65536
#define X_MS_VERSION "2021-08-06"
/* Azurite's documented development account and key (https://github.com/Azure/Azurite#default-storage-account). */
#define DEFAULT_ACCOUNT "devstoreaccount1"
#define DEFAULT_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static struct target {
	char name[32], ip[INET6_ADDRSTRLEN];
	int port;
} targets[MAX_TARGETS];
static int ntargets;
static char account[64] = DEFAULT_ACCOUNT;
static unsigned char key[128];
static int keylen = -1;
static SSL_CTX *cctx;
static struct event_base *ubase;
static const char *node = "node";
static unsigned char *pattern;
static unsigned long counter;

struct job {
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	const struct target *t;
	char kind[16], container[64], blob[192], path[400], tls_err[200];
	unsigned long long bytes;
	double t0; /* monotonic_seconds() when it started */
	int step, have_err, sock_errno, http_status;
	enum evhttp_request_error err;
	char azure_code[64];
};

int upload_opt(const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!strcmp(opt, "storage")) {
		const char *eq = strchr(arg, '=');
		struct target *t = &targets[ntargets];
		char ip[INET6_ADDRSTRLEN + 8];
		unsigned char a[16];
		if (ntargets == MAX_TARGETS || !eq || eq == arg || (size_t)(eq - arg) >= sizeof(t->name)) {
			snprintf(err, errlen, "--storage wants NAME=IP[:PORT] (at most %d)", MAX_TARGETS);
			return -1;
		}
		snprintf(t->name, sizeof(t->name), "%.*s", (int)(eq - arg), arg);
		snprintf(ip, sizeof(ip), "%s", eq + 1);
		char *colon = strchr(ip, ':');
		t->port = 443;
		if (colon) {
			*colon = 0;
			t->port = atoi(colon + 1);
		}
		if (inet_pton(AF_INET, ip, a) != 1 || t->port < 1 || t->port > 65535) {
			snprintf(err, errlen, "--storage %s: not NAME=IPv4[:PORT]", arg);
			return -1;
		}
		memcpy(t->ip, ip, strlen(ip) + 1); /* inet_pton took it: it fits */
		ntargets++;
		return 0;
	}
	if (!strcmp(opt, "storage-account")) {
		if (!*arg || strlen(arg) >= sizeof(account)) {
			snprintf(err, errlen, "--storage-account: 1-63 characters");
			return -1;
		}
		snprintf(account, sizeof(account), "%s", arg);
		return 0;
	}
	if (!strcmp(opt, "storage-key")) {
		if ((keylen = blob_b64decode(arg, key, sizeof(key))) <= 0) {
			snprintf(err, errlen, "--storage-key: not a base64 account key");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown storage option --%s", opt);
	return -1;
}

int upload_init(struct event_base *base, X509_STORE *store, const char *name, char *err, size_t errlen)
{
	ubase = base;
	if (name)
		node = name;
	if (keylen < 0)
		keylen = blob_b64decode(DEFAULT_KEY, key, sizeof(key));
	if (!(pattern = malloc(CHUNK))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < CHUNK; i++) /* a backup's bytes: not all zero, not trivially compressible */
		pattern[i] = (unsigned char)((i * 2654435761u) >> 13);
	if (!(cctx = SSL_CTX_new(TLS_client_method())) || !SSL_CTX_set_min_proto_version(cctx, TLS1_2_VERSION)) {
		snprintf(err, errlen, "TLS client context");
		return -1;
	}
	if (store)
		upload_trust(store);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

void upload_trust(X509_STORE *store)
{
	if (cctx)
		SSL_CTX_set1_cert_store(cctx, store); /* the agent's trust anchors: the cluster's CA; no file is read */
}

void upload_free(void)
{
	SSL_CTX_free(cctx);
	cctx = NULL;
	free(pattern);
	pattern = NULL;
	OPENSSL_cleanse(key, sizeof(key));
}

static void reply(struct evhttp_request *req, int code, const char *reason, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *s = jsonin_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (out && s) {
		evbuffer_add(out, s, strlen(s));
		evbuffer_add(out, "\n", 1);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
		evhttp_send_reply(req, code, reason, out);
	} else {
		evhttp_send_error(req, 500, "Internal Server Error");
	}
	free(s);
	if (out)
		evbuffer_free(out);
}

static void job_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	if (j->conn)
		evhttp_connection_free(j->conn);
	free(j);
}

static const char *err_name(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT: return "timed out";
	case EVREQ_HTTP_EOF: return "connection closed by the peer";
	case EVREQ_HTTP_INVALID_HEADER: return "invalid HTTP response";
	case EVREQ_HTTP_BUFFER_ERROR: return "connection failed";
	case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG: return "response too long";
	}
	return "failed";
}

static void finish(struct job *j, bool ok)
{
	json_t *o;
	double s = monotonic_seconds() - j->t0;
	if (ok) {
		char blob[300];
		snprintf(blob, sizeof(blob), "%s/%s", j->container, j->blob);
		o = json_pack("{s:s, s:s, s:I, s:f, s:s, s:i, s:s}", "status", "uploaded", "blob", blob, "bytes",
			      (json_int_t)j->bytes, "seconds", s, "target", j->t->name, "httpStatus", j->http_status, "kind",
			      j->kind);
		if (s > 0)
			json_object_set_new(o, "megabytesPerSecond", json_real((double)j->bytes / 1048576.0 / s));
		agent_log("%s: %llu bytes to %s (%s) as %s in %.3f s", j->kind, j->bytes, j->t->name, j->t->ip, blob, s);
		reply(j->req, 200, "OK", o);
	} else {
		char msg[600];
		if (j->http_status)
			snprintf(msg, sizeof(msg), "http: %s answered %d%s%s (%s)", j->t->name, j->http_status,
				 j->azure_code[0] ? " " : "", j->azure_code, j->step ? "Put Blob" : "Create Container");
		else
			snprintf(msg, sizeof(msg), "%s: %s:%d: %s%s%s%s%s", j->tls_err[0] ? "tls" : "tcp", j->t->ip, j->t->port,
				 j->have_err ? err_name(j->err) : "refused or reset before any HTTP response", j->sock_errno ? " (" : "",
				 j->sock_errno ? strerror(j->sock_errno) : "", j->sock_errno ? ")" : "",
				 j->tls_err[0] ? j->tls_err : "");
		o = json_pack("{s:s, s:s, s:s, s:f, s:s}", "status", "failed", "target", j->t->name, "error", msg, "seconds", s,
			      "kind", j->kind);
		if (j->http_status)
			json_object_set_new(o, "httpStatus", json_integer(j->http_status));
		agent_log("%s to %s (%s) failed: %s", j->kind, j->t->name, j->t->ip, msg);
		reply(j->req, 502, "Bad Gateway", o);
	}
	struct timeval now = { 0, 0 };
	event_base_once(ubase, -1, EV_TIMEOUT, job_free_cb, j, &now); /* not inside the connection's own callback */
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct job *j = arg;
	struct bufferevent *bev = j->conn ? evhttp_connection_get_bufferevent(j->conn) : NULL;
	unsigned long ssl_err = bev ? bufferevent_get_openssl_error(bev) : 0;
	j->have_err = 1;
	j->err = e;
	j->sock_errno = errno == EAGAIN ? 0 : errno;
	if (ssl_err)
		ERR_error_string_n(ssl_err, j->tls_err, sizeof(j->tls_err));
}

static int send_step(struct job *j);

/* The <Code> of an Azure error body, if any. */
static void azure_code(struct evhttp_request *r, char *out, size_t n)
{
	char buf[1024];
	struct evbuffer *b = evhttp_request_get_input_buffer(r);
	size_t len = evbuffer_copyout(b, buf, sizeof(buf) - 1);
	buf[len] = 0;
	const char *c = strstr(buf, "<Code>"), *e = c ? strstr(c, "</Code>") : NULL;
	out[0] = 0;
	if (c && e)
		snprintf(out, n, "%.*s", (int)(e - c - 6), c + 6);
}

static void on_done(struct evhttp_request *r, void *arg)
{
	struct job *j = arg;
	int code = r ? evhttp_request_get_response_code(r) : 0;
	if (!code) {
		if (!j->have_err) { /* a failed connect ends here without the error callback: errno still says why */
			struct bufferevent *bev = j->conn ? evhttp_connection_get_bufferevent(j->conn) : NULL;
			int fd = bev ? bufferevent_getfd(bev) : -1, soerr = 0;
			socklen_t sl = sizeof(soerr);
			j->sock_errno = errno == EAGAIN || errno == EINPROGRESS ? 0 : errno;
			if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
				j->sock_errno = soerr; /* ECONNREFUSED: a reset answered the SYN */
			if (!j->sock_errno && j->conn && evhttp_connection_get_bufferevent(j->conn)) {
				unsigned long e = bufferevent_get_openssl_error(evhttp_connection_get_bufferevent(j->conn));
				if (e)
					ERR_error_string_n(e, j->tls_err, sizeof(j->tls_err));
			}
		}
		finish(j, false);
		return;
	}
	j->http_status = code;
	if (j->step == 0 && (code == 201 || code == 409)) { /* the container exists now */
		j->step = 1;
		j->http_status = 0;
		if (send_step(j) < 0)
			finish(j, false);
		return;
	}
	if (code != 201)
		azure_code(r, j->azure_code, sizeof(j->azure_code));
	finish(j, j->step == 1 && code == 201);
}

static int send_step(struct job *j)
{
	struct evhttp_request *r = evhttp_request_new(on_done, j);
	char date[64], xms[256], auth[256], len[24], host[80], uri[440];
	const char *query = j->step ? "" : "\nrestype:container";
	time_t now = time(NULL);
	struct tm tm;
	if (!r)
		return -1;
	evhttp_request_set_error_cb(r, on_error);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(j->path, sizeof(j->path), "/%s/%s%s%s", account, j->container, j->step ? "/" : "", j->step ? j->blob : "");
	snprintf(xms, sizeof(xms), "%sx-ms-date:%s\nx-ms-version:%s\n", j->step ? "x-ms-blob-type:BlockBlob\n" : "", date,
		 X_MS_VERSION);
	unsigned long long n = j->step ? j->bytes : 0;
	if (blob_shared_key(account, key, (size_t)keylen, "PUT", n, NULL, xms, j->path, query, auth, sizeof(auth)) < 0) {
		evhttp_request_free(r);
		return -1;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(r);
	snprintf(host, sizeof(host), "%s:%d", j->t->ip, j->t->port);
	snprintf(len, sizeof(len), "%llu", n);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "x-ms-date", date);
	evhttp_add_header(h, "x-ms-version", X_MS_VERSION);
	if (j->step)
		evhttp_add_header(h, "x-ms-blob-type", "BlockBlob");
	evhttp_add_header(h, "Content-Length", len);
	evhttp_add_header(h, "Authorization", auth);
	struct evbuffer *body = evhttp_request_get_output_buffer(r);
	for (unsigned long long left = n; left; ) {
		size_t k = left < CHUNK ? (size_t)left : CHUNK;
		evbuffer_add_reference(body, pattern, k, NULL, NULL);
		left -= k;
	}
	snprintf(uri, sizeof(uri), "%s%s", j->path, j->step ? "" : "?restype=container");
	return evhttp_make_request(j->conn, r, EVHTTP_REQ_PUT, uri);
}

static bool container_ok(const char *c)
{
	size_t n = strlen(c);
	if (n < 3 || n > 63 || c[0] == '-' || c[n - 1] == '-' || strstr(c, "--"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)c[i]) && !isdigit((unsigned char)c[i]) && c[i] != '-')
			return false;
	return true;
}

static void bad_request(struct evhttp_request *req, const char *msg)
{
	reply(req, 400, "Bad Request", json_pack("{s:s}", "error", msg));
}

void upload_request(struct evhttp_request *req, const char *kind)
{
	char body[1024], msg[256];
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		reply(req, 405, "Method Not Allowed", json_pack("{s:s}", "error", "POST only"));
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len >= sizeof(body)) {
		bad_request(req, "the body is 1 KiB at most");
		return;
	}
	evbuffer_copyout(in, body, len);
	json_error_t je;
	json_t *o = json_loadb(body, len, 0, &je), *v;
	const char *target = NULL, *container = !strcmp(kind, "backup") ? "backups" : "auditlogs";
	json_int_t bytes = 0;
	const struct target *t = NULL;
	if (!json_is_object(o)) {
		snprintf(msg, sizeof(msg), "body: %s", o ? "expected a JSON object" : je.text);
		goto bad;
	}
	if (!json_is_string(v = json_object_get(o, "target"))) {
		snprintf(msg, sizeof(msg), "target: missing (a storage host's name)");
		goto bad;
	}
	target = json_string_value(v);
	for (int i = 0; i < ntargets; i++)
		if (!strcmp(targets[i].name, target))
			t = &targets[i];
	if (!t) {
		int k = snprintf(msg, sizeof(msg), "target: unknown storage host '%.40s' (known:", target);
		for (int i = 0; i < ntargets && k < (int)sizeof(msg) - 40; i++)
			k += snprintf(msg + k, sizeof(msg) - (size_t)k, " %s", targets[i].name);
		snprintf(msg + k, sizeof(msg) - (size_t)k, ")");
		goto bad;
	}
	v = json_object_get(o, "bytes");
	if (!json_is_integer(v) || (bytes = json_integer_value(v)) < 0 || (unsigned long long)bytes > MAX_BYTES) {
		snprintf(msg, sizeof(msg), "bytes: an integer 0..%llu", MAX_BYTES);
		goto bad;
	}
	if ((v = json_object_get(o, "container")) && (!json_is_string(v) || !container_ok(json_string_value(v)))) {
		snprintf(msg, sizeof(msg), "container: 3-63 of a-z, 0-9, '-' (Azure's container names)");
		goto bad;
	}
	if (v)
		container = json_string_value(v);

	struct job *j = calloc(1, sizeof(*j));
	SSL *ssl = j && cctx ? SSL_new(cctx) : NULL;
	if (!ssl || !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->ip)) {
		SSL_free(ssl);
		free(j);
		json_decref(o);
		reply(req, 500, "Internal Server Error", json_pack("{s:s}", "error", "cannot set up TLS"));
		return;
	}
	j->req = req;
	j->t = t;
	j->bytes = (unsigned long long)bytes;
	snprintf(j->kind, sizeof(j->kind), "%s", kind);
	snprintf(j->container, sizeof(j->container), "%s", container);
	j->t0 = monotonic_seconds();
	snprintf(j->blob, sizeof(j->blob), "%s-%s-%ld-%lu.%s", node, kind, (long)time(NULL), ++counter,
		 !strcmp(kind, "backup") ? "bak" : "xel");
	json_decref(o);
	struct bufferevent *bev = bufferevent_openssl_socket_new(ubase, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
								 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	j->conn = bev ? evhttp_connection_base_bufferevent_new(ubase, NULL, bev, t->ip, (unsigned short)t->port) : NULL;
	if (!j->conn) {
		if (bev)
			bufferevent_free(bev);
		else
			SSL_free(ssl);
		free(j);
		reply(req, 500, "Internal Server Error", json_pack("{s:s}", "error", "cannot connect"));
		return;
	}
	evhttp_connection_set_timeout(j->conn, 120);
	evhttp_connection_set_retries(j->conn, 0);
	if (send_step(j) < 0)
		finish(j, false);
	return;
bad:
	json_decref(o);
	bad_request(req, msg);
}

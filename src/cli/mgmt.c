/* minet mgmt — a small mutual-TLS client for the node agents (libevent evhttp over bufferevent_openssl).
 * The curl equivalent of `minet mgmt H:P GET /v1/status --cert C --key K --ca A` is
 *   curl --cacert A --cert C --key K https://H:P/v1/status */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/args.h"
#include "cli/heap.h"
#include "cli/verbs.h"

static const char usage_text[] =
	"usage: minet mgmt HOST:PORT METHOD PATH [--cert F --key F --ca F] [--data JSON] [--json] [--timeout S]\n"
	"\n"
	"Send one request to a node agent over mutual TLS and print the response body.\n"
	"--cert/--key/--ca default to $MINET_MGMT_CERT, $MINET_MGMT_KEY, $MINET_MGMT_CA. The agent's certificate\n"
	"must chain to --ca and name HOST (DNS or IP subjectAltName). --json prints {\"status\":N,\"body\":...}.\n"
	"--data JSON: the request body, e.g. POST /v1/backup --data '{\"target\":\"storage-ne\",\"bytes\":1048576}'.\n"
	"curl equivalent: curl --cacert CA --cert CERT --key KEY https://HOST:PORT/PATH\n"
	"Exit status: 0 a 2xx response, 1 another response or a connection/TLS failure, 2 bad usage.\n";

struct result {
	int code;
	char *body;
	size_t len;
	int done;
	struct event_base *base;
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "minet mgmt: %s%s%s\n(minet mgmt --help for usage)\n", what, arg ? " " : "", arg ? arg : "");
	return 2;
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct result *r = arg;

	r->done = 1;
	if (req && (r->code = evhttp_request_get_response_code(req)) > 0) {
		struct evbuffer *b = evhttp_request_get_input_buffer(req);

		r->len = evbuffer_get_length(b);
		r->body = malloc(r->len + 1);
		if (r->body) {
			evbuffer_remove(b, r->body, r->len);
			r->body[r->len] = 0;
		}
	}
	event_base_loopexit(r->base, NULL);
}

static int method_of(const char *m, enum evhttp_cmd_type *out)
{
	static const struct { const char *name; enum evhttp_cmd_type t; } ms[] = {
		{ "GET", EVHTTP_REQ_GET }, { "HEAD", EVHTTP_REQ_HEAD }, { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT }, { "DELETE", EVHTTP_REQ_DELETE }, { "PATCH", EVHTTP_REQ_PATCH },
		{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	};

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (!strcasecmp(m, ms[i].name)) {
			*out = ms[i].t;
			return 0;
		}
	return -1;
}

/* "host:port" or "[v6]:port" into host (no brackets) and port. */
static int split_hostport(const char *s, char *host, size_t hlen, unsigned short *port)
{
	const char *c;
	size_t n;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || e[1] != ':')
			return -1;
		n = (size_t)(e - s - 1);
		c = e + 1;
		s++;
	} else {
		c = strrchr(s, ':');
		if (!c)
			return -1;
		n = (size_t)(c - s);
	}
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	p = strtol(c + 1, &end, 10);
	if (*end || p < 1 || p > 65535)
		return -1;
	*port = (unsigned short)p;
	return 0;
}

static void print_ssl_errors(struct bufferevent *bev)
{
	unsigned long e;
	int any = 0;

	while (bev && (e = bufferevent_get_openssl_error(bev)))
		if (ERR_reason_error_string(e)) {
			fprintf(stderr, "%s%s", any ? "; " : ": ", ERR_reason_error_string(e));
			any = 1;
		}
	fprintf(stderr, "%s\n", any ? "" : " (the agent refused the handshake? its log says why)");
}

int cmd_mgmt(int argc, char **argv)
{
	const char *cert = getenv("MINET_MGMT_CERT"), *key = getenv("MINET_MGMT_KEY"), *ca = getenv("MINET_MGMT_CA");
	bool as_json = false;
	int timeout = 10, first, rc = 1;
	const char *data = NULL; /* a request body (JSON), e.g. POST /v1/backup '{"target":"storage-ne","bytes":1048576}' */
	char host[256];
	unsigned short port;
	enum evhttp_cmd_type method;
	struct result r = { 0 };
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	struct bufferevent *bev = NULL;
	struct evhttp_connection *evcon = NULL;
	struct evhttp_request *req;
	unsigned char ip[16];

	const struct arg args[] = { ARG_STR("cert", &cert), ARG_STR("key", &key),      ARG_STR("ca", &ca),
				    ARG_FLAG("json", &as_json), ARG_STR("data", &data), ARG_INT("timeout", &timeout, 1, 3600),
				    ARGS_END };
	if ((first = args_parse("mgmt", argc, argv, args, 3, usage_text)) < 0)
		return args_exit(first);
	if (argc - first != 3)
		return bad("want HOST:PORT METHOD PATH", NULL);
	if (split_hostport(argv[first], host, sizeof(host), &port))
		return bad("not HOST:PORT:", argv[first]);
	if (method_of(argv[first + 1], &method))
		return bad("unknown method", argv[first + 1]);
	if (argv[first + 2][0] != '/')
		return bad("PATH must start with '/':", argv[first + 2]);
	if (!cert || !key || !ca)
		return bad("--cert, --key and --ca (or $MINET_MGMT_CERT/KEY/CA) are required", NULL);

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto out;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fprintf(stderr, "minet mgmt: %s: not a usable PEM certificate\n", cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "minet mgmt: %s: not a PEM key matching %s\n", key, cert);
		goto out;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		fprintf(stderr, "minet mgmt: %s: not a PEM CA file\n", ca);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	if (!ssl)
		goto out;
	/* the agent's certificate must name what we dialled */
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	r.base = event_base_new();
	if (!r.base)
		goto out;
	bev = bufferevent_openssl_socket_new(r.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev)
		goto out;
	ssl = NULL; /* owned by bev */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	evcon = evhttp_connection_base_bufferevent_new(r.base, NULL, bev, host, port);
	if (!evcon)
		goto out;
	evhttp_connection_set_timeout(evcon, timeout);
	evhttp_connection_set_retries(evcon, 0);
	req = evhttp_request_new(on_response, &r);
	if (!req)
		goto out;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent", "minet-mgmt");
	if (data) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), data, strlen(data));
	}
	if (evhttp_make_request(evcon, req, method, argv[first + 2]))
		goto out;
	event_base_dispatch(r.base);
	if (r.code <= 0) {
		fprintf(stderr, "minet mgmt: %s: no response (connection or TLS handshake failed)", argv[first]);
		print_ssl_errors(bev);
		goto out;
	}
	if (as_json) {
		json_t *body = r.body ? json_loadb(r.body, r.len, 0, NULL) : NULL;
		json_t *o = json_pack("{s:i, s:o}", "status", r.code,
				      "body", body ? body : json_stringn(r.body ? r.body : "", r.body ? r.len : 0));
		int printed = heap_print_json(o, JSON_INDENT(2), "minet mgmt");
		json_decref(o);
		if (printed < 0)
			goto out; /* exit 1, said */
	} else {
		if (r.body)
			fwrite(r.body, 1, r.len, stdout);
		if (r.code < 200 || r.code > 299)
			fprintf(stderr, "minet mgmt: HTTP %d\n", r.code);
	}
	rc = r.code >= 200 && r.code <= 299 ? 0 : 1;
out:
	if (evcon)
		evhttp_connection_free(evcon); /* frees bev and its SSL */
	else if (bev)
		bufferevent_free(bev);
	SSL_free(ssl);
	if (r.base)
		event_base_free(r.base);
	SSL_CTX_free(ctx);
	free(r.body);
	return rc;
}

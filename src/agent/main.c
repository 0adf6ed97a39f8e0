/* minet-agent: options, startup (load key, bind, load CRL, drop privileges), signals, the event loop. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>

#include "agent/agent.h"
#include "agent/listenaddr.h"
#include "pki/pkifile.h"

static const char usage_text[] =
	"usage: minet-agent --listen ADDR:PORT [--listen ...] --cert F --key F --ca F --crl F\n"
	"                   [--crl-url URL] [--crl-refresh S] [--grace S] [--name NODE] [--user USER]\n"
	"                   [--log FILE] [--handshake-timeout S] [--idle-timeout S] [--max-conns N] [--check]\n"
	"                   [--crl-max-size BYTES] [--crl-timeout S] [--dns ADDR[:PORT]]\n"
	"\n"
	"The node's management agent: HTTP/1.1 + JSON over mutually authenticated TLS only (TLS >= 1.2).\n"
	"Clients need a certificate chaining to --ca with clientAuth, in its validity window, not revoked by\n"
	"the CRLs in --crl (one per CA of --ca). No valid CRL, or an expired one, refuses every handshake.\n"
	"SIGHUP rereads --cert, --key, --ca and --crl without dropping connections; --crl is also reread when it\n"
	"changes and --crl-url fetched every --crl-refresh seconds (default 60). Connections whose certificate a\n"
	"new CRL revokes are closed at once. API: GET /v1/health, /v1/status, /metrics.\n"
	"A fetch is bounded: 64 KiB of headers, --crl-max-size of body (default 16M), --crl-timeout seconds in all\n"
	"(default 30); the name is resolved asynchronously (/etc/resolv.conf, or --dns); failures are retried\n"
	"with backoff, keeping the CRL in force.\n"
	"Exit status: 0 clean shutdown (or --check passed), 1 startup failure, 2 bad usage.\n";

enum { O_LISTEN = 1, O_CERT, O_KEY, O_CA, O_CRL, O_CRL_URL, O_CRL_REFRESH, O_GRACE, O_NAME, O_USER, O_LOG,
       O_HS_TIMEOUT, O_IDLE_TIMEOUT, O_MAX_CONNS, O_CHECK, O_HELP, O_CRLSRC };

static const struct option opts[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "ca", required_argument, NULL, O_CA },
	{ "crl", required_argument, NULL, O_CRL },
	{ "crl-url", required_argument, NULL, O_CRL_URL },
	{ "crl-refresh", required_argument, NULL, O_CRL_REFRESH },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "name", required_argument, NULL, O_NAME },
	{ "user", required_argument, NULL, O_USER },
	{ "log", required_argument, NULL, O_LOG },
	{ "handshake-timeout", required_argument, NULL, O_HS_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
	{ "max-conns", required_argument, NULL, O_MAX_CONNS },
	{ "check", no_argument, NULL, O_CHECK },
	{ "crl-max-size", required_argument, NULL, O_CRLSRC },  /* the fetcher's own options (crlsrc.c) */
	{ "crl-timeout", required_argument, NULL, O_CRLSRC },
	{ "dns", required_argument, NULL, O_CRLSRC },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static int usage_err(const char *what, const char *arg)
{
	fprintf(stderr, "minet-agent: %s%s%s\n(minet-agent --help for usage)\n", what, arg ? ": " : "", arg ? arg : "");
	return 2;
}

static int num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct agent_opts *o)
{
	static char host[256];
	int c, li;

	crlsrc_opts_default(o);
	o->crl_refresh = 60;
	o->hs_timeout = 10;
	o->idle_timeout = 120;
	o->max_conns = 20000;
	while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		switch (c) {
		case O_LISTEN:
			if (o->nlisten == AGENT_MAX_LISTEN)
				return usage_err("too many --listen", NULL);
			o->listen[o->nlisten++] = optarg;
			break;
		case O_CERT: o->cert = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_CA: o->ca = optarg; break;
		case O_CRL: o->crl = optarg; break;
		case O_CRL_URL:
			if (pki_crl_url_check(optarg, host, sizeof(host)))
				return usage_err("--crl-url", host);
			o->crl_url = optarg;
			break;
		case O_CRL_REFRESH:
			if (num(optarg, 1, 86400, &o->crl_refresh))
				return usage_err("--crl-refresh wants 1..86400 seconds", optarg);
			break;
		case O_GRACE:
			if (num(optarg, 0, 30 * 86400, &o->grace))
				return usage_err("--grace wants 0..2592000 seconds", optarg);
			break;
		case O_NAME: o->name = optarg; break;
		case O_USER: o->user = optarg; break;
		case O_LOG: o->log = optarg; break;
		case O_HS_TIMEOUT:
			if (num(optarg, 1, 300, &o->hs_timeout))
				return usage_err("--handshake-timeout wants 1..300 seconds", optarg);
			break;
		case O_IDLE_TIMEOUT:
			if (num(optarg, 1, 86400, &o->idle_timeout))
				return usage_err("--idle-timeout wants 1..86400 seconds", optarg);
			break;
		case O_MAX_CONNS:
			if (num(optarg, 1, 1000000, &o->max_conns))
				return usage_err("--max-conns wants 1..1000000", optarg);
			break;
		case O_CHECK: o->check_only = 1; break;
		case O_CRLSRC:
			if (crlsrc_opt(o, opts[li].name, optarg, host, sizeof(host)))
				return usage_err(host, NULL);
			break;
		case 'h':
		case O_HELP: fputs(usage_text, stdout); exit(0);
		default: return usage_err("unknown or incomplete option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err("unexpected argument", argv[optind]);
	if (!o->nlisten && !o->check_only)
		return usage_err("--listen is required", NULL);
	if (!o->cert || !o->key || !o->ca || !o->crl)
		return usage_err("--cert, --key, --ca and --crl are required", NULL);
	if (!o->name) {
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "node");
		o->name = host;
	}
	return 0;
}

static int bind_listener(struct agent *ag, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[200], shown[80];
	int fd, one = 1;

	if (listen_addr_parse(spec, &ss, &len, err, sizeof(err))) {
		agent_log("error: %s", err);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		agent_log("error: cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	listen_addr_format((struct sockaddr *)&ss, shown, sizeof(shown));
	if (!evhttp_accept_socket_with_handle(ag->http, fd)) {
		agent_log("error: cannot serve %s", shown);
		close(fd);
		return -1;
	}
	agent_log("listening on %s", shown);
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (geteuid() == 0 && rl.rlim_max < 1048576) {
		struct rlimit big = { 1048576, 1048576 };

		if (!setrlimit(RLIMIT_NOFILE, &big))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* After the key is loaded and the sockets bound: become user (default nobody) for good. */
static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		if (user) {
			agent_log("error: --user %s needs the agent to start as root", user);
			return -1;
		}
		return 0;
	}
	pw = getpwnam(user ? user : "nobody");
	if (!pw) {
		agent_log("error: no user '%s'", user ? user : "nobody");
		return -1;
	}
	if (pw->pw_uid == 0) {
		agent_log("error: will not keep running as root (--user %s)", user);
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid) || setuid(0) == 0) {
		agent_log("error: cannot drop privileges to %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	prctl(PR_SET_DUMPABLE, 0); /* no ptrace/core of a process holding a private key */
	agent_log("running as %s (uid %d)", pw->pw_name, (int)pw->pw_uid);
	return 0;
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	STACK_OF(X509) *cas = NULL;
	char err[400];
	SSL_CTX *ctx = tls_ctx_new(ag, &cas, err, sizeof(err));

	if (ctx) {
		SSL_CTX_free(ag->ctx); /* live connections hold their own reference */
		ag->ctx = ctx;
		sk_X509_pop_free(ag->cas, X509_free);
		ag->cas = cas;
		agent_log("SIGHUP: certificate, key and CA reloaded (new connections use them)");
	} else {
		agent_log("SIGHUP: keeping the current certificate and key: %s", err);
	}
	crlsrc_reload_file(ag);
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;

	agent_log("signal %d: shutting down", (int)fd);
	event_base_loopbreak(ag->base);
}

int main(int argc, char **argv)
{
	static struct agent ag;
	char err[400];
	int rc = 1;

	if (parse_opts(argc, argv, &ag.o))
		return 2;
	if (ag.o.log && agent_log_open(ag.o.log)) {
		fprintf(stderr, "minet-agent: %s: %s\n", ag.o.log, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	ag.started = time(NULL);
	ag.job_efd = -1;
	if (tls_init_indices()) {
		agent_log("error: OpenSSL ex_data index");
		return 1;
	}
	raise_fd_limit();
	if (!(ag.ctx = tls_ctx_new(&ag, &ag.cas, err, sizeof(err)))) {
		agent_log("error: %s", err);
		goto out;
	}
	ag.job_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ag.job_efd < 0) {
		agent_log("error: eventfd: %s", strerror(errno));
		goto out;
	}
	crlsrc_load_initial(&ag);
	if (ag.o.check_only) {
		rc = ag.crl ? 0 : 1;
		agent_log("check: certificate, key and CA usable; CRL %s", ag.crl ? "usable" : "NOT usable");
		goto out;
	}
	ag.base = event_base_new();
	ag.http = ag.base ? evhttp_new(ag.base) : NULL;
	if (!ag.http) {
		agent_log("error: cannot create the event loop");
		goto out;
	}
	evhttp_set_bevcb(ag.http, tls_bevcb, &ag);
	evhttp_set_gencb(ag.http, api_request, &ag);
	evhttp_set_timeout(ag.http, (int)ag.o.idle_timeout);
	evhttp_set_max_headers_size(ag.http, 8192);
	evhttp_set_max_body_size(ag.http, 4096);
	for (int i = 0; i < ag.o.nlisten; i++)
		if (bind_listener(&ag, ag.o.listen[i]))
			goto out;
	if (drop_privileges(ag.o.user))
		goto out;
	ag.sig_hup = evsignal_new(ag.base, SIGHUP, on_hup, &ag);
	ag.sig_term = evsignal_new(ag.base, SIGTERM, on_term, &ag);
	ag.sig_int = evsignal_new(ag.base, SIGINT, on_term, &ag);
	if (!ag.sig_hup || !ag.sig_term || !ag.sig_int || evsignal_add(ag.sig_hup, NULL) ||
	    evsignal_add(ag.sig_term, NULL) || evsignal_add(ag.sig_int, NULL) || crlsrc_start(&ag)) {
		agent_log("error: cannot set up signals and timers");
		goto out;
	}
	agent_log("ready: node %s, TLS >= 1.2, %s", ag.o.name,
		  ag.crl ? "CRL in force" : "NO valid CRL: refusing every handshake until one loads");
	event_base_dispatch(ag.base);
	rc = 0;
out:
	crlsrc_stop(&ag);
	if (ag.http)
		evhttp_free(ag.http); /* frees live connections (their SSLs, and with them our conn records) */
	if (ag.sig_hup)
		event_free(ag.sig_hup);
	if (ag.sig_term)
		event_free(ag.sig_term);
	if (ag.sig_int)
		event_free(ag.sig_int);
	if (ag.base)
		event_base_free(ag.base);
	if (ag.job_efd >= 0)
		close(ag.job_efd);
	SSL_CTX_free(ag.ctx);
	sk_X509_pop_free(ag.cas, X509_free);
	crl_store_free(ag.crl);
	return rc;
}

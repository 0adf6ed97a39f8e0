/* minet-agent: options, startup checks (certificate, key, CA, CRL, the workers' user), then parent.c. */
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
#include "agent/upload.h"
#include "pki/pkifile.h"
#include "model/jsonin.h"

static const char *chroot_dir;
static int user_chroot;

static const char usage_text[] =
	"usage: minet-agent --listen ADDR:PORT [--listen ...] --cert F --key F --ca F --crl F\n"
	"                   [--crl-url URL] [--crl-refresh S] [--grace S] [--name NODE] [--user USER]\n"
	"                   [--chroot DIR] [--workers N] [--log FILE] [--handshake-timeout S] [--idle-timeout S]\n"
	"                   [--request-timeout S] [--max-conns N] [--handshake-rate R] [--handshake-burst B] [--check]\n"
	"                   [--crl-max-size BYTES] [--crl-timeout S] [--dns ADDR[:PORT]]\n"
	"\n"
	"The node's management agent: HTTP/1.1 + JSON over mutually authenticated TLS only (TLS >= 1.2).\n"
	"Clients need a certificate chaining to --ca with clientAuth, in its validity window, not revoked by\n"
	"the CRLs in --crl (one per CA of --ca). No valid CRL, or an expired one, refuses every handshake.\n"
	"A privileged parent reads the files and fetches --crl-url; it hands them to unprivileged workers (one per\n"
	"core, --workers), chrooted to --chroot (default /var/empty) as --user (default minet-agent).\n"
	"SIGHUP rereads --cert, --key, --ca and --crl without dropping connections and reopens --log; --crl is also\n"
	"reread as soon as it changes (inotify) and --crl-url fetched every --crl-refresh seconds (default 60).\n"
	"Connections whose certificate a new CRL revokes are closed at once. API: GET /v1/health, /v1/status, /metrics;\n"
	"POST /v1/backup, /v1/auditlog upload a blob to a storage host: --storage NAME=IP[:PORT] (repeatable)\n"
	"[--storage-account A --storage-key K] (default: Azurite's devstoreaccount1), verified against --ca.\n"
	"A fetch is bounded: 64 KiB of headers, --crl-max-size of body (default 16M), --crl-timeout seconds in all\n"
	"(default 30); the name is resolved asynchronously (/etc/resolv.conf, or --dns); failures are retried\n"
	"with backoff, keeping the CRL in force.\n"
	"Exit status: 0 clean shutdown (or --check passed), 1 startup failure, 2 bad usage.\n";

enum { O_LISTEN = 1, O_CERT, O_KEY, O_CA, O_CRL, O_CRL_URL, O_CRL_REFRESH, O_GRACE, O_NAME, O_USER, O_LOG,
       O_HS_TIMEOUT, O_IDLE_TIMEOUT, O_MAX_CONNS, O_CHECK, O_HELP, O_CHROOT, O_WORKERS, O_REQ_TIMEOUT, O_HS_RATE,
       O_HS_BURST, O_CRLSRC, O_STORAGE, O_STORAGE_ACCOUNT, O_STORAGE_KEY };

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
	{ "chroot", required_argument, NULL, O_CHROOT },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "log", required_argument, NULL, O_LOG },
	{ "handshake-timeout", required_argument, NULL, O_HS_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
	{ "request-timeout", required_argument, NULL, O_REQ_TIMEOUT },
	{ "max-conns", required_argument, NULL, O_MAX_CONNS },
	{ "handshake-rate", required_argument, NULL, O_HS_RATE },
	{ "handshake-burst", required_argument, NULL, O_HS_BURST },
	{ "check", no_argument, NULL, O_CHECK },
	{ "crl-max-size", required_argument, NULL, O_CRLSRC },  /* the fetcher's own options (crlsrc.c) */
	{ "crl-timeout", required_argument, NULL, O_CRLSRC },
	{ "dns", required_argument, NULL, O_CRLSRC },
	{ "storage", required_argument, NULL, O_STORAGE },
	{ "storage-account", required_argument, NULL, O_STORAGE_ACCOUNT },
	{ "storage-key", required_argument, NULL, O_STORAGE_KEY },
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
	long v;
	int c, li;

	crlsrc_opts_default(o);
	o->crl_refresh = 60;
	o->hs_timeout = 10;
	o->idle_timeout = 120;
	o->max_conns = 20000;
	o->request_timeout = 30;
	o->hs_rate = 200;
	o->hs_burst = 400;
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
		case O_CHROOT: o->chroot = optarg; break;
		case O_WORKERS:
			if (num(optarg, 1, AGENT_MAX_WORKERS, &o->workers))
				return usage_err("--workers wants 1..64", optarg);
			break;
		case O_REQ_TIMEOUT:
			if (num(optarg, 1, 86400, &o->request_timeout))
				return usage_err("--request-timeout wants 1..86400 seconds", optarg);
			break;
		case O_HS_RATE:
		case O_HS_BURST:
			if (num(optarg, 0, 1000000, &v))
				return usage_err(c == O_HS_RATE ? "--handshake-rate wants 0..1000000 per second (0: no limit)"
								: "--handshake-burst wants 0..1000000", optarg);
			*(c == O_HS_RATE ? &o->hs_rate : &o->hs_burst) = (double)v;
			break;
		case O_MAX_CONNS:
			if (num(optarg, 1, 1000000, &o->max_conns))
				return usage_err("--max-conns wants 1..1000000", optarg);
			break;
		case O_CHECK: o->check_only = 1; break;
		case O_STORAGE:
		case O_STORAGE_ACCOUNT:
		case O_STORAGE_KEY: { /* backups and audit logs (upload.c) */
			char e[160];
			if (upload_opt(c == O_STORAGE ? "storage" : c == O_STORAGE_ACCOUNT ? "storage-account" : "storage-key",
				       optarg, e, sizeof(e)))
				return usage_err(e, NULL);
			break;
		}
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

/* Up to the hard limit; the connection limit is sized from what we get (worker.c). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* The workers' identity: --user (default minet-agent; never root, and not the shared nobody by default). */
static int worker_identity(const char *user, uid_t *uid, gid_t *gid, int *drop)
{
	const char *name = user ? user : "minet-agent";
	struct passwd *pw;
	struct stat sb;

	*drop = 0;
	if (geteuid() != 0) {
		if (user) {
			agent_log("error: --user %s needs the agent to start as root", user);
			return -1;
		}
		return 0;
	}
	pw = getpwnam(name);
	if (!pw) {
		agent_log("error: no user '%s' to run the workers as (create it: useradd --system --no-create-home "
			  "--shell /usr/sbin/nologin %s, as scripts/install-deps does; or pass --user)", name, name);
		return -1;
	}
	if (pw->pw_uid == 0) {
		agent_log("error: will not run the workers as root (--user %s)", name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	*drop = 1;
	if (stat(chroot_dir, &sb) && errno == ENOENT && !user_chroot)
		mkdir(chroot_dir, 0755);
	if (stat(chroot_dir, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 022)) {
		agent_log("error: --chroot %s must be a directory owned by root and writable by nobody else",
			  chroot_dir);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent ag;
	struct tls_material m = { 0 };
	uid_t uid = 0;
	gid_t gid = 0;
	char err[400];
	int rc = 1, drop = 0;

	jsonin_watch_allocs(); /* a reply or a record that lost a part for want of memory is not sent (jsonin.h) */
	if (parse_opts(argc, argv, &ag.o))
		return 2;
	if (ag.o.log && agent_log_open(ag.o.log)) {
		fprintf(stderr, "minet-agent: %s: %s\n", ag.o.log, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	ag.started = time(NULL);
	ag.job_efd = -1;
	chroot_dir = ag.o.chroot ? ag.o.chroot : "/var/empty";
	user_chroot = ag.o.chroot != NULL;
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL); /* before any chroot: the workers never read a file */
	if (tls_init_indices()) {
		agent_log("error: OpenSSL ex_data index");
		return 1;
	}
	raise_fd_limit();
	if (tls_material_read(&ag.o, &m, err, sizeof(err)) ||
	    !(ag.ctx = tls_ctx_from_material(&ag, &m, &ag.cas, err, sizeof(err)))) {
		agent_log("error: %s", err);
		goto out;
	}
	SSL_CTX_free(ag.ctx); /* the parent only checks; the workers build their own */
	ag.ctx = NULL;
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
	if (worker_identity(ag.o.user, &uid, &gid, &drop))
		goto out;
	rc = parent_run(&ag, &m, uid, gid, drop); /* takes m */
	memset(&m, 0, sizeof(m));
out:
	tls_material_free(&m);
	if (ag.job_efd >= 0)
		close(ag.job_efd);
	sk_X509_pop_free(ag.cas, X509_free);
	crl_store_free(ag.crl);
	return rc;
}

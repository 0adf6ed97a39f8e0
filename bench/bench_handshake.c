/* bench_handshake: a small OpenSSL load client for mTLS servers (the agent, nginx).
 *   bench_handshake [-t openssl|gnutls] [-g GROUPS] MODE ...
 *       -t: the TLS library of the load client (rate and count; hold is always OpenSSL), default openssl.
 *       GnuTLS costs ~25% less client CPU per handshake than OpenSSL 3.0 here, which matters since the client
 *       shares the machine's cores with the server it measures.
 *       GROUPS: the key exchange groups offered (key share for the first), default P-256; the same for
 *       every server measured
 *   bench_handshake rate HOST PORT CERT KEY SECONDS THREADS
 *       full handshakes (no resumption), one GET /v1/health each, Connection: close; prints the rate
 *   bench_handshake count HOST PORT CERT KEY N
 *       N full handshakes one after the other (a fixed amount of work, for callgrind/strace on the server)
 *   bench_handshake hold HOST PORT CERT KEY N
 *       opens N connections, one request each, keeps them open; prints "held N" and waits for SIGTERM
 * rate and count also print client_cpu: this process's own CPU seconds (user+system), since the load client
 * shares the machine's cores with the server it measures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "model/clock.h"

static SSL_CTX *ctx;
static struct sockaddr_in sa;
static double deadline;
static long total_ok, total_err;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int use_gnutls;
static gnutls_certificate_credentials_t gt_cred;
static gnutls_priority_t gt_prio;

/* One connection with one request; returns the SSL (connection kept) when keep, else NULL. ok set on 200. */
static SSL *one(int keep, int *ok)
{
	static const char close_req[] = "GET /v1/health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
	static const char keep_req[] = "GET /v1/health HTTP/1.1\r\nHost: bench\r\n\r\n";
	char buf[2048];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n, got = 0, one_ = 1;
	SSL *ssl = NULL;

	*ok = 0;
	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		goto out;
	if (keep) {
		SSL_write(ssl, keep_req, sizeof(keep_req) - 1);
		while (got < (int)sizeof(buf) - 1 && (n = SSL_read(ssl, buf + got, (int)sizeof(buf) - 1 - got)) > 0) {
			got += n;
			buf[got] = 0;
			if (strstr(buf, "\r\n\r\n") && strstr(buf, "}\n"))
				break;
		}
	} else {
		SSL_write(ssl, close_req, sizeof(close_req) - 1);
		while (got < (int)sizeof(buf) - 1 && (n = SSL_read(ssl, buf + got, (int)sizeof(buf) - 1 - got)) > 0)
			got += n;
		buf[got] = 0;
	}
	*ok = got > 12 && !memcmp(buf, "HTTP/1.1 200", 12);
	if (keep && *ok)
		return ssl;
out:
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static double cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* The same exchange as one(0, ok) with GnuTLS: TLS 1.3, no resumption, the server certificate not verified
 * (its CertificateVerify signature is, as TLS 1.3 requires). */
static void one_gnutls(int *ok)
{
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
	char buf[2048];
	int fd = socket(AF_INET, SOCK_STREAM, 0), one_ = 1, got = 0, r;
	gnutls_session_t s = NULL;

	*ok = 0;
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_TICKETS) < 0)
		goto out;
	gnutls_priority_set(s, gt_prio);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, gt_cred);
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		goto out;
	do
		r = (int)gnutls_record_send(s, req, sizeof(req) - 1);
	while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	while (got < (int)sizeof(buf) - 1) {
		r = (int)gnutls_record_recv(s, buf + got, sizeof(buf) - 1 - (size_t)got);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	buf[got] = 0;
	*ok = got > 12 && !memcmp(buf, "HTTP/1.1 200", 12);
out:
	if (s)
		gnutls_deinit(s);
	close(fd);
}

static void one_any(int *ok)
{
	if (use_gnutls)
		one_gnutls(ok);
	else
		one(0, ok);
}

static void *worker(void *arg)
{
	long ok_n = 0, err_n = 0;
	int ok;

	while (monotonic_seconds() < deadline) {
		one_any(&ok);
		if (ok)
			ok_n++;
		else
			err_n++;
	}
	pthread_mutex_lock(&mu);
	total_ok += ok_n;
	total_err += err_n;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	const char *groups = "P-256";

	while (argc > 2 && (!strcmp(argv[1], "-g") || !strcmp(argv[1], "-t"))) {
		if (!strcmp(argv[1], "-g"))
			groups = argv[2];
		else if (!strcmp(argv[2], "gnutls"))
			use_gnutls = 1;
		else if (strcmp(argv[2], "openssl"))
			return 2;
		argv += 2;
		argc -= 2;
	}
	if (argc != 8 && argc != 7) {
		fprintf(stderr, "usage: bench_handshake [-t openssl|gnutls] [-g GROUPS] rate HOST PORT CERT KEY SECONDS THREADS\n"
				"       bench_handshake [-t openssl|gnutls] [-g GROUPS] count HOST PORT CERT KEY N\n"
				"       bench_handshake [-g GROUPS] hold HOST PORT CERT KEY N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[3]));
	inet_pton(AF_INET, argv[2], &sa.sin_addr);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_set1_groups_list(ctx, groups) != 1) {
		fprintf(stderr, "bench_handshake: bad groups list %s\n", groups);
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a load generator: spend the client's CPU on the server */
	if (SSL_CTX_use_certificate_chain_file(ctx, argv[4]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[5], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "bench_handshake: cannot load %s / %s\n", argv[4], argv[5]);
		return 2;
	}
	if (use_gnutls) {
		char prio[300], *p;
		int r;

		/* GROUPS as GnuTLS names: X25519 -> GROUP-X25519, P-256 -> GROUP-SECP256R1 */
		snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL");
		for (const char *g = groups; *g; g = p ? p + 1 : g + strlen(g)) {
			size_t len = (p = strchr(g, ':')) ? (size_t)(p - g) : strlen(g);
			const char *name = !strncmp(g, "X25519", len) && len == 6  ? "X25519" :
					   !strncmp(g, "P-256", len) && len == 5   ? "SECP256R1" :
					   !strncmp(g, "P-384", len) && len == 5   ? "SECP384R1" : NULL;

			if (!name) {
				fprintf(stderr, "bench_handshake: group %.*s unknown to the GnuTLS client\n", (int)len, g);
				return 2;
			}
			snprintf(prio + strlen(prio), sizeof(prio) - strlen(prio), ":+GROUP-%s", name);
		}
		if (gnutls_global_init() < 0 || gnutls_certificate_allocate_credentials(&gt_cred) < 0 ||
		    (r = gnutls_certificate_set_x509_key_file(gt_cred, argv[4], argv[5], GNUTLS_X509_FMT_PEM)) < 0 ||
		    gnutls_priority_init(&gt_prio, prio, NULL) < 0) {
			fprintf(stderr, "bench_handshake: GnuTLS cannot load %s / %s or use %s\n", argv[4], argv[5], prio);
			return 2;
		}
	}
	if (!strcmp(argv[1], "rate") && argc == 8) {
		int nth = atoi(argv[7]);
		pthread_t th[64];
		double t0 = monotonic_seconds(), secs = atof(argv[6]);

		if (nth < 1 || nth > 64)
			return 2;
		deadline = t0 + secs;
		for (int i = 0; i < nth; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		printf("handshakes=%ld errors=%ld seconds=%.2f rate=%.1f client_cpu=%.3f\n", total_ok, total_err,
		       monotonic_seconds() - t0, (double)total_ok / (monotonic_seconds() - t0), cpu_self());
	} else if (!strcmp(argv[1], "count") && argc == 7) {
		long n = atol(argv[6]);
		double t0 = monotonic_seconds();
		int ok;

		for (long i = 0; i < n; i++) {
			one_any(&ok);
			if (ok)
				total_ok++;
			else
				total_err++;
		}
		printf("handshakes=%ld errors=%ld seconds=%.2f rate=%.1f client_cpu=%.3f\n", total_ok, total_err,
		       monotonic_seconds() - t0, (double)total_ok / (monotonic_seconds() - t0), cpu_self());
	} else if (!strcmp(argv[1], "hold") && argc == 7) {
		long n = atol(argv[6]), held = 0;
		int ok;

		for (long i = 0; i < n; i++)
			if (one(1, &ok))
				held++; /* kept open on purpose until we are killed */
		printf("held %ld\n", held);
		fflush(stdout);
		pause();
	} else {
		return 2;
	}
	SSL_CTX_free(ctx);
	return 0;
}

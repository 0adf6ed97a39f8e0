/* minet-agent's unprivileged worker: chrooted (an empty directory), running as --user, it serves TLS and the
 * API on its own SO_REUSEPORT listening sockets. Everything it knows it got from the parent: the options and the
 * sockets across fork, the certificate, key, CA and CRLs as bytes over the IPC socket (ipc.h), a reopened log
 * over a second socket (SCM_RIGHTS). It never opens a file. It exits when the parent dies (PR_SET_PDEATHSIG, and
 * EOF on the IPC socket) and on SIGTERM. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "agent/agent.h"
#include "agent/upload.h"
#include "agent/ipc.h"

static struct agent wk;  /* this worker */
static const struct agent *par;

/* ---- CRL loading: parse + verify in a thread, swap on the loop, close what the new CRL revokes ---- */

struct wcrl {
	uint8_t *buf;
	size_t len;
	char source[300];
	STACK_OF(X509) *cas;
	struct crl_store *store;
	char err[300];
	pthread_t th;
};

static struct wcrl *crl_running, *crl_pending;
static int crl_efd = -1;
static struct event *crl_ev;

static void wcrl_free(struct wcrl *j)
{
	if (!j)
		return;
	free(j->buf);
	sk_X509_pop_free(j->cas, X509_free);
	crl_store_free(j->store);
	free(j);
}

static void wcrl_swap(struct wcrl *j)
{
	if (!j->store) {
		/* the parent parsed these very bytes; only a different CA bundle (a reload in between) gets here */
		agent_log("error: worker %d: CRL from %s not usable with the current CA bundle: %s", wk.slot, j->source,
			  j->err);
		return;
	}
	crl_store_free(wk.crl);
	wk.crl = j->store;
	j->store = NULL;
	snprintf(wk.crl_source, sizeof(wk.crl_source), "%s", j->source);
	wk.crl_loaded_at = time(NULL);
	tls_sweep_revoked(&wk);
}

static void *wcrl_thread(void *arg)
{
	struct wcrl *j = arg;
	uint64_t one = 1;

	j->store = crl_store_new(j->cas, j->buf, j->len, j->err, sizeof(j->err));
	while (write(crl_efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	return NULL;
}

static void wcrl_start(struct wcrl *j)
{
	if (!pthread_create(&j->th, NULL, wcrl_thread, j)) {
		crl_running = j;
		return;
	}
	j->store = crl_store_new(j->cas, j->buf, j->len, j->err, sizeof(j->err));
	wcrl_swap(j);
	wcrl_free(j);
}

static void wcrl_done_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 || !crl_running)
		return;
	pthread_join(crl_running->th, NULL);
	wcrl_swap(crl_running);
	wcrl_free(crl_running);
	crl_running = NULL;
	if (crl_pending) { /* coalesced: only the newest of those that came meanwhile */
		struct wcrl *j = crl_pending;

		crl_pending = NULL;
		wcrl_start(j);
	}
}

/* ---- listeners: pause when out of descriptors (as nginx) or at the connection limit ---- */

static void set_accepting(void)
{
	int on = !wk.paused_full && !wk.paused_fd;

	for (int i = 0; i < wk.nlev; i++)
		if (on)
			evconnlistener_enable(wk.lev[i]);
		else
			evconnlistener_disable(wk.lev[i]);
}

void worker_conns_changed(struct agent *ag)
{
	int full = ag->nconns >= ag->max_conns;

	if (full != ag->paused_full) {
		ag->paused_full = full;
		if (full) {
			ag->st->accept_pauses++;
			agent_log("warning: worker %d: %ld connections, its limit: not accepting until one closes",
				  ag->slot, ag->nconns);
		}
		set_accepting();
	}
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	wk.paused_fd = 0;
	set_accepting();
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	static time_t last;
	static uint64_t quiet;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, 200000 };
	time_t now = time(NULL);

	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		agent_log("warning: accept: %s", strerror(e));
		return;
	}
	/* Out of descriptors: the pending connection stays in the backlog and the listener would fire again at
	 * once. Stop accepting for 200 ms instead of spinning, and say so at most once every 10 seconds. */
	wk.paused_fd = 1;
	wk.st->accept_pauses++;
	set_accepting();
	evtimer_add(wk.resume_timer, &tv);
	if (now - last >= 10) {
		agent_log("error: worker %d: accept: %s with %ld connections; pausing accepts for 200 ms"
			  " (%llu more pauses since the last such line)", wk.slot, strerror(e), wk.nconns,
			  (unsigned long long)quiet);
		last = now;
		quiet = 0;
	} else {
		quiet++;
	}
}

static int start_listening(const struct worker_args *wa)
{
	for (int i = 0; i < wa->nlisten; i++) {
		struct evhttp_bound_socket *bs = evhttp_accept_socket_with_handle(wk.http, wa->listen_fds[i]);

		if (!bs)
			return -1;
		wk.lev[wk.nlev] = evhttp_bound_socket_get_listener(bs);
		evconnlistener_set_error_cb(wk.lev[wk.nlev], accept_error_cb);
		wk.nlev++;
	}
	set_accepting();
	return 0;
}

/* ---- IPC from the parent ---- */

static const struct worker_args *args;
static int ready;

static void on_tls(struct bufferevent *ipc, const struct ipc_blob *b)
{
	struct tls_material m = { (char *)(uintptr_t)b[0].p, (char *)(uintptr_t)b[1].p, (char *)(uintptr_t)b[2].p,
				  b[0].len, b[1].len, b[2].len };
	STACK_OF(X509) *cas = NULL;
	char err[400];
	SSL_CTX *ctx = tls_ctx_from_material(&wk, &m, &cas, err, sizeof(err));
	uint8_t *ack;
	size_t acklen;

	if (!ctx) {
		agent_log("error: worker %d: certificate material from the parent refused: %s", wk.slot, err);
		return;
	}
	SSL_CTX_free(wk.ctx); /* live connections hold their own reference */
	wk.ctx = ctx;
	upload_trust(SSL_CTX_get_cert_store(ctx));
	sk_X509_pop_free(wk.cas, X509_free);
	wk.cas = cas;
	if ((ack = ipc_frame_build(IPC_TLS_OK, NULL, 0, &acklen))) {
		bufferevent_write(ipc, ack, acklen);
		free(ack);
	}
}

static void on_crl(const struct ipc_blob *b)
{
	struct wcrl *j = calloc(1, sizeof(*j));

	if (!j || !(j->buf = malloc(b[1].len + 1)) || !wk.cas) {
		agent_log("error: worker %d: cannot take a CRL (%s)", wk.slot, wk.cas ? "out of memory" : "no CA yet");
		wcrl_free(j);
		return;
	}
	memcpy(j->buf, b[1].p, b[1].len);
	j->buf[b[1].len] = 0;
	j->len = b[1].len;
	snprintf(j->source, sizeof(j->source), "%.*s", (int)(b[0].len < 299 ? b[0].len : 299), (const char *)b[0].p);
	j->cas = X509_chain_up_ref(wk.cas);
	if (!ready) { /* startup: before accepting anything */
		j->store = crl_store_new(j->cas, j->buf, j->len, j->err, sizeof(j->err));
		wcrl_swap(j);
		wcrl_free(j);
	} else if (crl_running) {
		wcrl_free(crl_pending);
		crl_pending = j;
	} else {
		wcrl_start(j);
	}
}

static void ipc_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in), need = 0;
		uint8_t hdr[IPC_HDR_LEN];
		const uint8_t *payload;
		struct ipc_blob b[IPC_MAX_BLOBS];
		uint32_t type, len;
		long n;

		if (avail < IPC_HDR_LEN)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if (ipc_frame_parse(hdr, sizeof(hdr), &type, &payload, &len, &need) < 0)
			goto bad;
		if (avail < need)
			return;
		n = ipc_frame_parse(evbuffer_pullup(in, (ssize_t)need), need, &type, &payload, &len, NULL);
		if (n <= 0 || ipc_blobs_parse(payload, len, ipc_type_blobs(type), b))
			goto bad;
		switch (type) {
		case IPC_TLS: on_tls(bev, b); break;
		case IPC_CRL: on_crl(b); break;
		case IPC_READY:
			if (!ready) {
				if (!wk.ctx || start_listening(args)) {
					agent_log("error: worker %d: cannot start serving", wk.slot);
					exit(1);
				}
				ready = 1;
			}
			break;
		}
		evbuffer_drain(in, (size_t)n);
	}
bad:
	agent_log("error: worker %d: malformed message from the parent; exiting", wk.slot);
	event_base_loopbreak(wk.base);
}

static void ipc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		event_base_loopbreak(wk.base); /* the parent is gone */
}

static void fd_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	int newfd, n = ipc_recv_fd(fd, &newfd);

	if (n == 0)
		event_base_loopbreak(wk.base);
	else if (n > 0 && newfd >= 0)
		agent_log_adopt(newfd); /* the reopened --log */
}

static void sigfd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) > 0)
		event_base_loopbreak(wk.base);
}

/* ---- shared state published by the parent ---- */

void agent_parent_stats(const struct agent *ag, struct parent_stats *out)
{
	const struct parent_stats *p = &ag->sh->p;

	for (int tries = 0; tries < 1000; tries++) {
		uint64_t s1 = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);

		if (s1 & 1)
			continue;
		memcpy(out, (const void *)p, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&p->seq, __ATOMIC_RELAXED) == s1)
			break;
	}
	out->crl_source[sizeof(out->crl_source) - 1] = 0;
	out->crl_err[sizeof(out->crl_err) - 1] = 0;
	out->last_error[sizeof(out->last_error) - 1] = 0;
	out->fetch_err[sizeof(out->fetch_err) - 1] = 0;
}

const char *worker_crl_err(struct agent *ag, char *buf, size_t len)
{
	struct parent_stats p;

	agent_parent_stats(ag, &p);
	snprintf(buf, len, "%s", p.crl_err);
	return buf;
}

/* ---- setup ---- */

/* Close every descriptor the worker does not need: the parent's, the other workers' sockets and listeners. */
static void close_others(const struct worker_args *wa, int keep_sig)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int dfd = d ? dirfd(d) : -1, fds[4096], n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) && n < (int)(sizeof(fds) / sizeof(fds[0]))) {
		int fd = atoi(e->d_name), keep = fd <= 2 || fd == dfd || fd == wa->ipc_fd || fd == wa->fd_sock ||
						 fd == agent_log_fd() || fd == keep_sig || e->d_name[0] == '.';

		for (int i = 0; i < wa->nlisten; i++)
			keep |= fd == wa->listen_fds[i];
		if (!keep)
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int drop(const struct worker_args *wa)
{
	const char *dir = par->o.chroot ? par->o.chroot : "/var/empty";

	if (!wa->drop)
		return 0;
	if (chroot(dir) || chdir("/")) {
		agent_log("error: worker: chroot %s: %s", dir, strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) || setresgid(wa->gid, wa->gid, wa->gid) || setresuid(wa->uid, wa->uid, wa->uid) ||
	    setuid(0) == 0) {
		agent_log("error: worker: cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void worker_main(const struct agent *parent, const struct worker_args *wa)
{
	struct bufferevent *ipc = NULL;
	struct event *fdev = NULL, *sigev = NULL;
	struct rlimit rl;
	sigset_t set;
	long share;
	int sfd, rc = 1;
	char err[200];

	par = parent;
	args = wa;
	/* the parent's libevent signal handlers must not run here */
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	sigprocmask(SIG_SETMASK, &set, NULL); /* TERM and INT through the signalfd, the rest unblocked */
	close_others(wa, sfd);
	wk.o = parent->o;
	wk.sh = parent->sh;
	wk.is_worker = 1;
	wk.slot = wa->slot;
	wk.st = &wk.sh->w[wa->slot];
	wk.st->pid = getpid();
	wk.st->nconns = 0;
	wk.started = parent->started;
	if (drop(wa))
		_exit(1);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0); /* no ptrace/core of a process holding a private key */
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* after setuid, which clears it */
	if (getppid() != wa->parent)
		_exit(0);
	/* this worker's share of --max-conns, within its descriptor limit (as HAProxy sizes maxconn) */
	share = (parent->o.max_conns + parent->sh->nworkers - 1) / parent->sh->nworkers;
	wk.max_conns = share;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - AGENT_FD_RESERVE < share)
		wk.max_conns = (long)rl.rlim_cur > 2 * AGENT_FD_RESERVE ? (long)rl.rlim_cur - AGENT_FD_RESERVE
									 : (long)rl.rlim_cur / 2;
	if (rl_init(&wk.rl, 4096, parent->o.hs_rate / parent->sh->nworkers,
		    parent->o.hs_burst / parent->sh->nworkers) ||
	    !(wk.base = event_base_new()) || !(wk.http = evhttp_new(wk.base)) ||
	    (crl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		agent_log("error: worker %d: cannot create the event loop", wa->slot);
		_exit(1);
	}
	if (upload_init(wk.base, wk.ctx ? SSL_CTX_get_cert_store(wk.ctx) : NULL, wk.o.name, err, sizeof(err))) {
		agent_log("error: worker %d: %s", wa->slot, err);
		_exit(1);
	}
	evhttp_set_bevcb(wk.http, tls_bevcb, &wk);
	evhttp_set_gencb(wk.http, api_request, &wk);
	evhttp_set_timeout(wk.http, (int)wk.o.idle_timeout);
	evhttp_set_max_headers_size(wk.http, 8192);
	evhttp_set_max_body_size(wk.http, 64 << 10); /* room for upload endpoints (≥ 4 KiB) */
	wk.resume_timer = evtimer_new(wk.base, resume_cb, NULL);
	crl_ev = event_new(wk.base, crl_efd, EV_READ | EV_PERSIST, wcrl_done_cb, NULL);
	fdev = event_new(wk.base, wa->fd_sock, EV_READ | EV_PERSIST, fd_sock_cb, NULL);
	sigev = event_new(wk.base, sfd, EV_READ | EV_PERSIST, sigfd_cb, NULL);
	ipc = bufferevent_socket_new(wk.base, wa->ipc_fd, BEV_OPT_CLOSE_ON_FREE);
	if (!wk.resume_timer || !crl_ev || !fdev || !sigev || !ipc || event_add(crl_ev, NULL) ||
	    event_add(fdev, NULL) || event_add(sigev, NULL)) {
		agent_log("error: worker %d: cannot set up its events", wa->slot);
		_exit(1);
	}
	bufferevent_setcb(ipc, ipc_read_cb, NULL, ipc_event_cb, NULL);
	bufferevent_enable(ipc, EV_READ);
	if (wa->drop)
		agent_log("worker %d started: pid %d, uid %d, chroot %s, up to %ld connections", wa->slot, (int)getpid(),
			  (int)getuid(), parent->o.chroot ? parent->o.chroot : "/var/empty", wk.max_conns);
	else
		agent_log("worker %d started: pid %d, uid %d (not started as root: no chroot, no user change),"
			  " up to %ld connections", wa->slot, (int)getpid(), (int)getuid(), wk.max_conns);
	event_base_dispatch(wk.base);
	rc = 0;
	evhttp_free(wk.http); /* frees live connections */
	if (crl_running) {
		pthread_join(crl_running->th, NULL);
		wcrl_free(crl_running);
	}
	wcrl_free(crl_pending);
	bufferevent_free(ipc);
	event_free(fdev);
	event_free(sigev);
	event_free(crl_ev);
	event_free(wk.resume_timer);
	event_base_free(wk.base);
	close(crl_efd);
	close(sfd);
	close(wa->fd_sock);
	upload_free();
	SSL_CTX_free(wk.ctx);
	sk_X509_pop_free(wk.cas, X509_free);
	crl_store_free(wk.crl);
	rl_free(&wk.rl);
	exit(rc);
}

/* minet-agent's privileged parent: keeps the right to read the certificate, key, CA and CRL files and to fetch
 * --crl-url, and hands what it read to the workers (worker.c) as bytes over a socketpair (ipc.h framing). It
 * binds the listening sockets (one SO_REUSEPORT socket per worker and address, so the kernel spreads connections
 * over the cores), starts one worker per core, restarts a worker that dies, and is where SIGHUP, inotify on the
 * CRL file and the URL refresh (crlsrc.c) end up. Its own state for /v1/status and /metrics is published in the
 * shared mapping (agent.h). */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "agent/agent.h"
#include "agent/ipc.h"
#include "agent/listenaddr.h"

struct worker_slot {
	pid_t pid;
	int ipc_fd, fd_sock;       /* parent ends */
	struct bufferevent *bev;
	time_t started;
	struct event *restart_ev;
	uint64_t tls_sent, tls_acks; /* IPC_TLS sent to it, and confirmed (in order) */
	pid_t dead_pid;            /* the last worker in this slot, and how it ended */
	int dead_status;
	int listen_fds[AGENT_MAX_LISTEN];
};

static struct agent *pa;
static struct worker_slot slots[AGENT_MAX_WORKERS];
static int nslots, shutting_down, drop_privs;
static uid_t w_uid;
static gid_t w_gid;
static struct tls_material cur_tls;
static uint8_t *crl_bytes;
static size_t crl_len;
static char crl_src[300], last_error[640];
static time_t last_error_at;
static struct event *chld_ev, *reload_ev, *inotify_ev, *publish_ev;
static int inotify_fd = -1;
static uint64_t reloads, hups, tls_gen, tls_gen_logged;
static const char *crl_base;
static char crl_dir_buf[4096], crl_base_buf[1024];

/* ---- shared state ---- */

static void publish(void)
{
	struct parent_stats *p;

	if (!pa->sh)
		return;
	p = &pa->sh->p;
	__atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL);
	p->crl_loads_ok = pa->crl_loads_ok;
	p->crl_loads_failed = pa->crl_loads_failed;
	p->reloads = reloads;
	p->hup_signals = hups;
	p->crl_loaded_at = pa->crl ? pa->crl_loaded_at : 0;
	p->crl_load_ms = pa->crl_load_ms;
	p->last_error_at = last_error_at;
	snprintf(p->crl_source, sizeof(p->crl_source), "%s", pa->crl ? pa->crl_source : "");
	snprintf(p->crl_err, sizeof(p->crl_err), "%s", pa->crl ? "" : pa->crl_err);
	snprintf(p->last_error, sizeof(p->last_error), "%s", last_error);
	snprintf(p->fetch_err, sizeof(p->fetch_err), "%s", pa->crl_fetch_err);
	p->fetches_failed = pa->crl_fetches_failed;
	__atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL);
}

/* ---- IPC to the workers ---- */

static void send_frame(struct worker_slot *w, uint32_t type, const struct ipc_blob *b, unsigned n)
{
	size_t len;
	uint8_t *f;

	if (!w->bev)
		return;
	if (evbuffer_get_length(bufferevent_get_output(w->bev)) > (256u << 20)) {
		/* a worker that stopped reading: a fresh one gets the current material at start */
		agent_log("error: worker %d (pid %d) does not read its messages; killing it", (int)(w - slots),
			  (int)w->pid);
		kill(w->pid, SIGKILL);
		return;
	}
	if (!(f = ipc_frame_build(type, b, n, &len))) {
		agent_log("error: cannot frame a message for worker %d", (int)(w - slots));
		return;
	}
	bufferevent_write(w->bev, f, len);
	if (type == IPC_TLS)
		OPENSSL_cleanse(f, len);
	free(f);
}

static void send_tls(struct worker_slot *w)
{
	struct ipc_blob b[3] = { { (const uint8_t *)cur_tls.cert, (uint32_t)cur_tls.cert_len },
				 { (const uint8_t *)cur_tls.key, (uint32_t)cur_tls.key_len },
				 { (const uint8_t *)cur_tls.ca, (uint32_t)cur_tls.ca_len } };

	send_frame(w, IPC_TLS, b, 3);
	w->tls_sent++;
}

static void send_crl(struct worker_slot *w)
{
	struct ipc_blob b[2] = { { (const uint8_t *)crl_src, (uint32_t)strlen(crl_src) },
				 { crl_bytes, (uint32_t)crl_len } };

	if (crl_bytes)
		send_frame(w, IPC_CRL, b, 2);
}

static void send_fd(struct worker_slot *w, int fd)
{
	if (w->pid > 0 && ipc_send_fd(w->fd_sock, fd, MSG_DONTWAIT) < 0)
		agent_log("warning: cannot hand the reopened log to worker %d: %s", (int)(w - slots), strerror(errno));
}

/* ---- called by crlsrc.c ---- */

void agent_crl_applied(struct agent *ag, const char *source, const void *buf, size_t len)
{
	uint8_t *copy = malloc(len + 1);

	pa = ag; /* the initial load runs before parent_run */
	if (!copy) {
		agent_log("error: out of memory keeping the CRL for the workers");
		return;
	}
	memcpy(copy, buf, len);
	free(crl_bytes);
	crl_bytes = copy;
	crl_len = len;
	snprintf(crl_src, sizeof(crl_src), "%s", source);
	publish();
	for (int i = 0; i < nslots; i++)
		send_crl(&slots[i]);
}

void agent_crl_failed(struct agent *ag, const char *source, const char *err)
{
	pa = ag;
	snprintf(last_error, sizeof(last_error), "%s: %s", source, err);
	last_error_at = time(NULL);
	publish();
}

/* ---- workers ---- */

/* Every live worker confirmed the reloaded certificate: only now do new connections get it everywhere. */
static void check_tls_acks(void)
{
	if (tls_gen == tls_gen_logged)
		return;
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && slots[i].tls_acks != slots[i].tls_sent)
			return;
	tls_gen_logged = tls_gen;
	agent_log("SIGHUP: certificate, key and CA reloaded (new connections use them)");
}

/* Workers send only IPC_TLS_OK frames (no payload); anything else, or too much, is dropped unread. */
static void ipc_read_cb(struct bufferevent *bev, void *arg)
{
	struct worker_slot *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[IPC_HDR_LEN];
	const uint8_t *payload;
	uint32_t type, len;

	while (evbuffer_get_length(in) >= IPC_HDR_LEN) {
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if (ipc_frame_parse(hdr, sizeof(hdr), &type, &payload, &len, NULL) != IPC_HDR_LEN || type != IPC_TLS_OK) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		evbuffer_drain(in, IPC_HDR_LEN);
		w->tls_acks++;
	}
	check_tls_acks();
}

static void ipc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	/* EOF: the worker is gone; SIGCHLD does the rest */
}

static void spawn(struct worker_slot *w);

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_slot *w = arg;
	int i = (int)(w - slots), st = w->dead_status;

	if (shutting_down) /* it went with the SIGTERM to the whole group: no restart, no alarm */
		return;
	if (WIFSIGNALED(st))
		agent_log("error: worker %d (pid %d) killed by signal %d; restarting it", i, (int)w->dead_pid,
			  WTERMSIG(st));
	else
		agent_log("error: worker %d (pid %d) exited with status %d; restarting it", i, (int)w->dead_pid,
			  WEXITSTATUS(st));
	pa->sh->w[i].restarts++;
	spawn(w);
}

static void spawn(struct worker_slot *w)
{
	int slot = (int)(w - slots), ipc[2], fds[2];
	struct worker_args wa = { .slot = slot, .parent = getpid(), .uid = w_uid, .gid = w_gid, .drop = drop_privs,
				  .nlisten = pa->o.nlisten };
	sigset_t all, old;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ipc)) {
		agent_log("error: socketpair: %s", strerror(errno));
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) {
		agent_log("error: socketpair: %s", strerror(errno));
		close(ipc[0]);
		close(ipc[1]);
		return;
	}
	wa.ipc_fd = ipc[1];
	wa.fd_sock = fds[1];
	memcpy(wa.listen_fds, w->listen_fds, sizeof(wa.listen_fds));
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		worker_main(pa, &wa); /* never returns */
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ipc[1]);
	close(fds[1]);
	if (pid < 0) {
		agent_log("error: fork: %s", strerror(errno));
		close(ipc[0]);
		close(fds[0]);
		return;
	}
	w->pid = pid;
	w->tls_sent = w->tls_acks = 0;
	w->ipc_fd = ipc[0];
	w->fd_sock = fds[0];
	w->started = time(NULL);
	w->bev = bufferevent_socket_new(pa->base, ipc[0], BEV_OPT_CLOSE_ON_FREE);
	if (!w->bev) {
		agent_log("error: worker %d: no IPC buffer", slot);
		kill(pid, SIGKILL);
		return;
	}
	bufferevent_setcb(w->bev, ipc_read_cb, NULL, ipc_event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	send_tls(w);
	send_crl(w);
	send_frame(w, IPC_READY, NULL, 0);
}

static void chld_cb(evutil_socket_t sig, short what, void *arg)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < nslots; i++) {
			struct worker_slot *w = &slots[i];
			struct timeval tv = { 0, 0 };

			if (w->pid != pid)
				continue;
			w->pid = 0;
			if (w->bev)
				bufferevent_free(w->bev);
			w->bev = NULL;
			close(w->fd_sock);
			w->fd_sock = -1;
			pa->sh->w[i].nconns = 0;
			pa->sh->w[i].pid = 0;
			check_tls_acks();
			if (shutting_down)
				break;
			w->dead_pid = pid;
			w->dead_status = status;
			/* 100 ms: a SIGTERM sent to the whole group reaches us too; 1 s when it died at once */
			tv.tv_usec = 100000;
			if (time(NULL) - w->started < 1)
				tv.tv_sec = 1;
			evtimer_add(w->restart_ev, &tv);
			break;
		}
	}
}

/* ---- reloads: SIGHUP (coalesced), inotify ---- */

static void reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_material m;
	STACK_OF(X509) *cas = NULL;
	SSL_CTX *ctx;
	char err[400] = "";

	reloads++;
	if (pa->o.log) {
		if (agent_log_reopen(pa->o.log))
			agent_log("error: SIGHUP: cannot reopen %s: %s; logging to the old file", pa->o.log,
				  strerror(errno));
		else
			for (int i = 0; i < nslots; i++)
				send_fd(&slots[i], agent_log_fd());
	}
	if (tls_material_read(&pa->o, &m, err, sizeof(err)) == 0) {
		if ((ctx = tls_ctx_from_material(pa, &m, &cas, err, sizeof(err)))) {
			SSL_CTX_free(ctx);
			sk_X509_pop_free(pa->cas, X509_free);
			pa->cas = cas;
			tls_material_free(&cur_tls);
			cur_tls = m;
			tls_gen++;
			for (int i = 0; i < nslots; i++)
				send_tls(&slots[i]);
			check_tls_acks(); /* logs once every worker confirmed */
		} else {
			tls_material_free(&m);
		}
	}
	if (err[0] && !cas) {
		agent_log("error: SIGHUP: keeping the current certificate and key: %s", err);
		snprintf(last_error, sizeof(last_error), "SIGHUP: %s", err);
		last_error_at = time(NULL);
	}
	publish();
	crlsrc_reload_file(pa); /* one job at a time; further requests coalesce into one */
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	/* libevent calls this once per signal delivered: a storm of SIGHUPs becomes one reload, run 100 ms after
	 * the first (a window that gathers the rest of the storm); no second reload is queued meanwhile. */
	struct timeval tv = { 0, 100000 };

	hups++;
	if (!evtimer_pending(reload_ev, NULL))
		evtimer_add(reload_ev, &tv);
}

static void publish_cb(evutil_socket_t fd, short what, void *arg)
{
	publish(); /* the fetcher's state (crlsrc.c) changes without telling us */
}

static void term_cb(evutil_socket_t sig, short what, void *arg)
{
	agent_log("signal %d: shutting down", (int)sig);
	shutting_down = 1;
	event_base_loopbreak(pa->base);
}

static void inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int hit = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)(void *)p;

			if (e->len && (!strcmp(e->name, crl_base) || !strcmp(e->name, "..data")))
				hit = 1;
			p += sizeof(*e) + e->len;
		}
	if (hit)
		crlsrc_reload_file(pa);
}

static int watch_crl(void)
{
	snprintf(crl_dir_buf, sizeof(crl_dir_buf), "%s", pa->o.crl);
	snprintf(crl_base_buf, sizeof(crl_base_buf), "%s", pa->o.crl);
	crl_base = basename(crl_base_buf);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd < 0 ||
	    inotify_add_watch(inotify_fd, dirname(crl_dir_buf), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		agent_log("warning: cannot watch %s for changes (%s); rereading it every %lds", pa->o.crl,
			  strerror(errno), pa->o.crl_refresh);
		return 0;
	}
	inotify_ev = event_new(pa->base, inotify_fd, EV_READ | EV_PERSIST, inotify_cb, NULL);
	return inotify_ev && !event_add(inotify_ev, NULL) ? 0 : -1;
}

/* ---- listening sockets ---- */

static int bind_one(const struct sockaddr_storage *ss, socklen_t len, const char *spec)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 4096)) {
		agent_log("error: cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int bind_listeners(void)
{
	for (int l = 0; l < pa->o.nlisten; l++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char err[200], shown[80];

		if (listen_addr_parse(pa->o.listen[l], &ss, &len, err, sizeof(err))) {
			agent_log("error: %s", err);
			return -1;
		}
		for (int i = 0; i < nslots; i++) {
			int fd = bind_one(&ss, len, pa->o.listen[l]);

			if (fd < 0)
				return -1;
			slots[i].listen_fds[l] = fd;
			if (i == 0) { /* port 0: the others join the port the kernel chose */
				len = sizeof(ss);
				getsockname(fd, (struct sockaddr *)&ss, &len);
				listen_addr_format((struct sockaddr *)&ss, shown, sizeof(shown));
			}
		}
		agent_log("listening on %s (%d worker%s, SO_REUSEPORT)", shown, nslots, nslots == 1 ? "" : "s");
	}
	return 0;
}

/* ---- the parent's life ---- */

int parent_run(struct agent *ag, const struct tls_material *m, uid_t uid, gid_t gid, int drop)
{
	struct event *sig_chld = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = 1;

	pa = ag;
	cur_tls = *m;
	w_uid = uid;
	w_gid = gid;
	drop_privs = drop;
	nslots = (int)(ag->o.workers ? ag->o.workers : ncpu > 0 ? ncpu : 1);
	if (nslots > AGENT_MAX_WORKERS)
		nslots = AGENT_MAX_WORKERS;
	ag->sh = mmap(NULL, sizeof(*ag->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ag->sh == MAP_FAILED) {
		ag->sh = NULL;
		agent_log("error: shared memory: %s", strerror(errno));
		return 1;
	}
	ag->sh->nworkers = nslots;
	publish();
	for (int i = 0; i < nslots; i++) {
		slots[i].fd_sock = -1;
		for (int l = 0; l < AGENT_MAX_LISTEN; l++)
			slots[i].listen_fds[l] = -1;
	}
	ag->base = event_base_new();
	if (!ag->base) {
		agent_log("error: cannot create the event loop");
		goto out;
	}
	if (bind_listeners())
		goto out;
	ag->sig_hup = evsignal_new(ag->base, SIGHUP, hup_cb, NULL);
	ag->sig_term = evsignal_new(ag->base, SIGTERM, term_cb, NULL);
	ag->sig_int = evsignal_new(ag->base, SIGINT, term_cb, NULL);
	sig_chld = evsignal_new(ag->base, SIGCHLD, chld_cb, NULL);
	reload_ev = evtimer_new(ag->base, reload_cb, NULL);
	publish_ev = event_new(ag->base, -1, EV_PERSIST, publish_cb, NULL);
	if (!publish_ev || event_add(publish_ev, &(struct timeval){ 1, 0 }) || !ag->sig_hup || !ag->sig_term || !ag->sig_int || !sig_chld || !reload_ev ||
	    evsignal_add(ag->sig_hup, NULL) || evsignal_add(ag->sig_term, NULL) || evsignal_add(ag->sig_int, NULL) ||
	    evsignal_add(sig_chld, NULL) || watch_crl() || crlsrc_start(ag)) {
		agent_log("error: cannot set up signals and timers");
		goto out;
	}
	for (int i = 0; i < nslots; i++) {
		if (!(slots[i].restart_ev = evtimer_new(ag->base, restart_cb, &slots[i])))
			goto out;
		spawn(&slots[i]);
	}
	agent_log("ready: node %s, TLS >= 1.2, %d workers as %s, %s", ag->o.name, nslots,
		  drop ? (ag->o.user ? ag->o.user : "minet-agent") : "the invoking user",
		  ag->crl ? "CRL in force" : "NO valid CRL: refusing every handshake until one loads");
	event_base_dispatch(ag->base);
	rc = 0;
out:
	shutting_down = 1;
	chld_ev = sig_chld;
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGTERM);
	for (int i = 0; i < nslots; i++) {
		int status;

		if (slots[i].pid <= 0)
			continue;
		for (int t = 0; t < 1000; t++) { /* 10 s, then SIGKILL */
			pid_t r = waitpid(slots[i].pid, &status, WNOHANG);

			if (r == slots[i].pid || (r < 0 && errno == ECHILD))
				break;
			if (t == 999) {
				kill(slots[i].pid, SIGKILL);
				waitpid(slots[i].pid, &status, 0);
			}
			usleep(10000);
		}
		slots[i].pid = 0;
	}
	crlsrc_stop(ag);
	for (int i = 0; i < nslots; i++) {
		if (slots[i].bev)
			bufferevent_free(slots[i].bev);
		if (slots[i].fd_sock >= 0)
			close(slots[i].fd_sock);
		if (slots[i].restart_ev)
			event_free(slots[i].restart_ev);
		for (int l = 0; l < AGENT_MAX_LISTEN; l++)
			if (slots[i].listen_fds[l] >= 0)
				close(slots[i].listen_fds[l]);
	}
	if (inotify_ev)
		event_free(inotify_ev);
	if (inotify_fd >= 0)
		close(inotify_fd);
	if (reload_ev)
		event_free(reload_ev);
	if (publish_ev)
		event_free(publish_ev);
	if (chld_ev)
		event_free(chld_ev);
	if (ag->sig_hup)
		event_free(ag->sig_hup);
	if (ag->sig_term)
		event_free(ag->sig_term);
	if (ag->sig_int)
		event_free(ag->sig_int);
	if (ag->base)
		event_base_free(ag->base);
	tls_material_free(&cur_tls);
	free(crl_bytes);
	crl_bytes = NULL;
	munmap(ag->sh, sizeof(*ag->sh));
	ag->sh = NULL;
	return rc;
}

/* Bringing a lab cluster up and down. Order in up(): state dir and PKI, namespaces, links (veth made in
 * their target namespace), addresses and routes (netlink), sysctls, rulesets (one nftables transaction per
 * namespace), the fabric's subnet routing table, then processes (agents, the prober). */
#include "realize/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "model/jsonin.h"
#include "pki/ca.h"
#include "realize/compile.h"
#include "realize/netns.h"
#include "realize/nft.h"
#include "realize/nl.h"
#include "realize/storage.h"

#define FABRIC_GW "169.254.0.1" /* the fabric's side of every link */
#define DNSMASQ "/usr/sbin/dnsmasq"
#define AGENT_READY_S 15 /* how long `up` waits for the agents to answer after starting them */

const char *cluster_ns(char *buf, size_t n, const char *cluster, const char *host)
{
	snprintf(buf, n, "minet-%s-%s", cluster, host);
	return buf;
}

const char *cluster_dir(char *buf, size_t n, const char *cluster)
{
	snprintf(buf, n, STATE_ROOT "/%s", cluster);
	return buf;
}

static int fail(FILE *msg, const char *what, int err)
{
	fprintf(msg, "minet: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

static int write_file(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int rc = w == (ssize_t)len && fsync(fd) == 0 ? 0 : -EIO;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	return rc;
}

/* Write a sysctl inside the namespace behind nsfd. */
static int sysctl_in(int nsfd, const char *key, const char *value)
{
	char path[256];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc;
	if (self < 0)
		return -errno;
	if ((rc = netns_enter(nsfd)) == 0) {
		snprintf(path, sizeof(path), "/proc/sys/net/%s", key);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		rc = fd < 0 ? -errno : write(fd, value, strlen(value)) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		netns_enter(self);
	}
	close(self);
	return rc;
}

pid_t cluster_spawn(int nsfd, char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid)
		return pid;
	setsid();
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (null >= 0)
		dup2(null, 0);
	if (nsfd >= 0 && netns_enter(nsfd) < 0)
		_exit(127);
	execv(argv[0], argv);
	dprintf(2, "minet: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Can the fabric connect to addr:port? (A TCP probe, from the host VIP.) */
static bool tcp_probe(u128 from, u128 addr, int port, int timeout_ms)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl((uint32_t)from) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl((uint32_t)addr) };
	bool ok = false;
	bind(s, (struct sockaddr *)&src, sizeof(src));
	if (connect(s, (struct sockaddr *)&dst, sizeof(dst)) == 0) {
		ok = true;
	} else if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = s, .events = POLLOUT };
		int err = 0;
		socklen_t len = sizeof(err);
		if (poll(&p, 1, timeout_ms) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && !err)
			ok = true;
	}
	close(s);
	return ok;
}


/* ---- the routing table of the subnet, in the fabric ---- */

static int install_routes(const struct lab *lab, struct nl *nl, uint32_t table, FILE *msg)
{
	struct lab_route *r;
	size_t n;
	if (compile_routes(lab, &r, &n) < 0)
		return fail(msg, "routes", ENOMEM);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		enum nl_route_type t = r[i].action == LR_THROW ? NLR_THROW : r[i].action == LR_BLACKHOLE ? NLR_BLACKHOLE
													: NLR_UNICAST;
		rc = nl_route_add(nl, table, t, r[i].prefix.lo, r[i].prefix.len, r[i].action == LR_VIA ? r[i].via_link : NULL,
				  r[i].action == LR_VIA, r[i].via, r[i].action == LR_VIA);
		if (rc < 0) {
			char c[CIDR_STRLEN];
			fprintf(msg, "minet: route %s (%s): %s\n", cidr_format(&r[i].prefix, c), r[i].why, strerror(-rc));
		}
	}
	free(r);
	return rc < 0 ? -1 : 0;
}

/* ---- up ---- */

struct up {
	const struct lab *lab;
	char dir[256];
	int fabric_fd;
	int *fd; /* per host */
	struct nl *fnl;
	FILE *msg;
};

static int make_pki(struct up *u)
{
	char pki[300], err[256], san[256], a[ADDR_STRLEN], m[ADDR_STRLEN];
	snprintf(pki, sizeof(pki), "%s/pki", u->dir);
	struct pki_init_opts io = { .name = "minet lab CA" };
	if (pki_init(pki, &io, err, sizeof(err)) < 0) {
		fprintf(u->msg, "minet: pki: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < u->lab->nnodes; i++) {
		const struct lab_host *h = &u->lab->hosts[i];
		snprintf(san, sizeof(san), "DNS:%s,IP:%s,IP:%s", h->name, addr_format(h->addr, a),
			 addr_format(u->lab->mgmt_ip, m));
		struct pki_issue_opts o = { .role = PKI_ROLE_AGENT, .san = san };
		if (pki_issue(pki, h->name, &o, err, sizeof(err)) < 0) {
			fprintf(u->msg, "minet: pki: %s\n", err);
			return -1;
		}
	}
	struct pki_issue_opts o = { .role = PKI_ROLE_MGMT };
	if (pki_issue(pki, "operator", &o, err, sizeof(err)) < 0) {
		fprintf(u->msg, "minet: pki: %s\n", err);
		return -1;
	}
	return 0;
}

static int make_host(struct up *u, size_t i)
{
	const struct lab_host *h = &u->lab->hosts[i];
	char ns[128];
	u128 gw;
	int rc;
	addr_parse(FABRIC_GW, &gw);
	cluster_ns(ns, sizeof(ns), u->lab->name, h->name);
	if ((rc = netns_add(ns)) < 0 || (u->fd[i] = netns_open(ns)) < 0)
		return fail(u->msg, ns, rc < 0 ? rc : u->fd[i]);
	struct nl *hnl = nl_open(u->fd[i]);
	if (!hnl)
		return fail(u->msg, ns, errno);
	const char *step = "veth";
	if ((rc = nl_veth(u->fnl, h->name, "eth0", u->fd[i])) < 0 || (step = "link up", rc = nl_link_up(u->fnl, h->name)) < 0 ||
	    (step = "fabric address", rc = nl_addr_add(u->fnl, h->name, gw, 32)) < 0 ||
	    (step = "fabric route", rc = nl_route_add(u->fnl, 254, NLR_UNICAST, h->addr, 32, h->name, false, 0, false)) < 0 ||
	    (step = "loopback", rc = nl_link_up(hnl, "lo")) < 0 || (step = "eth0 up", rc = nl_link_up(hnl, "eth0")) < 0 ||
	    (step = "address", rc = nl_addr_add(hnl, "eth0", h->addr, 32)) < 0 ||
	    (step = "default route", rc = nl_route_add(hnl, 254, NLR_UNICAST, V4_BASE, 0, "eth0", true, gw, true)) < 0) {
		char what[128];
		snprintf(what, sizeof(what), "%s: %s", h->name, step);
		nl_close(hnl);
		return fail(u->msg, what, rc);
	}
	nl_close(hnl);
	return 0;
}

static int start_processes(struct up *u, const char *bindir, json_t *pids)
{
	char agent[512], self[512], log[512], pki[300], a[ADDR_STRLEN];
	char listen[5][64], cert[512], key[512], ca[512], crl[512];
	static const int ports[5] = { 9000, 9003, 1438, 1440, 1452 };
	snprintf(agent, sizeof(agent), "%s/minet-agent", bindir);
	snprintf(self, sizeof(self), "%s/minet", bindir);
	snprintf(pki, sizeof(pki), "%s/pki", u->dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(crl, sizeof(crl), "%s/crl.pem", pki);
	for (size_t i = 0; i < u->lab->nnodes; i++) {
		const struct lab_host *h = &u->lab->hosts[i];
		for (int k = 0; k < 5; k++)
			snprintf(listen[k], sizeof(listen[k]), "%s:%d", addr_format(h->addr, a), ports[k]);
		snprintf(cert, sizeof(cert), "%s/%s.pem", pki, h->name);
		snprintf(key, sizeof(key), "%s/%s.key", pki, h->name);
		snprintf(log, sizeof(log), "%s/logs/%s.log", u->dir, h->name);
		char hname[HOST_NAME_MAX_LEN + 1];
		snprintf(hname, sizeof(hname), "%s", h->name);
		char *argv[24 + 2 * 8] = { agent, "--name", hname, "--listen", listen[0], "--listen", listen[1],
				 "--listen", listen[2], "--listen", listen[3], "--listen", listen[4], "--cert", cert,
				 "--key", key, "--ca", ca, "--crl", crl, NULL };
		char sto[8][HOST_NAME_MAX_LEN + ADDR_STRLEN + 2], opt[] = "--storage";
		for (size_t k = 0, m = 0, n = 21; k < u->lab->nhosts && m < 8; k++) /* backup targets (agent/upload.c) */
			if (u->lab->hosts[k].role == ROLE_STORAGE) {
				snprintf(sto[m], sizeof(sto[m]), "%s=%s", u->lab->hosts[k].name, addr_format(u->lab->hosts[k].addr, a));
				argv[n++] = opt;
				argv[n++] = sto[m++];
				argv[n] = NULL;
			}
		pid_t pid = cluster_spawn(u->fd[i], argv, log);
		if (pid < 0)
			return fail(u->msg, "minet-agent", (int)pid);
		json_object_set_new(pids, h->name, json_integer(pid));
	}
	snprintf(log, sizeof(log), "%s/logs/lb.log", u->dir);
	char *argv[] = { self, "lbd", "--name", u->lab->name, NULL }; /* lab->name is ours: not const */
	pid_t pid = cluster_spawn(-1, argv, log);
	if (pid < 0)
		return fail(u->msg, "minet lbd", (int)pid);
	json_object_set_new(pids, "lbd", json_integer(pid));

	/* The DNS server of the naming scheme, in the fabric. */
	char pidfile[512];
	snprintf(log, sizeof(log), "%s/logs/dns.log", u->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", u->dir);
	char **dns = compile_dns(u->lab, DNSMASQ, pidfile);
	if (!dns)
		return fail(u->msg, "dns", ENOMEM);
	pid = cluster_spawn(u->fabric_fd, dns, log);
	compile_free_argv(dns);
	if (pid < 0)
		return fail(u->msg, DNSMASQ, (int)pid);
	json_object_set_new(pids, "dns", json_integer(pid));
	return storage_start(u->lab, u->fd, u->dir, bindir, pids, u->msg);
}

static json_t *state_json(const struct lab *lab, json_t *pids)
{
	char a[ADDR_STRLEN], ns[128];
	json_t *hosts = json_array();
	cluster_ns(ns, sizeof(ns), lab->name, "fabric");
	json_array_append_new(hosts, json_pack("{s:s, s:s, s:[s,s], s:s}", "name", "fabric", "role", "fabric",
					       "addresses", addr_format(lab->mgmt_ip, a), FABRIC_GW, "namespace", ns));
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		cluster_ns(ns, sizeof(ns), lab->name, h->name);
		json_array_append_new(hosts, json_pack("{s:s, s:s, s:[s], s:s}", "name", h->name, "role",
						       role_name(h->role), "addresses", addr_format(h->addr, a), "namespace", ns));
	}
	char d[ADDR_STRLEN], fqdn[256], vnet[256], worker[256], pub[256];
	json_t *dns = json_pack("{s:s, s:s, s:s, s:s, s:s}", "server", addr_format(lab->dns_addr, d), "instance",
				lab_dns_name(lab, DNS_FQDN, fqdn, sizeof(fqdn)), "workerVnet",
				lab_dns_name(lab, DNS_WORKER_VNET, vnet, sizeof(vnet)), "managementEndpoint",
				lab_dns_name(lab, DNS_WORKER, worker, sizeof(worker)), "publicEndpoint",
				lab_dns_name(lab, DNS_PUBLIC, pub, sizeof(pub)));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name", lab->name, "managementIp",
			 addr_format(lab->mgmt_ip, a), "region", lab->region, "pair", lab->pair, "dns", dns, "hosts", hosts,
			 "pids", json_incref(pids));
}

int cluster_up(const struct lab *lab, const char *topology_text, const char *bindir, FILE *msg)
{
	struct up u = { .lab = lab, .fabric_fd = -1, .msg = msg };
	char ns[128], path[512], *err = NULL, *script = NULL;
	json_t *pids = json_object(), *state = NULL;
	int rc;

	cluster_dir(u.dir, sizeof(u.dir), lab->name);
	cluster_ns(ns, sizeof(ns), lab->name, "fabric");
	if (access(u.dir, F_OK) == 0) {
		fprintf(msg, "minet: cluster '%s' is already up (minet down --name %s)\n", lab->name, lab->name);
		json_decref(pids);
		return -1;
	}
	/* Everything named minet-NAME-* is ours to remove on failure: refuse if any exists already. */
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "minet-%s-", lab->name);
	char **existing = netns_list(prefix);
	if (existing && existing[0]) {
		fprintf(msg, "minet: namespace %s exists already: is cluster '%s' up? (minet down --name %s)\n",
			existing[0], lab->name, lab->name);
		netns_list_free(existing);
		json_decref(pids);
		return -1;
	}
	netns_list_free(existing);
	if (mkdir(STATE_ROOT, 0755) < 0 && errno != EEXIST)
		return fail(msg, STATE_ROOT, errno);
	if (mkdir(u.dir, 0700) < 0) {
		if (errno == EEXIST)
			fprintf(msg, "minet: cluster '%s' is already up (minet down --name %s)\n", lab->name, lab->name);
		else
			fail(msg, u.dir, errno);
		json_decref(pids);
		return -1;
	}
	if (!(u.fd = calloc(lab->nhosts, sizeof(int))))
		goto rollback;
	for (size_t i = 0; i < lab->nhosts; i++)
		u.fd[i] = -1;
	snprintf(path, sizeof(path), "%s/logs", u.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/topology.json", u.dir);
	if ((rc = write_file(path, topology_text)) < 0) {
		fail(msg, path, rc);
		goto rollback;
	}
	if (make_pki(&u) < 0)
		goto rollback;

	/* The fabric and its own addresses: the management IP and the host VIP live on its loopback. */
	if ((rc = netns_add(ns)) < 0 || (u.fabric_fd = rc = netns_open(ns)) < 0) {
		fail(msg, ns, rc);
		goto rollback;
	}
	if (!(u.fnl = nl_open(u.fabric_fd))) {
		fail(msg, "netlink", errno);
		goto rollback;
	}
	if ((rc = nl_link_up(u.fnl, "lo")) < 0 || (rc = nl_addr_add(u.fnl, "lo", lab->mgmt_ip, 32)) < 0 ||
	    (rc = nl_addr_add(u.fnl, "lo", lab->host_vip, 32)) < 0 || (rc = nl_addr_add(u.fnl, "lo", lab->dns_addr, 32)) < 0) {
		fail(msg, "fabric addresses", rc);
		goto rollback;
	}
	for (size_t i = 0; i < lab->nhosts; i++)
		if (make_host(&u, i) < 0)
			goto rollback;

	/* Forwarding, and no reverse-path filter: forced tunnelling sends replies in by another link. */
	if ((rc = sysctl_in(u.fabric_fd, "ipv4/ip_forward", "1")) < 0 ||
	    (rc = sysctl_in(u.fabric_fd, "ipv4/conf/all/rp_filter", "0")) < 0 ||
	    (rc = sysctl_in(u.fabric_fd, "ipv4/conf/default/rp_filter", "0")) < 0) {
		fail(msg, "fabric sysctl", rc);
		goto rollback;
	}

	/* Rulesets: one transaction per namespace. */
	u128 *backends = malloc(lab->nnodes * sizeof(*backends));
	char *lb = NULL;
	for (size_t i = 0; backends && i < lab->nnodes; i++)
		backends[i] = lab->hosts[i].addr;
	if (!backends || !(script = compile_fabric(lab)) || !(lb = compile_lb(lab, backends, lab->nnodes))) {
		free(backends);
		free(lb);
		fail(msg, "compile", ENOMEM);
		goto rollback;
	}
	free(backends);
	char *all = malloc(strlen(script) + strlen(lb) + 1);
	if (all) {
		strcpy(all, script);
		strcat(all, lb);
	}
	free(lb);
	free(script);
	script = NULL;
	if (!all || nft_apply(u.fabric_fd, all, &err) < 0) {
		fprintf(msg, "minet: fabric ruleset: %s", err ? err : "out of memory\n");
		free(all);
		goto rollback;
	}
	free(all);
	if (!(script = compile_node(lab)))
		goto rollback;
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		const char *s = h->role == ROLE_NODE ? script : NULL;
		char *nva = h->role == ROLE_NVA ? compile_nva(lab) : NULL;
		if (h->role == ROLE_NVA)
			s = nva;
		if (h->role == ROLE_STORAGE) /* the storage account's firewall (realize/storage.h) */
			s = nva = storage_compile(lab, h);
		if (s && nft_apply(u.fd[i], s, &err) < 0) {
			fprintf(msg, "minet: %s ruleset: %s", h->name, err ? err : "\n");
			free(nva);
			goto rollback;
		}
		free(nva);
		if (h->role == ROLE_NVA && ((rc = sysctl_in(u.fd[i], "ipv4/ip_forward", "1")) < 0 ||
					    (rc = sysctl_in(u.fd[i], "ipv4/conf/all/rp_filter", "0")) < 0 ||
					    (rc = sysctl_in(u.fd[i], "netfilter/nf_conntrack_tcp_loose", "0")) < 0)) {
			fail(msg, "nva sysctl", rc);
			goto rollback;
		}
	}
	free(script);
	script = NULL;

	if (install_routes(lab, u.fnl, LAB_RT_TABLE, msg) < 0 ||
	    (rc = nl_rule_add(u.fnl, LAB_RT_PREF, LAB_RT_MARK, LAB_RT_TABLE)) < 0) {
		if (rc < 0)
			fail(msg, "ip rule", rc);
		goto rollback;
	}
	if (start_processes(&u, bindir, pids) < 0)
		goto rollback;

	/* Ready when every agent answers a TCP probe from the host VIP, within AGENT_READY_S of their start (the
	 * setup before it does not count: under a sanitizer on a loaded machine it alone can take seconds). An agent
	 * that exits is seen at once. */
	double t0 = monotonic_seconds();
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	netns_enter(u.fabric_fd);
	for (size_t i = 0; i < lab->nnodes; i++)
		while (!tcp_probe(lab->host_vip, lab->hosts[i].addr, lab->probe_port, 100)) {
			pid_t agent = (pid_t)json_integer_value(json_object_get(pids, lab->hosts[i].name));
			if (monotonic_seconds() - t0 > AGENT_READY_S || waitpid(agent, NULL, WNOHANG) == agent) {
				netns_enter(self);
				close(self);
				fprintf(msg, "minet: the agent of %s does not answer (see %s/logs/%s.log)\n",
					lab->hosts[i].name, u.dir, lab->hosts[i].name);
				goto rollback;
			}
			usleep(5000);
		}
	netns_enter(self);
	close(self);

	state = state_json(lab, pids);
	snprintf(path, sizeof(path), "%s/state.json", u.dir);
	char *text = jsonin_dumps(state, JSON_INDENT(2));
	rc = text ? write_file(path, text) : -ENOMEM;
	free(text);
	if (rc < 0) {
		fail(msg, path, rc);
		goto rollback;
	}
	json_decref(state);
	json_decref(pids);
	nl_close(u.fnl);
	close(u.fabric_fd);
	for (size_t i = 0; i < lab->nhosts; i++)
		close(u.fd[i]);
	free(u.fd);
	return 0;

rollback:
	free(script);
	free(err);
	json_decref(state);
	{ /* what was started is not in state.json yet: stop it here */
		const char *key;
		json_t *v;
		json_object_foreach(pids, key, v) {
			pid_t pid = (pid_t)json_integer_value(v);
			if (pid > 1 && kill(pid, SIGKILL) == 0)
				waitpid(pid, NULL, 0);
		}
	}
	json_decref(pids);
	nl_close(u.fnl);
	if (u.fabric_fd >= 0)
		close(u.fabric_fd);
	for (size_t i = 0; u.fd && i < lab->nhosts; i++)
		if (u.fd[i] >= 0)
			close(u.fd[i]);
	free(u.fd);
	fprintf(msg, "minet: up failed; removing what was made\n");
	cluster_down(lab->name, msg);
	return -1;
}

/* ---- down ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int cluster_down(const char *name, FILE *msg)
{
	char prefix[128], dir[256], path[300];
	int rc = 0;
	/* Processes first (by their records, then whatever else lives in the namespaces). */
	cluster_dir(dir, sizeof(dir), name);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	struct diag d = { 0 };
	json_t *state = jsonin_load_file(path, 1 << 20, &d);
	json_t *pids = json_object_get(state, "pids"), *v;
	const char *key;
	json_object_foreach(pids, key, v) {
		pid_t pid = (pid_t)json_integer_value(v);
		if (pid > 1)
			kill(pid, SIGTERM);
	}
	json_decref(state);
	snprintf(prefix, sizeof(prefix), "minet-%s-", name);
	char **names = netns_list(prefix);
	for (char **p = names; p && *p; p++)
		netns_kill_all(*p, SIGKILL);
	for (char **p = names; p && *p; p++) {
		int r = netns_del(*p);
		if (r < 0) {
			fail(msg, *p, r);
			rc = -1;
		}
	}
	netns_list_free(names);
	/* The prober lives in the fabric namespace too, but give stray children a moment, then reap. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
		fail(msg, dir, errno);
		rc = -1;
	}
	return rc;
}

/* ---- later verbs ---- */

int cluster_load(struct lab *lab, const char *name, char **topology_text, FILE *msg)
{
	char dir[256], path[300];
	struct diag d = { .out = msg };
	size_t len;
	cluster_dir(dir, sizeof(dir), name);
	snprintf(path, sizeof(path), "%s/topology.json", dir);
	if (access(path, R_OK) < 0) {
		fprintf(msg, "minet: no cluster '%s' is up (%s: %s)\n", name, path, strerror(errno));
		return -1;
	}
	d.file = path;
	char *text = jsonin_read_file(path, 64u << 20, 0, &len, &d);
	if (!text)
		return -1;
	int rc = lab_load(lab, text, len, path, name, &d);
	if (topology_text && !rc)
		*topology_text = text;
	else
		free(text);
	return rc;
}

int cluster_save(const struct lab *lab, FILE *msg)
{
	char dir[256], path[300];
	struct diag d = { .out = msg };
	size_t len;
	cluster_dir(dir, sizeof(dir), lab->name);
	snprintf(path, sizeof(path), "%s/topology.json", dir);
	char *text = jsonin_read_file(path, 64u << 20, 0, &len, &d);
	json_t *root = text ? jsonin_load_buf(text, len, &d) : NULL;
	free(text);
	if (!root)
		return -1;
	json_object_set(root, "nsg", lab->nsg_json);
	json_object_set(root, "routes", lab->routes_json);
	text = jsonin_dumps(root, JSON_INDENT(2));
	json_decref(root);
	int rc = text ? write_file(path, text) : -ENOMEM;
	free(text);
	return rc < 0 ? fail(msg, path, rc) : 0;
}

static int open_fabric(const struct lab *lab, FILE *msg)
{
	char ns[128];
	int fd = netns_open(cluster_ns(ns, sizeof(ns), lab->name, "fabric"));
	if (fd < 0)
		fail(msg, ns, fd);
	return fd;
}

int cluster_apply_nsg(const struct lab *lab, FILE *msg)
{
	char *err = NULL, *script = compile_nsg(lab);
	int fd = open_fabric(lab, msg), rc = -1;
	if (fd >= 0 && script) {
		rc = nft_apply(fd, script, &err);
		if (rc < 0)
			fprintf(msg, "minet: the fabric refused the ruleset (nothing changed): %s", err ? err : "\n");
	}
	free(err);
	free(script);
	if (fd >= 0)
		close(fd);
	return rc;
}

int cluster_apply_routes(const struct lab *lab, FILE *msg)
{
	/* The new routes go into a spare table; one rule switch makes them live, then the main copy is rebuilt
	 * and switched back. Packets always meet one complete table. */
	int fd = open_fabric(lab, msg), rc = -1, r;
	struct nl *nl = fd >= 0 ? nl_open(fd) : NULL;
	uint32_t spare = LAB_RT_TABLE + 1;
	if (!nl)
		goto out;
	if ((r = nl_table_flush(nl, spare)) < 0) {
		fail(msg, "flush spare table", r);
		goto out;
	}
	if (install_routes(lab, nl, spare, msg) < 0)
		goto out;
	if ((r = nl_rule_add(nl, LAB_RT_PREF - 1, LAB_RT_MARK, spare)) < 0) {
		fail(msg, "ip rule", r);
		goto out;
	}
	nl_rule_del(nl, LAB_RT_PREF);
	if ((r = nl_table_flush(nl, LAB_RT_TABLE)) < 0) {
		fail(msg, "flush table", r);
		goto out; /* the spare table stays in force: consistent */
	}
	if (install_routes(lab, nl, LAB_RT_TABLE, msg) < 0)
		goto out;
	if ((r = nl_rule_add(nl, LAB_RT_PREF, LAB_RT_MARK, LAB_RT_TABLE)) < 0) {
		fail(msg, "ip rule", r);
		goto out;
	}
	nl_rule_del(nl, LAB_RT_PREF - 1);
	nl_table_flush(nl, spare);
	/* VirtualNetwork follows the routes: re-install the NSG with the new sets. */
	rc = cluster_apply_nsg(lab, msg);
out:
	nl_close(nl);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the prober ---- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

int cluster_lbd(const char *name, FILE *msg)
{
	struct lab lab;
	char dir[256], path[300], a[ADDR_STRLEN];
	if (cluster_load(&lab, name, NULL, msg) < 0)
		return -1;
	int fd = open_fabric(&lab, msg);
	if (fd < 0 || netns_enter(fd) < 0) {
		lab_free(&lab);
		return -1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	cluster_dir(dir, sizeof(dir), name);
	snprintf(path, sizeof(path), "%s/lb.json", dir);
	size_t n = lab.nnodes;
	int *fails = calloc(n, sizeof(int));
	bool *healthy = calloc(n, sizeof(bool));
	u128 *up = calloc(n, sizeof(u128));
	for (size_t i = 0; i < n; i++)
		healthy[i] = true; /* as up() installed the balancer */
	fprintf(msg, "lbd: probing %zu nodes on port %d every %d ms from %s, out after %d failures\n", n,
		lab.probe_port, lab.probe_interval_ms, addr_format(lab.host_vip, a), lab.probe_threshold);
	fflush(msg);
	while (!stop) {
		double t0 = monotonic_seconds();
		bool changed = false;
		if (access(dir, F_OK) < 0) { /* the cluster was taken down under us */
			fprintf(msg, "lbd: %s is gone; exiting\n", dir);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			bool ok = tcp_probe(lab.host_vip, lab.hosts[i].addr, lab.probe_port,
					    lab.probe_interval_ms / 2 < 1000 ? lab.probe_interval_ms / 2 : 1000);
			fails[i] = ok ? 0 : fails[i] + 1;
			bool h = ok ? true : fails[i] >= lab.probe_threshold ? false : healthy[i];
			if (h != healthy[i]) {
				fprintf(msg, "lbd: %s %s\n", lab.hosts[i].name, h ? "is healthy again" : "leaves the backend set");
				healthy[i] = h;
				changed = true;
			}
		}
		json_t *st = json_array();
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (healthy[i])
				up[k++] = lab.hosts[i].addr;
			json_array_append_new(st, json_pack("{s:s, s:s, s:b, s:i}", "name", lab.hosts[i].name, "address",
							    addr_format(lab.hosts[i].addr, a), "healthy", healthy[i],
							    "failures", fails[i]));
		}
		if (changed) {
			char *err = NULL, *script = compile_lb(&lab, up, k);
			if (!script || nft_apply(-1, script, &err) < 0)
				fprintf(msg, "lbd: cannot update the balancer: %s", err ? err : "out of memory\n");
			free(err);
			free(script);
		}
		json_t *doc = json_pack("{s:o, s:i}", "backends", st, "healthy", (int)k);
		char *text = jsonin_dumps(doc, JSON_INDENT(2));
		if (text)
			write_file(path, text);
		free(text);
		json_decref(doc);
		fflush(msg);
		double left = lab.probe_interval_ms / 1000.0 - (monotonic_seconds() - t0);
		if (left > 0 && !stop)
			usleep((useconds_t)(left * 1e6));
	}
	free(fails);
	free(healthy);
	free(up);
	close(fd);
	lab_free(&lab);
	return 0;
}

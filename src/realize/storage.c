/* The lab's storage hosts: Azurite and the storage account firewall (storage.h). */
#include "realize/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "model/jsonin.h"
#include "model/storagefw.h"
#include "pki/ca.h"
#include "realize/cluster.h"
#include "realize/netns.h"
#include "realize/nft.h"
#include "realize/sb.h"

bool storage_same_region(const struct lab *lab, const struct lab_host *h)
{
	char name[128];
	snprintf(name, sizeof(name), "AzureCloud.%s", lab->region);
	const struct service_tag *t = tagdb_find(&lab->tags, name);
	return t && ipset_contains(&t->set, h->addr);
}

char *storage_compile(const struct lab *lab, const struct lab_host *h)
{
	struct sb b = { 0 };
	struct storagefw fw;
	struct diag d = { .out = NULL, .file = h->name };
	char c[CIDR_STRLEN], sub[CIDR_STRLEN];
	bool have = h->network_rule_set != NULL;
	if (have && sfw_load_json(&fw, h->network_rule_set, h->name, &d) < 0)
		return NULL;
	bool same = storage_same_region(lab, h);
	const char *deflt = !have || fw.default_allow ? "accept" : "reject with tcp reset";
	sb_printf(&b, "# storage account firewall of %s (%s region): %s\n"
		      "add table ip " STORAGE_TABLE "\ndelete table ip " STORAGE_TABLE "\nadd table ip " STORAGE_TABLE "\n",
		  h->name, same ? "the lab's" : "another", !have ? "none, every request allowed"
			   : fw.default_allow ? "defaultAction Allow" : "defaultAction Deny");
	sb_printf(&b, "add chain ip " STORAGE_TABLE " same_region\n");
	for (size_t i = 0; have && i < fw.nvnet; i++)
		if (!strcasecmp(fw.vnet[i].id, LAB_SUBNET_ID) && !strcasecmp(fw.vnet[i].state, "Succeeded"))
			sb_printf(&b, "add rule ip " STORAGE_TABLE " same_region ip saddr %s accept comment \"%s\"\n",
				  cidr_format(&lab->subnet, sub), fw.vnet[i].json_path);
	sb_printf(&b, "add rule ip " STORAGE_TABLE " same_region %s comment \"defaultAction\"\n", deflt);
	sb_printf(&b, "add chain ip " STORAGE_TABLE " input { type filter hook input priority filter; policy accept; }\n"
		      "add rule ip " STORAGE_TABLE " input ct state established,related accept\n"
		      "add rule ip " STORAGE_TABLE " input iif lo accept\n"
		      "add rule ip " STORAGE_TABLE " input tcp dport != 443 accept\n");
	if (same) {
		sb_printf(&b, "add rule ip " STORAGE_TABLE " input ip saddr { ");
		/* the VNet's ranges: those requests are not NATed, and IP rules have no effect on them */
		char *csv = strdup(lab->vnet_csv), *save = NULL, *t;
		int k = 0;
		for (t = csv ? strtok_r(csv, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
			struct cidr v;
			const char *why;
			if (cidr_parse(t, &v, &why) == 0 && v.v4)
				sb_printf(&b, "%s%s", k++ ? ", " : "", cidr_format(&v, c));
		}
		free(csv);
		if (!k)
			b.failed = true;
		sb_printf(&b, " } jump same_region comment \"same region: IP rules have no effect\"\n");
	}
	for (size_t i = 0; have && i < fw.nip; i++)
		sb_printf(&b, "add rule ip " STORAGE_TABLE " input ip saddr %s accept comment \"%s\"\n",
			  cidr_format(&fw.ip[i].cidr, c), fw.ip[i].json_path);
	sb_printf(&b, "add rule ip " STORAGE_TABLE " input %s comment \"defaultAction\"\n", deflt);
	if (have)
		sfw_free(&fw);
	return sb_take(&b);
}

const char *storage_azurite(const char *bindir, char *buf, size_t n)
{
	static const char *const up[] = { "/..", "/../../.." , "/../.." };
	const char *env = getenv("MINET_AZURITE");
	if (env && access(env, R_OK) == 0) {
		snprintf(buf, n, "%s", env);
		return buf;
	}
	for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		snprintf(buf, n, "%s%s/lab/azurite/node_modules/azurite/dist/src/blob/main.js", bindir, up[i]);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

static bool listening(int nsfd, u128 addr, int port)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	bool ok = false;
	if (self < 0 || netns_enter(nsfd) < 0)
		goto out;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl((uint32_t)addr) };
	ok = s >= 0 && connect(s, (struct sockaddr *)&dst, sizeof(dst)) == 0;
	if (s >= 0)
		close(s);
	netns_enter(self);
out:
	if (self >= 0)
		close(self);
	return ok;
}

/* A certificate from the cluster's CA for host h (its name and address as SANs): cert and key (400 bytes each) get
 * the paths. 0 or -1 (reported). */
static int host_cert(const char *pki, const struct lab_host *h, char *cert, char *key, FILE *msg)
{
	char san[200], err[256], a[ADDR_STRLEN];
	snprintf(san, sizeof(san), "DNS:%s,IP:%s", h->name, addr_format(h->addr, a));
	struct pki_issue_opts o = { .role = PKI_ROLE_AGENT, .san = san };
	if (pki_issue(pki, h->name, &o, err, sizeof(err)) < 0) {
		fprintf(msg, "minet: pki: %s\n", err);
		return -1;
	}
	snprintf(cert, 400, "%s/%s.pem", pki, h->name);
	snprintf(key, 400, "%s/%s.key", pki, h->name);
	return 0;
}

/* Start argv (what: its name in messages) in h's namespace, logging to DIR/logs/HOST.log; its pid goes into pids
 * as "TAG-HOST". 0 or -1 (reported). */
static int host_start(int nsfd, const struct lab_host *h, char *const argv[], const char *what, const char *tag,
		      const char *dir, json_t *pids, FILE *msg)
{
	char log[400], k[64];
	snprintf(log, sizeof(log), "%s/logs/%s.log", dir, h->name);
	pid_t pid = cluster_spawn(nsfd, argv, log);
	if (pid < 0) {
		fprintf(msg, "minet: %s: cannot start %s: %s\n", h->name, what, strerror((int)-pid));
		return -1;
	}
	snprintf(k, sizeof(k), "%s-%s", tag, h->name);
	json_object_set_new(pids, k, json_integer(pid));
	return 0;
}

int storage_start(const struct lab *lab, const int *fds, const char *dir, const char *bindir, json_t *pids, FILE *msg)
{
	char js[600], pki[300], cert[400], key[400], loc[400], a[ADDR_STRLEN];
	bool any = false, azurite = true;
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	/* The seed's other dependencies (AzureActiveDirectory, AzureMonitor, EventHub, AzureCloud): a trivial HTTPS
	 * service on 443 (openssl s_server -www) with a certificate from the cluster's CA. */
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		any |= h->role == ROLE_STORAGE;
		if (h->role != ROLE_SERVICE)
			continue;
		if (host_cert(pki, h, cert, key, msg) < 0)
			return -1;
		char acc[80], exe[] = "/usr/bin/openssl", sv[] = "s_server", q[] = "-quiet", www[] = "-www",
		     oa[] = "-accept", oc[] = "-cert", ok[] = "-key";
		snprintf(acc, sizeof(acc), "%s:443", addr_format(h->addr, a));
		char *argv[] = { exe, sv, q, www, oa, acc, oc, cert, ok, key, NULL };
		if (host_start(fds[i], h, argv, "openssl s_server", "https", dir, pids, msg) < 0)
			return -1;
	}
	if (any && !storage_azurite(bindir, js, sizeof(js))) {
		fprintf(msg, "minet: Azurite is not installed (sh scripts/install-deps): the storage hosts serve no blobs\n");
		azurite = false;
	}
	snprintf(loc, sizeof(loc), "%s/storage", dir);
	mkdir(loc, 0700);
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		if (h->role != ROLE_STORAGE || !azurite)
			continue;
		if (host_cert(pki, h, cert, key, msg) < 0)
			return -1;
		snprintf(loc, sizeof(loc), "%s/storage/%s", dir, h->name);
		mkdir(loc, 0700);
		char node[] = "/usr/bin/node", port[] = "443";
		addr_format(h->addr, a);
		char *argv[] = { node, js, "--blobHost", a, "--blobPort", port, "--cert", cert, "--key", key,
				 "--location", loc, "--skipApiVersionCheck", "--loose", "--silent", NULL };
		if (host_start(fds[i], h, argv, "Azurite", "azurite", dir, pids, msg) < 0)
			return -1;
	}
	double t0 = monotonic_seconds();
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		while (((h->role == ROLE_STORAGE && azurite) || h->role == ROLE_SERVICE) && !listening(fds[i], h->addr, 443)) {
			if (monotonic_seconds() - t0 > 30) {
				fprintf(msg, "minet: %s does not answer on 443 (see %s/logs/%s.log)\n", h->name, dir, h->name);
				return -1;
			}
			usleep(20000);
		}
	}
	return 0;
}

/* Record the host's rule set in the cluster's topology.json (atomically: a temporary file renamed). */
static int save(const struct lab *lab, const struct lab_host *h, FILE *msg)
{
	char dir[256], path[300], tmp[320];
	struct diag d = { .out = msg };
	cluster_dir(dir, sizeof(dir), lab->name);
	snprintf(path, sizeof(path), "%s/topology.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	d.file = path;
	json_t *root = jsonin_load_file(path, 64u << 20, &d), *x;
	size_t i;
	int rc = -1;
	if (!root)
		return -1;
	json_array_foreach(json_object_get(root, "hosts"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "name")) ?: "", h->name)) {
			if (h->network_rule_set)
				json_object_set(x, "networkRuleSet", h->network_rule_set);
			else
				json_object_del(x, "networkRuleSet");
		}
	if (json_dump_file(root, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0)
		rc = 0;
	else
		fprintf(msg, "minet: %s: %s\n", path, strerror(errno));
	json_decref(root);
	return rc;
}

int storage_apply(struct lab *lab, const char *host, const char *file, FILE *msg)
{
	struct lab_host *h = NULL;
	for (size_t i = 0; i < lab->nhosts; i++)
		if (!strcmp(lab->hosts[i].name, host))
			h = &lab->hosts[i];
	if (!h || h->role != ROLE_STORAGE) {
		fprintf(msg, "minet apply: '%s' is not a storage host of cluster '%s' (storage hosts:", host, lab->name);
		for (size_t i = 0; i < lab->nhosts; i++)
			if (lab->hosts[i].role == ROLE_STORAGE)
				fprintf(msg, " %s", lab->hosts[i].name);
		fprintf(msg, ")\n");
		return -1;
	}
	struct diag d = { .out = msg, .file = file };
	struct storagefw fw;
	json_t *doc = jsonin_load_file(file, SFW_MAX_BYTES, &d);
	if (!doc || sfw_load_json(&fw, doc, file, &d) < 0) {
		json_decref(doc);
		return -1;
	}
	sfw_free(&fw);
	const char *rp;
	json_t *old = h->network_rule_set, *whole = doc;
	doc = json_incref(sfw_find_ruleset(whole, &rp)); /* kept: the rule set alone */
	json_decref(whole);
	h->network_rule_set = doc;
	char *script = storage_compile(lab, h), *err = NULL, ns[128];
	int fd = netns_open(cluster_ns(ns, sizeof(ns), lab->name, h->name)), rc = -2;
	if (fd < 0)
		fprintf(msg, "minet: %s: %s\n", ns, strerror(-fd));
	else if (!script || nft_apply(fd, script, &err) < 0)
		fprintf(msg, "minet: %s refused the ruleset (nothing changed): %s", h->name, err ? err : "out of memory\n");
	else if (save(lab, h, msg) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	free(err);
	free(script);
	if (rc < 0) {
		h->network_rule_set = old;
		json_decref(doc);
	} else {
		json_decref(old);
	}
	return rc;
}

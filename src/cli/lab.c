/* The running system's verbs: up, down, status, exec, apply, compile, topology (and lbd, the prober). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/heap.h"
#include "cli/verbs.h"
#include "model/jsonin.h"
#include "realize/cluster.h"
#include "realize/compile.h"
#include "realize/netns.h"
#include "realize/storage.h"

extern const char default_topology[];

static bool need_root(const char *verb)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "minet %s: needs root (it makes network namespaces, links and nftables rulesets); "
			"run it as root or with sudo\n", verb);
	return false;
}

/* The topology text: a file, or the built-in default. */
static char *topology_text(const char *file, size_t *len)
{
	if (!file) {
		*len = strlen(default_topology);
		return strdup(default_topology);
	}
	struct diag d = { .out = stderr, .file = file };
	return jsonin_read_file(file, 64u << 20, 0, len, &d);
}

static int load_topology(struct lab *lab, const char *file, const char *name, char **text)
{
	size_t len;
	struct diag d = { .out = stderr };
	if (!(*text = topology_text(file, &len)))
		return -1;
	if (lab_load(lab, *text, len, file ? file : "(default topology)", name, &d) < 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	/* Keep the resolved name in what is saved. */
	json_t *root = jsonin_load_buf(*text, len, &d);
	json_object_set_new(root, "name", json_string(lab->name));
	char *out = jsonin_dumps(root, JSON_INDENT(2));
	json_decref(root);
	free(*text);
	*text = out;
	return out ? 0 : -1;
}

/* The directory of this executable: minet-agent lives beside it. */
static void bindir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	buf[len > 0 ? len : 0] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
}

/* ---- status (also printed by up) ---- */

static json_t *read_json(const char *name, const char *file)
{
	char dir[256], path[300];
	struct diag d = { 0 };
	snprintf(path, sizeof(path), "%s/%s", cluster_dir(dir, sizeof(dir), name), file);
	return jsonin_load_file(path, 16u << 20, &d);
}

static int print_status(const char *name, bool json)
{
	json_t *st = read_json(name, "state.json"), *lb = read_json(name, "lb.json");
	if (!st) {
		fprintf(stderr, "minet: no cluster '%s' is up\n", name);
		json_decref(lb);
		return 1;
	}
	json_t *hosts = json_object_get(st, "hosts"), *h;
	size_t i;
	json_array_foreach(hosts, i, h) {
		char path[256];
		snprintf(path, sizeof(path), NETNS_DIR "/%s", json_string_value(json_object_get(h, "namespace")));
		json_object_set_new(h, "running", json_boolean(access(path, F_OK) == 0));
	}
	if (lb)
		json_object_set(st, "loadBalancer", lb);
	json_t *fq = json_object_get(json_object_get(st, "dns"), "instance");
	if (fq)
		json_object_set(st, "fqdn", fq); /* the instance name the lab's DNS serves (minet mgmt-ip FQDN) */
	json_object_set_new(st, "subnetId", json_string(LAB_SUBNET_ID)); /* for storage virtual network rules */
	if (json) {
		json_object_del(st, "pids");
		if (heap_print_json(st, JSON_INDENT(2), "minet status") < 0) {
			json_decref(st);
			json_decref(lb);
			return 1;
		}
	} else {
		printf("cluster '%s': management endpoint %s (TCP %s), region %s, pair %s\n", name,
		       json_string_value(json_object_get(st, "managementIp")), LAB_MGMT_PORTS,
		       json_string_value(json_object_get(st, "region")), json_string_value(json_object_get(st, "pair")));
		json_t *dns = json_object_get(st, "dns");
		if (dns)
			printf("DNS server %s: %s -> CNAME %s; without \".vnet\": %s = the management IP\n",
			       json_string_value(json_object_get(dns, "server")),
			       json_string_value(json_object_get(dns, "instance")),
			       json_string_value(json_object_get(dns, "workerVnet")),
			       json_string_value(json_object_get(dns, "managementEndpoint")));
		printf("  %-12s %-11s %-16s %s\n", "HOST", "ROLE", "ADDRESS", "NAMESPACE");
		json_array_foreach(hosts, i, h) {
			const char *hn = json_string_value(json_object_get(h, "name"));
			const char *health = "";
			json_t *b, *backs = json_object_get(lb, "backends");
			size_t k;
			json_array_foreach(backs, k, b)
				if (!strcmp(json_string_value(json_object_get(b, "name")), hn))
					health = json_is_true(json_object_get(b, "healthy")) ? "  (in the balancer)"
											      : "  (out of the balancer)";
			printf("  %-12s %-11s %-16s %s%s%s\n", hn, json_string_value(json_object_get(h, "role")),
			       json_string_value(json_array_get(json_object_get(h, "addresses"), 0)),
			       json_string_value(json_object_get(h, "namespace")),
			       json_is_true(json_object_get(h, "running")) ? "" : "  MISSING", health);
		}
	}
	json_decref(st);
	json_decref(lb);
	return 0;
}

/* ---- verbs ---- */

/* "[TOPOLOGY.json] [--name N]": 1 to go on, 0 after --help, -1 on misuse (usage printed). */
static int topology_args(int argc, char **argv, const char *usage, const char **file, const char **name)
{
	const struct arg args[] = { ARG_STR("name", name), ARGS_END };
	int first = args_parse(argv[0], argc, argv, args, 1, usage);
	if (first < 0)
		return first == ARGS_HELP ? 0 : -1;
	if (first < argc)
		*file = argv[first];
	return 1;
}

static const char up_usage[] =
	"usage: minet up [TOPOLOGY.json] [--name N]\n"
	"Brings the managed instance's connectivity architecture up on this machine: every host a network\n"
	"namespace (minet-N-HOST), every rule real nftables, the node agents speaking mutual TLS. Without a\n"
	"topology, the built-in one (minet topology --default). Needs root.\n";

int cmd_up(int argc, char **argv)
{
	const char *name = NULL, *file = NULL;
	int r = topology_args(argc, argv, up_usage, &file, &name);
	if (r <= 0)
		return r ? 2 : 0;
	if (!need_root("up"))
		return 2;
	struct lab lab;
	char *text, dir[512];
	double t0 = monotonic_seconds();
	if (load_topology(&lab, file, name, &text) < 0)
		return 2;
	bindir(dir, sizeof(dir));
	int rc = cluster_up(&lab, text, dir, stderr);
	double t = monotonic_seconds() - t0;
	if (!rc) {
		printf("cluster '%s' is up in %.2f s\n", lab.name, t);
		print_status(lab.name, false);
		char m[ADDR_STRLEN], pki[300];
		snprintf(pki, sizeof(pki), STATE_ROOT "/%s/pki", lab.name);
		printf("try:  minet exec sqlmgmt --name %s -- minet mgmt %s:9000 GET /v1/status --cert %s/operator.pem "
		       "--key %s/operator.key --ca %s/ca.pem\n", lab.name, addr_format(lab.mgmt_ip, m), pki, pki, pki);
	}
	free(text);
	lab_free(&lab);
	return rc ? 1 : 0;
}

/* "[--name N]", and --json where json is not NULL: as topology_args. */
static int name_only(int argc, char **argv, const char *usage, const char **name, bool *json)
{
	struct arg args[] = { ARG_STR("name", name), ARG_FLAG("json", json), ARGS_END };
	if (!json)
		args[1] = (struct arg)ARGS_END;
	int first = args_parse(argv[0], argc, argv, args, 0, usage);
	return first < 0 ? (first == ARGS_HELP ? 0 : -1) : 1;
}

int cmd_down(int argc, char **argv)
{
	static const char usage[] = "usage: minet down [--name N]\nRemoves everything `minet up` made: "
				    "processes, namespaces (and their links), files. Needs root.\n";
	const char *name = "mi";
	int r = name_only(argc, argv, usage, &name, NULL);
	if (r <= 0)
		return r ? 2 : 0;
	if (!need_root("down"))
		return 2;
	double t0 = monotonic_seconds();
	int rc = cluster_down(name, stderr);
	printf("cluster '%s' is down (%.2f s)\n", name, monotonic_seconds() - t0);
	return rc ? 1 : 0;
}

int cmd_status(int argc, char **argv)
{
	static const char usage[] = "usage: minet status [--name N] [--json]\n";
	const char *name = "mi";
	bool json = false;
	int r = name_only(argc, argv, usage, &name, &json);
	if (r <= 0)
		return r ? 2 : 0;
	return print_status(name, json);
}

int cmd_exec(int argc, char **argv)
{
	static const char usage[] = "usage: minet exec HOST [--name N] -- CMD [ARG…]\n"
				    "Runs a command inside a host's namespace; exits with its status. Needs root.\n";
	const char *name = "mi", *host = NULL;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return fputs(usage, stdout), 0;
		else if (!host && argv[i][0] != '-')
			host = argv[i];
		else
			return fputs(usage, stderr), 2;
	}
	if (!host || i + 1 >= argc)
		return fputs(usage, stderr), 2;
	if (!need_root("exec"))
		return 2;
	char ns[128];
	int fd = netns_open(cluster_ns(ns, sizeof(ns), name, host));
	if (fd < 0) {
		fprintf(stderr, "minet exec: no host '%s' in cluster '%s' (%s: %s)\n", host, name, ns, strerror(-fd));
		return 2;
	}
	if (netns_enter(fd) < 0) {
		perror("minet exec: setns");
		return 2;
	}
	close(fd);
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "minet exec: %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}

static int apply_storage(const char *name, const char *host, const char *file, const char *usage)
{
	struct lab lab;
	if (!file) {
		fputs(usage, stderr);
		return 2;
	}
	if (!need_root("apply"))
		return 2;
	if (cluster_load(&lab, name, NULL, stderr) < 0)
		return 2;
	int rc = storage_apply(&lab, host, file, stderr);
	if (!rc)
		printf("cluster '%s': the storage account firewall of %s is now %s\n", name, host, file);
	lab_free(&lab);
	return rc == 0 ? 0 : rc == -1 ? 2 : 1;
}

int cmd_apply(int argc, char **argv)
{
	static const char usage[] =
		"usage: minet apply [--name N] (--nsg F | --routes F | --storage HOST F)\n"
		"Replaces the subnet's NSG or route table on a running cluster, atomically. A bad file changes nothing.\n"
		"--storage HOST F: the storage account firewall of a storage host (`az storage account show` output, its\n"
		"networkRuleSet, or an ARM storage account), enforced with nftables in that host (same-region rule).\n";
	const char *name = "mi", *nsg = NULL, *routes = NULL, *storage = NULL;
	const struct arg args[] = { ARG_STR("name", &name), ARG_STR("nsg", &nsg), ARG_STR("routes", &routes),
				    ARG_STR("storage", &storage), ARGS_END };
	int first = args_parse("apply", argc, argv, args, 1, usage);
	if (first < 0)
		return args_exit(first);
	if (storage) /* minet apply --storage HOST FILE (realize/storage.h) */
		return apply_storage(name, storage, first == argc - 1 && !nsg && !routes ? argv[first] : NULL, usage);
	if (first < argc || !nsg == !routes) {
		fputs(usage, stderr);
		return 2;
	}
	if (!need_root("apply"))
		return 2;
	struct lab lab;
	struct diag d = { .out = stderr, .file = nsg ? nsg : routes };
	if (cluster_load(&lab, name, NULL, stderr) < 0)
		return 2;
	json_t *doc = jsonin_load_file(nsg ? nsg : routes, 16u << 20, &d);
	int rc = 2;
	if (!doc || (nsg ? lab_set_nsg(&lab, doc, nsg, &d) : lab_set_routes(&lab, doc, routes, &d)) < 0)
		goto out; /* nothing was touched */
	rc = 1;
	if ((nsg ? cluster_apply_nsg(&lab, stderr) : cluster_apply_routes(&lab, stderr)) < 0 || cluster_save(&lab, stderr) < 0)
		goto out;
	printf("cluster '%s': the subnet's %s is now %s\n", name, nsg ? "NSG" : "route table", nsg ? nsg : routes);
	rc = 0;
out:
	json_decref(doc);
	lab_free(&lab);
	return rc;
}

int cmd_compile(int argc, char **argv)
{
	static const char usage[] = "usage: minet compile [TOPOLOGY.json] [--name N]\n"
				    "Prints the nftables rulesets and routes `minet up` would install.\n";
	const char *name = NULL, *file = NULL;
	int r = topology_args(argc, argv, usage, &file, &name);
	if (r <= 0)
		return r ? 2 : 0;
	struct lab lab;
	char *text, ns[128], c1[CIDR_STRLEN], a[ADDR_STRLEN];
	if (load_topology(&lab, file, name, &text) < 0)
		return 2;
	u128 *backends = calloc(lab.nnodes, sizeof(*backends));
	for (size_t i = 0; i < lab.nnodes; i++)
		backends[i] = lab.hosts[i].addr;
	char *fabric = compile_fabric(&lab), *lb = compile_lb(&lab, backends, lab.nnodes), *node = compile_node(&lab),
	     *nva = compile_nva(&lab);
	struct lab_route *rt = NULL;
	size_t n = 0;
	compile_routes(&lab, &rt, &n);
	printf("# ==== %s: nftables (one transaction)\n%s%s", cluster_ns(ns, sizeof(ns), lab.name, "fabric"), fabric, lb);
	printf("# ==== %s: routes of table %d, used by packets from the MI subnet (ip rule fwmark 0x%x lookup %d)\n", ns,
	       LAB_RT_TABLE, LAB_RT_MARK, LAB_RT_TABLE);
	for (size_t i = 0; i < n; i++) {
		const char *what = rt[i].action == LR_THROW ? "throw" : rt[i].action == LR_BLACKHOLE ? "blackhole" : "unicast";
		printf("%s %s", what, cidr_format(&rt[i].prefix, c1));
		if (rt[i].action == LR_VIA)
			printf(" via %s dev %s onlink", addr_format(rt[i].via, a), rt[i].via_link);
		printf(" table %d  # %s\n", LAB_RT_TABLE, rt[i].why);
	}
	for (size_t i = 0; i < lab.nhosts; i++) {
		const struct lab_host *h = &lab.hosts[i];
		if (h->role == ROLE_NODE)
			printf("# ==== %s: nftables\n%s", cluster_ns(ns, sizeof(ns), lab.name, h->name), node);
		else if (h->role == ROLE_NVA)
			printf("# ==== %s: nftables\n%s", cluster_ns(ns, sizeof(ns), lab.name, h->name), nva);
	}
	free(backends);
	free(fabric);
	free(lb);
	free(node);
	free(nva);
	free(rt);
	free(text);
	lab_free(&lab);
	return 0;
}

int cmd_topology(int argc, char **argv)
{
	static const char usage[] = "usage: minet topology --default [--export DIR]\n"
				    "Prints the built-in topology; --export writes its tags.json, nsg.json and routes.json\n"
				    "(for minet flow, route and verify on the lab: add --host-vip with its hostVip).\n";
	const char *dir = NULL;
	bool def = false;
	const struct arg args[] = { ARG_FLAG("default", &def), ARG_STR("export", &dir), ARGS_END };
	int first = args_parse("topology", argc, argv, args, 0, usage);
	if (first < 0)
		return args_exit(first);
	if (!def) {
		fputs(usage, stderr);
		return 2;
	}
	if (!dir) {
		fputs(default_topology, stdout);
		return 0;
	}
	struct diag d = { .out = stderr, .file = "(default topology)" };
	json_t *root = jsonin_load_buf(default_topology, strlen(default_topology), &d);
	static const char *const parts[] = { "tags", "nsg", "routes" };
	mkdir(dir, 0755);
	for (int i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.json", dir, parts[i]);
		if (json_dump_file(json_object_get(root, parts[i]), path, JSON_INDENT(2)) < 0) {
			fprintf(stderr, "minet topology: cannot write %s\n", path);
			json_decref(root);
			return 1;
		}
	}
	json_decref(root);
	return 0;
}

int cmd_lbd(int argc, char **argv)
{
	const char *name = "mi";
	int r = name_only(argc, argv, "usage: minet lbd --name N   (started by minet up)\n", &name, NULL);
	if (r <= 0)
		return r ? 2 : 0;
	return cluster_lbd(name, stdout) < 0 ? 1 : 0;
}

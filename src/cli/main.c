/* minet — the connectivity plane of Azure SQL Managed Instance (pre-November-2022), analyzed and emulated.
 * main() only dispatches: each verb lives in its own file (wireguard-tools style). */
#include <stdio.h>
#include <string.h>

#include "cli/verbs.h"
#include "model/jsonfast.h"
#include "model/jsonin.h"

#ifndef MINET_VERSION
#define MINET_VERSION "0.1"
#endif

static const struct verb verbs[] = {
	{ "flow",  cmd_flow,  "is this flow allowed by the NSGs, and by which rule" },
	{ "route", cmd_route, "the next hop of a destination under the route table" },
	{ "verify", cmd_verify, "prove the subnet keeps its mandatory management traffic" },
	{ "tags", cmd_tags, "service tags: which tags hold an address, diff two files, show one for a firewall" },
	{ "up", cmd_up, "bring the cluster up: hosts, fabric, load balancer, firewalls, agents (root)" },
	{ "down", cmd_down, "remove everything `up` made (root)" },
	{ "status", cmd_status, "the hosts of a running cluster and the balancer's backends" },
	{ "exec", cmd_exec, "run a command inside a host (root)" },
	{ "apply", cmd_apply, "replace the subnet's NSG or route table on a running cluster (root)" },
	{ "compile", cmd_compile, "print the rulesets and routes `up` would install" },
	{ "topology", cmd_topology, "print or export the built-in topology" },
	{ "pki",   cmd_pki,   "the cluster's certificate authority: init, issue, revoke, crl, list" },
	{ "mgmt",  cmd_mgmt,  "a mutual-TLS management client for the node agents" },
	{ "mgmt-ip", cmd_mgmtip, "the management endpoint's public IP from an instance's FQDN (DNS)" },
	{ "lbd", cmd_lbd, NULL }, /* the prober, started by up */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: minet <verb> [options]   (minet <verb> --help for a verb's options)\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].summary)
			fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
}

int main(int argc, char **argv)
{
	jsonin_watch_allocs();
	jsonfast_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("minet %s\n", MINET_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "minet: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

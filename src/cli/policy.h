/* The policy options shared by the analyzer verbs (--tags, --vnet, --routes, --nsg, --nic-nsg) and
 * loading them into one validated model, in dependency order: tags, route table, address world, NSGs. */
#ifndef MINET_CLI_POLICY_H
#define MINET_CLI_POLICY_H

#include <getopt.h>

#include "model/nsg.h"
#include "model/routes.h"

#define MAX_TAG_FILES 16

struct policy_args {
	const char *tags[MAX_TAG_FILES];
	int ntags;
	const char *vnet, *routes, *nsg, *nic_nsg, *host_vip;
	const char *parameters; /* --parameters: an ARM deploymentParameters file for template inputs */
};

struct policy {
	struct tagdb tags;
	struct route_table rt;
	struct netenv env;
	struct nsg nsg, nic;
	bool has_rt, has_nsg, has_nic;
};

/* Long options, values >= 1000 so verbs can add their own below. */
enum { OPT_TAGS = 1000, OPT_VNET, OPT_ROUTES, OPT_NSG, OPT_NIC_NSG, OPT_HOST_VIP, OPT_PARAMETERS };
#define POLICY_LONG_OPTIONS                                                                                  \
	{ "tags", required_argument, NULL, OPT_TAGS }, { "vnet", required_argument, NULL, OPT_VNET },         \
	{ "routes", required_argument, NULL, OPT_ROUTES }, { "nsg", required_argument, NULL, OPT_NSG },      \
	{ "nic-nsg", required_argument, NULL, OPT_NIC_NSG }, { "host-vip", required_argument, NULL, OPT_HOST_VIP }, \
	{ "parameters", required_argument, NULL, OPT_PARAMETERS }

/* Take one of the options above; 1 if it was one, 0 if not, -1 on misuse (reported). */
int policy_opt(struct policy_args *a, int opt, const char *arg);

/* Load everything given. Every error is printed to stderr, naming the file and place. 0 or -1. */
int policy_load(struct policy *p, const struct policy_args *a);
void policy_free(struct policy *p);

#endif

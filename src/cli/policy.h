/* The policy options shared by the analyzer verbs (--tags, --vnet, --routes, --nsg, --nic-nsg) and
 * loading them into one validated model, in dependency order: tags, route table, address world, NSGs. */
#ifndef MINET_CLI_POLICY_H
#define MINET_CLI_POLICY_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "cli/args.h"

#include "model/asg.h"
#include "model/nsg.h"
#include "model/routes.h"

#define MAX_TAG_FILES 16

struct policy_args {
	const char *tags[MAX_TAG_FILES];
	int ntags;
	const char *vnet, *routes, *nsg, *nic_nsg, *host_vip, *asg;
	const char *parameters; /* --parameters: an ARM deploymentParameters file for template inputs */
	bool short_run;         /* the process exits after its answer: read on cli/heap.h's memory */
};

struct policy {
	struct tagdb tags;
	struct route_table rt;
	struct netenv env;
	struct nsg nsg, nic;
	struct asg_map asg;
	bool has_rt, has_nsg, has_nic, has_asg;
	bool effective_nsg; /* --nsg held effective security rules: nsg is the subnet's, nic the NIC's */
};

/* The options that fill a struct policy_args, as entries of a verb's args.h table. */
#define POLICY_ARGS(a)                                                                                        \
	ARG_LIST("tags", (a)->tags, &(a)->ntags, MAX_TAG_FILES), ARG_STR("vnet", &(a)->vnet),                   \
	ARG_STR("routes", &(a)->routes), ARG_STR("nsg", &(a)->nsg), ARG_STR("nic-nsg", &(a)->nic_nsg),          \
	ARG_STR("host-vip", &(a)->host_vip), ARG_STR("asg", &(a)->asg), ARG_STR("parameters", &(a)->parameters)

/* Load only the tags files (--tags, else MINET_TAGS) into db; errors printed. 0 or -1. */
int policy_load_tags(struct tagdb *db, const struct policy_args *a);

/* Every note of the NSGs in force (rules naming application security groups minet has no members for), one a
 * line, each prefixed with `prefix`. */
void policy_print_notes(const struct policy *p, FILE *out, const char *prefix);

/* Load everything given. Every error is printed to stderr, naming the file and place. 0 or -1. */
int policy_load(struct policy *p, const struct policy_args *a);
void policy_free(struct policy *p);

/* Warn about each Service Tags file of db older than TAGS_STALE_DAYS (model/tags.h): the mandatory routes and
 * rules follow the current ranges. On stderr as `who`, or, when into is an array, as objects {file, date,
 * estimated, ageDays, message} appended to it (--json, --sarif carry them in their output). Returns the count. */
int tags_warn_stale(const struct tagdb *db, const char *who, json_t *into);

#endif

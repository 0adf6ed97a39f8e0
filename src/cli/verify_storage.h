/* minet verify --storage-account: the options and the report of storage firewall predictions
 * (analysis/storage.h), kept apart from verify.c. */
#ifndef MINET_CLI_VERIFY_STORAGE_H
#define MINET_CLI_VERIFY_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/args.h"
#include "model/addr.h"

#define STORAGE_MAX_ACCOUNTS 32

#define STORAGE_USAGE                                                                                           \
	"--storage-account SA.json [--storage-region R] (repeatable) --management-ip IP [--subnet-id ID]:\n"   \
	"  predict whether backups and audit logs pass each storage account's firewall (`az storage account\n" \
	"  show` output, its networkRuleSet, or an ARM resource), which source the account sees and why.\n"   \
	"  --storage-region pairs with the --storage-account before it (default: the file's location).\n"      \
	"  --subnet-id: the subnet's resource id, matched against virtual network rules.\n"

struct storage_args {
	const char *files[STORAGE_MAX_ACCOUNTS];
	const char *regions[STORAGE_MAX_ACCOUNTS];
	size_t n;
	const char *mgmt_ip;
	const char *subnet_id;
	bool bad;
};

/* --storage-account and --storage-region, which pairs with the account before it (args.h A_FN). */
int storage_account_arg(void *a, const char *file);
int storage_region_arg(void *a, const char *region);

/* The options that fill a struct storage_args, as entries of a verb's args.h table. */
#define STORAGE_ARGS(a)                                                                                      \
	ARG_FN("storage-account", a, storage_account_arg), ARG_FN("storage-region", a, storage_region_arg),     \
	ARG_STR("management-ip", &(a)->mgmt_ip), ARG_STR("subnet-id", &(a)->subnet_id)

/* Predict every account given. Returns the number that refuse (0 when none was given), or -1 on bad input
 * (reported on stderr). *json gets an array of predictions (NULL when no account was given). */
int storage_run(const struct storage_args *a, const char *region, const struct cidr *subnet, json_t **json);

/* The text section for the predictions in json. */
void storage_print(FILE *f, json_t *json);

#endif

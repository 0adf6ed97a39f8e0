/* The firewall of a storage account (its network rule set), read from what `az storage account show` prints
 * (`networkRuleSet`), the same object alone (`--query networkRuleSet`), or the ARM/REST resource
 * (`properties.networkAcls`), and the documented evaluation of a request against it.
 *
 * Source: Microsoft Learn, "Configure Azure Storage firewalls and virtual networks"
 * (https://learn.microsoft.com/azure/storage/common/storage-network-security): the default action applies when no
 * rule matches; IP network rules allow public IPv4 addresses or ranges (no RFC 1918 ranges, no /31 or /32);
 * virtual network rules allow a subnet; and "IP network rules have no effect on requests that originate from the
 * same Azure region as the storage account. Use Virtual network rules to allow same-region requests." */
#ifndef MINET_STORAGEFW_H
#define MINET_STORAGEFW_H

#include <jansson.h>
#include <stdbool.h>

#include "model/addr.h"
#include "model/diag.h"

struct sfw_ip_rule {
	struct cidr cidr;
	char *text;      /* as written */
	char *json_path;
};

struct sfw_vnet_rule {
	char *id;        /* the subnet's resource id, as written */
	char *state;     /* "Succeeded" when absent */
	char *json_path;
};

struct storagefw {
	char *name;      /* the account's name, or the file name */
	char *file;
	char *location;  /* location/primaryLocation when the file has it, else NULL */
	bool default_allow;
	char *bypass;    /* as written ("AzureServices" when absent, Azure's default) */
	struct sfw_ip_rule *ip;
	size_t nip;
	struct sfw_vnet_rule *vnet;
	size_t nvnet;
};

#define SFW_MAX_BYTES (4u << 20)
#define SFW_MAX_IP_RULES 400   /* Azure: at most 400 IP network rules per account */
#define SFW_MAX_VNET_RULES 400 /* Azure: at most 400 virtual network rules per account */

/* Parse and validate. 0 and a complete model, or -1 with every error reported (fw left empty). */
int sfw_load_file(struct storagefw *fw, const char *path, struct diag *d);
int sfw_load_json(struct storagefw *fw, json_t *root, const char *file, struct diag *d);
void sfw_free(struct storagefw *fw);
/* The rule set object inside root (root itself, networkRuleSet, or properties.networkAcls; borrowed), its JSON
 * path in *path; NULL when there is none. */
json_t *sfw_find_ruleset(json_t *root, const char **path);

/* Where a request comes from, as the account sees it. */
struct sfw_request {
	bool same_region;      /* the client is in the account's region */
	u128 src;              /* the source address the account sees */
	const char *subnet_id; /* the client's subnet resource id (NULL: unknown / not from a VNet) */
};

/* The verdict on one request: allowed or not, and by what ("defaultAction Allow", "ipRules[1] 198.51.100.10",
 * "virtualNetworkRules[0]", "defaultAction Deny"). rule_index is the matching rule's index or -1. */
struct sfw_verdict {
	bool allow;
	enum { SFW_BY_DEFAULT, SFW_BY_IP_RULE, SFW_BY_VNET_RULE } by;
	int rule_index;
	bool ip_rules_skipped; /* same region: IP rules were not considered */
};
void sfw_evaluate(const struct storagefw *fw, const struct sfw_request *rq, struct sfw_verdict *v);

/* Region names compare as Azure's do: "West Europe" == "westeurope" (case and spaces ignored). */
bool sfw_same_region(const char *a, const char *b);

#endif

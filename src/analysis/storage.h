/* Will the instance's backups and audit logs pass a storage account's firewall? The seed: connections that start
 * inside the instance appear to come from the management endpoint's public IP (outbound SNAT), except traffic to
 * Azure services in the same region, which is not NATed — "if you need IP-based firewall rules, most commonly for
 * storage, the service needs to be in a different region". The account's side is storagefw.h. */
#ifndef MINET_ANALYSIS_STORAGE_H
#define MINET_ANALYSIS_STORAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "model/addr.h"
#include "model/storagefw.h"

struct storage_input {
	const char *region;    /* the instance's region */
	struct cidr subnet;    /* the instance's subnet */
	u128 mgmt_ip;          /* the management endpoint's public IP (the SNAT address) */
	const char *subnet_id; /* the subnet's resource id, for virtual network rules (NULL: unknown) */
};

struct storage_prediction {
	const struct storagefw *fw;
	const char *account_region;
	bool same_region;
	bool passes;
	struct sfw_verdict verdict;
	u128 source;             /* the address the account sees */
	const char *source_kind; /* "managementIp" or "privateAddress" */
	char reason[768];
	char advice[256];        /* empty when it passes */
};

/* Predict one account. account_region is the account's region (its location). */
void storage_predict(const struct storage_input *in, const struct storagefw *fw, const char *account_region,
		     struct storage_prediction *out);

/* {"account","file","region","sameRegion","passes","source","sourceKind","decidedBy","reason","advice"} */
json_t *storage_prediction_json(const struct storage_prediction *p);

#endif

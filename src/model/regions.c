/* The table of Azure region pairs.
 *
 * Source, read 2026-12-04 from the Markdown sources of Microsoft's pages (MicrosoftDocs on GitHub):
 *  - "List of Azure regions", learn.microsoft.com/azure/reliability/regions-list (MicrosoftDocs/reliability-docs
 *    articles/reliability/regions-list.md, ms.date 09/23/2025, commit 01021ab80d1a): the public cloud's "Paired
 *    region" column (N/A = nonpaired) and the programmatic names. The current revision of "Azure region pairs and
 *    nonpaired regions" (learn.microsoft.com/azure/reliability/regions-paired, formerly
 *    cross-region-replication-azure and best-practices-availability-paired-regions; reliability-docs, ms.date
 *    03/19/2025, commit 18e963b5ad0e) lists the asymmetric public pairs and refers to that list for the rest.
 *  - The previous revision of regions-paired (MicrosoftDocs/azure-docs articles/reliability/regions-paired.md,
 *    ms.date 01/13/2025, commit 09462cd47dca), whose own table of pairs still held Sweden South and the US
 *    Government and US DoD rows; its US Gov rows (Arizona -> Texas, Texas <-> Virginia) are repeated by the
 *    current localized regions-paired page (learn.microsoft.com/zh-cn/azure/reliability/regions-paired).
 *  - China: "Azure regions list" of Azure operated by 21Vianet, docs.azure.cn/en-us/reliability/regions-list
 *    (also learn.microsoft.com/azure/china/overview-regions), no revision date shown.
 * Asymmetric pairs as published: Brazil South -> South Central US, Brazil Southeast -> Brazil South, West India ->
 * South India, West US 3 -> East US, US Gov Arizona -> US Gov Texas; the reverse directions pair elsewhere.
 * Regions the list gives as N/A (nonpaired) have a NULL pair.
 * Not covered by these pages: Jio India Central and Jio India West (restricted regions, on none of them); their
 * rows are [inference] (the pairing ARM reports in the locations' metadata, not checked against a page). Regions
 * in none of the pages (retired US Gov Iowa, staging/EUAP locations) are left out: region_pair returns NULL. */
#include "model/regions.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

static const struct {
	const char *region, *pair;
} pairs[] = {
	/* Americas */
	{ "brazilsouth", "southcentralus" },
	{ "brazilsoutheast", "brazilsouth" },
	{ "canadacentral", "canadaeast" },
	{ "canadaeast", "canadacentral" },
	{ "centralus", "eastus2" },
	{ "eastus", "westus" },
	{ "eastus2", "centralus" },
	{ "northcentralus", "southcentralus" },
	{ "southcentralus", "northcentralus" },
	{ "westcentralus", "westus2" },
	{ "westus", "eastus" },
	{ "westus2", "westcentralus" },
	{ "westus3", "eastus" },
	{ "chilecentral", NULL },
	{ "mexicocentral", NULL },
	/* Europe */
	{ "francecentral", "francesouth" },
	{ "francesouth", "francecentral" },
	{ "germanynorth", "germanywestcentral" },
	{ "germanywestcentral", "germanynorth" },
	{ "northeurope", "westeurope" },
	{ "westeurope", "northeurope" },
	{ "norwayeast", "norwaywest" },
	{ "norwaywest", "norwayeast" },
	{ "swedencentral", "swedensouth" },
	{ "swedensouth", "swedencentral" }, /* from the 01/2025 pair table: the 09/2025 list has no Sweden South row */
	{ "switzerlandnorth", "switzerlandwest" },
	{ "switzerlandwest", "switzerlandnorth" },
	{ "uksouth", "ukwest" },
	{ "ukwest", "uksouth" },
	{ "austriaeast", NULL },
	{ "belgiumcentral", NULL },
	{ "denmarkeast", NULL },
	{ "italynorth", NULL },
	{ "polandcentral", NULL },
	{ "spaincentral", NULL },
	/* Middle East and Africa */
	{ "southafricanorth", "southafricawest" },
	{ "southafricawest", "southafricanorth" },
	{ "uaecentral", "uaenorth" },
	{ "uaenorth", "uaecentral" },
	{ "israelcentral", NULL },
	{ "qatarcentral", NULL },
	/* Asia Pacific */
	{ "australiacentral", "australiacentral2" },
	{ "australiacentral2", "australiacentral" },
	{ "australiaeast", "australiasoutheast" },
	{ "australiasoutheast", "australiaeast" },
	{ "centralindia", "southindia" },
	{ "southindia", "centralindia" },
	{ "westindia", "southindia" },
	{ "eastasia", "southeastasia" },
	{ "southeastasia", "eastasia" },
	{ "japaneast", "japanwest" },
	{ "japanwest", "japaneast" },
	{ "koreacentral", "koreasouth" },
	{ "koreasouth", "koreacentral" },
	{ "indonesiacentral", NULL },
	{ "malaysiawest", NULL },
	{ "newzealandnorth", NULL },
	/* [inference] not on Microsoft's pages, see above */
	{ "jioindiacentral", "jioindiawest" },
	{ "jioindiawest", "jioindiacentral" },
	/* Azure operated by 21Vianet (China) */
	{ "chinaeast", "chinanorth" },
	{ "chinanorth", "chinaeast" },
	{ "chinaeast2", "chinanorth2" },
	{ "chinanorth2", "chinaeast2" },
	{ "chinaeast3", "chinanorth3" },
	{ "chinanorth3", "chinaeast3" },
	/* Azure Government */
	{ "usgovarizona", "usgovtexas" },
	{ "usgovtexas", "usgovvirginia" },
	{ "usgovvirginia", "usgovtexas" },
	{ "usdodcentral", "usdodeast" },
	{ "usdodeast", "usdodcentral" },
};

const char *region_pair(const char *region, bool *unpaired)
{
	char key[64];
	size_t n = 0;
	*unpaired = false;
	for (const char *p = region; *p && n + 1 < sizeof(key); p++)
		if (!isspace((unsigned char)*p))
			key[n++] = (char)tolower((unsigned char)*p);
	key[n] = 0;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(pairs[i].region, key)) {
			*unpaired = !pairs[i].pair;
			return pairs[i].pair;
		}
	return NULL;
}

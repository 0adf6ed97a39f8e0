/* The table of Azure region pairs.
 *
 * Source: Microsoft, "Azure region pairs and nonpaired regions" (Azure reliability documentation,
 * learn.microsoft.com/azure/reliability/regions-paired; formerly "Cross-region replication in Azure",
 * cross-region-replication-azure). Pairs are mostly symmetric; the asymmetric ones are as published:
 * Brazil South -> South Central US, West India -> South India, West US 3 -> East US, Brazil Southeast ->
 * Brazil South, and the reverse directions pair elsewhere. Sovereign clouds (US Gov, China) are included as
 * published. Regions listed as nonpaired have a NULL pair. */
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
	{ "swedensouth", "swedencentral" },
	{ "switzerlandnorth", "switzerlandwest" },
	{ "switzerlandwest", "switzerlandnorth" },
	{ "uksouth", "ukwest" },
	{ "ukwest", "uksouth" },
	/* Middle East and Africa */
	{ "qatarcentral", NULL },
	{ "southafricanorth", "southafricawest" },
	{ "southafricawest", "southafricanorth" },
	{ "uaecentral", "uaenorth" },
	{ "uaenorth", "uaecentral" },
	{ "israelcentral", NULL },
	/* Asia Pacific */
	{ "australiacentral", "australiacentral2" },
	{ "australiacentral2", "australiacentral" },
	{ "australiaeast", "australiasoutheast" },
	{ "australiasoutheast", "australiaeast" },
	{ "centralindia", "southindia" },
	{ "southindia", "centralindia" },
	{ "westindia", "southindia" },
	{ "jioindiacentral", "jioindiawest" },
	{ "jioindiawest", "jioindiacentral" },
	{ "eastasia", "southeastasia" },
	{ "southeastasia", "eastasia" },
	{ "japaneast", "japanwest" },
	{ "japanwest", "japaneast" },
	{ "koreacentral", "koreasouth" },
	{ "koreasouth", "koreacentral" },
	{ "newzealandnorth", NULL },
	{ "indonesiacentral", NULL },
	{ "malaysiawest", NULL },
	/* Nonpaired, newer regions */
	{ "italynorth", NULL },
	{ "polandcentral", NULL },
	{ "spaincentral", NULL },
	{ "mexicocentral", NULL },
	{ "austriaeast", NULL },
	{ "belgiumcentral", NULL },
	{ "chilecentral", NULL },
	/* Sovereign clouds */
	{ "chinaeast", "chinanorth" },
	{ "chinanorth", "chinaeast" },
	{ "chinaeast2", "chinanorth2" },
	{ "chinanorth2", "chinaeast2" },
	{ "chinaeast3", "chinanorth3" },
	{ "chinanorth3", "chinaeast3" },
	{ "usgovarizona", "usgovtexas" },
	{ "usgovtexas", "usgovarizona" },
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

/* Azure region pairs: the paired region of each region, for the contracts that name {P} (AzureCloud.<pair>,
 * EventHub.<pair>, Storage.<pair>). */
#ifndef MINET_REGIONS_H
#define MINET_REGIONS_H

#include <stdbool.h>

/* The pair of a region given by its programmatic name ("westeurope"; case and spaces ignored, so the display
 * name "West Europe" works too). NULL when the region is not in the table. *unpaired is set for a region that
 * Microsoft lists without a pair (the newer regions with availability zones). */
const char *region_pair(const char *region, bool *unpaired);

#endif

/* An estate: the virtual networks, network security groups and route tables of many subscriptions, as Azure
 * Resource Graph exports them (`az graph query -q "Resources | where type in~ (...)" -o json`):
 *   - an object with a "data" array (az's paged output: {"count", "data", "skip_token", "total_records"}),
 *   - a bare array of resources,
 *   - any number of those concatenated (pages appended to one file), and
 *   - JSON lines: one resource object a line.
 * Each resource keeps only what verification needs; the JSON of NSGs and route tables is kept compact, to be read
 * by the ordinary loaders per subnet (their rules depend on the subnet's address world): text takes a tenth of the
 * memory of a jansson tree. Resource ids match case-insensitively, as Azure's do. */
#ifndef MINET_ESTATE_H
#define MINET_ESTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/diag.h"

#define ESTATE_MAX_BYTES (4ull << 30)
#define MI_DELEGATION "Microsoft.Sql/managedInstances"

struct estate_blob {  /* an NSG or a route table */
	char *id;         /* as written */
	char *name;
	char *json;       /* {"name", "properties": {securityRules | routes, disableBgpRoutePropagation}}, compact */
};

struct estate_vnet {
	char *id, *name, *location;
	char *space;      /* addressSpace.addressPrefixes, comma-separated ("" when none) */
	char *peers;      /* remote address spaces of Connected peerings, comma-separated */
	char **peer_ids;  /* Connected peerings without remoteAddressSpace: the remote VNet's id, resolved later */
	size_t npeer_ids;
};

struct estate_subnet {
	size_t vnet;      /* index into vnets */
	char *id, *name;
	char *prefix;     /* addressPrefix (or the first of addressPrefixes); NULL when absent */
	char *nsg_id, *rt_id; /* NULL when none is associated */
	bool mi;          /* delegated to Microsoft.Sql/managedInstances */
	char *where;      /* its place in the input: "line L: data[i].properties.subnets[k]" */
};

struct estate_index {
	size_t *slot; /* 0 empty, else 1 + index */
	size_t n;
};

struct estate {
	struct estate_vnet *vnets;
	struct estate_subnet *subnets;
	struct estate_blob *nsgs, *rts;
	size_t nvnets, nsubnets, nnsgs, nrts, nmi;
	size_t cap[4];
	struct estate_index ivnet, insg, irt;
	size_t nrecords, nother; /* resources read; of other types (ignored) */
};

/* Read a whole file or buffer. 0, or -1 with every error reported to d (the file's place: line:column for
 * syntax, "line L: data[i].field" for meaning); on error the estate is left empty. A file of several values
 * (pages) is read on up to `threads` threads, with the same result and messages in the same order. */
int estate_load_file(struct estate *e, const char *path, int threads, struct diag *d);
int estate_load_buf(struct estate *e, const char *buf, size_t len, struct diag *d);

/* Look-ups by id (case-insensitive); NULL when the inventory does not hold it. */
const struct estate_blob *estate_nsg(const struct estate *e, const char *id);
const struct estate_blob *estate_rt(const struct estate *e, const char *id);
const struct estate_vnet *estate_vnet(const struct estate *e, const char *id);

void estate_free(struct estate *e);

#endif

/* Verifying every managed-instance subnet of an estate (model/estate.h) against the contracts of verify.h, with
 * one load of the service tags shared by all threads. Each subnet gets its own address world (its VNet's ranges
 * and those of its connected peerings, its route table's prefixes), route table and NSG, read from the
 * inventory by id; a referenced resource the inventory lacks, or one that does not load, is a finding of that
 * subnet, never an error of the run. */
#ifndef MINET_ANALYSIS_ESTATE_H
#define MINET_ANALYSIS_ESTATE_H

#include "analysis/verify.h"
#include "model/estate.h"

/* Findings of the estate itself (beside the contracts' violations). */
enum estate_issue {
	EI_MISSING,  /* "missing-resource": a referenced NSG, route table or peered VNet is not in the inventory */
	EI_INVALID,  /* "invalid-resource": the NSG or route table does not load (the loader's errors) */
	EI_NO_NSG,   /* "no-nsg": no NSG is associated with the subnet */
	EI_SUBNET,   /* "subnet": no address prefix, or the VNet's ranges do not make an address world */
	EI_REGION,   /* "region": the VNet's location is not in the table of region pairs */
};
const char *estate_issue_name(enum estate_issue k);

struct estate_finding {
	enum estate_issue kind;
	const char *ref;     /* the resource id it is about (NULL: the subnet) */
	char message[1024];
};

struct estate_result {
	const struct estate_subnet *s;
	const struct estate_vnet *vnet;
	const char *region, *pair; /* pair is region itself for a nonpaired region ([inference], see estate.c) */
	bool unpaired;
	const char *ranges;        /* the address world: the VNet's ranges, then its connected peerings', "a,b,…" */
	struct estate_finding *f;
	size_t nf;
	const struct verify_input *in;   /* NULL when the contracts could not be checked */
	const struct verify_report *rep; /* likewise */
	bool compliant;
};

struct estate_opts {
	const struct tagdb *tags;
	const struct contract_def *defs;
	size_t ndefs;
	bool strict;
	int threads; /* 0: every online core */
	/* Called once per managed-instance subnet, from a worker thread, with the index among the MI subnets (0..nmi)
	 * in inventory order; r and what it points to live only during the call. Must be thread-safe across
	 * different indices. Returns 0, or -1 to stop (out of memory). */
	int (*emit)(void *ctx, size_t index, const struct estate_result *r);
	void *ctx;
};

/* Verify every MI subnet. Returns the number that are not compliant (>= 0), or -1 when out of memory. */
long estate_verify(const struct estate *e, const struct estate_opts *o);

#endif

/* Contracts of a managed-instance subnet (the seed's mandatory NSG rules and routes, prior to November 2022)
 * and their exact verification: a contract holds iff every packet of its space is allowed by the NSGs in
 * force (subnet, then NIC if given; outbound NIC then subnet), or every address of its prefix set gets the
 * required next hop. Failures name each offending rule or route, the exact size of the failing region and one
 * packet that `minet flow` / `minet route` confirm. */
#ifndef MINET_VERIFY_H
#define MINET_VERIFY_H

#include "analysis/flow.h"
#include "analysis/nexthop.h"

enum contract_kind { CK_NSG_IN, CK_NSG_OUT, CK_ROUTE };

/* One row of a contract table. Address fields: a tag name, "S" for the subnet; "{R}" and "{P}" stand for the
 * region and its pair. protos PROTO_* (0 for routes); ports "a,b,c" or NULL for every port. */
struct contract_def {
	const char *id;
	enum contract_kind kind;
	const char *src, *dst;
	unsigned protos;
	const char *ports;
	enum next_hop hop;
	const char *intent; /* the mandatory rule or route it comes from, for --strict and reports */
	const char *service_rule; /* "provisioned" only: the kind in the name of the service's own rule for it
				   * (Microsoft.Sql-managedInstances_UseOnly_<kind>…), which --strict accepts as such */
};

/* "documented" (the seed's tables) or "provisioned" (the rules the service really created, §5.4:
 * CorpNetSaw also on 1440). NULL when unknown; *n gets the row count. */
const struct contract_def *contract_set(const char *name, size_t *n);

struct verify_input {
	const struct netenv *env;
	const struct nsg *nsg, *nic;      /* nic may be NULL */
	const struct route_table *rt;     /* may be NULL */
	struct cidr subnet;
	const char *region, *pair;
	const struct contract_def *defs;
	size_t ndefs;
	bool strict;
};

enum finding_kind { FK_NSG, FK_ROUTE, FK_INTENT, FK_SHADOWED, FK_VNET_TAG };

struct finding {
	enum finding_kind kind;
	const char *contract;          /* contract id (NULL for a shadowed-rule warning) */
	const struct nsg *nsg;         /* the NSG of the offending rule, if any */
	const struct nsg_rule *rule;   /* the offending rule (FK_NSG, FK_INTENT on NSGs, FK_SHADOWED) */
	const struct fib_route *route; /* the offending route (FK_ROUTE) */
	bool route_missing;            /* FK_INTENT on a route: the mandatory route is absent */
	u128 size;                     /* packets (NSG) or addresses (route) failing */
	struct flow example;           /* FK_NSG */
	u128 example_dst;              /* FK_ROUTE */
	char message[512];
};

struct contract_result {
	const struct contract_def *def;
	char src[64], dst[64];         /* the address fields with S, {R}, {P} resolved */
	bool holds;
};

struct verify_report {
	struct contract_result *contracts;
	size_t ncontracts;
	struct finding *violations, *warnings;
	size_t nviolations, nwarnings;
	struct fib fib;
};

/* Run every contract. 0 with the report filled (compliant iff no violations); -1 on bad input, reported to
 * stderr-like diag (unknown region, missing tag, subnet outside the VNet); -2 out of memory. */
int verify_run(const struct verify_input *in, struct verify_report *out, struct diag *d);
void verify_report_free(struct verify_report *r);

#endif

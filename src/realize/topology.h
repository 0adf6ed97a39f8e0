/* The lab: a topology (hosts, addresses, the subnet's policy) from a JSON file or the built-in default
 * (lab/default-topology.json), validated into one model before anything is touched. Pure: no Linux calls. */
#ifndef MINET_TOPOLOGY_H
#define MINET_TOPOLOGY_H

#include <jansson.h>

#include "model/nsg.h"
#include "model/routes.h"

enum role { ROLE_NODE, ROLE_SQLMGMT, ROLE_CORPSAW, ROLE_CORPPUBLIC, ROLE_INTERNET, ROLE_STORAGE, ROLE_SERVICE, ROLE_APP,
	    ROLE_NVA };
const char *role_name(enum role r);
/* Hosts whose link to the fabric is "the Internet" (emulated public addresses). */
static inline bool role_public(enum role r)
{
	return r >= ROLE_SQLMGMT && r <= ROLE_SERVICE; /* service: a dependency answering HTTPS on 443 (storage.h) */
}

#define HOST_NAME_MAX_LEN 15 /* it is also the fabric-side interface name */

struct lab_host {
	char name[HOST_NAME_MAX_LEN + 1];
	enum role role;
	u128 addr;
	json_t *network_rule_set; /* storage hosts: the account's firewall (realize/storage.h), or NULL */
};

struct lab {
	char *name;              /* cluster name: namespaces are minet-NAME-HOST */
	char *region, *pair;
	char *vnet_csv;
	struct cidr subnet;
	u128 mgmt_ip, host_vip;  /* host_vip stands for 168.63.129.16 in the lab */
	int probe_interval_ms, probe_threshold, probe_port;
	/* DNS naming (seed: "How to determine the IP address of the management endpoint") */
	char *instance, *dns_zone, *virtual_cluster;
	u128 dns_addr;
	struct lab_host *hosts;  /* nodes first (node0…), then the others */
	size_t nhosts, nnodes;
	json_t *tags_json, *nsg_json, *routes_json; /* as given, for apply and export */
	struct tagdb tags;
	struct route_table rt;
	struct netenv *env; /* on the heap: the NSG points into it, so it must not move */
	struct nsg nsg;
};

#define LAB_MAX_NODES 250
#define LAB_NAME_MAX 12 /* keeps namespace names short and readable */

/* Parse and validate a topology (text of a JSON document; file names the errors). name overrides the
 * topology's cluster name when not NULL. 0, or -1 with every error reported to d. */
int lab_load(struct lab *lab, const char *text, size_t len, const char *file, const char *name, struct diag *d);
void lab_free(struct lab *lab);

/* Replace the subnet's NSG or route table from a file, validated against the lab's tags and address world
 * (a new route table also changes VirtualNetwork, so the NSG is re-resolved). On error nothing changes. */
int lab_set_nsg(struct lab *lab, json_t *nsg, const char *file, struct diag *d);
int lab_set_routes(struct lab *lab, json_t *routes, const char *file, struct diag *d);

const struct lab_host *lab_host(const struct lab *lab, const char *name);

/* The instance's DNS names: the client FQDN <instance>.<zone>.database.windows.net, its CNAME target in the
 * ".worker.vnet." namespace, the same name without ".vnet" (the management endpoint), the public endpoint. */
enum lab_dns_name { DNS_FQDN, DNS_WORKER_VNET, DNS_WORKER, DNS_PUBLIC };
const char *lab_dns_name(const struct lab *lab, enum lab_dns_name which, char *buf, size_t n);

#endif

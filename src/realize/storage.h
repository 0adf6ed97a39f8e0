/* The lab's storage hosts: a real blob service (Azurite) on 443 with a certificate from the cluster's CA, and the
 * storage account's firewall (a networkRuleSet, model/storagefw.h) enforced with nftables in the host's namespace.
 *
 * Which requests are "from the same region": a storage host is in the lab's region when its address is in
 * AzureCloud.<region> — exactly the hosts the fabric does not SNAT to (compile.c). Requests from the virtual network
 * reach it with their private source address; for them IP rules have no effect and only a virtual network rule
 * naming the lab's subnet (LAB_SUBNET_ID) matches. Everything else (the other region's host; public clients) is
 * matched against the IP rules. A refused connection is reset ([lab] Azure answers 403 AuthorizationFailure). */
#ifndef MINET_REALIZE_STORAGE_H
#define MINET_REALIZE_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "realize/topology.h"

/* The lab subnet's resource id, for virtual network rules (`minet status` prints it). */
#define LAB_SUBNET_ID                                                                                        \
	"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/minet-lab/providers/"           \
	"Microsoft.Network/virtualNetworks/mi-vnet/subnets/mi-subnet"
#define STORAGE_TABLE "storage_fw"
/* Azurite's documented development account (devstoreaccount1) and its well-known key. */
#define STORAGE_ACCOUNT "devstoreaccount1"
#define STORAGE_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* Is this storage host in the lab's region (its address in AzureCloud.<region>)? */
bool storage_same_region(const struct lab *lab, const struct lab_host *h);

/* The nftables script that replaces the host's firewall (one transaction), from h->network_rule_set (NULL:
 * no firewall, every request allowed). NULL on out of memory or a rule set that does not validate. */
char *storage_compile(const struct lab *lab, const struct lab_host *h);

/* Where Azurite's blob service is (lab/azurite/node_modules, found from bindir upwards, or $MINET_AZURITE), or
 * NULL when it is not installed. */
const char *storage_azurite(const char *bindir, char *buf, size_t n);

/* up: for every storage host a certificate from the CA in dir/pki, then Azurite in its namespace (fds[i] the
 * namespace of lab->hosts[i]); for every service host (the seed's other dependencies) a trivial HTTPS server
 * (openssl s_server -www). The pids go into pids. Waits until each answers on 443. 0 or -1 (reported). */
int storage_start(const struct lab *lab, const int *fds, const char *dir, const char *bindir, json_t *pids, FILE *msg);

/* minet apply --storage HOST FILE: validate FILE, install its rule set on HOST atomically, record it in the
 * cluster's topology. 0, -1 bad input (nothing changed), -2 a failure applying it. */
int storage_apply(struct lab *lab, const char *host, const char *file, FILE *msg);

#endif

/* A running lab cluster: namespaces, links, addresses, routes, rulesets and processes, made by up() and
 * removed by down(), with its state under /run/minet/NAME. Functions return 0 or -1 with a message on the
 * given stream. Root only. */
#ifndef MINET_CLUSTER_H
#define MINET_CLUSTER_H

#include <stdio.h>
#include <sys/types.h>

#include "realize/topology.h"
#include "model/clock.h"

#define STATE_ROOT "/run/minet"

/* The namespace of a host ("fabric" included) of cluster name, into buf. */
const char *cluster_ns(char *buf, size_t n, const char *cluster, const char *host);
/* The cluster's state directory, into buf. */
const char *cluster_dir(char *buf, size_t n, const char *cluster);

/* Bring lab up; topology_text is saved for later verbs. bindir holds minet and minet-agent. On failure
 * everything made so far is removed again. */
int cluster_up(const struct lab *lab, const char *topology_text, const char *bindir, FILE *msg);
/* Remove everything of cluster name that exists, whatever state it is in. */
int cluster_down(const char *name, FILE *msg);
/* Load the lab of a running cluster from its saved topology. */
int cluster_load(struct lab *lab, const char *name, char **topology_text, FILE *msg);
/* Replace the subnet's NSG or route table of a running cluster (lab already holds the new one). */
int cluster_apply_nsg(const struct lab *lab, FILE *msg);
int cluster_apply_routes(const struct lab *lab, FILE *msg);
/* Save lab's policy back into the saved topology (after apply). */
int cluster_save(const struct lab *lab, FILE *msg);

/* The load balancer's prober: runs until SIGTERM (minet lbd). */
/* Start argv inside the namespace behind nsfd (-1: this one), detached, output to log. The pid or -errno. */
pid_t cluster_spawn(int nsfd, char *const argv[], const char *log);
int cluster_lbd(const char *name, FILE *msg);

#endif

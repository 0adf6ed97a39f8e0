/* Application security groups: which addresses are members of which ASG (`--asg FILE`), so that rules naming
 * sourceApplicationSecurityGroups / destinationApplicationSecurityGroups match those addresses.
 *
 * FILE is either
 *  - a JSON object {"ASG name or id": ["10.0.0.4", "10.0.0.5/32", …], …}, or
 *  - network interfaces as `az network nic list` / `az network nic show` / the REST API give them (a list, a
 *    {"value": […]} list or one NIC; fields flattened or under `properties`): each IP configuration's
 *    privateIPAddress is a member of every ASG in its applicationSecurityGroups.
 * A rule's ASG reference (an id) finds its entry by id, or else by name (the id's last segment), ignoring case. */
#ifndef MINET_ASG_H
#define MINET_ASG_H

#include <jansson.h>

#include "model/diag.h"
#include "model/ipset.h"

#define ASG_MAX_BYTES (64u << 20)

struct asg_entry {
	char *key; /* an ASG id or name, as the file gives it */
	struct ipset members;
};

struct asg_map {
	struct asg_entry *e;
	size_t n;
	char *file;
};

/* 0, or -1 with every error reported (m left empty). */
int asg_load_file(struct asg_map *m, const char *path, struct diag *d);
int asg_load_json(struct asg_map *m, json_t *root, const char *file, struct diag *d);
void asg_free(struct asg_map *m);

/* The entry for a rule's reference (an id, or a name), or NULL. */
const struct asg_entry *asg_find(const struct asg_map *m, const char *ref);

/* The last segment of an id ("…/applicationSecurityGroups/web" → "web"). */
const char *asg_name(const char *ref);

#endif

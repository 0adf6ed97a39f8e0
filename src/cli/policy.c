#include "cli/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/armtmpl.h"
#include "model/diag.h"
#include "model/jsonin.h"
#include "model/shapes.h"

int policy_opt(struct policy_args *a, int opt, const char *arg)
{
	switch (opt) {
	case OPT_TAGS:
		if (a->ntags == MAX_TAG_FILES) {
			fprintf(stderr, "minet: at most %d --tags files\n", MAX_TAG_FILES);
			return -1;
		}
		a->tags[a->ntags++] = arg;
		return 1;
	case OPT_VNET: a->vnet = arg; return 1;
	case OPT_ROUTES: a->routes = arg; return 1;
	case OPT_NSG: a->nsg = arg; return 1;
	case OPT_NIC_NSG: a->nic_nsg = arg; return 1;
	case OPT_HOST_VIP: a->host_vip = arg; return 1;
	case OPT_PARAMETERS: a->parameters = arg; return 1;
	default: return 0;
	}
}

/* Without --tags, the files named by MINET_TAGS (a ':'-separated list), so a user types them once. */
static void load_env_tags(struct tagdb *db, struct diag *d)
{
	const char *env = getenv("MINET_TAGS");
	if (!env || !*env)
		return;
	char *list = strdup(env), *save = NULL;
	if (!list) {
		diag_err(d, NULL, "out of memory");
		return;
	}
	for (char *f = strtok_r(list, ":", &save); f; f = strtok_r(NULL, ":", &save))
		tagdb_load_file(db, f, d);
	free(list);
}

static int policy_load_files(struct policy *p, const struct policy_args *a, struct diag *dp);

int policy_load(struct policy *p, const struct policy_args *a)
{
	struct diag d = { .out = stderr };
	*p = (struct policy){ 0 };
	if (!a->vnet) {
		fprintf(stderr, "minet: --vnet CIDR[,CIDR…] is required (the virtual network's address space)\n");
		return -1;
	}
	for (int i = 0; i < a->ntags; i++)
		tagdb_load_file(&p->tags, a->tags[i], &d);
	if (a->ntags == 0)
		load_env_tags(&p->tags, &d);
	if (d.errors)
		return -1; /* everything below names tags: stop before reporting unknown ones */
	json_t *params = NULL;
	if (a->parameters) { /* for ARM templates given as --routes / --nsg (shapes.c) */
		d.file = a->parameters;
		params = jsonin_load_file(a->parameters, 16u << 20, &d);
		if (params && (!json_is_object(json_object_get(params, "parameters")) || armtmpl_is_template(params))) {
			diag_err(&d, "parameters", "not an ARM parameters file (deploymentParameters: "
				 "{\"parameters\": {\"NAME\": {\"value\": …}}})");
			json_decref(params);
			params = NULL;
		}
		d.file = NULL;
		if (!params)
			return -1;
		shapes_set_arm_parameters(params);
	}
	int rc = policy_load_files(p, a, &d);
	shapes_set_arm_parameters(NULL);
	json_decref(params);
	return rc;
}

/* The route table, the address world and the NSGs (after the tags). */
static int policy_load_files(struct policy *p, const struct policy_args *a, struct diag *dp)
{
	struct diag d = *dp;
	if (a->routes)
		p->has_rt = rt_load_file(&p->rt, a->routes, &p->tags, &d) == 0;
	d.file = "--vnet";
	/* A bad route table does not stop the NSGs from being checked: their errors are reported too. */
	if (netenv_init(&p->env, &p->tags, a->vnet, &d) < 0)
		return -1;
	if (a->host_vip) { /* a lab's stand-in for 168.63.129.16 (minet up) */
		u128 vip;
		if (addr_parse(a->host_vip, &vip) < 0 || !addr_is_v4(vip)) {
			fprintf(stderr, "minet: --host-vip '%s' is not an IPv4 address\n", a->host_vip);
			return -1;
		}
		if (netenv_set_host_vip(&p->env, vip) < 0)
			return -1;
	}
	if (p->has_rt && netenv_add_routes(&p->env, &p->rt) < 0) {
		fprintf(stderr, "minet: out of memory\n");
		return -1;
	}
	if (a->nsg)
		p->has_nsg = nsg_load_file(&p->nsg, a->nsg, &p->env, &d) == 0;
	if (a->nic_nsg)
		p->has_nic = nsg_load_file(&p->nic, a->nic_nsg, &p->env, &d) == 0;
	return d.errors ? -1 : 0;
}

void policy_free(struct policy *p)
{
	if (p->has_nsg)
		nsg_free(&p->nsg);
	if (p->has_nic)
		nsg_free(&p->nic);
	if (p->has_rt)
		rt_free(&p->rt);
	netenv_free(&p->env);
	tagdb_free(&p->tags);
}

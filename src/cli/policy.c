#include "cli/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/heap.h"
#include "model/armtmpl.h"
#include "model/diag.h"
#include "model/effective.h"
#include "model/jsonin.h"
#include "model/shapes.h"

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

int policy_load_tags(struct tagdb *db, const struct policy_args *a)
{
	struct diag d = { .out = stderr };
	*db = (struct tagdb){ 0 };
	for (int i = 0; i < a->ntags; i++)
		tagdb_load_file(db, a->tags[i], &d);
	if (a->ntags == 0)
		load_env_tags(db, &d);
	return d.errors ? -1 : 0;
}

/* --routes / --nsg are read through the shapes table (model/shapes.h); effective output (SHAPE_F_EFFECTIVE)
 * goes to its own readers (model/effective.h). */
/* --routes: a route table, or an effective route table (the whole FIB). */
static bool load_routes(struct policy *p, const char *arg, struct diag *d)
{
	struct shape_open x;
	if (shapes_open(&x, arg, SHAPE_RT, RT_MAX_BYTES, d) < 0)
		return false;
	int rc = x.pk.flags & SHAPE_F_EFFECTIVE ? effective_routes_load_json(&p->rt, x.pk.canon, x.pk.file, d)
						 : rt_load_json(&p->rt, x.pk.canon, x.pk.file, &p->tags, d);
	shapes_close(&x, d);
	return rc == 0;
}

/* --nsg: an NSG in any shape, or effective security rules, which hold the subnet's and the NIC's NSG (so no
 * --nic-nsg). */
static void load_nsg(struct policy *p, const struct policy_args *a, struct diag *d)
{
	struct shape_open x;
	if (shapes_open(&x, a->nsg, SHAPE_NSG, NSG_MAX_BYTES, d) < 0)
		return;
	if (x.pk.flags & SHAPE_F_EFFECTIVE) {
		p->effective_nsg = true;
		if (a->nic_nsg)
			diag_err(d, NULL, "holds the effective rules of the subnet and the network interface; leave out "
				 "--nic-nsg");
		else
			effective_nsg_load_json(&p->nsg, &p->has_nsg, &p->nic, &p->has_nic, x.pk.canon, x.pk.file, &p->env,
						d);
		/* One level only: the order of evaluation does not matter, and the verbs expect the subnet's first.
		 * The NSG's name still says which level it is. */
		if (p->has_nic && !p->has_nsg) {
			p->nsg = p->nic;
			p->nic = (struct nsg){ 0 };
			p->has_nsg = true;
			p->has_nic = false;
		}
	} else {
		p->has_nsg = nsg_load_json(&p->nsg, x.pk.canon, x.pk.file, &p->env, d) == 0;
	}
	shapes_close(&x, d);
}

/* With an effective route table and no --vnet: the VNet's address space is what its VnetLocal routes cover. */
static char *vnet_from_routes(const struct route_table *rt)
{
	char *csv = NULL;
	size_t len = 0;
	for (size_t i = 0; i < rt->n; i++) {
		if (rt->routes[i].hop != HOP_VNET_LOCAL)
			continue;
		size_t n = strlen(rt->routes[i].prefix_text);
		char *nc = realloc(csv, len + n + 2);
		if (!nc) {
			free(csv);
			return NULL;
		}
		csv = nc;
		if (len)
			csv[len++] = ',';
		memcpy(csv + len, rt->routes[i].prefix_text, n + 1);
		len += n;
	}
	return csv;
}

static int load_all(struct policy *p, const struct policy_args *a)
{
	struct diag d = { .out = stderr };
	*p = (struct policy){ 0 };
	if (!a->vnet && !a->routes) {
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

int policy_load(struct policy *p, const struct policy_args *a)
{
	if (!a->short_run)
		return load_all(p, a);
	heap_short_run_begin();
	int rc = load_all(p, a);
	heap_short_run_end();
	return rc;
}

/* The route table, the address world and the NSGs (after the tags). */
static int policy_load_files(struct policy *p, const struct policy_args *a, struct diag *dp)
{
	struct diag d = *dp;
	char *derived = NULL;
	if (a->routes)
		p->has_rt = load_routes(p, a->routes, &d);
	const char *vnet = a->vnet;
	if (!vnet) {
		if (!p->has_rt || !p->rt.effective || !(vnet = derived = vnet_from_routes(&p->rt))) {
			if (p->has_rt)
				fprintf(stderr, "minet: --vnet CIDR[,CIDR…] is required (the virtual network's address "
					"space)%s\n", p->rt.effective ? "; the effective routes have no VnetLocal route" : "");
			return -1;
		}
	}
	d.file = "--vnet";
	/* A bad route table does not stop the NSGs from being checked: their errors are reported too. */
	int env_rc = netenv_init(&p->env, &p->tags, vnet, &d);
	free(derived);
	if (env_rc < 0)
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
	if (a->asg && (p->has_asg = asg_load_file(&p->asg, a->asg, &d) == 0))
		p->env.asgs = &p->asg;
	if (a->nsg)
		load_nsg(p, a, &d);
	if (a->nic_nsg && !p->effective_nsg) {
		struct shape_open x;
		if (!shapes_open(&x, a->nic_nsg, SHAPE_NSG, NSG_MAX_BYTES, &d)) {
			if (x.pk.flags & SHAPE_F_EFFECTIVE)
				diag_err(&d, NULL, "effective security rules hold the subnet's and the network interface's "
					 "NSG: give them with --nsg alone");
			else
				p->has_nic = nsg_load_json(&p->nic, x.pk.canon, x.pk.file, &p->env, &d) == 0;
			shapes_close(&x, &d);
		}
	}
	return d.errors ? -1 : 0;
}

void policy_print_notes(const struct policy *p, FILE *out, const char *prefix)
{
	const struct nsg *gs[2] = { p->has_nsg ? &p->nsg : NULL, p->has_nic ? &p->nic : NULL };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; gs[k] && i < gs[k]->n; i++)
			if (gs[k]->rules[i].note)
				fprintf(out, "%s%s\n", prefix, gs[k]->rules[i].note);
}

void policy_free(struct policy *p)
{
	if (p->has_asg)
		asg_free(&p->asg);
	if (p->has_nsg)
		nsg_free(&p->nsg);
	if (p->has_nic)
		nsg_free(&p->nic);
	if (p->has_rt)
		rt_free(&p->rt);
	netenv_free(&p->env);
	tagdb_free(&p->tags);
}

int tags_warn_stale(const struct tagdb *db, const char *who, json_t *into)
{
	long today = tags_today();
	int n = 0;
	if (today < 0) {
		fprintf(stderr, "%s: MINET_NOW: want YYYY-MM-DD\n", who);
		return 0;
	}
	/* Only Microsoft's weekly download ages: the file that defines AzureCloud (files of the same shape for
	 * tags it does not publish, such as the CorpNet stand-ins, do not follow its weeks). */
	const struct service_tag *ac = tagdb_find(db, "AzureCloud");
	for (size_t i = 0; i < db->nfiles; i++) {
		bool dup = false, est;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(db->files[i], db->files[j]);
		dup |= !ac || strcmp(ac->file, db->files[i]);
		long day = dup ? -1 : tags_file_day(db->files[i], db->file_change[i], &est);
		if (day < 0 || today - day <= TAGS_STALE_DAYS)
			continue;
		time_t t = (time_t)day * 86400;
		struct tm tm;
		char date[16];
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		char msg[600];
		snprintf(msg, sizeof(msg), "%s is from %s%s, %ld days old (more than %d): the mandatory routes and "
					   "rules follow the current ranges; use this week's Service Tags file",
			 db->files[i], est ? "about " : "", date, today - day, TAGS_STALE_DAYS);
		if (into)
			json_array_append_new(into, json_pack("{s:s, s:s, s:b, s:I, s:s}", "file", db->files[i], "date",
							      date, "estimated", est, "ageDays", (json_int_t)(today - day),
							      "message", msg));
		else
			fprintf(stderr, "%s: warning: %s\n", who, msg);
		n++;
	}
	return n;
}

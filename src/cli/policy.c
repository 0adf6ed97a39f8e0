#include "cli/policy.h"

#include <pthread.h>
#include <sched.h>
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
		diag_oom(d, NULL);
		return;
	}
	for (char *f = strtok_r(list, ":", &save); f; f = strtok_r(NULL, ":", &save))
		tagdb_load_file(db, f, d);
	free(list);
}

/* Reading the tags files and reading --routes, --nsg and --nic-nsg (parse, recognise the shape, convert) do not
 * depend on each other, and either can take longer than all the rest of a command: the files are read on a second
 * thread while this one reads the tags. What each file's read reports is held, and printed where reading them one
 * after the other would print it, so a command's output is the same either way: the tags' errors first (and only
 * them: the rest names tags, so it is not reported), then each file's where its turn comes. A file never reached
 * (the loading stopped before it) says nothing, as it was never read. Without the memory to hold what they may
 * report, nothing is read ahead: each file is read at its turn.
 * --routes, --nsg, --nic-nsg: shapes_open, done ahead of its turn (read) or at it. */
enum { AHEAD_ROUTES, AHEAD_NSG, AHEAD_NIC, NAHEAD };
struct ahead {
	const char *arg; /* NULL: not given */
	enum shape_kind kind;
	size_t max_bytes;
	struct diag_hold h; /* ended (zeroed) or never begun: nothing held */
	bool read;
	struct shape_pick pk;
	int rc;
};

static void ahead_read(struct ahead *r)
{
	r->h.d.file = r->arg;
	r->rc = shapes_load(r->arg, r->kind, r->max_bytes, &r->pk, &r->h.d);
	r->read = true;
}

/* Its turn: what shapes_open does to d, with what the read reported; or shapes_open itself when it was not read. */
static int ahead_open(struct ahead *r, struct shape_open *x, struct diag *d)
{
	diag_hold_end(&r->h, r->read ? d : NULL);
	if (!r->read)
		return shapes_open(x, r->arg, r->kind, r->max_bytes, d);
	r->read = false;
	if (r->rc < 0)
		return -1;
	shapes_open_picked(x, r->arg, &r->pk, d);
	return 0;
}

/* Never reached: dropped unsaid. */
static void ahead_drop(struct ahead *r)
{
	diag_hold_end(&r->h, NULL);
	if (r->read)
		shapes_pick_free(&r->pk);
	r->read = false;
}

static void load_tags_into(struct tagdb *db, const struct policy_args *a, struct diag *d)
{
	for (int i = 0; i < a->ntags; i++)
		tagdb_load_file(db, a->tags[i], d);
	if (a->ntags == 0)
		load_env_tags(db, d);
}

static void *ahead_thread(void *arg)
{
	struct ahead *ah = arg;
	for (int i = 0; i < NAHEAD; i++)
		if (ah[i].arg)
			ahead_read(&ah[i]);
	return NULL;
}

/* Start the files' reads on a second thread, on another CPU than this one's when there is one (left to
 * itself, the kernel first queues a new thread behind this one, here for milliseconds). Its stack is as large
 * as a main thread's usually is: reading a file recurses as deep as its JSON nests. False: no thread; read them
 * here. */
static bool ahead_start(pthread_t *th, struct ahead *ah)
{
	pthread_attr_t at;
	cpu_set_t cpus;
	int me = sched_getcpu();
	if (pthread_attr_init(&at))
		return false;
	pthread_attr_setstacksize(&at, (size_t)8 << 20);
	if (me >= 0 && me < CPU_SETSIZE && !sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_COUNT(&cpus) > 1) {
		CPU_CLR(me, &cpus);
		pthread_attr_setaffinity_np(&at, sizeof(cpus), &cpus);
	}
	json_object_seed(0); /* jansson's hash seed, set once, before a second thread may make an object */
	bool ok = !pthread_create(th, &at, ahead_thread, ah);
	pthread_attr_destroy(&at);
	return ok;
}

int policy_load_tags(struct tagdb *db, const struct policy_args *a)
{
	struct diag d = { .out = stderr };
	*db = (struct tagdb){ 0 };
	load_tags_into(db, a, &d);
	return d.errors ? -1 : 0;
}

/* --routes / --nsg are read through the shapes table (model/shapes.h); effective output (SHAPE_F_EFFECTIVE)
 * goes to its own readers (model/effective.h). */
/* --routes: a route table, or an effective route table (the whole FIB). */
static bool load_routes(struct policy *p, struct ahead *r, struct diag *d)
{
	struct shape_open x;
	if (ahead_open(r, &x, d) < 0)
		return false;
	int rc = x.pk.flags & SHAPE_F_EFFECTIVE ? effective_routes_load_json(&p->rt, x.pk.canon, x.pk.file, d)
						 : rt_load_json(&p->rt, x.pk.canon, x.pk.file, &p->tags, d);
	shapes_close(&x, d);
	return rc == 0;
}

/* --nsg: an NSG in any shape, or effective security rules, which hold the subnet's and the NIC's NSG (so no
 * --nic-nsg). */
static void load_nsg(struct policy *p, const struct policy_args *a, struct ahead *r, struct diag *d)
{
	struct shape_open x;
	if (ahead_open(r, &x, d) < 0)
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

static int policy_load_files(struct policy *p, const struct policy_args *a, struct ahead *ah, struct diag *dp);

/* --parameters: an ARM deploymentParameters file, for templates given as --routes / --nsg (shapes.c). */
static json_t *load_parameters(const char *file, struct diag *d)
{
	d->file = file;
	json_t *params = jsonin_load_file(file, 16u << 20, d);
	if (params && (!json_is_object(json_object_get(params, "parameters")) || armtmpl_is_template(params))) {
		diag_err(d, "parameters", "not an ARM parameters file (deploymentParameters: "
			 "{\"parameters\": {\"NAME\": {\"value\": …}}})");
		json_decref(params);
		params = NULL;
	}
	d->file = NULL;
	return params;
}

static int load_all(struct policy *p, const struct policy_args *a)
{
	struct diag d = { .out = stderr };
	*p = (struct policy){ 0 };
	if (!a->vnet && !a->routes) {
		fprintf(stderr, "minet: --vnet CIDR[,CIDR…] is required (the virtual network's address space)\n");
		return -1;
	}
	struct ahead ah[NAHEAD] = {
		[AHEAD_ROUTES] = { .arg = a->routes, .kind = SHAPE_RT, .max_bytes = RT_MAX_BYTES },
		[AHEAD_NSG] = { .arg = a->nsg, .kind = SHAPE_NSG, .max_bytes = NSG_MAX_BYTES },
		[AHEAD_NIC] = { .arg = a->nic_nsg, .kind = SHAPE_NSG, .max_bytes = NSG_MAX_BYTES },
	};
	/* Ahead: the parameters and the files, each reporting into its own hold (all, or nothing is read ahead). */
	struct diag_hold ph;
	bool ahead = diag_hold_begin(&ph, &d);
	for (int i = 0; i < NAHEAD; i++)
		if (ah[i].arg)
			ahead = diag_hold_begin(&ah[i].h, &d) && ahead;
	if (!ahead) {
		diag_hold_end(&ph, NULL);
		for (int i = 0; i < NAHEAD; i++)
			ahead_drop(&ah[i]);
	}
	json_t *params = NULL;
	pthread_t th;
	bool threaded = false;
	if (ahead) {
		/* the parameters first: a template given as --routes or --nsg is read with them */
		params = a->parameters ? load_parameters(a->parameters, &ph.d) : NULL;
		if (!a->parameters || params) {
			shapes_set_arm_parameters(params);
			if (!(threaded = ahead_start(&th, ah)))
				ahead_thread(ah);
		}
	}
	load_tags_into(&p->tags, a, &d);
	if (threaded)
		pthread_join(th, NULL);
	/* everything below names tags: after their errors, nothing else is reported */
	if (ahead) {
		diag_hold_end(&ph, d.errors ? NULL : &d);
	} else if (!d.errors && a->parameters && (params = load_parameters(a->parameters, &d))) {
		shapes_set_arm_parameters(params);
	}
	int rc = d.errors ? -1 : policy_load_files(p, a, ah, &d);
	for (int i = 0; i < NAHEAD; i++)
		ahead_drop(&ah[i]);
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
static int policy_load_files(struct policy *p, const struct policy_args *a, struct ahead *ah, struct diag *dp)
{
	struct diag d = *dp;
	char *derived = NULL;
	if (a->routes)
		p->has_rt = load_routes(p, &ah[AHEAD_ROUTES], &d);
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
		load_nsg(p, a, &ah[AHEAD_NSG], &d);
	if (a->nic_nsg && !p->effective_nsg) {
		struct shape_open x;
		if (!ahead_open(&ah[AHEAD_NIC], &x, &d)) {
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

/* Estate verification; see estate.h. Workers take subnets in order from a shared counter; everything they build
 * (address world, NSG, route table, report) is their own, and what they share — the tags, the inventory, the
 * contract table — is only read. verify_run keeps no state between calls. */
#include "analysis/estate.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/jsonfast.h"
#include "model/nsg.h"
#include "model/regions.h"

const char *estate_issue_name(enum estate_issue k)
{
	static const char *const names[] = { "missing-resource", "invalid-resource", "no-nsg", "subnet", "region" };
	return names[k];
}

struct job {
	const struct estate *e;
	const struct estate_opts *o;
	size_t *mi;   /* indices of the MI subnets */
	size_t nmi;
	size_t next;  /* shared counter */
	long failing;
	int oom;
};

struct subnet_run {
	struct estate_result r;
	struct estate_finding f[8];
};

static struct estate_finding *finding(struct subnet_run *s, enum estate_issue k, const char *ref, const char *fmt,
				      ...) __attribute__((format(printf, 4, 5)));
static struct estate_finding *finding(struct subnet_run *s, enum estate_issue k, const char *ref, const char *fmt, ...)
{
	if (s->r.nf == sizeof(s->f) / sizeof(s->f[0]))
		return NULL;
	struct estate_finding *f = &s->f[s->r.nf++];
	f->kind = k;
	f->ref = ref;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return f;
}

/* A loader's errors, captured: one finding with its lines joined by "; ", each without the leading "ID: " the
 * diagnostics put before them (the finding names the resource once). */
static void capture_errors(struct subnet_run *s, enum estate_issue k, const char *ref, const char *what, char *text)
{
	char joined[900];
	size_t n = 0, rl = ref ? strlen(ref) : 0;
	joined[0] = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (rl && !strncmp(line, ref, rl) && !strncmp(line + rl, ": ", 2))
			line += rl + 2;
		if (n + 3 < sizeof(joined))
			n += (size_t)snprintf(joined + n, sizeof(joined) - n, "%s%s", n ? "; " : "", line);
	}
	finding(s, k, ref, "%s %s does not load: %s", what, ref ? ref : "", joined);
}

/* The address world's ranges: the VNet's, then its connected peerings' (given or looked up by id). */
static char *vnet_ranges(const struct estate *e, const struct estate_vnet *v, struct subnet_run *s)
{
	size_t n = strlen(v->space ? v->space : "") + strlen(v->peers ? v->peers : "") + 2;
	for (size_t i = 0; i < v->npeer_ids; i++) {
		const struct estate_vnet *p = estate_vnet(e, v->peer_ids[i]);
		if (p && p->space)
			n += strlen(p->space) + 1;
	}
	char *csv = malloc(n);
	if (!csv)
		return NULL;
	*csv = 0;
	const char *parts[2] = { v->space, v->peers };
	for (int k = 0; k < 2; k++)
		if (parts[k] && *parts[k])
			strcat(strcat(csv, *csv ? "," : ""), parts[k]);
	for (size_t i = 0; i < v->npeer_ids; i++) {
		const struct estate_vnet *p = estate_vnet(e, v->peer_ids[i]);
		if (!p)
			finding(s, EI_MISSING, v->peer_ids[i], "peered virtual network %s is not in the inventory: its "
				"address space is left out of VirtualNetwork", v->peer_ids[i]);
		else if (p->space && *p->space)
			strcat(strcat(csv, *csv ? "," : ""), p->space);
	}
	return csv;
}

/* Verify one subnet and hand the result to emit. -1 out of memory. */
static int run_one(struct job *j, size_t index)
{
	const struct estate *e = j->e;
	const struct estate_opts *o = j->o;
	const struct estate_subnet *sn = &e->subnets[j->mi[index]];
	struct subnet_run s = { .r = { .s = sn, .vnet = &e->vnets[sn->vnet] } };
	struct netenv env = { 0 };
	struct route_table rt = { 0 };
	struct nsg nsg = { 0 };
	struct verify_input in = { 0 };
	struct verify_report rep = { 0 };
	bool have_env = false, have_rt = false, have_nsg = false, have_rep = false;
	char *errbuf = NULL, *csv = NULL;
	size_t errlen = 0;
	int rc = 0;
	FILE *errs = open_memstream(&errbuf, &errlen);
	if (!errs)
		return -1;
	struct diag d = { .out = errs };

	/* region and pair */
	s.r.region = s.r.vnet->location;
	s.r.pair = region_pair(s.r.region, &s.r.unpaired);
	if (s.r.unpaired) /* [inference] a nonpaired region's {P} routes name the region itself: nothing to add */
		s.r.pair = s.r.region;
	if (!s.r.pair)
		finding(&s, EI_REGION, NULL, "the virtual network's location '%s' is not in the table of Azure region "
			"pairs: verify this subnet with minet verify --region and --pair", s.r.region);

	/* the subnet's prefix and its address world */
	if (!sn->prefix)
		finding(&s, EI_SUBNET, NULL, "the subnet has no addressPrefix");
	if (!(csv = vnet_ranges(e, s.r.vnet, &s)))
		goto oom;
	s.r.ranges = csv;
	if (!*csv) {
		finding(&s, EI_SUBNET, s.r.vnet->id, "virtual network %s has no address space", s.r.vnet->id);
	} else {
		d.file = s.r.vnet->id;
		have_env = netenv_init(&env, o->tags, csv, &d) == 0;
		fflush(errs);
		if (d.oom_said) /* memory, not the subnet: not a finding */
			goto oom;
		if (!have_env) {
			capture_errors(&s, EI_SUBNET, s.r.vnet->id, "the address space of virtual network", errbuf);
			rewind(errs);
		}
	}

	/* the route table, then the NSG (its VirtualNetwork depends on the routes) */
	const struct estate_blob *rtb = sn->rt_id ? estate_rt(e, sn->rt_id) : NULL;
	if (sn->rt_id && !rtb)
		finding(&s, EI_MISSING, sn->rt_id, "route table %s is not in the inventory", sn->rt_id);
	const struct estate_blob *nb = sn->nsg_id ? estate_nsg(e, sn->nsg_id) : NULL;
	if (!sn->nsg_id)
		finding(&s, EI_NO_NSG, NULL, "no network security group is associated: a managed instance's subnet "
			"needs one");
	else if (!nb)
		finding(&s, EI_MISSING, sn->nsg_id, "network security group %s is not in the inventory", sn->nsg_id);
	if (have_env && rtb) {
		/* the blob is text the reader wrote from a tree: it loads unless memory runs out */
		json_t *root = jsonfast_loadb(rtb->json, strlen(rtb->json), 0, NULL);
		d.file = rtb->id;
		have_rt = root && rt_load_json(&rt, root, rtb->id, o->tags, &d) == 0;
		json_decref(root);
		fflush(errs);
		if (!root || d.oom_said)
			goto oom;
		if (!have_rt) {
			capture_errors(&s, EI_INVALID, rtb->id, "route table", errbuf);
			rewind(errs);
		} else if (netenv_add_routes(&env, &rt) < 0) {
			goto oom;
		}
	}
	if (have_env && nb) {
		json_t *root = jsonfast_loadb(nb->json, strlen(nb->json), 0, NULL);
		d.file = nb->id;
		have_nsg = root && nsg_load_json(&nsg, root, nb->id, &env, &d) == 0;
		json_decref(root);
		fflush(errs);
		if (!root || d.oom_said)
			goto oom;
		if (!have_nsg) {
			capture_errors(&s, EI_INVALID, nb->id, "network security group", errbuf);
			rewind(errs);
		}
	}

	/* the contracts */
	const char *why;
	if (have_env && have_nsg && s.r.pair && sn->prefix && (!sn->rt_id || have_rt)) {
		in = (struct verify_input){ .env = &env, .nsg = &nsg, .rt = have_rt ? &rt : NULL, .region = s.r.region,
					    .pair = s.r.pair, .defs = o->defs, .ndefs = o->ndefs, .strict = o->strict };
		if (cidr_parse(sn->prefix, &in.subnet, &why) < 0) {
			finding(&s, EI_SUBNET, NULL, "addressPrefix '%s': %s", sn->prefix, why);
		} else {
			d.file = sn->id;
			int vr = verify_run(&in, &rep, &d);
			fflush(errs);
			if (vr == -2)
				goto oom;
			if (vr < 0) {
				capture_errors(&s, EI_SUBNET, NULL, "the subnet", errbuf);
				rewind(errs);
			} else {
				have_rep = true;
				s.r.in = &in;
				s.r.rep = &rep;
			}
		}
	}
	s.r.f = s.f;
	s.r.compliant = s.r.nf == 0 && have_rep && rep.nviolations == 0;
	if (!s.r.compliant)
		__atomic_add_fetch(&j->failing, 1, __ATOMIC_RELAXED);
	rc = o->emit(o->ctx, index, &s.r);
	goto out;
oom:
	rc = -1;
out:
	if (have_rep)
		verify_report_free(&rep);
	if (have_nsg)
		nsg_free(&nsg);
	if (have_rt)
		rt_free(&rt);
	if (have_env)
		netenv_free(&env);
	free(csv);
	fclose(errs);
	free(errbuf);
	return rc;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		if (i >= j->nmi || __atomic_load_n(&j->oom, __ATOMIC_RELAXED))
			break;
		if (run_one(j, i) < 0)
			__atomic_store_n(&j->oom, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

long estate_verify(const struct estate *e, const struct estate_opts *o)
{
	struct job j = { .e = e, .o = o };
	j.mi = malloc((e->nmi + 1) * sizeof(*j.mi));
	if (!j.mi)
		return -1;
	for (size_t i = 0; i < e->nsubnets; i++)
		if (e->subnets[i].mi)
			j.mi[j.nmi++] = i;
	long n = o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if ((size_t)n > j.nmi)
		n = j.nmi ? (long)j.nmi : 1;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	long started = 0;
	if (t)
		for (; started < n - 1; started++)
			if (pthread_create(&t[started], NULL, worker, &j))
				break;
	worker(&j); /* the calling thread works too */
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	free(j.mi);
	return j.oom ? -1 : j.failing;
}

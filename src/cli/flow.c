/* minet flow: is this flow allowed by the NSGs in force, and by which rule. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis/classify.h"
#include "analysis/flow.h"
#include "analysis/space.h"
#include "cli/heap.h"
#include "cli/policy.h"
#include "cli/verbs.h"
#include "model/jsonin.h"

static const char flow_usage[] =
	"usage: minet flow --tags F [--tags F…] --vnet CIDR[,CIDR…] [--routes RT.json] --nsg NSG.json\n"
	"                  [--nic-nsg NSG.json] [--asg ASG.json] --direction inbound|outbound --protocol tcp|udp|icmp|esp|ah\n"
	"                  --src IP[:PORT] --dst IP[:PORT] [--json]\n"
	"       minet flow … [--direction D] --batch FILE|-   one flow a line: [DIRECTION] PROTOCOL SRC DST\n"
	"\n"
	"Evaluates the flow as Azure does: rules by priority, first match decides; inbound the subnet's NSG then\n"
	"the NIC's, outbound the NIC's then the subnet's; both must allow. A port left out of --src/--dst for tcp\n"
	"or udp means any port: the answer is given when every port gets the same one.\n"
	"--nsg may also be effective security rules (az network nic list-effective-nsg): they hold the subnet's\n"
	"and the NIC's NSG, with Azure's expansion of every tag (then no --nic-nsg).\n"
	"--asg FILE: members of application security groups, {\"ASG name or id\": [\"10.0.0.4\", …]} or\n"
	"az network nic list output; without it a rule naming an ASG matches nothing (a note says so).\n"
	"--host-vip IP: an address that stands for 168.63.129.16 (a lab's, see minet topology).\n"
	"--nsg/--routes read REST, az, PowerShell, Terraform and ARM template JSON (minet-flow(1), INPUT SHAPES);\n"
	"FILE#NAME picks one of several; --parameters FILE: an ARM template's deploymentParameters file.\n"
	"Exit: 0 allowed, 1 denied, 2 bad input or usage.\n";


struct flow_opts {
	struct policy_args pa;
	const char *dir, *proto, *src, *dst, *batch;
	bool json;
};

static int parse_dir(const char *s, enum direction *d)
{
	if (!strcasecmp(s, "inbound") || !strcasecmp(s, "in"))
		*d = DIR_IN;
	else if (!strcasecmp(s, "outbound") || !strcasecmp(s, "out"))
		*d = DIR_OUT;
	else
		return -1;
	return 0;
}

static int parse_proto1(const char *s, unsigned *p)
{
	return !strcmp(s, "*") || proto_parse(s, p) < 0 ? -1 : 0;
}

/* ---- explanations (as Network Watcher's NSG diagnostics give them) ---- */

static void explain_rule(FILE *out, const struct nsg_rule *r, const struct flow *f, unsigned miss)
{
	char a[ADDR_STRLEN];
	fprintf(out, "      %5d  %-32s", r->priority, r->name);
	const char *sep = "";
	if (miss & MISS_PROTO)
		fprintf(out, "%sprotocol %s is not %s", sep, proto_name(f->proto), proto_name(r->proto)), sep = "; ";
	if (miss & MISS_SRC)
		fprintf(out, "%ssource %s is not in %s", sep, addr_format(f->src, a), r->src.text), sep = "; ";
	if (miss & MISS_SPORT) {
		if (f->sport < 0)
			fprintf(out, "%s%s has no ports; sourcePortRange is %s", sep, proto_name(f->proto), r->sport.text);
		else
			fprintf(out, "%ssource port %d is not in %s", sep, f->sport, r->sport.text);
		sep = "; ";
	}
	if (miss & MISS_DST)
		fprintf(out, "%sdestination %s is not in %s", sep, addr_format(f->dst, a), r->dst.text), sep = "; ";
	if (miss & MISS_DPORT) {
		if (f->dport < 0)
			fprintf(out, "%s%s has no ports; destinationPortRange is %s", sep, proto_name(f->proto), r->dport.text);
		else
			fprintf(out, "%sdestination port %d is not in %s", sep, f->dport, r->dport.text);
	}
	fputc('\n', out);
}

static void print_endpoint(FILE *out, u128 a, int port)
{
	char s[ADDR_STRLEN];
	addr_format(a, s);
	if (port < 0)
		fputs(s, out);
	else if (addr_is_v4(a))
		fprintf(out, "%s:%d", s, port);
	else
		fprintf(out, "[%s]:%d", s, port);
}

static const struct policy *notes_of; /* the policy whose notes the reports carry */

static void print_text(const struct verdict *v, const struct flow *f)
{
	fprintf(stdout, "%s  %s %s ", v->allow ? "Allow" : "Deny", f->dir == DIR_IN ? "inbound" : "outbound",
		proto_name(f->proto));
	print_endpoint(stdout, f->src, f->sport);
	fputs(" -> ", stdout);
	print_endpoint(stdout, f->dst, f->dport);
	fputc('\n', stdout);
	if (notes_of)
		policy_print_notes(notes_of, stdout, "  note: ");
	if (!v->rule) {
		printf("  no NSG is in force\n");
		return;
	}
	for (int k = 0; k < 2 && v->stage_rule[k]; k++) {
		const struct nsg *g = v->stage_nsg[k];
		const struct nsg_rule *r = v->stage_rule[k];
		size_t n;
		const struct nsg_rule *rules = nsg_rules(g, f->dir, &n);
		printf("  NSG '%s' (%s): %s by %srule '%s', priority %d\n", g->name, g->file,
		       r->allow ? "allowed" : "denied", r->is_default ? "default " : "", r->name, r->priority);
		if (r > rules)
			printf("    earlier rules that did not match:\n");
		for (const struct nsg_rule *e = rules; e < r; e++)
			explain_rule(stdout, e, f, rule_mismatch(e, f));
	}
}

static json_t *flow_json(const struct flow *f)
{
	char s[ADDR_STRLEN], d[ADDR_STRLEN];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "direction", f->dir == DIR_IN ? "Inbound" : "Outbound",
			      "protocol", proto_name(f->proto), "src", addr_format(f->src, s), "dst",
			      addr_format(f->dst, d));
	json_object_set_new(o, "srcPort", f->sport < 0 ? json_null() : json_integer(f->sport));
	json_object_set_new(o, "dstPort", f->dport < 0 ? json_null() : json_integer(f->dport));
	return o;
}

static json_t *rule_json(const struct nsg *g, const struct nsg_rule *r)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:b}", "access", r->allow ? "Allow" : "Deny", "rule", r->name,
			 "priority", r->priority, "nsg", g->name, "file", g->file, "defaultRule", r->is_default);
}

static int print_json(const struct verdict *v, const struct flow *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "access", json_string(v->allow ? "Allow" : "Deny"));
	json_object_set_new(o, "rule", v->rule ? json_string(v->rule->name) : json_null());
	json_object_set_new(o, "priority", v->rule ? json_integer(v->rule->priority) : json_null());
	json_object_set_new(o, "nsg", v->nsg ? json_string(v->nsg->name) : json_null());
	json_object_set_new(o, "flow", flow_json(f));
	json_t *stages = json_array();
	for (int k = 0; k < 2 && v->stage_rule[k]; k++)
		json_array_append_new(stages, rule_json(v->stage_nsg[k], v->stage_rule[k]));
	json_object_set_new(o, "evaluated", stages);
	json_t *notes = json_array();
	const struct nsg *gs[2] = { notes_of && notes_of->has_nsg ? &notes_of->nsg : NULL,
				    notes_of && notes_of->has_nic ? &notes_of->nic : NULL };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; gs[k] && i < gs[k]->n; i++)
			if (gs[k]->rules[i].note)
				json_array_append_new(notes, json_string(gs[k]->rules[i].note));
	json_object_set_new(o, "notes", notes);
	int rc = heap_print_json(o, JSON_COMPACT, "minet flow");
	json_decref(o);
	return rc;
}

/* ---- ports left out: evaluate one representative of every port class ---- */

static int add_bounds(int *rep, int n, const struct nsg *g, enum direction dir, bool src)
{
	size_t nr;
	const struct nsg_rule *r = g ? nsg_rules(g, dir, &nr) : NULL;
	for (size_t i = 0; r && i < nr; i++) {
		const struct port_field *p = src ? &r[i].sport : &r[i].dport;
		for (size_t k = 0; k < p->n; k++) {
			rep[n++] = p->r[k].lo;
			if (p->r[k].hi < 65535)
				rep[n++] = p->r[k].hi + 1;
		}
	}
	return n;
}

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Representative ports for one side: the given port, or one per class of the rules' boundaries. */
static int *port_reps(int given, const struct policy *p, enum direction dir, bool src, int *n)
{
	size_t cap = 1;
	const struct nsg *gs[2] = { p->has_nsg ? &p->nsg : NULL, p->has_nic ? &p->nic : NULL };
	for (int i = 0; i < 2; i++)
		if (gs[i])
			for (size_t k = 0; k < gs[i]->n; k++)
				cap += 2 * (src ? gs[i]->rules[k].sport.n : gs[i]->rules[k].dport.n);
	int *rep = malloc(cap * sizeof(*rep));
	if (!rep)
		return NULL;
	if (given >= 0) {
		rep[0] = given;
		*n = 1;
		return rep;
	}
	int m = 0;
	rep[m++] = 0;
	for (int i = 0; i < 2; i++)
		m = add_bounds(rep, m, gs[i], dir, src);
	qsort(rep, (size_t)m, sizeof(*rep), int_cmp);
	int u = 0;
	for (int i = 0; i < m; i++)
		if (!u || rep[u - 1] != rep[i])
			rep[u++] = rep[i];
	*n = u;
	return rep;
}

/* The verdict varies with one side's port: say for which ports which rule decides, e.g. "ports 0-79 and
 * 81-65535: Deny by DenyAllInBound (65500); port 80: Allow by allow_http (100)". reps are the sorted class
 * starts of that side (reps[0] == 0); f holds the other side's port. */
static void explain_ports(const struct nsg *subnet, const struct nsg *nic, struct flow f, bool src, const int *reps,
			  int n, bool other_fixed)
{
	struct seg {
		int lo, hi;
		struct verdict v;
	} *seg = calloc((size_t)n, sizeof(*seg));
	int ns = 0;
	if (!seg) {
		fprintf(stderr, "minet flow: out of memory\n");
		return;
	}
	for (int k = 0; k < n; k++) {
		*(src ? &f.sport : &f.dport) = reps[k];
		struct verdict v = flow_verdict(subnet, nic, &f);
		int hi = k + 1 < n ? reps[k + 1] - 1 : 65535;
		if (ns && seg[ns - 1].v.rule == v.rule && seg[ns - 1].v.allow == v.allow)
			seg[ns - 1].hi = hi;
		else
			seg[ns++] = (struct seg){ reps[k], hi, v };
	}
	fprintf(stderr, "minet flow: the verdict depends on the %s port", src ? "source" : "destination");
	if (other_fixed)
		fprintf(stderr, " (%s port %d)", src ? "destination" : "source", src ? f.dport : f.sport);
	const char *sep = ": ";
	int groups = 0;
	for (int i = 0; i < ns; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = seg[j].v.rule == seg[i].v.rule && seg[j].v.allow == seg[i].v.allow;
		if (seen)
			continue;
		if (++groups > 8) {
			fprintf(stderr, "; …");
			break;
		}
		int runs = 0, last = i;
		for (int j = i; j < ns; j++)
			if (seg[j].v.rule == seg[i].v.rule && seg[j].v.allow == seg[i].v.allow)
				runs++, last = j;
		bool one = runs == 1 && seg[i].lo == seg[i].hi;
		fprintf(stderr, "%sport%s ", sep, one ? "" : "s");
		for (int j = i, k = 0; j < ns; j++) {
			if (seg[j].v.rule != seg[i].v.rule || seg[j].v.allow != seg[i].v.allow)
				continue;
			fprintf(stderr, "%s", k == 0 ? "" : j == last ? " and " : ", ");
			k++;
			if (seg[j].lo == seg[j].hi)
				fprintf(stderr, "%d", seg[j].lo);
			else
				fprintf(stderr, "%d-%d", seg[j].lo, seg[j].hi);
		}
		const struct nsg_rule *r = seg[i].v.rule;
		fprintf(stderr, ": %s by %s", seg[i].v.allow ? "Allow" : "Deny", r ? r->name : "no NSG");
		if (r)
			fprintf(stderr, " (%d)", r->priority);
		sep = "; ";
	}
	fprintf(stderr, "; give IP:PORT\n");
	free(seg);
}

static int single(const struct flow_opts *o, const struct policy *p)
{
	struct flow f = { 0 };
	int sport, dport, rc = 2;
	if (!o->dir || !o->proto || !o->src || !o->dst) {
		fprintf(stderr, "minet flow: --direction, --protocol, --src and --dst are required\n%s", flow_usage);
		return 2;
	}
	if (parse_dir(o->dir, &f.dir) < 0) {
		fprintf(stderr, "minet flow: --direction: '%s' is not inbound or outbound\n", o->dir);
		return 2;
	}
	if (parse_proto1(o->proto, &f.proto) < 0) {
		fprintf(stderr, "minet flow: --protocol: '%s' is not one of tcp, udp, icmp, esp, ah\n", o->proto);
		return 2;
	}
	bool bad_src = endpoint_parse(o->src, &f.src, &sport) < 0;
	if (bad_src || endpoint_parse(o->dst, &f.dst, &dport) < 0) {
		fprintf(stderr, "minet flow: %s: '%s' is not IP, IP:PORT or [IPv6]:PORT\n", bad_src ? "--src" : "--dst",
			bad_src ? o->src : o->dst);
		return 2;
	}
	if (addr_is_v4(f.src) != addr_is_v4(f.dst)) {
		fprintf(stderr, "minet flow: --src and --dst are of different address families\n");
		return 2;
	}
	if (!proto_has_ports(f.proto) && (sport >= 0 || dport >= 0)) {
		fprintf(stderr, "minet flow: %s has no ports; give --src and --dst without one\n", proto_name(f.proto));
		return 2;
	}
	const struct nsg *subnet = p->has_nsg ? &p->nsg : NULL, *nic = p->has_nic ? &p->nic : NULL;
	if (!proto_has_ports(f.proto)) {
		f.sport = f.dport = -1;
		struct verdict v = flow_verdict(subnet, nic, &f);
		if (!o->json)
			print_text(&v, &f);
		else if (print_json(&v, &f) < 0)
			return 2;
		return v.allow ? 0 : 1;
	}
	int ns, nd;
	int *sr = port_reps(sport, p, f.dir, true, &ns), *dr = port_reps(dport, p, f.dir, false, &nd);
	if (!sr || !dr)
		goto out;
	struct verdict first = { 0 };
	struct flow ff = f;
	for (int i = 0; i < ns; i++)
		for (int j = 0; j < nd; j++) {
			f.sport = sr[i];
			f.dport = dr[j];
			struct verdict v = flow_verdict(subnet, nic, &f);
			if (i == 0 && j == 0) {
				first = v;
				ff = f;
			} else if (v.rule != first.rule || v.allow != first.allow) {
				/* Name the side whose port changed the verdict: (i, j) is the first pair that differs
				 * from (0, 0), so with j == 0 only the source port moved; otherwise the destination
				 * port did, at source port sr[i]. */
				struct flow g = f;
				/* The other side's port: any of its class gives these verdicts; show a plain one. */
				if (j == 0) {
					g.dport = (int)example_port((uint32_t)dr[0], nd > 1 ? (uint32_t)dr[1] - 1 : 65535);
					explain_ports(subnet, nic, g, true, sr, ns, dport < 0 && nd > 1);
				} else {
					g.sport = (int)example_port((uint32_t)sr[i], i + 1 < ns ? (uint32_t)sr[i + 1] - 1 : 65535);
					explain_ports(subnet, nic, g, false, dr, nd, sport < 0 && ns > 1);
				}
				goto out;
			}
		}
	if (sport < 0)
		ff.sport = -1;
	if (dport < 0)
		ff.dport = -1;
	if (o->json) {
		if (print_json(&first, &ff) < 0) /* a port left out is null: every port gets this verdict */
			goto out;
	} else {
		/* Explanations need concrete ports: use the representative of the first port class. */
		f = ff;
		f.sport = sport < 0 ? sr[0] : sport;
		f.dport = dport < 0 ? dr[0] : dport;
		print_text(&first, &f);
		if (sport < 0 || dport < 0)
			printf("  (every %s port gets this verdict)\n", sport < 0 && dport < 0 ? "source and destination"
							       : sport < 0 ? "source" : "destination");
	}
	rc = first.allow ? 0 : 1;
out:
	free(sr);
	free(dr);
	return rc;
}

/* ---- batch: one flow a line, the fast engine ---- */

struct engines {
	struct nsg_classifier *c[2][2]; /* [direction][subnet, nic] */
};

static const struct nsg_rule *decide_fast(struct engines *e, const struct policy *p, int level, const struct flow *f)
{
	const struct nsg *g = level == 0 ? (p->has_nsg ? &p->nsg : NULL) : (p->has_nic ? &p->nic : NULL);
	if (!g)
		return NULL;
	struct nsg_classifier **c = &e->c[f->dir][level];
	if (!*c && !(*c = nsgc_build(g, f->dir))) {
		fprintf(stderr, "minet flow: out of memory\n");
		exit(2);
	}
	return nsgc_decide(*c, f);
}

static int parse_line(char *line, enum direction defdir, bool has_def, struct flow *f, const char **why)
{
	char *tok[5], *save = NULL;
	int n = 0;
	for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 4) {
			*why = "too many fields (want [DIRECTION] PROTOCOL SRC DST)";
			return -1;
		}
		tok[n++] = t;
	}
	int i = 0;
	if (n == 4) {
		if (parse_dir(tok[0], &f->dir) < 0) {
			*why = "direction must be inbound or outbound";
			return -1;
		}
		i = 1;
	} else if (n == 3 && has_def) {
		f->dir = defdir;
	} else {
		*why = has_def ? "want [DIRECTION] PROTOCOL SRC DST" : "want DIRECTION PROTOCOL SRC DST";
		return -1;
	}
	if (parse_proto1(tok[i], &f->proto) < 0) {
		*why = "protocol must be tcp, udp, icmp, esp or ah";
		return -1;
	}
	if (endpoint_parse(tok[i + 1], &f->src, &f->sport) < 0 || endpoint_parse(tok[i + 2], &f->dst, &f->dport) < 0) {
		*why = "addresses must be IP, IP:PORT or [IPv6]:PORT";
		return -1;
	}
	if (proto_has_ports(f->proto) ? (f->sport < 0 || f->dport < 0) : (f->sport >= 0 || f->dport >= 0)) {
		*why = proto_has_ports(f->proto) ? "tcp and udp flows need IP:PORT on both sides in a batch"
						 : "icmp, esp and ah flows have no ports";
		return -1;
	}
	if (addr_is_v4(f->src) != addr_is_v4(f->dst)) {
		*why = "source and destination are of different address families";
		return -1;
	}
	return 0;
}

static int batch(const struct flow_opts *o, const struct policy *p)
{
	enum direction defdir = DIR_IN;
	bool has_def = o->dir != NULL;
	if (o->dir && parse_dir(o->dir, &defdir) < 0) {
		fprintf(stderr, "minet flow: --direction: '%s' is not inbound or outbound\n", o->dir);
		return 2;
	}
	FILE *in = strcmp(o->batch, "-") ? fopen(o->batch, "r") : stdin;
	if (!in) {
		fprintf(stderr, "minet flow: %s: %s\n", o->batch, strerror(errno));
		return 2;
	}
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	struct engines e = { 0 };
	/* NSG names are free text: quote them for JSON once. (Rule names are validated word characters.) */
	char *quoted[2] = { NULL, NULL };
	for (int k = 0; k < 2; k++) {
		const struct nsg *g = k == 0 ? (p->has_nsg ? &p->nsg : NULL) : (p->has_nic ? &p->nic : NULL);
		json_t *js = json_string(g ? g->name : "");
		quoted[k] = jsonin_dumps(js, JSON_ENCODE_ANY);
		json_decref(js);
	}
	if (!quoted[0] || !quoted[1]) {
		fprintf(stderr, "minet flow: out of memory\n");
		jsonin_free(quoted[0]);
		jsonin_free(quoted[1]);
		return 2;
	}
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int bad = 0;
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct flow f;
		const char *why;
		lineno++;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#' || *s == '\n' || !*s)
			continue;
		if (parse_line(s, defdir, has_def, &f, &why) < 0) {
			fprintf(stderr, "%s:%zu: %s\n", o->batch, lineno, why);
			fputs(o->json ? "{\"error\":true}\n" : "Error\n", stdout);
			bad = 1;
			continue;
		}
		const struct nsg_rule *r = NULL;
		const struct nsg *g = NULL;
		int order[2] = { 0, 1 };
		if (f.dir == DIR_OUT)
			order[0] = 1, order[1] = 0;
		for (int k = 0; k < 2; k++) {
			const struct nsg_rule *x = decide_fast(&e, p, order[k], &f);
			if (!x)
				continue;
			r = x;
			g = order[k] == 0 ? &p->nsg : &p->nic;
			if (!x->allow)
				break;
		}
		bool allow = !r || r->allow;
		if (o->json)
			printf("{\"access\":\"%s\",\"rule\":\"%s\",\"priority\":%d,\"nsg\":%s}\n",
			       allow ? "Allow" : "Deny", r ? r->name : "", r ? r->priority : 0,
			       quoted[g == &p->nic ? 1 : 0]);
		else
			printf("%s\t%s\t%d\t%s\n", allow ? "Allow" : "Deny", r ? r->name : "-", r ? r->priority : 0,
			       g ? g->name : "-");
	}
	free(line);
	free(quoted[0]);
	free(quoted[1]);
	if (in != stdin)
		fclose(in);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 2; k++)
			nsgc_free(e.c[i][k]);
	fflush(stdout);
	return bad ? 2 : 0;
}

int cmd_flow(int argc, char **argv)
{
	struct flow_opts o = { 0 };
	const struct arg args[] = {
		POLICY_ARGS(&o.pa),
		ARG_STR("direction", &o.dir), ARG_STR("protocol", &o.proto), ARG_STR("src", &o.src),
		ARG_STR("dst", &o.dst),       ARG_FLAG("json", &o.json),     ARG_STR("batch", &o.batch),
		ARGS_END,
	};
	struct policy p;
	int rc = args_parse("flow", argc, argv, args, 0, flow_usage);
	if (rc < 0)
		return args_exit(rc);
	if (!o.pa.nsg) {
		fprintf(stderr, "minet flow: --nsg is required\n%s", flow_usage);
		return 2;
	}
	o.pa.short_run = true;
	if (policy_load(&p, &o.pa) < 0) {
		policy_free(&p);
		return 2;
	}
	notes_of = &p;
	if (o.batch)
		policy_print_notes(&p, stderr, "minet flow: note: ");
	rc = o.batch ? batch(&o, &p) : single(&o, &p);
	policy_free(&p);
	return rc;
}

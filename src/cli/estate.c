/* minet verify --estate FILE: one line (text), one JSON line, or SARIF results per managed-instance subnet. */
#include "cli/estate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "analysis/estate.h"
#include "cli/heap.h"
#include "model/estate.h"
#include "model/jsonin.h"

struct out {
	const struct estate_args *ea;
	char **line;     /* text or JSON line per MI subnet */
	json_t **sarif;  /* SARIF results per MI subnet */
};

static const char *kind_name(enum finding_kind k)
{
	static const char *const names[] = { "nsg", "route", "intent", "shadowed", "virtualnetwork" };
	return names[k];
}

static json_t *violation_json(const struct finding *f)
{
	json_t *o = json_pack("{s:s, s:s}", "contract", f->contract ? f->contract : "", "kind", kind_name(f->kind));
	if (f->rule) {
		json_object_set_new(o, "rule", json_string(f->rule->name));
		json_object_set_new(o, "priority", json_integer(f->rule->priority));
		json_object_set_new(o, "nsg", json_string(f->nsg->file));
	}
	if (f->route) {
		json_object_set_new(o, "route", f->route->user ? json_string(f->route->user->name) : json_null());
		json_object_set_new(o, "addressPrefix", json_string(f->route->prefix_text));
	}
	json_object_set_new(o, "message", json_string(f->message));
	return o;
}

static json_t *subnet_json(const struct estate_result *r)
{
	json_t *fs = json_array(), *vs = json_array(), *ws = json_array();
	for (size_t i = 0; i < r->nf; i++)
		json_array_append_new(fs, json_pack("{s:s, s:o, s:s}", "kind", estate_issue_name(r->f[i].kind),
						    "resource", r->f[i].ref ? json_string(r->f[i].ref) : json_null(),
						    "message", r->f[i].message));
	for (size_t i = 0; r->rep && i < r->rep->nviolations; i++)
		json_array_append_new(vs, violation_json(&r->rep->violations[i]));
	for (size_t i = 0; r->rep && i < r->rep->nwarnings; i++)
		json_array_append_new(ws, json_pack("{s:s, s:s}", "kind", kind_name(r->rep->warnings[i].kind), "message",
						    r->rep->warnings[i].message));
	json_t *ranges = json_array();
	for (const char *p = r->ranges ? r->ranges : ""; *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(ranges, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:b, s:b, s:o, s:o, s:o}", "subnet", r->s->id, "name",
			 r->s->name, "vnet", r->vnet->id, "addressPrefix",
			 r->s->prefix ? json_string(r->s->prefix) : json_null(), "virtualNetworkRanges", ranges, "region",
			 r->region, "pair", r->pair ? json_string(r->pair) : json_null(), "checked", r->rep != NULL,
			 "compliant", r->compliant, "findings", fs, "violations", vs, "warnings", ws);
}

static char *subnet_text(const struct estate_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	size_t n = r->nf + (r->rep ? r->rep->nviolations : 0);
	fprintf(f, "%-4s %s %s %s/%s", r->compliant ? "ok" : "FAIL", r->s->id, r->s->prefix ? r->s->prefix : "-",
		r->region, r->pair ? r->pair : "-");
	if (n)
		fprintf(f, ": %zu finding%s:", n, n == 1 ? "" : "s");
	const char *sep = " ";
	for (size_t i = 0; i < r->nf; i++, sep = "; ")
		fprintf(f, "%s%s: %s", sep, estate_issue_name(r->f[i].kind), r->f[i].message);
	for (size_t i = 0; r->rep && i < r->rep->nviolations; i++, sep = "; ")
		fprintf(f, "%s%s: %s", sep, r->rep->violations[i].contract, r->rep->violations[i].message);
	fclose(f);
	return buf;
}

static json_t *sarif_result(const char *rule, const char *subnet, const char *file_u, const char *msg,
			    const char *resource)
{
	json_t *r = json_pack("{s:s, s:s, s:{s:s+++}, s:[{s:{s:{s:s}}, s:[{s:s, s:s}]}]}", "ruleId", rule, "level",
			      "error", "message", "text", "subnet ", subnet, ": ", msg, "locations",
			      "physicalLocation", "artifactLocation", "uri", file_u, "logicalLocations",
			      "fullyQualifiedName", subnet, "kind", "resource");
	if (resource)
		json_object_set_new(r, "properties", json_pack("{s:s}", "resource", resource));
	return r;
}

static json_t *subnet_sarif(const struct estate_result *r, const char *file_u)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nf; i++)
		json_array_append_new(a, sarif_result(estate_issue_name(r->f[i].kind), r->s->id, file_u,
						      r->f[i].message, r->f[i].ref));
	for (size_t i = 0; r->rep && i < r->rep->nviolations; i++) {
		const struct finding *v = &r->rep->violations[i];
		json_array_append_new(a, sarif_result(v->contract, r->s->id, file_u, v->message,
						      v->rule ? v->nsg->file : NULL));
	}
	return a;
}

struct emit_ctx {
	struct out *o;
	char *file_u;
};

static int emit(void *arg, size_t i, const struct estate_result *r)
{
	struct emit_ctx *c = arg;
	const struct estate_args *ea = c->o->ea;
	/* a tree of jansson's may lack a member after one of its allocations failed (model/jsonin.h) */
	if (ea->sarif) {
		return (c->o->sarif[i] = subnet_sarif(r, c->file_u)) && !jsonin_alloc_failures() ? 0 : -1;
	} else if (ea->json) {
		json_t *j = subnet_json(r);
		c->o->line[i] = j && !jsonin_alloc_failures() ? jsonin_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
	} else {
		c->o->line[i] = subnet_text(r);
	}
	return c->o->line[i] ? 0 : -1;
}

static int print_sarif(struct out *o, size_t n, const struct contract_def *defs, size_t ndefs, json_t *stale)
{
	json_t *rules = json_array(), *results = json_array();
	for (size_t i = 0; i < ndefs; i++)
		json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", defs[i].id, "shortDescription", "text",
						       defs[i].intent));
	static const char *const issues[][2] = {
		{ "missing-resource", "a referenced NSG, route table or peered virtual network is not in the inventory" },
		{ "invalid-resource", "the subnet's NSG or route table does not load" },
		{ "no-nsg", "no network security group is associated with the subnet" },
		{ "subnet", "the subnet's address prefix or its virtual network's address space is unusable" },
		{ "region", "the location is not in the table of Azure region pairs" },
	};
	for (size_t i = 0; i < sizeof(issues) / sizeof(issues[0]); i++)
		json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", issues[i][0], "shortDescription", "text",
						       issues[i][1]));
	for (size_t i = 0; i < n; i++) {
		json_array_extend(results, o->sarif[i]);
		json_decref(o->sarif[i]);
	}
	json_t *run = json_pack("{s:{s:{s:s, s:s, s:o}}, s:o}", "tool", "driver", "name", "minet", "informationUri",
				"https://example.invalid/minet", "rules", rules, "results", results);
	if (json_array_size(stale)) {
		json_t *notes = json_array(), *v;
		size_t i;
		json_array_foreach(stale, i, v)
			json_array_append_new(notes, json_pack("{s:s, s:{s:O}}", "level", "warning", "message", "text",
							       json_object_get(v, "message")));
		json_object_set_new(run, "invocations", json_pack("[{s:b, s:o}]", "executionSuccessful", 1,
								  "toolExecutionNotifications", notes));
	}
	json_t *doc = json_pack("{s:s, s:s, s:[o]}", "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
				"version", "2.1.0", "runs", run);
	/* made whole before a byte is printed: json_dumpf allocates as it writes, and stops where memory runs out */
	int rc = heap_print_json(doc, JSON_INDENT(2), "minet verify");
	json_decref(doc);
	return rc;
}

int verify_estate(const struct policy_args *pa, const struct estate_args *ea)
{
	size_t ndefs;
	const struct contract_def *defs = contract_set(ea->contracts ? ea->contracts : "documented", &ndefs);
	if (!defs) {
		fprintf(stderr, "minet verify: --contracts '%s': want documented or provisioned\n", ea->contracts);
		return 2;
	}
	if (pa->vnet || pa->nsg || pa->nic_nsg || pa->routes || pa->host_vip) {
		fprintf(stderr, "minet verify: --estate takes each subnet's VNet, NSG and route table from the inventory: "
				"--vnet, --nsg, --nic-nsg, --routes and --host-vip do not apply\n");
		return 2;
	}
	struct tagdb tags;
	struct estate e = { 0 };
	struct diag d = { .out = stderr };
	struct out o = { .ea = ea };
	json_t *stale = NULL;
	int rc = 2;
	if (policy_load_tags(&tags, pa) < 0)
		goto out;
	if (estate_load_file(&e, ea->file, ea->threads > 0 ? ea->threads : (int)sysconf(_SC_NPROCESSORS_ONLN), &d) < 0)
		goto out;
	stale = json_array();
	tags_warn_stale(&tags, "minet verify", ea->sarif ? stale : NULL); /* JSON lines: on stderr */
	o.line = calloc(e.nmi + 1, sizeof(*o.line));
	o.sarif = calloc(e.nmi + 1, sizeof(*o.sarif));
	struct emit_ctx c = { &o, file_uri(ea->file) };
	if (!o.line || !o.sarif || !c.file_u) {
		free(c.file_u);
		goto oom;
	}
	struct estate_opts opts = { .tags = &tags, .defs = defs, .ndefs = ndefs, .strict = ea->strict,
				    .threads = ea->threads, .emit = emit, .ctx = &c };
	long failing = estate_verify(&e, &opts);
	free(c.file_u);
	if (failing < 0)
		goto oom;
	if (ea->sarif) {
		if (print_sarif(&o, e.nmi, defs, ndefs, stale) < 0)
			goto out; /* said */
	} else {
		for (size_t i = 0; i < e.nmi; i++)
			puts(o.line[i]);
		if (!ea->json)
			printf("%zu managed-instance subnet%s (of %zu subnets in %zu virtual networks): %zu compliant, %ld "
			       "not\n", e.nmi, e.nmi == 1 ? "" : "s", e.nsubnets, e.nvnets, e.nmi - (size_t)failing,
			       failing);
	}
	rc = failing ? 1 : 0;
	goto out;
oom:
	fprintf(stderr, "minet verify: out of memory\n");
out:
	for (size_t i = 0; o.line && i < e.nmi; i++)
		free(o.line[i]);
	free(o.line);
	free(o.sarif);
	json_decref(stale);
	estate_free(&e);
	tagdb_free(&tags);
	return rc;
}

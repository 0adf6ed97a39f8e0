/* minet verify: does a managed-instance subnet keep its mandatory management traffic. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/space.h"
#include "analysis/verify.h"
#include "cli/estate.h"
#include "cli/heap.h"
#include "cli/policy.h"
#include "cli/verbs.h"
#include "cli/verify_storage.h"
#include "model/jsonin.h"
#include "model/jsonloc.h"

static const char verify_usage[] =
	"usage: minet verify --tags F [--tags F…] --vnet CIDR[,…] --subnet CIDR --region R --pair P --nsg NSG.json\n"
	"                    [--nic-nsg NSG.json] [--routes RT.json] [--strict] [--contracts documented|provisioned]\n"
	"                    [--json | --sarif]\n"
	"       minet verify --estate INVENTORY.json --tags F [--tags F…] [--strict] [--contracts …] [--threads N]\n"
	"                    [--json | --sarif]\n"
	"\n"
	"Proves, over every address and port, that the NSGs and the route table keep the mandatory management\n"
	"traffic of a managed instance (prior to November 2022). Each failure names the offending rule or route,\n"
	"the exact size of the failing region and one packet that `minet flow` / `minet route` confirm.\n"
	"--strict also checks the service's intent policy: the mandatory rules and routes must exist as rules.\n"
	"--contracts provisioned: the rules the service actually created (CorpNetSaw also on 1440).\n"
	"Warnings: user rules that can never match.\n"
	"--host-vip IP: an address that stands for 168.63.129.16 (a lab's, see minet topology).\n"
	"--estate: every subnet delegated to Microsoft.Sql/managedInstances in an Azure Resource Graph export\n"
	"(az graph query … -o json, pages concatenated, or JSON lines), each with its VNet's ranges and peerings, NSG\n"
	"and route table by id, region and pair from the location; one line (text), one JSON line (--json) or SARIF\n"
	"results (--sarif) per subnet. --threads N: worker threads (default: every core).\n"
	"--nsg/--routes read REST, az, PowerShell, Terraform and ARM template JSON (minet-flow(1), INPUT SHAPES);\n"
	"FILE#NAME picks one of several; --parameters FILE: an ARM template's deploymentParameters file.\n"
	STORAGE_USAGE
	"Exit: 0 every contract holds (and every storage account passes), 1 some fail, 2 bad input or usage.\n";

static const char *kind_name(enum finding_kind k)
{
	static const char *const names[] = { "nsg", "route", "intent", "shadowed", "virtualnetwork" };
	return names[k];
}

static const char *contract_kind(enum contract_kind k)
{
	return k == CK_ROUTE ? "route" : "nsg";
}

/* ---- JSON ---- */

static json_t *finding_json(const struct finding *f)
{
	char a[ADDR_STRLEN], n[40];
	json_t *o = json_object();
	if (f->contract)
		json_object_set_new(o, "contract", json_string(f->contract));
	json_object_set_new(o, "kind", json_string(kind_name(f->kind)));
	if (f->rule) {
		json_object_set_new(o, "rule", json_string(f->rule->name));
		json_object_set_new(o, "priority", json_integer(f->rule->priority));
		json_object_set_new(o, "nsg", json_string(f->nsg->name));
		json_object_set_new(o, "file", json_string(f->nsg->file));
	}
	if (f->route) {
		json_object_set_new(o, "route", f->route->user ? json_string(f->route->user->name) : json_null());
		json_object_set_new(o, "addressPrefix", json_string(f->route->prefix_text));
		json_object_set_new(o, "source", json_string(f->route->user ? "User" : "Default"));
	}
	if (f->kind == FK_INTENT && !f->rule && !f->route)
		json_object_set_new(o, f->route_missing ? "route" : "rule", json_null());
	if (f->kind == FK_NSG || f->kind == FK_ROUTE)
		json_object_set_new(o, "size", json_string(u128_format(f->size, n)));
	if (f->kind == FK_NSG) {
		const struct flow *e = &f->example;
		char lower[8];
		snprintf(lower, sizeof(lower), "%s", proto_name(e->proto));
		lower[0] = (char)(lower[0] | 0x20);
		json_t *ex = json_pack("{s:s, s:s}", "protocol", lower, "src", addr_format(e->src, a));
		json_object_set_new(ex, "srcPort", e->sport < 0 ? json_null() : json_integer(e->sport));
		json_object_set_new(ex, "dst", json_string(addr_format(e->dst, a)));
		json_object_set_new(ex, "dstPort", e->dport < 0 ? json_null() : json_integer(e->dport));
		json_object_set_new(o, "example", ex);
	} else if (f->kind == FK_ROUTE) {
		json_object_set_new(o, "example", json_pack("{s:s, s:s}", "dst", addr_format(f->example_dst, a),
							     "nextHopType", next_hop_name(f->route->hop)));
	}
	json_object_set_new(o, "message", json_string(f->message));
	return o;
}

static int print_json(const struct verify_report *r, const struct verify_input *in, json_t *storage, json_t *stale)
{
	char s[CIDR_STRLEN];
	json_t *o = json_object(), *v = json_array(), *w = json_array(), *c = json_array();
	json_object_set_new(o, "compliant", json_boolean(r->nviolations == 0));
	json_object_set_new(o, "subnet", json_string(cidr_format(&in->subnet, s)));
	json_object_set_new(o, "region", json_string(in->region));
	json_object_set_new(o, "pair", json_string(in->pair));
	for (size_t i = 0; i < r->ncontracts; i++)
		json_array_append_new(c, json_pack("{s:s, s:s, s:b}", "id", r->contracts[i].def->id, "kind",
						   contract_kind(r->contracts[i].def->kind), "holds", r->contracts[i].holds));
	for (size_t i = 0; i < r->nviolations; i++)
		json_array_append_new(v, finding_json(&r->violations[i]));
	for (size_t i = 0; i < r->nwarnings; i++)
		json_array_append_new(w, finding_json(&r->warnings[i]));
	json_object_set_new(o, "contracts", c);
	json_object_set_new(o, "violations", v);
	json_object_set_new(o, "warnings", w);
	if (storage)
		json_object_set(o, "storage", storage);
	json_object_set(o, "staleTags", stale);
	int rc = heap_print_json(o, JSON_INDENT(2), "minet verify");
	json_decref(o);
	return rc;
}

/* ---- SARIF 2.1.0 ---- */

/* Where the value at json_path is in file (line 1 when unknown). */
static void locate(const char *file, const char *json_path, struct jsonloc_region *r)
{
	struct diag d = { 0 };
	size_t len;
	char *buf = json_path ? jsonin_read_file(file, 64u << 20, JSONLOC_PADDING, &len, &d) : NULL;
	*r = (struct jsonloc_region){ 1, 1, 1, 1 };
	/* out of memory: a place of line 1 would be said as if it were known */
	if (buf ? jsonloc(buf, len, json_path, r) == -2 : d.oom_said)
		jsonin_alloc_failed();
	free(buf);
}

/* A file name as a URI reference: absolute paths as file:// URIs, relative ones relative; both percent-encoded
 * (RFC 3986 unreserved characters and '/' stay as they are). */
char *file_uri(const char *path)
{
	size_t n = strlen(path);
	char *u = malloc(3 * n + 8), *o = u;
	if (!u)
		return NULL;
	if (path[0] == '/')
		o += sprintf(o, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = 0;
	return u;
}

static json_t *sarif_result(const struct finding *f, const struct verify_input *in, const char *level)
{
	const char *file = NULL, *name = NULL; /* name: the JSON path of the rule or route */
	if (f->rule) {
		file = f->nsg->file;
		name = f->rule->json_path;
	} else if (f->route) {
		file = in->rt ? in->rt->file : NULL;
		name = f->route->user ? f->route->user->json_path : NULL;
	} else if (f->route_missing) {
		file = in->rt ? in->rt->file : NULL;
	} else if (f->kind == FK_VNET_TAG) {
		file = in->rt ? in->rt->file : NULL;
	} else if (f->nsg) {
		file = f->nsg->file;
	}
	const char *id = f->contract ? f->contract : f->kind == FK_SHADOWED ? "shadowed-rule" : "virtualnetwork-tag";
	json_t *r = json_pack("{s:s, s:s, s:{s:s}}", "ruleId", id, "level",
			      level, "message", "text", f->message);
	char *uri = file ? file_uri(file) : NULL;
	if (file && !uri)
		jsonin_alloc_failed(); /* the result would lack its location */
	if (uri) {
		struct jsonloc_region g;
		locate(file, name, &g);
		json_object_set_new(r, "locations", json_pack("[{s:{s:{s:s}, s:{s:i, s:i, s:i, s:i}}}]", "physicalLocation",
			"artifactLocation", "uri", uri, "region", "startLine", g.start_line, "startColumn", g.start_column,
			"endLine", g.end_line, "endColumn", g.end_column));
	}
	free(uri);
	return r;
}

static int print_sarif(const struct verify_report *r, const struct verify_input *in, json_t *stale)
{
	json_t *rules = json_array(), *results = json_array();
	for (size_t i = 0; i < in->ndefs; i++)
		json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", in->defs[i].id, "shortDescription", "text",
						       in->defs[i].intent));
	json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", "shadowed-rule", "shortDescription", "text",
					       "a security rule that can never match"));
	json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", "virtualnetwork-tag", "shortDescription", "text",
					       "VirtualNetwork holds the user-defined routes' prefixes"));
	for (size_t i = 0; i < r->nviolations; i++)
		json_array_append_new(results, sarif_result(&r->violations[i], in, "error"));
	for (size_t i = 0; i < r->nwarnings; i++)
		json_array_append_new(results, sarif_result(&r->warnings[i], in, "warning"));
	json_t *o = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}", "$schema",
			      "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool",
			      "driver", "name", "minet", "informationUri", "https://example.invalid/minet", "rules", rules,
			      "results", results);
	if (json_array_size(stale)) { /* an old tags file: a notification of the run, not a result */
		json_t *notes = json_array(), *v;
		size_t i;
		json_array_foreach(stale, i, v)
			json_array_append_new(notes, json_pack("{s:s, s:{s:O}}", "level", "warning", "message", "text",
							       json_object_get(v, "message")));
		json_object_set_new(json_array_get(json_object_get(o, "runs"), 0), "invocations",
				    json_pack("[{s:b, s:o}]", "executionSuccessful", 1, "toolExecutionNotifications",
					      notes));
	}
	int rc = heap_print_json(o, JSON_INDENT(2), "minet verify");
	json_decref(o);
	return rc;
}

/* ---- text ---- */

static void print_text(const struct verify_report *r, const struct verify_input *in, const char *set)
{
	bool tty = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	const char *red = tty ? "\033[31m" : "", *green = tty ? "\033[32m" : "", *yellow = tty ? "\033[33m" : "",
		   *bold = tty ? "\033[1m" : "", *off = tty ? "\033[0m" : "";
	char s[CIDR_STRLEN];
	printf("%ssubnet %s, region %s, pair %s, %s contracts%s%s\n\n", bold, cidr_format(&in->subnet, s), in->region,
	       in->pair, set, in->strict ? ", strict" : "", off);
	printf("%-28s %-6s %-40s %s\n", "CONTRACT", "KIND", "SPACE", "RESULT");
	for (size_t i = 0; i < r->ncontracts; i++) {
		const struct contract_result *c = &r->contracts[i];
		char space[192];
		if (c->def->kind == CK_ROUTE)
			snprintf(space, sizeof(space), "%s -> %s", c->dst, next_hop_name(c->def->hop));
		else
			snprintf(space, sizeof(space), "%s -> %s %s", c->src, c->dst, c->def->ports ? c->def->ports : "any");
		printf("%-28s %-6s %-40.40s %s%s%s\n", c->def->id, contract_kind(c->def->kind), space,
		       c->holds ? green : red, c->holds ? "holds" : "FAILS", off);
	}
	if (r->nviolations) {
		printf("\n%sviolations%s\n", bold, off);
		for (size_t i = 0; i < r->nviolations; i++)
			printf("  %s%-26s%s %-7s %s\n", red, r->violations[i].contract, off,
			       kind_name(r->violations[i].kind), r->violations[i].message);
	}
	if (r->nwarnings) {
		printf("\n%swarnings%s\n", bold, off);
		for (size_t i = 0; i < r->nwarnings; i++)
			printf("  %sNSG '%s'%s: %s\n", yellow, r->warnings[i].nsg->name, off, r->warnings[i].message);
	}
	printf("\n%s%s%s\n", r->nviolations ? red : green,
	       r->nviolations ? "NOT compliant: management traffic would break" : "compliant: every contract holds",
	       off);
}

int cmd_verify(int argc, char **argv)
{
	struct policy_args pa = { 0 };
	struct storage_args sa = { 0 };
	json_t *storage = NULL;
	struct verify_input in = { 0 };
	struct estate_args ea = { 0 };
	const char *subnet = NULL, *set = "documented";
	bool json = false, sarif = false;
	const struct arg args[] = {
		POLICY_ARGS(&pa),
		ARG_STR("subnet", &subnet),
		ARG_STR("region", &in.region),
		ARG_STR("pair", &in.pair),
		ARG_FLAG("strict", &in.strict),
		ARG_STR("contracts", &set),
		ARG_FLAG("json", &json),
		ARG_FLAG("sarif", &sarif),
		ARG_STR("estate", &ea.file),
		ARG_INT("threads", &ea.threads, 1, 1024),
		STORAGE_ARGS(&sa),
		ARGS_END,
	};
	int first = args_parse("verify", argc, argv, args, 0, verify_usage);
	if (first < 0)
		return args_exit(first);
	if (ea.file && !subnet && !in.region && !in.pair && !(json && sarif)) {
		ea.contracts = set;
		ea.strict = in.strict;
		ea.json = json;
		ea.sarif = sarif;
		return verify_estate(&pa, &ea);
	}
	if (ea.file) {
		fprintf(stderr, "minet verify: --estate takes no --subnet, --region or --pair%s\n",
			json && sarif ? "; --json and --sarif exclude each other" : "");
		return 2;
	}
	if (!subnet || !in.region || !in.pair || !pa.nsg || (json && sarif)) {
		fprintf(stderr, "minet verify: %s\n%s",
			json && sarif ? "--json and --sarif exclude each other"
				      : "--subnet, --region, --pair and --nsg are required",
			verify_usage);
		return 2;
	}
	const char *why;
	if (cidr_parse(subnet, &in.subnet, &why) < 0) {
		fprintf(stderr, "minet verify: --subnet '%s': %s\n", subnet, why);
		return 2;
	}
	if (!(in.defs = contract_set(set, &in.ndefs))) {
		fprintf(stderr, "minet verify: --contracts '%s': want documented or provisioned\n", set);
		return 2;
	}
	struct policy p;
	struct verify_report rep;
	json_t *stale = NULL;
	int rc = 2;
	pa.short_run = true;
	if (policy_load(&p, &pa) < 0)
		goto out;
	stale = json_array();
	tags_warn_stale(&p.tags, "minet verify", json || sarif ? stale : NULL);
	policy_print_notes(&p, stderr, "minet verify: note: "); /* rules whose ASGs have no members */
	in.env = &p.env;
	in.nsg = &p.nsg;
	in.nic = p.has_nic ? &p.nic : NULL;
	in.rt = p.has_rt ? &p.rt : NULL;
	struct diag d = { .out = stderr, .file = "minet verify" };
	int refused = storage_run(&sa, in.region, &in.subnet, &storage);
	if (refused < 0)
		goto out;
	if (verify_run(&in, &rep, &d) < 0)
		goto out;
	bool printed = true;
	if (json)
		printed = print_json(&rep, &in, storage, stale) == 0;
	else if (sarif)
		printed = print_sarif(&rep, &in, stale) == 0;
	else
		print_text(&rep, &in, set);
	if (!json && !sarif)
		storage_print(stdout, storage);
	rc = !printed ? 2 : rep.nviolations || refused ? 1 : 0;
	verify_report_free(&rep);
out:
	json_decref(storage);
	json_decref(stale);
	policy_free(&p);
	return rc;
}

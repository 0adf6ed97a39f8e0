/* minet verify at scale: all contracts on a tags file, a 1,000-rule NSG naming service tags and a 400-route
 * table (25 service-tag routes). Prints the time beyond loading; asserts nothing about time.
 *   bench_verify TAGS.json CORPNET-TAGS.json */
#include <string.h>

#include "analysis/verify.h"
#include "model/jsonin.h"

#include "gen.h"

static char *make_routes(const struct tagdb *db, uint64_t *s)
{
	static const char *const regional[] = { "AzureCloud.westeurope", "AzureCloud.northeurope", "Storage",
						"Storage.WestEurope", "SqlManagement", "EventHub", "AzureMonitor",
						"AzureActiveDirectory", "CorpNetSaw", "CorpNetPublic" };
	size_t cap = 400 * 200, len = 0;
	char *j = malloc(cap);
	len += (size_t)snprintf(j, cap, "{\"name\":\"rt\",\"properties\":{\"routes\":[");
	for (int i = 0; i < 400; i++) {
		char pfx[64];
		if (i < 10) {
			snprintf(pfx, sizeof(pfx), "%s", regional[i]);
		} else if (i < 25) {
			snprintf(pfx, sizeof(pfx), "%s", db->v[rnd(s) % db->n].name);
			for (int k = 0; k < i; k++) /* keep tag routes distinct */
				if (strstr(j, pfx)) {
					snprintf(pfx, sizeof(pfx), "%s", db->v[rnd(s) % db->n].name);
					k = -1;
				}
		} else {
			uint32_t a = (uint32_t)rnd(s) & 0xfffff000u;
			snprintf(pfx, sizeof(pfx), "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, 0, 24);
			if (strstr(j, pfx)) {
				i--;
				continue;
			}
		}
		bool nva = rnd(s) % 4 == 0;
		len += (size_t)snprintf(j + len, cap - len,
			"%s{\"name\":\"r%d\",\"properties\":{\"addressPrefix\":\"%s\",\"nextHopType\":\"%s\"%s}}", i ? "," : "",
			i, pfx, nva ? "VirtualAppliance" : "Internet", nva ? ",\"nextHopIpAddress\":\"10.0.9.4\"" : "");
	}
	snprintf(j + len, cap - len, "]}}");
	return j;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_verify TAGS.json CORPNET-TAGS.json\n");
		return 2;
	}
	struct tagdb db = { 0 };
	struct diag d = { .out = stderr };
	double t0 = monotonic_seconds();
	if (tagdb_load_file(&db, argv[1], &d) < 0 || tagdb_load_file(&db, argv[2], &d) < 0)
		return 2;
	uint64_t seed = 1234;
	char *rtext = make_routes(&db, &seed), *ntext = make_nsg(&db, 1000, &seed);
	json_t *rj = jsonin_load_buf(rtext, strlen(rtext), &d), *nj = jsonin_load_buf(ntext, strlen(ntext), &d);
	struct route_table rt;
	struct netenv env;
	struct nsg g;
	if (!rj || !nj || rt_load_json(&rt, rj, "rt", &db, &d) < 0 || netenv_init(&env, &db, "10.0.0.0/16", &d) < 0 ||
	    netenv_add_routes(&env, &rt) < 0 || nsg_load_json(&g, nj, "nsg", &env, &d) < 0)
		return 2;
	double t_load = monotonic_seconds() - t0;
	size_t ndefs;
	struct verify_input in = { .env = &env, .nsg = &g, .rt = &rt, .region = "westeurope", .pair = "northeurope",
				   .strict = true };
	const char *why;
	cidr_parse("10.0.0.0/24", &in.subnet, &why);
	in.defs = contract_set("documented", &ndefs);
	in.ndefs = ndefs;
	double best = 1e9, total = 0;
	struct verify_report rep = { 0 };
	for (int i = 0; i < 5; i++) {
		if (i)
			verify_report_free(&rep);
		t0 = monotonic_seconds();
		if (verify_run(&in, &rep, &d) < 0)
			return 2;
		double t = monotonic_seconds() - t0;
		best = t < best ? t : best;
		total += t;
	}
	size_t held = 0;
	for (size_t i = 0; i < rep.ncontracts; i++)
		held += rep.contracts[i].holds;
	printf("verify: %zu contracts (%zu hold), %zu violations, %zu warnings; NSG %zu rules, route table %zu routes\n",
	       rep.ncontracts, held, rep.nviolations, rep.nwarnings, g.n, rt.n);
	printf("  loading (tags, NSG, routes): %.1f ms; verify beyond loading: best %.1f ms, mean %.1f ms "
	       "(target <= 100 ms)\n", t_load * 1e3, best * 1e3, total / 5 * 1e3);
	verify_report_free(&rep);
	nsg_free(&g);
	netenv_free(&env);
	rt_free(&rt);
	tagdb_free(&db);
	json_decref(rj);
	json_decref(nj);
	free(rtext);
	free(ntext);
	return 0;
}

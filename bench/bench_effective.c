/* Reading effective output in-process, without the tags file: read + parse + validate a file N times and print
 * the median and the fastest CPU time of the thread (the machine is shared: wall time would count other jobs), for an effective NSG and, as the peer in the same run, the same rules as an ARM NSG
 * (nsg_load_json), and an effective route table. Asserts nothing about time.
 *   bench_effective EFFECTIVE_NSG.json ARM_NSG.json EFFECTIVE_ROUTES.json */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "model/effective.h"
#include "model/jsonin.h"

enum { RUNS = 41 };

static void report(const char *what, double *t)
{
	qsort(t, RUNS, sizeof(*t), dbl_cmp);
	printf("  %-44s median %6.2f ms   fastest %6.2f ms\n", what, t[RUNS / 2] * 1e3, t[0] * 1e3);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_effective EFFECTIVE_NSG.json ARM_NSG.json EFFECTIVE_ROUTES.json\n");
		return 2;
	}
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	if (netenv_init(&env, &db, "10.0.0.0/16", &d) < 0)
		return 2;
	double te[RUNS], ta[RUNS], tr[RUNS];
	for (int i = 0; i < RUNS; i++) {
		struct nsg sub, nic, arm;
		struct route_table rt;
		bool hs, hn;
		double t0 = cpu_now();
		json_t *root = jsonin_load_file(argv[1], NSG_MAX_BYTES, &d);
		if (!root || effective_nsg_load_json(&sub, &hs, &nic, &hn, root, argv[1], &env, &d) < 0)
			return 2;
		json_decref(root);
		te[i] = cpu_now() - t0;
		if (hs)
			nsg_free(&sub);
		if (hn)
			nsg_free(&nic);
		t0 = cpu_now();
		root = jsonin_load_file(argv[2], NSG_MAX_BYTES, &d);
		if (!root || nsg_load_json(&arm, root, argv[2], &env, &d) < 0)
			return 2;
		json_decref(root);
		ta[i] = cpu_now() - t0;
		nsg_free(&arm);
		t0 = cpu_now();
		root = jsonin_load_file(argv[3], RT_MAX_BYTES, &d);
		if (!root || effective_routes_load_json(&rt, root, argv[3], &d) < 0)
			return 2;
		json_decref(root);
		tr[i] = cpu_now() - t0;
		rt_free(&rt);
	}
	printf("reading in-process (no tags file), CPU time of %d runs each, one core:\n", RUNS);
	report("1,000-rule effective NSG (target <= 5 ms)", te);
	report("peer: the same rules as an ARM NSG", ta);
	report("effective route table, 1,001 prefixes", tr);
	netenv_free(&env);
	return 0;
}

/* Reading an NSG in each input shape in-process, without the tags file: read + parse + recognise + convert +
 * validate (nsg_load_file, the path --nsg takes) each file N times and print the median and fastest CPU time of
 * the thread (the machine is shared: wall time would count other jobs), and the extra over the first file (the
 * plain REST resource, the peer measured in the same run). Asserts nothing about time.
 *   bench_shapes REST.json [SHAPE.json…] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "model/nsg.h"

enum { RUNS = 31 };

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_shapes REST.json [SHAPE.json...]\n");
		return 2;
	}
	struct tagdb db = { 0 };
	struct netenv env;
	struct diag d = { .out = stderr };
	if (netenv_init(&env, &db, "10.0.0.0/16", &d) < 0)
		return 2;
	double base = 0;
	printf("in-process, CPU time of the thread, %d runs (read + parse + shape + validate):\n", RUNS);
	for (int f = 1; f < argc; f++) {
		double t[RUNS];
		for (int i = 0; i < RUNS; i++) {
			struct nsg g;
			double t0 = cpu_now();
			if (nsg_load_file(&g, argv[f], &env, &d) < 0)
				return 2;
			t[i] = cpu_now() - t0;
			nsg_free(&g);
		}
		qsort(t, RUNS, sizeof(*t), dbl_cmp);
		if (f == 1)
			base = t[RUNS / 2];
		const char *name = strrchr(argv[f], '/');
		printf("  %-22s median %6.2f ms   fastest %6.2f ms   beyond the REST resource %+6.2f ms (target <= 5 ms)\n",
		       name ? name + 1 : argv[f], t[RUNS / 2] * 1e3, t[0] * 1e3, (t[RUNS / 2] - base) * 1e3);
	}
	netenv_free(&env);
	return 0;
}

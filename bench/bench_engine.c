/* Engine throughput: verdicts per second of the fast engine (classify.h) and of the linear reference
 * evaluator (flow.h), on one core, with a Service Tags file loaded and an NSG of N rules that reference
 * service tags. Prints figures and the ratio; asserts nothing about time.
 *   bench_engine TAGS.json [RULES] [--write-nsg FILE]   (--write-nsg saves the generated NSG for other benches) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/classify.h"
#include "model/jsonin.h"

#include "gen.h"

int main(int argc, char **argv)
{
	const char *tags_file = argc > 1 ? argv[1] : NULL, *write_nsg = NULL;
	int nrules = 1000;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--write-nsg") && i + 1 < argc)
			write_nsg = argv[++i];
		else
			nrules = atoi(argv[i]);
	}
	if (!tags_file) {
		fprintf(stderr, "usage: bench_engine TAGS.json [RULES] [--write-nsg FILE]\n");
		return 2;
	}
	struct tagdb db = { 0 };
	struct diag d = { .out = stderr };
	double t0 = monotonic_seconds();
	if (tagdb_load_file(&db, tags_file, &d) < 0)
		return 2;
	double t_load = monotonic_seconds() - t0;
	size_t nprefixes = 0;
	for (size_t i = 0; i < db.n; i++)
		nprefixes += db.v[i].nprefixes;

	uint64_t seed = 42;
	struct netenv env;
	netenv_init(&env, &db, "10.0.0.0/16", &d);
	char *text = make_nsg(&db, nrules, &seed);
	if (write_nsg) {
		FILE *f = fopen(write_nsg, "w");
		if (!f || fputs(text, f) < 0 || fclose(f))
			return perror(write_nsg), 2;
	}
	json_t *root = jsonin_load_buf(text, strlen(text), &d);
	struct nsg g;
	if (!root || nsg_load_json(&g, root, "bench", &env, &d) < 0)
		return 2;
	json_decref(root);
	free(text);

	t0 = monotonic_seconds();
	struct nsg_classifier *c = nsgc_build(&g, DIR_IN);
	double t_build = monotonic_seconds() - t0;
	size_t classes, segments;
	nsgc_stats(c, &classes, &segments);

	/* Flows: sources spread over the tags' own prefixes (so rules match) and random addresses. */
	enum { NFLOWS = 1 << 20 };
	struct flow *fl = malloc(NFLOWS * sizeof(*fl));
	for (size_t i = 0; i < NFLOWS; i++) {
		/* Half aimed at a random rule (its source set, its destination port), half random. */
		const struct nsg_rule *r = &g.rules[rnd(&seed) % g.nin];
		const struct ipset *set = r->src.set;
		u128 src = addr_from_v4((uint32_t)rnd(&seed));
		bool aimed = rnd(&seed) % 2;
		if (aimed && set->n) {
			const struct range *x = &set->r[rnd(&seed) % set->n];
			u128 span = x->hi - x->lo + 1;
			src = x->lo + (span ? (u128)rnd(&seed) % span : (u128)rnd(&seed));
		}
		fl[i] = (struct flow){ .dir = DIR_IN, .proto = PROTO_TCP, .src = src,
				       .dst = addr_from_v4((10u << 24) | (uint32_t)(rnd(&seed) & 0xff)),
				       .sport = (int)(rnd(&seed) % 65536),
				       .dport = aimed ? r->dport.r[0].lo : (int)(rnd(&seed) % 65536) };
		if (!addr_is_v4(src))
			fl[i].dst = ((u128)0x20010db8u << 96) | 1;
	}
	/* Fast engine: 16 M verdicts. */
	size_t allow = 0, n_fast = 16u << 20;
	t0 = monotonic_seconds();
	for (size_t i = 0; i < n_fast; i++)
		allow += nsgc_decide(c, &fl[i & (NFLOWS - 1)])->allow;
	double t_fast = monotonic_seconds() - t0;
	/* Linear reference: fewer, it is slow; and agreement on all of them. */
	size_t n_lin = 200000, disagree = 0, allow_lin = 0;
	t0 = monotonic_seconds();
	for (size_t i = 0; i < n_lin; i++)
		allow_lin += nsg_decide(&g, &fl[i])->allow;
	double t_lin = monotonic_seconds() - t0;
	for (size_t i = 0; i < n_lin; i++)
		disagree += nsg_decide(&g, &fl[i]) != nsgc_decide(c, &fl[i]);

	double r_fast = (double)n_fast / t_fast, r_lin = (double)n_lin / t_lin;
	printf("tags file: %zu entries, %zu prefixes, loaded in %.1f ms\n", db.n, nprefixes, t_load * 1e3);
	printf("NSG: %d rules naming service tags (+6 defaults); fast engine built in %.1f ms "
	       "(%zu address classes, %zu segments)\n", nrules, t_build * 1e3, classes, segments);
	printf("fast engine:   %6.2f M verdicts/s   (%zu verdicts, %.1f%% allowed)\n", r_fast / 1e6, n_fast,
	       100.0 * (double)allow / (double)n_fast);
	printf("linear engine: %6.3f M verdicts/s   (%zu verdicts, %.1f%% allowed)\n", r_lin / 1e6, n_lin,
	       100.0 * (double)allow_lin / (double)n_lin);
	printf("ratio fast/linear: %.0fx; disagreements: %zu\n", r_fast / r_lin, disagree);
	nsgc_free(c);
	nsg_free(&g);
	netenv_free(&env);
	tagdb_free(&db);
	free(fl);
	return disagree ? 1 : 0;
}

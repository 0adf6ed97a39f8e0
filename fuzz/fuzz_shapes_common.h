/* Shared by the shape harnesses (fuzz_shapes_rest.c, fuzz_shapes_ps.c, fuzz_shapes_tf.c): run a JSON document
 * through shapes_dispatch for both kinds, load every NSG / route table found with the path map in force, and
 * check what must hold whatever the input:
 *   - a failure reports at least one error, a success none;
 *   - every loaded rule and route carries a path, and mapping any canonical path of it gives a non-empty path
 *     no longer than the buffer (no crash, no overrun under ASan);
 *   - the canonical document of an item loads the same with or without the map (the map only renames paths). */
#ifndef MINET_FUZZ_SHAPES_COMMON_H
#define MINET_FUZZ_SHAPES_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "model/netenv.h"
#include "model/nsg.h"
#include "model/routes.h"
#include "model/shapes.h"

static struct netenv shapes_env;

static void shapes_setup(void)
{
	static int done;
	if (done)
		return;
	struct diag d = { .out = NULL, .file = "fuzz-env" };
	if (netenv_init(&shapes_env, fuzz_tags(), "10.0.0.0/16,fd00:db8::/48", &d) < 0)
		abort();
	done = 1;
}

/* Map a path with the linear scan and with the hash index (shapes_map_sort): the same answer. */
static void shapes_check_map(struct shape_map *m, const char *canon_path)
{
	char buf[1024], buf2[1024];
	free(m->idx);
	m->idx = NULL;
	const char *p = shapes_map_path(m, canon_path, buf, sizeof(buf));
	if (!p || strlen(p) >= sizeof(buf))
		abort();
	struct shape_map s = *m;
	s.e = malloc((m->n ? m->n : 1) * sizeof(*s.e));
	if (!s.e)
		abort();
	memcpy(s.e, m->e, m->n * sizeof(*s.e));
	shapes_map_sort(&s);
	const char *q = shapes_map_path(&s, canon_path, buf2, sizeof(buf2));
	if (strcmp(p, q))
		abort();
	free(s.e);
	free(s.idx);
}

static void shapes_run_kind(json_t *root, enum shape_kind kind)
{
	struct shape_found f = { 0 };
	struct diag d = { .out = NULL, .file = "in.json" };
	int rc = shapes_dispatch(root, "", kind, &f, 0, &d);
	if ((rc < 0) != (d.errors > 0))
		abort();
	for (size_t i = 0; i < f.n; i++) {
		struct shape_item *it = &f.items[i];
		struct diag dm = { .out = NULL, .file = "in.json", .map_path = shapes_map_path, .map_ctx = &it->map };
		struct diag dp = { .out = NULL, .file = "in.json" };
		if (kind == SHAPE_NSG) {
			struct nsg g, h;
			int a = nsg_load_json(&g, it->canon, "in.json", &shapes_env, &dm);
			int b = nsg_load_json(&h, it->canon, "in.json", &shapes_env, &dp);
			if (a != b || dm.errors != dp.errors || (a < 0) != (dm.errors > 0))
				abort();
			if (a == 0) {
				if (g.n != h.n)
					abort();
				for (size_t k = 0; k < g.n; k++)
					if (!g.rules[k].is_default) {
						if (!g.rules[k].json_path || !h.rules[k].json_path)
							abort();
						shapes_check_map(&it->map, h.rules[k].json_path);
					}
				nsg_free(&g);
				nsg_free(&h);
			}
		} else {
			struct route_table t, u;
			int a = rt_load_json(&t, it->canon, "in.json", fuzz_tags(), &dm);
			int b = rt_load_json(&u, it->canon, "in.json", fuzz_tags(), &dp);
			if (a != b || dm.errors != dp.errors || (a < 0) != (dm.errors > 0))
				abort();
			if (a == 0) {
				for (size_t k = 0; k < t.n; k++) {
					if (!t.routes[k].json_path)
						abort();
					shapes_check_map(&it->map, u.routes[k].json_path);
				}
				rt_free(&t);
				rt_free(&u);
			}
		}
		shapes_check_map(&it->map, "properties.securityRules[999].properties.sourceAddressPrefixes[3]");
		shapes_check_map(&it->map, "properties.securityRules[0].properties.priority");
		shapes_check_map(&it->map, "properties.routes[1].properties.nextHopType");
		shapes_check_map(&it->map, "");
	}
	shapes_found_free(&f);
}

/* Parse data (any JSON value) and run both kinds on `wrap(parsed)` (a new reference, or NULL to skip). */
static void shapes_fuzz(const uint8_t *data, size_t size, json_t *(*wrap)(json_t *))
{
	shapes_setup();
	json_error_t err;
	json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!v)
		return;
	json_t *root = wrap ? wrap(v) : json_incref(v);
	if (root) {
		shapes_run_kind(root, SHAPE_NSG);
		shapes_run_kind(root, SHAPE_RT);
	}
	json_decref(root);
	json_decref(v);
}

#endif

/* The JSON shapes a user has for an NSG or a route table (REST resource, REST example wrapper, {"value":[…]}
 * lists, `az` show/list/create output, PowerShell ConvertTo-Json, Terraform plan and state, …), recognised
 * and converted to the canonical REST resource nsg_load_json / rt_load_json read. Each conversion keeps a
 * map from paths in the canonical resource back to paths in the user's file, which diag_err applies, so an
 * error still names the place the user can find (`planned_values.root_module.resources[1].values.
 * security_rule[0].priority`).
 *
 * The recognisers are one table (shapes.c, shape_table[]): each entry is `is` (does this JSON have my
 * shape?) and `convert` (append the NSGs / route tables it holds to a shape_found), or a `hint` saying
 * what the JSON is and what to do instead. Containers (lists, wrappers, plans) convert by dispatching their
 * parts through the same table (shapes_dispatch). */
#ifndef MINET_SHAPES_H
#define MINET_SHAPES_H

#include <jansson.h>
#include <stdbool.h>

#include "model/diag.h"

enum shape_kind { SHAPE_NSG, SHAPE_RT };
#define SHAPE_KIND(k) (1u << (k))

/* A rename of a path suffix below a map entry: canonical "properties.priority" is the user's "Priority". */
struct shape_ren {
	const char *canon, *user;
};

struct shape_map_ent {
	char *canon, *user; /* one allocation: user follows canon */
	const struct shape_ren *ren; /* NULL-terminated, or NULL: the rest of the path is the same */
	/* By position in ren: entries that do not apply here, and entries whose user path is followed by "[0]"
	 * (both 0 from shapes_map_add; a converter sets them on the entry it added) */
	unsigned ren_off, ren_idx0;
};

struct shape_map {
	struct shape_map_ent *e;
	size_t n, cap;
	/* A hash index of the entries by canon (shapes_map_sort): open addressing, entry index + 1, 0 empty; mask + 1
	 * slots. Without it (NULL), lookups are a linear scan. */
	size_t *idx, mask;
};

/* Consumer flags a converter may set on an item (e.g. effective output that is already a whole FIB). */
enum { SHAPE_F_EFFECTIVE = 1 };

/* One NSG or route table found in a file. */
struct shape_item {
	char *name;           /* its name, for FILE#NAME */
	char *alt;            /* another name it answers to (a Terraform address), or NULL */
	json_t *canon;        /* the canonical REST resource (owned reference) */
	struct shape_map map; /* canonical path → path in the user's file */
	unsigned flags;
};

struct shape_found {
	const char *shape; /* the outermost shape recognised, e.g. "a Terraform plan" */
	struct shape_item *items;
	size_t n, cap;
};

struct shape {
	const char *name; /* "a Terraform plan (terraform show -json)": what the user is told */
	unsigned kinds;   /* SHAPE_KIND(SHAPE_NSG) | …: what it can hold */
	bool (*is)(const json_t *v);
	/* Append the items of kind found in v (whose path in the user's file is upath) to out. 0, or -1 with
	 * every error reported. NULL: the shape is recognised only to say `hint`. */
	int (*convert)(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, struct diag *d);
	const char *hint;
};

/* Recognise v (at upath) and convert it: 0 or -1 (reported). depth guards against nesting. */
int shapes_dispatch(json_t *v, const char *upath, enum shape_kind kind, struct shape_found *out, int depth,
		    struct diag *d);

/* Helpers for converters. */
struct shape_item *shapes_add(struct shape_found *out, const char *name, json_t *canon /* stolen */);
int shapes_map_add(struct shape_map *m, const char *canon, const char *user, const struct shape_ren *ren);
/* Index the entries for fast lookups (a canonical path of one entry must be unique). */
void shapes_map_sort(struct shape_map *m);
/* The user's path for a canonical path (into buf of size n). */
const char *shapes_map_path(const void *map, const char *path, char *buf, size_t n);

/* What one --nsg / --routes argument names: the file, the one item picked (by FILE#NAME when the file
 * holds several) and its map. */
struct shape_pick {
	char *file;     /* the file part of the argument */
	char *name;     /* the item's name */
	json_t *canon;  /* owned */
	struct shape_map map;
	unsigned flags;
	const char *shape;
};

/* Read "FILE" or "FILE#NAME" (a file named with '#' that exists is taken whole). 0 or -1 (reported to d,
 * whose file is the argument as given). On success, d->map_path is NOT set: callers set it around their
 * parsing with shapes_pick_diag. */
int shapes_load(const char *arg, enum shape_kind kind, size_t max_bytes, struct shape_pick *pk, struct diag *d);
/* The two halves of shapes_load: split "FILE#NAME" (*file malloc'd, *sel points into arg or is NULL), and pick
 * from a parsed root (file names the file in messages). */
int shapes_split_arg(const char *arg, char **file, const char **sel);
int shapes_pick(json_t *root, const char *file, const char *sel, enum shape_kind kind, struct shape_pick *pk,
		struct diag *d);
/* Parse any JSON file (arrays too) with errors as jsonin reports them. NULL on error (reported). */
json_t *shapes_read(const char *file, size_t max_bytes, struct diag *d);
/* The root of a deploymentParameters file for ARM templates (--parameters), or NULL: the parameters' defaults.
 * Not owned; set it before shapes_load and clear it after. */
void shapes_set_arm_parameters(const json_t *params);
void shapes_pick_diag(const struct shape_pick *pk, struct diag *d);
void shapes_pick_free(struct shape_pick *pk);

/* shapes_load for a reader: d names the file as given and maps paths into it until shapes_close, which frees the
 * pick and gives d back its file and map. 0 or -1 (reported; nothing to close). */
struct shape_open {
	struct shape_pick pk;
	struct diag saved;
};
int shapes_open(struct shape_open *x, const char *arg, enum shape_kind kind, size_t max_bytes, struct diag *d);
/* The second half of shapes_open, for a pick shapes_load made earlier (with its own diag): x takes it over. */
void shapes_open_picked(struct shape_open *x, const char *arg, struct shape_pick *pk, struct diag *d);
void shapes_close(struct shape_open *x, struct diag *d);
/* shapes_open, then reader(out, the picked JSON, its file name, ctx, d), then shapes_close: what the loaders' *_load_file
 * do. The reader's result, or -1 when the file does not open. */
typedef int (*shape_reader)(void *out, json_t *json, const char *file, const void *ctx, struct diag *d);
int shapes_read_file(const char *arg, enum shape_kind kind, size_t max_bytes, shape_reader reader, void *out,
		     const void *ctx, struct diag *d);
void shapes_found_free(struct shape_found *f);
void shapes_map_free(struct shape_map *m);

#endif

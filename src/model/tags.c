/* Loading Service Tags files into a case-insensitive index. */
#include "model/tags.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/jsonin.h"

static uint64_t hash_ci(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ull;
	return h;
}

/* Rebuild the index for v[0..n) with room for at least `want` tags. */
static int reindex(struct tagdb *db, size_t want)
{
	size_t n = 64;
	while (n < want * 2)
		n *= 2;
	uint32_t *slot = calloc(n, sizeof(*slot));
	if (!slot)
		return -1;
	free(db->slot);
	db->slot = slot;
	db->nslot = n;
	for (size_t i = 0; i < db->n; i++) {
		size_t h = hash_ci(db->v[i].name) & (n - 1);
		while (slot[h])
			h = (h + 1) & (n - 1);
		slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int index_add(struct tagdb *db, size_t i)
{
	size_t h = hash_ci(db->v[i].name) & (db->nslot - 1);
	while (db->slot[h])
		h = (h + 1) & (db->nslot - 1);
	db->slot[h] = (uint32_t)i + 1;
	return 0;
}

const struct service_tag *tagdb_find(const struct tagdb *db, const char *name)
{
	if (!db->nslot)
		return NULL;
	for (size_t h = hash_ci(name) & (db->nslot - 1); db->slot[h]; h = (h + 1) & (db->nslot - 1))
		if (!strcasecmp(db->v[db->slot[h] - 1].name, name))
			return &db->v[db->slot[h] - 1];
	return NULL;
}

static void tag_free(struct service_tag *t)
{
	free(t->name);
	free(t->region);
	free(t->system_service);
	free(t->prefixes);
	ipset_free(&t->set);
}

void tagdb_free(struct tagdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		tag_free(&db->v[i]);
	free(db->v);
	free(db->slot);
	for (size_t i = 0; i < db->nfiles; i++)
		free(db->files[i]);
	free(db->files);
	*db = (struct tagdb){ 0 };
}

int tag_route_rank(const struct service_tag *t)
{
	bool azurecloud = !strncasecmp(t->name, "AzureCloud", 10) && (!t->name[10] || t->name[10] == '.');
	bool regional = t->region[0] || strchr(t->name, '.');
	if (azurecloud)
		return regional ? 3 : 4;
	return regional ? 1 : 2;
}

/* Parse one entry of values[] into t. Returns 0, or -1 with errors reported. */
static int parse_entry(json_t *e, const char *path, struct service_tag *t, struct diag *d)
{
	char p[256], pp[256];
	const char *name = NULL, *region = "", *svc = "";
	json_t *props, *prefixes = NULL;
	int before = d->errors;

	if (!json_is_object(e)) {
		diag_err(d, path, "expected an object, found %s", jsonin_typename(e));
		return -1;
	}
	if (jsonin_str(e, path, "name", &name, d) == 0)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "missing");
	else if (name && !*name)
		diag_err(d, jsonin_path(p, sizeof(p), path, "name"), "empty tag name");
	jsonin_path(p, sizeof(p), path, "properties");
	props = json_object_get(e, "properties");
	if (!json_is_object(props)) {
		diag_err(d, p, props ? "expected an object" : "missing");
		return -1;
	}
	jsonin_str(props, p, "region", &region, d);
	jsonin_str(props, p, "systemService", &svc, d);
	if (jsonin_arr(props, p, "addressPrefixes", &prefixes, d) == 0)
		diag_err(d, jsonin_path(pp, sizeof(pp), p, "addressPrefixes"), "missing");
	if (d->errors != before)
		return -1;

	*t = (struct service_tag){ 0 };
	jsonin_path(pp, sizeof(pp), p, "addressPrefixes");
	t->prefixes = malloc((json_array_size(prefixes) + 1) * sizeof(*t->prefixes));
	if (!t->prefixes) {
		diag_err(d, pp, "out of memory");
		return -1;
	}
	size_t i;
	json_t *v;
	json_array_foreach(prefixes, i, v) {
		struct cidr c;
		const char *why;
		char ip[280];
		if (!json_is_string(v)) {
			diag_err(d, jsonin_index(ip, sizeof(ip), pp, i), "expected a string, found %s", jsonin_typename(v));
		} else if (cidr_parse(json_string_value(v), &c, &why) < 0) {
			diag_err(d, jsonin_index(ip, sizeof(ip), pp, i), "'%s': %s", json_string_value(v), why);
		} else if (ipset_add_cidr(&t->set, &c) < 0) {
			diag_err(d, pp, "out of memory");
		} else {
			t->prefixes[t->nprefixes++] = c;
		}
	}
	ipset_normalize(&t->set);
	t->name = strdup(name);
	t->region = strdup(region);
	t->system_service = strdup(svc);
	if (!t->name || !t->region || !t->system_service)
		diag_err(d, path, "out of memory");
	if (d->errors != before) {
		tag_free(t);
		return -1;
	}
	return 0;
}

int tagdb_load_json(struct tagdb *db, json_t *root, const char *file, struct diag *d)
{
	json_t *values = NULL, *e;
	size_t i, first = db->n;
	int before = d->errors;
	char path[64];

	if (jsonin_arr(root, "", "values", &values, d) == 0)
		diag_err(d, "values", "missing: not a Service Tags file");
	if (!values)
		return -1;
	char *fcopy = strdup(file ? file : "-");
	char **files = realloc(db->files, (db->nfiles + 1) * sizeof(*files));
	if (!fcopy || !files) {
		free(fcopy);
		diag_err(d, NULL, "out of memory");
		return -1;
	}
	db->files = files;
	db->files[db->nfiles++] = fcopy;
	json_array_foreach(values, i, e) {
		struct service_tag t;
		jsonin_index(path, sizeof(path), "values", i);
		if (parse_entry(e, path, &t, d) < 0)
			continue;
		const struct service_tag *dup = tagdb_find(db, t.name);
		if (dup) {
			diag_err(d, path, "tag '%s' is already defined in %s", t.name, dup->file);
			tag_free(&t);
			continue;
		}
		if (db->n == db->cap) {
			size_t cap = db->cap ? db->cap * 2 : 256;
			struct service_tag *nv = realloc(db->v, cap * sizeof(*nv));
			if (!nv) {
				diag_err(d, path, "out of memory");
				tag_free(&t);
				break;
			}
			db->v = nv;
			db->cap = cap;
		}
		t.file = fcopy;
		db->v[db->n++] = t;
		if (db->n * 2 > db->nslot ? reindex(db, db->n * 2) < 0 : index_add(db, db->n - 1) < 0) {
			diag_err(d, path, "out of memory");
			break;
		}
	}
	if (d->errors != before) {
		while (db->n > first)
			tag_free(&db->v[--db->n]);
		reindex(db, db->n);
		return -1;
	}
	return 0;
}

int tagdb_load_file(struct tagdb *db, const char *path, struct diag *d)
{
	const char *saved = d->file;
	d->file = path;
	json_t *root = jsonin_load_file(path, TAGS_MAX_BYTES, d);
	int rc = root ? tagdb_load_json(db, root, path, d) : -1;
	json_decref(root);
	d->file = saved;
	return rc;
}

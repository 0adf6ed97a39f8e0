/* Application security group membership (asg.h). */
#include "model/asg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/jsonin.h"

#define P 512

void asg_free(struct asg_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		ipset_free(&m->e[i].members);
	}
	free(m->e);
	free(m->file);
	*m = (struct asg_map){ 0 };
}

const char *asg_name(const char *ref)
{
	size_t n = strlen(ref);
	while (n && ref[n - 1] == '/')
		n--;
	const char *s = ref + n;
	while (s > ref && s[-1] != '/')
		s--;
	return s;
}

/* Compare the last segments of two references, ignoring a trailing '/' and case. */
static bool same_name(const char *a, const char *b)
{
	const char *x = asg_name(a), *y = asg_name(b);
	size_t nx = strcspn(x, "/"), ny = strcspn(y, "/");
	return nx == ny && nx && !strncasecmp(x, y, nx);
}

const struct asg_entry *asg_find(const struct asg_map *m, const char *ref)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (!strcasecmp(m->e[i].key, ref))
			return &m->e[i];
	for (size_t i = 0; i < m->n; i++)
		if (same_name(m->e[i].key, ref))
			return &m->e[i];
	return NULL;
}

static struct asg_entry *entry(struct asg_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcasecmp(m->e[i].key, key))
			return &m->e[i];
	struct asg_entry *ne = realloc(m->e, (m->n + 1) * sizeof(*ne));
	if (!ne)
		return NULL;
	m->e = ne;
	ne = &m->e[m->n];
	*ne = (struct asg_entry){ .key = strdup(key) };
	if (!ne->key)
		return NULL;
	m->n++;
	return ne;
}

/* One member: an address or a prefix. */
static int add_member(struct asg_entry *e, const char *s, const char *path, struct diag *d)
{
	struct cidr c;
	const char *why;
	if (cidr_parse(s, &c, &why) < 0) {
		diag_err(d, path, "'%s': %s", s, why);
		return -1;
	}
	return ipset_add_cidr(&e->members, &c);
}

/* {"name or id": ["10.0.0.4", …]} */
static void load_map(struct asg_map *m, json_t *root, struct diag *d)
{
	const char *k;
	json_t *v, *a;
	size_t i;
	char p[P], ip[P + 24];
	json_object_foreach(root, k, v) {
		jsonin_path(p, sizeof(p), "", k);
		if (!json_is_array(v)) {
			diag_err(d, p, "expected an array of member addresses, found %s", jsonin_typename(v));
			continue;
		}
		struct asg_entry *e = entry(m, k);
		if (!e) {
			diag_oom(d, NULL);
			return;
		}
		json_array_foreach(v, i, a) {
			jsonin_index(ip, sizeof(ip), p, i);
			if (!json_is_string(a))
				diag_err(d, ip, "expected a string, found %s", jsonin_typename(a));
			else if (add_member(e, json_string_value(a), ip, d) < 0 && !d->errors)
				diag_oom(d, NULL);
		}
	}
}

/* fields flattened (az) or under `properties` (REST): the object holding them and its path */
static json_t *props(json_t *o, const char *path, char *out, size_t n)
{
	json_t *pr = json_object_get(o, "properties");
	if (json_is_object(pr)) {
		jsonin_path(out, n, path, "properties");
		return pr;
	}
	snprintf(out, n, "%s", path);
	return o;
}

static void load_nic(struct asg_map *m, json_t *nic, const char *path, struct diag *d)
{
	char base[P + 16], cp[P + 64], cbase[P + 96], gp[P + 160];
	json_t *cfgs = NULL, *c, *g;
	size_t i, k;
	if (!json_is_object(nic)) {
		diag_err(d, path, "expected a network interface (an object), found %s", jsonin_typename(nic));
		return;
	}
	json_t *pr = props(nic, path, base, sizeof(base));
	if (jsonin_arr(pr, base, "ipConfigurations", &cfgs, d) == 0) {
		diag_err(d, jsonin_path(cp, sizeof(cp), base, "ipConfigurations"), "missing: not a network interface");
		return;
	}
	char cl[P + 40];
	jsonin_path(cl, sizeof(cl), base, "ipConfigurations");
	json_array_foreach(cfgs, i, c) {
		json_t *asgs = NULL;
		const char *addr = NULL;
		jsonin_index(cp, sizeof(cp), cl, i);
		if (!json_is_object(c)) {
			diag_err(d, cp, "expected an object, found %s", jsonin_typename(c));
			continue;
		}
		json_t *cpr = props(c, cp, cbase, sizeof(cbase));
		int before = d->errors;
		jsonin_arr(cpr, cbase, "applicationSecurityGroups", &asgs, d);
		jsonin_str(cpr, cbase, "privateIPAddress", &addr, d);
		if (d->errors != before || !asgs || !json_array_size(asgs))
			continue;
		if (!addr) {
			diag_err(d, jsonin_path(gp, sizeof(gp), cbase, "privateIPAddress"),
				 "missing, and the configuration is in an application security group");
			continue;
		}
		char al[P + 128];
		jsonin_path(al, sizeof(al), cbase, "applicationSecurityGroups");
		json_array_foreach(asgs, k, g) {
			const char *id = NULL;
			jsonin_index(gp, sizeof(gp), al, k);
			if (json_is_object(g) ? jsonin_str(g, gp, "id", &id, d) == 0 : !json_is_string(g)) {
				diag_err(d, gp, "expected {\"id\": …}");
				continue;
			}
			if (!id && !(id = json_string_value(g)))
				continue;
			struct asg_entry *e = entry(m, id);
			char ap[P + 128];
			if (!e || add_member(e, addr, jsonin_path(ap, sizeof(ap), cbase, "privateIPAddress"), d) < 0) {
				if (d->errors == before)
					diag_oom(d, NULL);
			}
		}
	}
}

static bool is_nic(json_t *o)
{
	json_t *pr = json_object_get(o, "properties");
	return json_is_object(o) &&
	       (json_object_get(o, "ipConfigurations") || (json_is_object(pr) && json_object_get(pr, "ipConfigurations")));
}

int asg_load_json(struct asg_map *m, json_t *root, const char *file, struct diag *d)
{
	int before = d->errors;
	json_t *list = json_is_array(root) ? root : json_is_array(json_object_get(root, "value")) ?
								json_object_get(root, "value") : NULL;
	*m = (struct asg_map){ 0 };
	if (list) {
		size_t i;
		json_t *nic;
		char p[P];
		json_array_foreach(list, i, nic) {
			jsonin_index(p, sizeof(p), list == root ? "" : "value", i);
			load_nic(m, nic, p, d);
		}
	} else if (is_nic(root)) {
		load_nic(m, root, "", d);
	} else if (json_is_object(root)) {
		load_map(m, root, d);
	} else {
		diag_err(d, NULL, "expected {\"ASG name or id\": [addresses]} or network interfaces (az network nic "
			 "list), found %s", jsonin_typename(root));
	}
	for (size_t i = 0; i < m->n; i++)
		ipset_normalize(&m->e[i].members);
	m->file = strdup(file ? file : "-");
	if (d->errors == before && !m->file)
		diag_oom(d, NULL);
	if (d->errors != before) {
		asg_free(m);
		return -1;
	}
	return 0;
}

int asg_load_file(struct asg_map *m, const char *path, struct diag *d)
{
	const char *saved = d->file;
	size_t len;
	json_error_t err;
	int rc = -1;
	*m = (struct asg_map){ 0 };
	d->file = path;
	char *buf = jsonin_read_file(path, ASG_MAX_BYTES, 0, &len, d);
	if (buf) {
		errno = 0;
		json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
		if (!root)
			jsonin_load_error(d, &err);
		else
			rc = asg_load_json(m, root, path, d);
		json_decref(root);
		free(buf);
	}
	d->file = saved;
	return rc;
}

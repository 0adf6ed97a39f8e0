/* Reading an Azure Resource Graph export; see estate.h. */
#include "model/estate.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/bigfile.h"
#include "model/hashci.h"
#include "model/jsonfast.h"
#include "model/jsonin.h"

/* ---- the id index (open addressing, case-insensitive) ---- */

typedef const char *(*id_of)(const struct estate *e, size_t i);

static const char *vnet_id(const struct estate *e, size_t i) { return e->vnets[i].id; }
static const char *nsg_id(const struct estate *e, size_t i) { return e->nsgs[i].id; }
static const char *rt_id(const struct estate *e, size_t i) { return e->rts[i].id; }

static size_t index_find(const struct estate *e, const struct estate_index *ix, id_of f, const char *id)
{
	if (!ix->n)
		return 0;
	for (size_t h = hash_ci(id) & (ix->n - 1); ix->slot[h]; h = (h + 1) & (ix->n - 1))
		if (!strcasecmp(f(e, ix->slot[h] - 1), id))
			return ix->slot[h];
	return 0;
}

/* Index items [0, n); -1 out of memory. */
static int index_build(const struct estate *e, struct estate_index *ix, id_of f, size_t n)
{
	size_t cap = 64;
	while (cap < n * 2)
		cap *= 2;
	free(ix->slot);
	ix->slot = calloc(cap, sizeof(*ix->slot));
	ix->n = ix->slot ? cap : 0;
	if (!ix->slot)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t h = hash_ci(f(e, i)) & (cap - 1);
		while (ix->slot[h])
			h = (h + 1) & (cap - 1);
		ix->slot[h] = i + 1;
	}
	return 0;
}


const struct estate_blob *estate_nsg(const struct estate *e, const char *id)
{
	size_t k = index_find(e, &e->insg, nsg_id, id);
	return k ? &e->nsgs[k - 1] : NULL;
}

const struct estate_blob *estate_rt(const struct estate *e, const char *id)
{
	size_t k = index_find(e, &e->irt, rt_id, id);
	return k ? &e->rts[k - 1] : NULL;
}

const struct estate_vnet *estate_vnet(const struct estate *e, const char *id)
{
	size_t k = index_find(e, &e->ivnet, vnet_id, id);
	return k ? &e->vnets[k - 1] : NULL;
}

/* ---- growing arrays ---- */

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? *cap * 2 : 64;
	void *nv = realloc(v, c * size);
	if (nv)
		*cap = c;
	return nv;
}

/* ---- reading one resource ---- */

struct reader {
	struct estate *e;
	struct diag *d;
	char where[160]; /* "line L: data[i]" of the current resource */
	bool oom;
};

static char *dup_or_oom(struct reader *r, const char *s)
{
	char *c = strdup(s ? s : "");
	if (!c)
		r->oom = true;
	return c;
}

/* obj.key as a string, or NULL (absent, null or not a string). */
static const char *str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Append the strings of arr to a comma-separated list *csv. */
static void append_csv(struct reader *r, char **csv, json_t *arr, const char *path)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s) {
			diag_err(r->d, r->where, "%s[%zu]: expected a string, found %s", path, i, jsonin_typename(v));
			continue;
		}
		size_t old = *csv ? strlen(*csv) : 0;
		char *n = realloc(*csv, old + strlen(s) + 2);
		if (!n) {
			r->oom = true;
			return;
		}
		if (old)
			n[old++] = ',';
		strcpy(n + old, s);
		*csv = n;
	}
}

/* The id of {"id": …} at obj.key, or NULL. */
static const char *ref_id(json_t *obj, const char *key)
{
	return str_at(json_object_get(obj, key), "id");
}

static bool delegated_to_mi(json_t *props)
{
	size_t i;
	json_t *dl;
	json_array_foreach(json_object_get(props, "delegations"), i, dl) {
		const char *svc = str_at(json_object_get(dl, "properties"), "serviceName");
		if (!svc)
			svc = str_at(dl, "serviceName"); /* the flattened shape */
		if (svc && !strcasecmp(svc, MI_DELEGATION))
			return true;
	}
	return false;
}

static void read_subnet(struct reader *r, json_t *sn, size_t vnet, size_t k)
{
	struct estate *e = r->e;
	char w[224];
	snprintf(w, sizeof(w), "%s.properties.subnets[%zu]", r->where, k);
	if (!json_is_object(sn)) {
		diag_err(r->d, w, "expected an object, found %s", jsonin_typename(sn));
		return;
	}
	json_t *props = json_object_get(sn, "properties");
	if (!json_is_object(props))
		props = sn; /* the flattened shape az network vnet show prints */
	const char *prefix = str_at(props, "addressPrefix");
	if (!prefix)
		prefix = json_string_value(json_array_get(json_object_get(props, "addressPrefixes"), 0));
	const char *name = str_at(sn, "name"), *id = str_at(sn, "id");
	if (!id) {
		diag_err(r->d, w, "id: missing");
		return;
	}
	void *nv = grow(e->subnets, &e->cap[1], e->nsubnets, sizeof(*e->subnets));
	if (!nv) {
		r->oom = true;
		return;
	}
	e->subnets = nv;
	struct estate_subnet *s = &e->subnets[e->nsubnets++];
	const char *nsg = ref_id(props, "networkSecurityGroup"), *rt = ref_id(props, "routeTable");
	*s = (struct estate_subnet){ .vnet = vnet, .id = dup_or_oom(r, id), .name = dup_or_oom(r, name ? name : id),
				     .prefix = prefix ? dup_or_oom(r, prefix) : NULL,
				     .nsg_id = nsg ? dup_or_oom(r, nsg) : NULL, .rt_id = rt ? dup_or_oom(r, rt) : NULL,
				     .mi = delegated_to_mi(props), .where = dup_or_oom(r, w) };
	e->nmi += s->mi;
}

static void read_vnet(struct reader *r, json_t *res, const char *id)
{
	struct estate *e = r->e;
	json_t *props = json_object_get(res, "properties");
	if (!json_is_object(props)) {
		diag_err(r->d, r->where, "properties: missing or not an object");
		return;
	}
	void *nv = grow(e->vnets, &e->cap[0], e->nvnets, sizeof(*e->vnets));
	if (!nv) {
		r->oom = true;
		return;
	}
	e->vnets = nv;
	size_t vi = e->nvnets++;
	struct estate_vnet *v = &e->vnets[vi];
	const char *loc = str_at(res, "location"), *name = str_at(res, "name");
	*v = (struct estate_vnet){ .id = dup_or_oom(r, id), .name = dup_or_oom(r, name ? name : id),
				   .location = dup_or_oom(r, loc ? loc : "") };
	append_csv(r, &v->space, json_object_get(json_object_get(props, "addressSpace"), "addressPrefixes"),
		   "properties.addressSpace.addressPrefixes");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(props, "virtualNetworkPeerings"), i, p) {
		json_t *pp = json_object_get(p, "properties");
		if (!json_is_object(pp))
			pp = p;
		const char *state = str_at(pp, "peeringState");
		/* [inference] only a Connected peering joins the address spaces (Initiated and Disconnected ones carry
		 * no traffic); a peering without a state is taken as connected. */
		if (state && strcasecmp(state, "Connected"))
			continue;
		json_t *remote = json_object_get(json_object_get(pp, "remoteAddressSpace"), "addressPrefixes");
		if (json_is_array(remote)) {
			append_csv(r, &v->peers, remote, "peering remoteAddressSpace.addressPrefixes");
			continue;
		}
		const char *rid = ref_id(pp, "remoteVirtualNetwork");
		if (!rid)
			continue;
		char **ids = realloc(v->peer_ids, (v->npeer_ids + 1) * sizeof(*ids));
		if (!ids) {
			r->oom = true;
			break;
		}
		v->peer_ids = ids;
		v->peer_ids[v->npeer_ids++] = dup_or_oom(r, rid);
	}
	json_t *sn;
	json_array_foreach(json_object_get(props, "subnets"), i, sn)
		read_subnet(r, sn, vi, i);
}

/* An NSG or a route table: keep {"name", "properties": {the members the loader reads}} as compact JSON. */
static void read_blob(struct reader *r, json_t *res, const char *id, bool nsg)
{
	struct estate *e = r->e;
	struct estate_blob **arr = nsg ? &e->nsgs : &e->rts;
	size_t *n = nsg ? &e->nnsgs : &e->nrts;
	json_t *props = json_object_get(res, "properties");
	if (!json_is_object(props)) {
		diag_err(r->d, r->where, "properties: missing or not an object");
		return;
	}
	void *nv = grow(*arr, &e->cap[nsg ? 2 : 3], *n, sizeof(**arr));
	if (!nv) {
		r->oom = true;
		return;
	}
	*arr = nv;
	json_t *keep = json_object();
	static const char *const nsg_keys[] = { "securityRules", NULL };
	static const char *const rt_keys[] = { "routes", "disableBgpRoutePropagation", NULL };
	for (const char *const *k = nsg ? nsg_keys : rt_keys; *k; k++) {
		json_t *v = json_object_get(props, *k);
		if (v)
			json_object_set(keep, *k, v);
	}
	const char *name = str_at(res, "name");
	json_t *o = json_pack("{s:s, s:o}", "name", name ? name : "", "properties", keep);
	char *text = o ? jsonin_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		r->oom = true;
		return;
	}
	(*arr)[(*n)++] = (struct estate_blob){ .id = dup_or_oom(r, id), .name = dup_or_oom(r, name ? name : id),
					       .json = text };
}

static void read_resource(struct reader *r, json_t *res)
{
	r->e->nrecords++;
	if (!json_is_object(res)) {
		diag_err(r->d, r->where, "expected a resource object, found %s", jsonin_typename(res));
		return;
	}
	const char *id = str_at(res, "id"), *type = str_at(res, "type");
	if (!id || !type) {
		diag_err(r->d, r->where, "%s: missing: not an Azure resource", id ? "type" : "id");
		return;
	}
	if (!strcasecmp(type, "Microsoft.Network/virtualNetworks"))
		read_vnet(r, res, id);
	else if (!strcasecmp(type, "Microsoft.Network/networkSecurityGroups"))
		read_blob(r, res, id, true);
	else if (!strcasecmp(type, "Microsoft.Network/routeTables"))
		read_blob(r, res, id, false);
	else
		r->e->nother++;
}

/* ---- the file: one or more JSON values ---- */

static void free_vnet(struct estate_vnet *v)
{
	free(v->id);
	free(v->name);
	free(v->location);
	free(v->space);
	free(v->peers);
	for (size_t i = 0; i < v->npeer_ids; i++)
		free(v->peer_ids[i]);
	free(v->peer_ids);
}

void estate_free(struct estate *e)
{
	for (size_t i = 0; i < e->nvnets; i++)
		free_vnet(&e->vnets[i]);
	for (size_t i = 0; i < e->nsubnets; i++) {
		struct estate_subnet *s = &e->subnets[i];
		free(s->id);
		free(s->name);
		free(s->prefix);
		free(s->nsg_id);
		free(s->rt_id);
		free(s->where);
	}
	for (int k = 0; k < 2; k++) {
		struct estate_blob *b = k ? e->rts : e->nsgs;
		size_t n = k ? e->nrts : e->nnsgs;
		for (size_t i = 0; i < n; i++) {
			free(b[i].id);
			free(b[i].name);
			free(b[i].json);
		}
	}
	free(e->vnets);
	free(e->subnets);
	free(e->nsgs);
	free(e->rts);
	free(e->ivnet.slot);
	free(e->insg.slot);
	free(e->irt.slot);
	*e = (struct estate){ 0 };
}

/* Two resources with one id (ids are case-insensitive): an export read twice, most likely. */
static void check_unique(struct estate *e, struct estate_index *ix, id_of f, size_t n, const char *what,
			 struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = index_find(e, ix, f, f(e, i));
		if (k && k - 1 != i && k - 1 < i)
			diag_err(d, NULL, "%s '%s' appears twice in the inventory (pages read twice?)", what, f(e, i));
	}
}

/* The length of the object or array at the start of buf (JSON text, with strings skipped), or 0 when it does not
 * start with one or does not end. Only a cut: jsonfast reads and checks what is inside. */
static size_t value_span(const char *buf, size_t len)
{
	size_t depth = 0;
	if (!len || (buf[0] != '{' && buf[0] != '['))
		return 0;
	for (size_t i = 0; i < len; i++) {
		switch (buf[i]) {
		case '"':
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
			break;
		case '{':
		case '[': depth++; break;
		case '}':
		case ']':
			if (!--depth)
				return i + 1;
			break;
		}
	}
	return 0;
}

/* One value at buf: through jsonfast when value_span finds its end (the same tree or error as json_loadb), else
 * json_loadb reading the first value. *used: its length. */
static json_t *load_value(const char *buf, size_t len, size_t padding, size_t *used, json_error_t *err)
{
	size_t n = value_span(buf, len);
	if (!n) {
		json_t *v = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, err);
		*used = err->position;
		return v;
	}
	*used = n;
	return jsonfast_loadb(buf, n, len - n + padding, err);
}

/* Give the whole pages of buf[*done, end) back (buf is an anonymous mapping): what is read is not read again, and
 * an inventory of a few hundred MB need not stay in memory beside what is made of it. */
static void drop_read(const char *buf, size_t end, uintptr_t *done)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = *done, hi = ((uintptr_t)buf + end) / page * page;
	if (!lo)
		lo = ((uintptr_t)buf + page - 1) / page * page;
	if (hi > lo) {
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
		*done = hi;
	}
}

/* Read one value v (at line vline of the file) into r: a Resource Graph page, an array of resources or one. */
static void read_value(struct reader *r, json_t *v, size_t vline)
{
	json_t *data = json_is_object(v) ? json_object_get(v, "data") : NULL;
	if (json_is_array(data) || json_is_array(v)) {
		json_t *arr = json_is_array(v) ? v : data, *res;
		size_t i;
		json_array_foreach(arr, i, res) {
			snprintf(r->where, sizeof(r->where), "line %zu: %s[%zu]", vline, json_is_array(v) ? "" : "data", i);
			read_resource(r, res);
		}
	} else if (json_is_object(v) && json_object_get(v, "id")) {
		snprintf(r->where, sizeof(r->where), "line %zu", vline);
		read_resource(r, v);
	} else {
		snprintf(r->where, sizeof(r->where), "line %zu", vline);
		diag_err(r->d, r->where, "expected a Resource Graph result (an object with \"data\"), an array of "
					"resources or a resource, found %s", json_is_object(v) ? "an object without "
					"\"data\" or \"id\"" : jsonin_typename(v));
	}
}

/* A value that does not parse, at line:col of the file (err's place is within the value). */
static void syntax_error(struct diag *d, size_t line, size_t col, const json_error_t *err)
{
	diag_err(d, NULL, "line %zu, column %zu: %s", line + (size_t)(err->line > 0 ? err->line - 1 : 0),
		 err->line <= 1 ? col + (size_t)(err->column > 0 ? err->column - 1 : 0) : (size_t)err->column, err->text);
}

/* One value of the file, read by a worker into an estate of its own; its diagnostics are kept to be printed in
 * the file's order. */
struct part {
	size_t off, len, line, col; /* where it starts in the file */
	struct estate e;
	struct diag_hold h; /* its diagnostics */
	bool stop; /* it did not parse, or memory ran out: nothing after it counts */
	bool oom;
};

struct parts {
	const char *buf;
	size_t len, padding, n, next;
	bool drop;
	struct part *v;
	const struct diag *like; /* the parts' diagnostics are held for it */
};

static void read_part(const struct parts *ps, struct part *p)
{
	struct reader r = { .e = &p->e, .d = &p->h.d };
	json_error_t err;
	json_t *v = NULL;
	if (!diag_hold_begin(&p->h, ps->like)) {
		r.oom = true;
	} else if (errno = 0, !(v = jsonfast_loadb(ps->buf + p->off, p->len, ps->len - p->off - p->len + ps->padding,
						   &err))) {
		if (jsonin_out_of_memory(&err)) /* not a syntax error: jansson names a place that is not the text's */
			r.oom = true;
		else
			syntax_error(&p->h.d, p->line, p->col, &err);
		p->stop = true;
	} else {
		read_value(&r, v, p->line);
		json_decref(v);
	}
	if (r.oom)
		p->stop = p->oom = true;
	if (ps->drop) { /* the whole pages inside the value: nothing reads them again */
		uintptr_t done = 0;
		drop_read(ps->buf + p->off, p->len, &done);
	}
}

static void *part_worker(void *arg)
{
	struct parts *ps = arg;
	for (size_t i; (i = __atomic_fetch_add(&ps->next, 1, __ATOMIC_RELAXED)) < ps->n;)
		read_part(ps, &ps->v[i]);
	return NULL;
}

/* Append the arrays of p's estate to e's (the strings move with them). -1 out of memory. */
static int take_part(struct estate *e, struct part *p)
{
	struct { void **to; size_t *n, *cap; void *from; size_t k, size; } arrs[] = {
		{ (void **)&e->vnets, &e->nvnets, &e->cap[0], p->e.vnets, p->e.nvnets, sizeof(*e->vnets) },
		{ (void **)&e->subnets, &e->nsubnets, &e->cap[1], p->e.subnets, p->e.nsubnets, sizeof(*e->subnets) },
		{ (void **)&e->nsgs, &e->nnsgs, &e->cap[2], p->e.nsgs, p->e.nnsgs, sizeof(*e->nsgs) },
		{ (void **)&e->rts, &e->nrts, &e->cap[3], p->e.rts, p->e.nrts, sizeof(*e->rts) },
	};
	for (size_t i = 0; i < p->e.nsubnets; i++)
		p->e.subnets[i].vnet += e->nvnets;
	for (size_t a = 0; a < sizeof(arrs) / sizeof(arrs[0]); a++) {
		if (!arrs[a].k)
			continue;
		char *nv = realloc(*arrs[a].to, (*arrs[a].n + arrs[a].k) * arrs[a].size);
		if (!nv)
			return -1;
		memcpy(nv + *arrs[a].n * arrs[a].size, arrs[a].from, arrs[a].k * arrs[a].size);
		*arrs[a].to = nv;
		*arrs[a].n += arrs[a].k;
		*arrs[a].cap = *arrs[a].n;
	}
	e->nmi += p->e.nmi;
	e->nrecords += p->e.nrecords;
	e->nother += p->e.nother;
	free(p->e.vnets), free(p->e.subnets), free(p->e.nsgs), free(p->e.rts);
	p->e = (struct estate){ 0 };
	return 0;
}

/* A place in the file: its offset, line and column. */
struct place {
	size_t off, line, col;
};

/* Move at past the n bytes of buf there. */
static void advance(const char *buf, struct place *at, size_t n)
{
	const char *p = buf + at->off, *end = p + n, *nl;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1)
		at->line++, at->col = 1;
	at->col += (size_t)(end - p);
	at->off += n;
}

/* Move at past the white space there. */
static void skip_space(const char *buf, size_t len, struct place *at)
{
	size_t n = 0;
	while (at->off + n < len && isspace((unsigned char)buf[at->off + n]))
		n++;
	advance(buf, at, n);
}

/* The values of buf, each an object or an array whose end value_span finds: their places, or 0 values when some
 * value is of another kind (the caller then reads one value after another). */
static size_t split(const char *buf, size_t len, struct part **out)
{
	size_t n = 0, cap = 0;
	struct place at = { 0, 1, 1 };
	struct part *v = NULL;
	for (;;) {
		skip_space(buf, len, &at);
		if (at.off >= len)
			break;
		size_t span = value_span(buf + at.off, len - at.off);
		struct part *nv = span && n == cap ? realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v)) : v;
		if (!span || !nv) {
			free(span ? v : nv);
			*out = NULL;
			return 0;
		}
		v = nv;
		v[n++] = (struct part){ .off = at.off, .len = span, .line = at.line, .col = at.col };
		advance(buf, &at, span);
	}
	*out = v;
	return n;
}

/* Read the values of a split file on `threads` threads, then take their resources and messages in file order. */
static void load_parts(struct estate *e, struct parts *ps, int threads, struct diag *d)
{
	pthread_t t[64];
	int started = 0;
	ps->like = d;
	while (started < threads - 1 && started < 64 && (size_t)started + 1 < ps->n &&
	       !pthread_create(&t[started], NULL, part_worker, ps))
		started++;
	part_worker(ps);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	bool stop = false, oom = false;
	for (size_t i = 0; i < ps->n; i++) {
		struct part *p = &ps->v[i];
		diag_hold_end(&p->h, stop ? NULL : d);
		if (!stop) {
			oom = p->oom || take_part(e, p) < 0;
			stop = p->stop || oom;
		}
		estate_free(&p->e);
	}
	if (oom)
		diag_oom(d, NULL);
}

/* padding: bytes readable after buf[len]; drop: buf is an anonymous mapping whose read pages may go. */
static int load(struct estate *e, const char *buf, size_t len, size_t padding, bool drop, int threads,
		struct diag *d)
{
	struct reader r = { .e = e, .d = d };
	struct place at = { 0, 1, 1 };
	size_t values = 0;
	uintptr_t dropped = 0;
	int before = d->errors;
	*e = (struct estate){ 0 };
	struct parts ps = { .buf = buf, .len = len, .padding = padding, .drop = drop };
	/* Values whose ends are found are read as parts (on one thread or more); only a file that cannot be cut so is
	 * read one value after another, with json_loadb's reading of what is not an object or array. */
	if ((ps.n = split(buf, len, &ps.v)) > 0) {
		values = ps.n;
		load_parts(e, &ps, threads, d);
		at.off = len;
	}
	free(ps.v);
	while (at.off < len) {
		skip_space(buf, len, &at);
		if (at.off >= len)
			break;
		json_error_t err;
		size_t used;
		errno = 0;
		json_t *v = load_value(buf + at.off, len - at.off, padding, &used, &err);
		if (!v) {
			if (jsonin_out_of_memory(&err))
				r.oom = true;
			else
				syntax_error(d, at.line, at.col, &err);
			break;
		}
		values++;
		read_value(&r, v, at.line);
		json_decref(v);
		advance(buf, &at, used < len - at.off ? used : len - at.off);
		if (r.oom)
			break;
		if (drop)
			drop_read(buf, at.off, &dropped);
	}
	if (!values && d->errors == before)
		diag_err(d, NULL, "empty file: expected Azure Resource Graph output");
	if (r.oom)
		diag_oom(d, NULL);
	if (d->errors == before &&
	    (index_build(e, &e->ivnet, vnet_id, e->nvnets) < 0 || index_build(e, &e->insg, nsg_id, e->nnsgs) < 0 ||
	     index_build(e, &e->irt, rt_id, e->nrts) < 0))
		diag_oom(d, NULL);
	if (d->errors == before) {
		check_unique(e, &e->ivnet, vnet_id, e->nvnets, "virtual network", d);
		check_unique(e, &e->insg, nsg_id, e->nnsgs, "network security group", d);
		check_unique(e, &e->irt, rt_id, e->nrts, "route table", d);
	}
	if (d->errors != before) {
		estate_free(e);
		return -1;
	}
	return 0;
}

int estate_load_file(struct estate *e, const char *path, int threads, struct diag *d)
{
	const char *saved = d->file;
	size_t len;
	d->file = path;
	*e = (struct estate){ 0 };
	struct bigfile f;
	int rc;
	if (bigfile_open(&f, path, ESTATE_MAX_BYTES, JSONFAST_PADDING) == 0) {
		rc = load(e, f.text, f.len, JSONFAST_PADDING, true, threads, d);
		bigfile_close(&f);
	} else { /* jsonin reads every other file and reports what is wrong */
		char *buf = jsonin_read_file(path, ESTATE_MAX_BYTES, JSONFAST_PADDING, &len, d);
		rc = buf ? load(e, buf, len, JSONFAST_PADDING, false, threads, d) : -1;
		free(buf);
	}
	d->file = saved;
	return rc;
}

int estate_load_buf(struct estate *e, const char *buf, size_t len, struct diag *d)
{
	return load(e, buf, len, 0, false, 1, d);
}

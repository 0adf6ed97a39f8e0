/* minet tags: look-ups in Service Tags files — which tags hold an address, what changed between two weekly
 * files, and one tag's prefixes ready for a firewall. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "cli/heap.h"
#include "cli/verbs.h"
#include "model/tagindex.h"
#include "model/tags.h"

static const char tags_usage[] =
	"usage: minet tags which IP… [--tags F…] [--json]\n"
	"       minet tags diff OLD.json NEW.json [--tag NAME…] [--json]\n"
	"       minet tags show NAME [--tags F…] [--format plain|nft|iptables-restore|ip6tables-restore|json]\n"
	"\n"
	"which: every service tag (and its region) whose published prefixes contain each address, longest prefix\n"
	"       first. Exit 1 when some address is in no tag.\n"
	"diff:  prefixes added and removed per tag between two files, with changeNumbers. Exit 1 when a selected\n"
	"       tag (all tags without --tag) changed, 0 when none did.\n"
	"show:  a tag's prefixes: as published (plain, json), or merged into a ruleset that `nft -f` or\n"
	"       `iptables-restore` / `ip6tables-restore` loads.\n"
	"Without --tags, the files named by MINET_TAGS (':'-separated). Files may be gzip-compressed.\n"
	"Exit 2 on bad input or usage.\n";

#define MAX_FILES 16

struct args {
	const char *files[MAX_FILES];
	int nfiles;
	const char *sel[64];
	int nsel;
	const char *format;
	bool json;
	int first; /* index of the first operand */
};

/* Parse the options shared by the sub-verbs: args.h's results. */
static int parse(int argc, char **argv, struct args *a)
{
	const struct arg args[] = {
		ARG_LIST("tags", a->files, &a->nfiles, MAX_FILES),
		ARG_LIST("tag", a->sel, &a->nsel, (int)(sizeof(a->sel) / sizeof(a->sel[0]))),
		ARG_FLAG("json", &a->json),
		ARG_STR("format", &a->format),
		ARGS_END,
	};
	return a->first = args_parse("tags", argc, argv, args, -1, tags_usage);
}

/* Load --tags (or MINET_TAGS) into db. -1 with errors printed. */
static int load_tags(struct tagdb *db, const struct args *a)
{
	struct diag d = { .out = stderr };
	*db = (struct tagdb){ 0 };
	if (a->nfiles) {
		for (int i = 0; i < a->nfiles; i++)
			tagdb_load_file(db, a->files[i], &d);
		return d.errors ? -1 : 0;
	}
	const char *env = getenv("MINET_TAGS");
	if (!env || !*env) {
		fprintf(stderr, "minet tags: give --tags FILE (or set MINET_TAGS)\n");
		return -1;
	}
	char *list = strdup(env), *save = NULL;
	if (!list)
		return -1;
	for (char *f = strtok_r(list, ":", &save); f; f = strtok_r(NULL, ":", &save))
		tagdb_load_file(db, f, &d);
	free(list);
	return d.errors ? -1 : 0;
}

/* ---- which ---- */

static int tags_which(int argc, char **argv, const struct args *a)
{
	if (a->first >= argc) {
		fprintf(stderr, "minet tags which: give at least one IP address\n%s", tags_usage);
		return 2;
	}
	u128 *addr = calloc((size_t)argc, sizeof(*addr));
	if (!addr)
		return 2;
	for (int i = a->first; i < argc; i++)
		if (addr_parse(argv[i], &addr[i]) < 0) {
			fprintf(stderr, "minet tags which: '%s' is not an IP address\n", argv[i]);
			free(addr);
			return 2;
		}
	struct tagdb db;
	struct tagindex ix = { 0 };
	struct tagindex_hit *hits = NULL;
	int rc = 2;
	if (load_tags(&db, a) < 0)
		goto out;
	hits = malloc((db.n + 1) * sizeof(*hits));
	if (!hits || tagindex_build(&ix, &db) < 0) {
		fprintf(stderr, "minet tags: out of memory\n");
		goto out;
	}
	rc = 0;
	json_t *all = json_array();
	for (int i = a->first; i < argc; i++) {
		char p[CIDR_STRLEN], s[ADDR_STRLEN];
		size_t n = tagindex_lookup(&ix, addr[i], hits, db.n + 1);
		if (!n)
			rc = 1;
		if (a->json) {
			json_t *arr = json_array();
			for (size_t k = 0; k < n; k++) {
				const struct service_tag *t = hits[k].tag;
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", t->name, "region",
								     t->region, "systemService", t->system_service,
								     "prefix", cidr_format(&hits[k].prefix, p), "file",
								     t->file));
			}
			json_array_append_new(all, json_pack("{s:s, s:o}", "address", addr_format(addr[i], s), "tags", arr));
			continue;
		}
		printf("%s%s\n", addr_format(addr[i], s), n ? "" : ": in no service tag");
		for (size_t k = 0; k < n; k++) {
			const struct service_tag *t = hits[k].tag;
			printf("  %-22s %-44s %s\n", cidr_format(&hits[k].prefix, p), t->name,
			       t->region[0] ? t->region : "(global)");
		}
	}
	if (a->json && heap_print_json(all, JSON_INDENT(2), "minet tags") < 0)
		rc = 2;
	json_decref(all);
out:
	tagindex_free(&ix);
	free(hits);
	free(addr);
	tagdb_free(&db);
	return rc;
}

/* ---- diff ---- */

static int cmp_cidr(const void *pa, const void *pb)
{
	const struct cidr *a = pa, *b = pb;
	if (a->v4 != b->v4)
		return a->v4 ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (int)a->len - (int)b->len;
}

/* Sorted, duplicate-free copy of a tag's prefixes (NULL tag: empty). */
static struct cidr *sorted_prefixes(const struct service_tag *t, size_t *n)
{
	*n = 0;
	struct cidr *v = malloc(((t ? t->nprefixes : 0) + 1) * sizeof(*v));
	if (!v || !t)
		return v;
	memcpy(v, t->prefixes, t->nprefixes * sizeof(*v));
	qsort(v, t->nprefixes, sizeof(*v), cmp_cidr);
	for (size_t i = 0; i < t->nprefixes; i++)
		if (!*n || cmp_cidr(&v[*n - 1], &v[i]))
			v[(*n)++] = v[i];
	return v;
}

struct tagdiff {
	const char *name;
	const struct service_tag *old, *new;
	struct cidr *added, *removed;
	size_t nadded, nremoved;
};

/* Compare one tag between the files; 1 if it changed, 0 if not, -1 out of memory. */
static int diff_tag(struct tagdiff *t)
{
	size_t no, nn, i = 0, j = 0;
	struct cidr *o = sorted_prefixes(t->old, &no), *n = sorted_prefixes(t->new, &nn);
	t->added = malloc((nn + 1) * sizeof(*t->added));
	t->removed = malloc((no + 1) * sizeof(*t->removed));
	int rc = -1;
	if (!o || !n || !t->added || !t->removed)
		goto out;
	while (i < no || j < nn) {
		int c = i == no ? 1 : j == nn ? -1 : cmp_cidr(&o[i], &n[j]);
		if (c < 0)
			t->removed[t->nremoved++] = o[i++];
		else if (c > 0)
			t->added[t->nadded++] = n[j++];
		else
			i++, j++;
	}
	rc = t->nadded || t->nremoved || !t->old != !t->new;
out:
	free(o);
	free(n);
	return rc;
}

static const char *status_of(const struct tagdiff *t)
{
	return !t->old ? "added" : !t->new ? "removed" : "changed";
}

static json_t *change_json(const struct service_tag *t)
{
	return t && t->change_number >= 0 ? json_integer(t->change_number) : json_null();
}

static void print_change(const struct service_tag *t)
{
	if (t && t->change_number >= 0)
		printf("%lld", t->change_number);
	else
		printf("-");
}

static int tags_diff(int argc, char **argv, const struct args *a)
{
	if (argc - a->first != 2 || a->nfiles) {
		fprintf(stderr, "minet tags diff: give exactly two files, OLD and NEW (no --tags)\n%s", tags_usage);
		return 2;
	}
	const char *fold = argv[a->first], *fnew = argv[a->first + 1];
	struct tagdb dbo = { 0 }, dbn = { 0 };
	struct diag d = { .out = stderr };
	struct tagdiff *v = NULL;
	size_t nv = 0;
	int rc = 2;
	tagdb_load_file(&dbo, fold, &d);
	tagdb_load_file(&dbn, fnew, &d);
	if (d.errors)
		goto out;
	for (int i = 0; i < a->nsel; i++)
		if (!tagdb_find(&dbo, a->sel[i]) && !tagdb_find(&dbn, a->sel[i])) {
			fprintf(stderr, "minet tags diff: --tag '%s': in neither file\n", a->sel[i]);
			goto out;
		}
	v = calloc(dbo.n + dbn.n + 1, sizeof(*v));
	if (!v)
		goto oom;
	/* The tags to compare: the selected ones, or every tag of either file (old order, then new ones). */
	if (a->nsel) {
		for (int i = 0; i < a->nsel; i++) {
			v[nv].old = tagdb_find(&dbo, a->sel[i]);
			v[nv].new = tagdb_find(&dbn, a->sel[i]);
			v[nv].name = v[nv].new ? v[nv].new->name : v[nv].old->name;
			nv++;
		}
	} else {
		for (size_t i = 0; i < dbo.n; i++)
			v[nv++] = (struct tagdiff){ dbo.v[i].name, &dbo.v[i], tagdb_find(&dbn, dbo.v[i].name), NULL, NULL, 0, 0 };
		for (size_t i = 0; i < dbn.n; i++)
			if (!tagdb_find(&dbo, dbn.v[i].name))
				v[nv++] = (struct tagdiff){ dbn.v[i].name, NULL, &dbn.v[i], NULL, NULL, 0, 0 };
	}
	size_t nchanged = 0;
	for (size_t i = 0; i < nv; i++) {
		int r = diff_tag(&v[i]);
		if (r < 0)
			goto oom;
		nchanged += (size_t)r;
	}
	long long co = dbo.nfiles ? dbo.file_change[0] : -1, cn = dbn.nfiles ? dbn.file_change[dbn.nfiles - 1] : -1;
	char p[CIDR_STRLEN];
	if (a->json) {
		json_t *tags = json_array();
		for (size_t i = 0; i < nv; i++) {
			const struct tagdiff *t = &v[i];
			if (!t->nadded && !t->nremoved && !t->old == !t->new)
				continue;
			json_t *add = json_array(), *rem = json_array();
			for (size_t k = 0; k < t->nadded; k++)
				json_array_append_new(add, json_string(cidr_format(&t->added[k], p)));
			for (size_t k = 0; k < t->nremoved; k++)
				json_array_append_new(rem, json_string(cidr_format(&t->removed[k], p)));
			json_array_append_new(tags, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", t->name, "status",
							      status_of(t), "oldChangeNumber", change_json(t->old),
							      "newChangeNumber", change_json(t->new), "added", add,
							      "removed", rem));
		}
		json_t *o = json_pack("{s:{s:s, s:o}, s:{s:s, s:o}, s:i, s:b, s:o}", "old", "file", fold, "changeNumber",
				      co >= 0 ? json_integer(co) : json_null(), "new", "file", fnew, "changeNumber",
				      cn >= 0 ? json_integer(cn) : json_null(), "compared", (json_int_t)nv, "changed",
				      nchanged > 0, "tags", tags);
		int printed = heap_print_json(o, JSON_INDENT(2), "minet tags");
		json_decref(o);
		if (printed < 0)
			goto out;
	} else {
		printf("%s (changeNumber %lld) -> %s (changeNumber %lld): %zu of %zu tag%s changed\n", fold, co, fnew, cn,
		       nchanged, nv, nv == 1 ? "" : "s");
		for (size_t i = 0; i < nv; i++) {
			const struct tagdiff *t = &v[i];
			if (!t->nadded && !t->nremoved && !t->old == !t->new)
				continue;
			printf("\n%s: %s, changeNumber ", t->name, status_of(t));
			print_change(t->old);
			printf(" -> ");
			print_change(t->new);
			printf(", %zu added, %zu removed\n", t->nadded, t->nremoved);
			for (size_t k = 0; k < t->nadded; k++)
				printf("  + %s\n", cidr_format(&t->added[k], p));
			for (size_t k = 0; k < t->nremoved; k++)
				printf("  - %s\n", cidr_format(&t->removed[k], p));
		}
	}
	rc = nchanged ? 1 : 0;
	goto out;
oom:
	fprintf(stderr, "minet tags: out of memory\n");
out:
	for (size_t i = 0; i < nv; i++) {
		free(v[i].added);
		free(v[i].removed);
	}
	free(v);
	tagdb_free(&dbo);
	tagdb_free(&dbn);
	return rc;
}

/* ---- show ---- */

/* The range [lo, hi] as the fewest prefixes, each passed to emit. */
static void range_cidrs(u128 lo, u128 hi, bool v4, void (*emit)(const struct cidr *, void *), void *ctx)
{
	for (;;) {
		unsigned tz = 0; /* trailing zero bits of lo: the largest aligned block starting at lo */
		while (tz < 128 && !((lo >> tz) & 1))
			tz++;
		unsigned size = tz;
		/* shrink until lo + 2^size - 1 <= hi */
		while (size > 0 && (size >= 128 || lo + (((u128)1 << size) - 1) > hi))
			size--;
		if (v4 && size > 32)
			size = 32;
		struct cidr c = { lo, lo + (((u128)1 << size) - 1), (uint8_t)((v4 ? 32 : 128) - size), v4 };
		emit(&c, ctx);
		if (c.hi >= hi)
			return;
		lo = c.hi + 1;
	}
}

struct emitter {
	const char *pre, *post; /* printed around each prefix */
	const char *sep; /* printed between items */
	size_t count;
	bool dry;        /* count only */
};

static void emit_cidr(const struct cidr *c, void *ctx)
{
	struct emitter *e = ctx;
	char p[CIDR_STRLEN];
	if (e->dry) {
		e->count++;
		return;
	}
	if (e->count++ && e->sep)
		fputs(e->sep, stdout);
	printf("%s%s%s", e->pre, cidr_format(c, p), e->post);
}

static void each_cidr(const struct ipset *s, bool v4, struct emitter *e)
{
	for (size_t i = 0; i < s->n; i++) {
		u128 lo = s->r[i].lo, hi = s->r[i].hi;
		if (v4 ? hi < V4_BASE || lo > V4_LAST : false)
			continue;
		if (v4) {
			lo = lo < V4_BASE ? V4_BASE : lo;
			hi = hi > V4_LAST ? V4_LAST : hi;
			range_cidrs(lo, hi, true, emit_cidr, e);
			continue;
		}
		/* IPv6: the IPv4 block is never part of an IPv6 range (ipset_add_cidr), but split around it anyway */
		if (hi < V4_BASE || lo > V4_LAST) {
			range_cidrs(lo, hi, false, emit_cidr, e);
		} else {
			if (lo < V4_BASE)
				range_cidrs(lo, V4_BASE - 1, false, emit_cidr, e);
			if (hi > V4_LAST)
				range_cidrs(V4_LAST + 1, hi, false, emit_cidr, e);
		}
	}
}

static size_t count_cidrs(const struct ipset *s, bool v4)
{
	struct emitter e = { "", "", NULL, 0, true };
	each_cidr(s, v4, &e);
	return e.count;
}

/* A name nft and iptables accept: letters, digits and '_' (others become '_'), at most max characters. */
static void ident(char *out, size_t max, const char *prefix, const char *name)
{
	size_t n = 0;
	for (const char *p = prefix; *p && n < max; p++)
		out[n++] = *p;
	for (const char *p = name; *p && n < max; p++)
		out[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_');
	out[n] = 0;
}

static void show_nft(const struct service_tag *t, long long change)
{
	char name[64];
	ident(name, 40, "", t->name);
	printf("# Service tag %s (changeNumber %lld, file changeNumber %lld) from %s, merged: nft -f FILE\n", t->name,
	       t->change_number, change, t->file);
	printf("table inet servicetags {\n");
	for (int v4 = 1; v4 >= 0; v4--) {
		printf("\tset %s_v%d {\n\t\ttype %s\n\t\tflags interval\n", name, v4 ? 4 : 6,
		       v4 ? "ipv4_addr" : "ipv6_addr");
		if (count_cidrs(&t->set, v4)) {
			struct emitter e = { "\t\t\t", "", ",\n", 0, false };
			printf("\t\telements = {\n");
			each_cidr(&t->set, v4, &e);
			printf("\n\t\t}\n");
		}
		printf("\t}\n");
	}
	printf("}\n");
}

static void show_iptables(const struct service_tag *t, long long change, bool v4)
{
	char chain[32];
	/* iptables chain names: at most 28 characters */
	ident(chain, 28, "TAG_", t->name);
	printf("# Service tag %s (changeNumber %lld, file changeNumber %lld) from %s, %s prefixes merged:\n"
	       "# %s --noflush FILE, then jump to %s (-j %s) where these sources are to be accepted\n",
	       t->name, t->change_number, change, t->file, v4 ? "IPv4" : "IPv6",
	       v4 ? "iptables-restore" : "ip6tables-restore", chain, chain);
	printf("*filter\n:%s - [0:0]\n-F %s\n", chain, chain);
	char pre[48];
	snprintf(pre, sizeof(pre), "-A %s -s ", chain);
	struct emitter e = { pre, " -j ACCEPT\n", NULL, 0, false };
	each_cidr(&t->set, v4, &e);
	printf("COMMIT\n");
}

static int tags_show(int argc, char **argv, const struct args *a)
{
	const char *fmt = a->format ? a->format : a->json ? "json" : "plain";
	if (argc - a->first != 1) {
		fprintf(stderr, "minet tags show: give exactly one tag NAME\n%s", tags_usage);
		return 2;
	}
	if (strcmp(fmt, "plain") && strcmp(fmt, "nft") && strcmp(fmt, "iptables-restore") &&
	    strcmp(fmt, "ip6tables-restore") && strcmp(fmt, "json")) {
		fprintf(stderr, "minet tags show: --format '%s': want plain, nft, iptables-restore, ip6tables-restore or "
				"json\n", fmt);
		return 2;
	}
	struct tagdb db;
	int rc = 2;
	if (load_tags(&db, a) < 0)
		goto out;
	const struct service_tag *t = tagdb_find(&db, argv[a->first]);
	if (!t) {
		fprintf(stderr, "minet tags show: no tag '%s' in the files loaded\n", argv[a->first]);
		goto out;
	}
	long long change = tagdb_file_change(&db, t->file);
	char p[CIDR_STRLEN];
	if (!strcmp(fmt, "plain")) {
		for (size_t i = 0; i < t->nprefixes; i++)
			puts(cidr_format(&t->prefixes[i], p));
	} else if (!strcmp(fmt, "json")) {
		json_t *arr = json_array();
		for (size_t i = 0; i < t->nprefixes; i++)
			json_array_append_new(arr, json_string(cidr_format(&t->prefixes[i], p)));
		json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "name", t->name, "region", t->region,
				      "systemService", t->system_service, "changeNumber",
				      t->change_number >= 0 ? json_integer(t->change_number) : json_null(), "file",
				      t->file, "addressPrefixes", arr);
		int printed = heap_print_json(o, JSON_INDENT(2), "minet tags");
		json_decref(o);
		if (printed < 0)
			goto out;
	} else if (!strcmp(fmt, "nft")) {
		show_nft(t, change);
	} else {
		show_iptables(t, change, !strcmp(fmt, "iptables-restore"));
	}
	rc = 0;
out:
	tagdb_free(&db);
	return rc;
}

int cmd_tags(int argc, char **argv)
{
	struct args a = { 0 };
	if (argc < 2) {
		fputs(tags_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(tags_usage, stdout);
		return 0;
	}
	int r = parse(argc - 1, argv + 1, &a);
	if (r < 0)
		return args_exit(r);
	a.first += 1; /* operands index into argv + 1 */
	if (!strcmp(argv[1], "which"))
		return tags_which(argc, argv, &a);
	if (!strcmp(argv[1], "diff"))
		return tags_diff(argc, argv, &a);
	if (!strcmp(argv[1], "show"))
		return tags_show(argc, argv, &a);
	fprintf(stderr, "minet tags: unknown sub-verb '%s'\n%s", argv[1], tags_usage);
	return 2;
}

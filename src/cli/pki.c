/* minet pki — the cluster's certificate authority: init, issue, revoke, crl, list. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/heap.h"
#include "cli/verbs.h"
#include "pki/ca.h"

static const char usage_text[] =
	"usage: minet pki init DIR [--rsa] [--crl-url URL] [--days N] [--crl-days N] [--name CN]\n"
	"                          [--parent CADIR --name NAME]     (an intermediate CA signed by CADIR)\n"
	"       minet pki issue DIR NAME --role agent|mgmt [--san DNS:x,IP:y,...] [--days N]\n"
	"       minet pki revoke DIR NAME [--reason R]\n"
	"       minet pki crl DIR [--days N]\n"
	"       minet pki list DIR [--json]\n"
	"\n"
	"Files in DIR: ca.pem, ca.key, NAME.pem, NAME.key (mode 0600), crl.pem, state.json.\n"
	"Keys are ECDSA P-256 unless the CA was made with --rsa (RSA 3072). agent certificates carry\n"
	"serverAuth, mgmt certificates clientAuth. revoke re-publishes crl.pem at once.\n"
	"A certificate never outlives its CA: a longer --days is clamped to the CA's notAfter (said on stderr).\n"
	"Certificates start, and CRLs are dated (thisUpdate), 60 s in the past, for relying parties whose clock\n"
	"is a little behind. --crl-url is an http:// URL (RFC 3986), written as one CRL distribution point.\n"
	"issue, revoke and crl check that ca.key matches ca.pem first.\n"
	"Exit status: 0 done, 1 the operation failed, 2 bad usage or bad input (nothing written).\n";

struct args {
	bool rsa, json;
	int days, crl_days, role_set;
	const char *crl_url, *name, *parent, *san, *reason;
	enum pki_role role;
	struct pki_time nb, na, tu, nu;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "minet pki: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(minet pki --help for usage)\n");
	va_end(ap);
	return 2;
}

static int role_arg(void *arg, const char *v)
{
	struct args *a = arg;
	a->role_set = 1;
	if (!strcmp(v, "agent") || !strcmp(v, "mgmt")) {
		a->role = *v == 'a' ? PKI_ROLE_AGENT : PKI_ROLE_MGMT;
		return 0;
	}
	bad("--role is agent or mgmt, not '%s'", v);
	return -1;
}

static int time_arg(void *t, const char *v)
{
	if (!pki_time_parse(v, t))
		return 0;
	bad("a time is +SECONDS, -SECONDS or YYYYMMDDHHMMSSZ, not '%s'", v);
	return -1;
}

static void iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int list(const char *dir, int as_json)
{
	char err[512], nb[32], na[32], ra[32];
	json_t *st = pki_state(dir, err, sizeof(err)), *c, *out;
	time_t now = time(NULL);
	size_t i;

	if (!st) {
		fprintf(stderr, "minet pki: %s\n", err);
		return 1;
	}
	out = json_array();
	if (!as_json)
		printf("%-24s %-6s %-10s %-20s %s\n", "NAME", "ROLE", "SERIAL", "NOT AFTER", "STATUS");
	json_array_foreach(json_object_get(st, "certs"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *role = json_string_value(json_object_get(c, "role"));
		json_int_t serial = json_integer_value(json_object_get(c, "serial"));
		time_t nbt = (time_t)json_integer_value(json_object_get(c, "not_before"));
		time_t nat = (time_t)json_integer_value(json_object_get(c, "not_after"));
		json_t *rev = json_object_get(c, "revoked_at");
		const char *status = rev ? "revoked" : now > nat ? "expired" : now < nbt ? "not-yet-valid" : "valid";
		char hex[32];

		snprintf(hex, sizeof(hex), "%llx", (unsigned long long)serial);
		iso(nbt, nb, sizeof(nb));
		iso(nat, na, sizeof(na));
		if (as_json) {
			json_t *o = json_pack("{s:s?, s:s?, s:s, s:s, s:s, s:s}", "name", name, "role", role, "serial", hex,
					      "not_before", nb, "not_after", na, "status", status);

			if (rev) {
				iso((time_t)json_integer_value(rev), ra, sizeof(ra));
				json_object_set_new(o, "revoked_at", json_string(ra));
				json_object_set(o, "reason", json_object_get(c, "reason"));
			}
			json_array_append_new(out, o);
		} else {
			printf("%-24s %-6s %-10s %-20s %s%s%s\n", name ? name : "?", role ? role : "?", hex, na, status,
			       rev ? " " : "", rev ? json_string_value(json_object_get(c, "reason")) : "");
		}
	}
	int rc = as_json && heap_print_json(out, JSON_INDENT(2), "minet pki") < 0 ? 1 : 0;
	json_decref(out);
	json_decref(st);
	return rc;
}

int cmd_pki(int argc, char **argv)
{
	struct args a = { 0 };
	char err[1024], note[512] = "";
	const char *sub, *dir, *name = NULL;
	char **ops;
	int rc, nops, want;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	const struct arg args[] = {
		ARG_FLAG("rsa", &a.rsa),
		ARG_STR("crl-url", &a.crl_url),
		ARG_INT("days", &a.days, 1, 36500),
		ARG_INT("crl-days", &a.crl_days, 1, 36500),
		ARG_STR("name", &a.name),
		ARG_STR("parent", &a.parent),
		ARG_FN("role", &a, role_arg),
		ARG_STR("san", &a.san),
		ARG_STR("reason", &a.reason),
		ARG_FLAG("json", &a.json),
		ARG_FN("not-before", &a.nb, time_arg),
		ARG_FN("not-after", &a.na, time_arg),
		ARG_FN("this-update", &a.tu, time_arg),
		ARG_FN("next-update", &a.nu, time_arg),
		ARGS_END,
	};
	int first = args_parse("pki", argc - 1, argv + 1, args, -1, usage_text);
	if (first < 0)
		return args_exit(first);
	/* getopt permuted the operands to the end of argv+1, from first */
	nops = argc - 1 - first;
	ops = argv + 1 + first;
	if (nops < 1)
		return bad("%s: missing DIR", sub);
	dir = ops[0];
	want = !strcmp(sub, "issue") || !strcmp(sub, "revoke") ? 2 : 1;
	if (nops < want)
		return bad("%s: missing NAME", sub);
	if (nops > want)
		return bad("unexpected argument '%s'", ops[want]);
	if (want == 2)
		name = ops[1];

	if (!strcmp(sub, "init")) {
		struct pki_init_opts o = { .rsa = a.rsa, .name = a.name, .crl_url = a.crl_url, .parent = a.parent,
					   .days = a.days, .crl_days = a.crl_days };

		rc = pki_init(dir, &o, err, sizeof(err));
	} else if (!strcmp(sub, "issue")) {
		struct pki_issue_opts o = { .role = a.role, .san = a.san, .days = a.days, .not_before = a.nb,
					    .not_after = a.na, .note = note, .notelen = sizeof(note) };

		if (!a.role_set)
			return bad("%s: --role agent|mgmt is required", sub);
		rc = pki_issue(dir, name, &o, err, sizeof(err));
		if (!rc && *note)
			fprintf(stderr, "minet pki issue: note: %s\n", note);
	} else if (!strcmp(sub, "revoke")) {
		rc = pki_revoke(dir, name, a.reason, err, sizeof(err));
	} else if (!strcmp(sub, "crl")) {
		struct pki_crl_opts o = { .days = a.days, .this_update = a.tu, .next_update = a.nu };

		rc = pki_crl(dir, &o, err, sizeof(err));
	} else if (!strcmp(sub, "list")) {
		return list(dir, a.json);
	} else {
		return bad("unknown subcommand '%s' (init, issue, revoke, crl, list)", sub);
	}
	if (rc) {
		fprintf(stderr, "minet pki %s: %s\n", sub, err);
		return rc == -2 ? 2 : 1;
	}
	return 0;
}

/* minet verify --storage-account (verify_storage.h). */
#include "cli/verify_storage.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/storage.h"
#include "model/storagefw.h"

int storage_account_arg(void *arg, const char *file)
{
	struct storage_args *a = arg;
	if (a->n == STORAGE_MAX_ACCOUNTS) {
		fprintf(stderr, "minet verify: at most %d --storage-account\n", STORAGE_MAX_ACCOUNTS);
		return -1;
	}
	a->files[a->n++] = file;
	return 0;
}

int storage_region_arg(void *arg, const char *region)
{
	struct storage_args *a = arg;
	if (!a->n || a->regions[a->n - 1]) {
		fprintf(stderr, "minet verify: --storage-region %s: give it after its --storage-account\n", region);
		return -1;
	}
	a->regions[a->n - 1] = region;
	return 0;
}

int storage_run(const struct storage_args *a, const char *region, const struct cidr *subnet, json_t **json)
{
	struct storagefw fw[STORAGE_MAX_ACCOUNTS];
	struct diag d = { .out = stderr, .file = "minet verify" };
	struct storage_input in = { region, *subnet, 0, a->subnet_id };
	size_t loaded = 0;
	int refused = 0;

	*json = NULL;
	if (!a->n) {
		if (a->mgmt_ip || a->subnet_id) {
			fprintf(stderr, "minet verify: --management-ip and --subnet-id go with --storage-account\n");
			return -1;
		}
		return 0;
	}
	if (!a->mgmt_ip) {
		fprintf(stderr, "minet verify: --storage-account needs --management-ip (minet mgmt-ip finds it)\n");
		return -1;
	}
	if (addr_parse(a->mgmt_ip, &in.mgmt_ip) < 0 || !addr_is_v4(in.mgmt_ip)) {
		fprintf(stderr, "minet verify: --management-ip '%s': not an IPv4 address\n", a->mgmt_ip);
		return -1;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (sfw_load_file(&fw[loaded], a->files[i], &d) < 0)
			continue;
		if (!a->regions[i] && !fw[loaded].location) {
			fprintf(stderr, "%s: the file names no location: give --storage-region after it\n", a->files[i]);
			d.errors++;
			sfw_free(&fw[loaded]);
			continue;
		}
		loaded++;
	}
	if (d.errors) {
		refused = -1;
		goto out;
	}
	*json = json_array();
	for (size_t i = 0; i < loaded; i++) {
		struct storage_prediction p;
		storage_predict(&in, &fw[i], a->regions[i] ? a->regions[i] : fw[i].location, &p);
		refused += !p.passes;
		json_array_append_new(*json, storage_prediction_json(&p));
	}
out:
	for (size_t i = 0; i < loaded; i++)
		sfw_free(&fw[i]);
	return refused;
}

void storage_print(FILE *f, json_t *json)
{
	json_t *p;
	size_t i, bad = 0;
	if (!json)
		return;
	fprintf(f, "\nstorage accounts (backups, audit logs)\n");
	json_array_foreach(json, i, p) {
		bool ok = json_is_true(json_object_get(p, "passes"));
		bad += !ok;
		fprintf(f, "  %-24s %-8s from %-15s %s\n    %s\n", json_string_value(json_object_get(p, "account")),
			ok ? "passes" : "REFUSED", json_string_value(json_object_get(p, "source")),
			json_string_value(json_object_get(p, "decidedBy")), json_string_value(json_object_get(p, "reason")));
		if (!ok)
			fprintf(f, "    advice: %s\n", json_string_value(json_object_get(p, "advice")));
	}
	fprintf(f, "%s\n", bad ? "storage: some accounts would refuse backups and audit logs"
			       : "storage: every account lets backups and audit logs in");
}

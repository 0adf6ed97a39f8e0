/* Shared by the analyzer's libFuzzer harnesses (fuzz_tags.c, fuzz_nsg.c, fuzz_routes.c): a small fixed Service
 * Tags DB, built once from the JSON below, naming every tag the seeds (examples/mi-nsg.json, mi-routes.json) use,
 * with IPv4 and IPv6 prefixes, regional and global entries and an exact tie between ranks. */
#ifndef MINET_FUZZ_COMMON_H
#define MINET_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "model/jsonin.h"
#include "model/tags.h"

#define FUZZ_TAG(name, region, prefixes)                                                                     \
	"{\"name\":\"" name "\",\"id\":\"" name "\",\"properties\":{\"region\":\"" region "\","               \
	"\"addressPrefixes\":[" prefixes "]}}"

static const char fuzz_tags_json[] =
	"{\"changeNumber\":1,\"cloud\":\"Public\",\"values\":["
	FUZZ_TAG("SqlManagement", "", "\"13.104.248.32/27\",\"13.104.248.96/27\",\"40.1.0.0/24\",\"2603:1000:4:402::380/122\"") ","
	FUZZ_TAG("AzureCloud", "", "\"13.64.0.0/11\",\"20.0.0.0/8\",\"40.1.0.0/24\",\"2603:1000::/24\"") ","
	FUZZ_TAG("AzureCloud.westeurope", "westeurope", "\"20.50.0.0/16\",\"40.1.0.0/24\"") ","
	FUZZ_TAG("AzureCloud.northeurope", "northeurope", "\"20.51.0.0/16\"") ","
	FUZZ_TAG("Storage", "", "\"20.60.0.0/16\",\"20.61.0.0/16\",\"40.1.0.0/24\"") ","
	FUZZ_TAG("Storage.westeurope", "westeurope", "\"20.60.0.0/16\",\"40.1.0.0/24\"") ","
	FUZZ_TAG("Storage.northeurope", "northeurope", "\"20.61.0.0/16\"") ","
	FUZZ_TAG("EventHub.westeurope", "westeurope", "\"20.70.0.0/24\"") ","
	FUZZ_TAG("EventHub.northeurope", "northeurope", "\"20.70.1.0/24\"") ","
	FUZZ_TAG("AzureMonitor", "", "\"20.80.0.0/20\",\"2603:1020::/48\"") ","
	FUZZ_TAG("AzureActiveDirectory", "", "\"20.90.0.0/24\"") ","
	FUZZ_TAG("CorpNetSaw", "", "\"65.55.188.0/24\",\"167.220.0.0/16\"") ","
	FUZZ_TAG("CorpNetPublic", "", "\"131.107.0.0/16\",\"94.245.87.0/24\"") ","
	FUZZ_TAG("Lab", "", "\"::ffff:10.9.0.0/112\",\"::/0\"")
	"]}";

/* The fixed DB; aborts if it does not load (a bug in the harness or the loader). */
static inline struct tagdb *fuzz_tags(void)
{
	static struct tagdb db;
	static int loaded;
	if (!loaded) {
		struct diag d = { .out = NULL, .file = "fuzz-tags" };
		json_t *root = jsonin_load_buf(fuzz_tags_json, strlen(fuzz_tags_json), &d);
		if (!root || tagdb_load_json(&db, root, "fuzz-tags", &d) < 0)
			abort();
		json_decref(root);
		loaded = 1;
	}
	return &db;
}

#endif

/* libFuzzer: the --asg reader (model/asg.c), either shape, then an NSG whose rule names web-asg by id, read with
 * that map: a failure must say why; a map that loads finds each of its entries by its own key and by the key's
 * last segment; the rule matches exactly web-asg's members (none, with a note, when the map lacks it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flow.h"
#include "fuzz_common.h"
#include "model/asg.h"
#include "model/netenv.h"
#include "model/nsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char nsg_json[] =
	"{\"name\":\"n\",\"properties\":{\"securityRules\":[{\"name\":\"web\",\"properties\":{\"protocol\":\"*\","
	"\"sourcePortRange\":\"*\",\"destinationPortRange\":\"*\",\"destinationAddressPrefix\":\"*\",\"access\":\"Allow\","
	"\"direction\":\"Inbound\",\"priority\":100,\"sourceApplicationSecurityGroups\":[{\"id\":\"/subscriptions/x/"
	"resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/web-asg\"}]}}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return 0;
	struct diag d = { .out = NULL, .file = "asg.json" };
	struct asg_map m;
	int rc = asg_load_json(&m, root, "asg.json", &d);
	json_decref(root);
	if (rc < 0) {
		if (!d.errors)
			abort();
		return 0;
	}
	for (size_t i = 0; i < m.n; i++) {
		const struct asg_entry *e = asg_find(&m, m.e[i].key);
		if (!e || strcasecmp(e->key, m.e[i].key))
			abort();
		if (*asg_name(m.e[i].key) && !asg_find(&m, asg_name(m.e[i].key)))
			abort();
	}
	struct netenv env;
	struct nsg g;
	if (netenv_init(&env, fuzz_tags(), "10.0.0.0/16", &d) < 0)
		abort();
	env.asgs = &m;
	json_t *nr = jsonin_load_buf(nsg_json, strlen(nsg_json), &d);
	if (!nr || nsg_load_json(&g, nr, "nsg.json", &env, &d) < 0)
		abort();
	json_decref(nr);
	const struct asg_entry *web = asg_find(&m, "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/"
						   "applicationSecurityGroups/web-asg");
	const struct nsg_rule *r = &g.rules[0];
	if (strcmp(r->name, "web") || !r->src.is_asg || (!web) != (r->note != NULL))
		abort();
	if (web ? !ipset_equal(r->src.set, &web->members) : r->src.set->n != 0)
		abort();
	if (web && web->members.n) {
		struct flow f = { .dir = DIR_IN, .proto = PROTO_TCP, .src = web->members.r[0].lo,
				  .dst = addr_from_v4(0x0a000004), .sport = 1, .dport = 1 };
		if (nsg_decide(&g, &f) != r)
			abort();
	}
	nsg_free(&g);
	netenv_free(&env);
	asg_free(&m);
	return 0;
}

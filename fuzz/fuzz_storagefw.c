/* libFuzzer: the storage account firewall parser (jsonin_load_buf + sfw_load_json: az show, its networkRuleSet,
 * or ARM networkAcls). A rule set that loads is evaluated from both regions and must obey Azure's documented
 * rules: abort() when a same-region request is allowed by an IP rule, or a cross-region one by a VNet rule, or a
 * request matching no rule gets anything but the default action. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/jsonin.h"
#include "model/storagefw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { .out = NULL, .file = "fuzz" };
	json_t *root = jsonin_load_buf((const char *)data, size, &d);
	struct storagefw fw;
	if (!root)
		return 0;
	if (sfw_load_json(&fw, root, "fuzz.json", &d) == 0) {
		for (size_t i = 0; i <= fw.nip + fw.nvnet; i++) {
			u128 src = i < fw.nip ? fw.ip[i].cidr.lo : addr_from_v4(0xc6336400u);
			const char *sub = i >= fw.nip && i < fw.nip + fw.nvnet ? fw.vnet[i - fw.nip].id : "/none";
			for (int same = 0; same < 2; same++) {
				struct sfw_request rq = { same, src, sub };
				struct sfw_verdict v;
				sfw_evaluate(&fw, &rq, &v);
				if (same && v.by == SFW_BY_IP_RULE)
					abort();
				if (!same && v.by == SFW_BY_VNET_RULE)
					abort();
				if (v.by == SFW_BY_DEFAULT && v.allow != fw.default_allow)
					abort();
				if (v.by != SFW_BY_DEFAULT && !v.allow)
					abort();
			}
		}
		sfw_free(&fw);
	}
	json_decref(root);
	return 0;
}

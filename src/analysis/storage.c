/* Backups and audit logs against storage account firewalls (storage.h). */
#include "analysis/storage.h"

#include <stdio.h>
#include <string.h>

void storage_predict(const struct storage_input *in, const struct storagefw *fw, const char *account_region,
		     struct storage_prediction *out)
{
	char a[ADDR_STRLEN], s[CIDR_STRLEN];
	memset(out, 0, sizeof(*out));
	out->fw = fw;
	out->account_region = account_region;
	out->same_region = sfw_same_region(in->region, account_region);
	/* Same region: not NATed, the account sees the node's own address (the first VM address of the subnet
	 * stands for every node). Another region: SNAT to the management IP. */
	out->source = out->same_region ? in->subnet.lo + 4 : in->mgmt_ip;
	out->source_kind = out->same_region ? "privateAddress" : "managementIp";
	struct sfw_request rq = { out->same_region, out->source, out->same_region ? in->subnet_id : NULL };
	sfw_evaluate(fw, &rq, &out->verdict);
	out->passes = out->verdict.allow;

	char where[256];
	if (out->same_region)
		snprintf(where, sizeof(where), "same region (%s): not NATed, the account sees a node's private address "
			 "(%s, subnet %s)", account_region, addr_format(out->source, a), cidr_format(&in->subnet, s));
	else
		snprintf(where, sizeof(where), "another region (%s, the instance is in %s): SNAT, the account sees the "
			 "management IP %s", account_region, in->region, addr_format(out->source, a));
	const struct sfw_verdict *v = &out->verdict;
	if (v->by == SFW_BY_IP_RULE)
		snprintf(out->reason, sizeof(out->reason), "%s, which %s (%s) allows", where, fw->ip[v->rule_index].json_path,
			 fw->ip[v->rule_index].text);
	else if (v->by == SFW_BY_VNET_RULE)
		snprintf(out->reason, sizeof(out->reason), "%s; %s names the instance's subnet", where,
			 fw->vnet[v->rule_index].json_path);
	else if (fw->default_allow)
		snprintf(out->reason, sizeof(out->reason), "%s; defaultAction is Allow", where);
	else if (out->same_region)
		snprintf(out->reason, sizeof(out->reason), "%s; IP network rules have no effect on requests from the same "
			 "region%s, %s, and defaultAction is Deny", where, fw->nip ? " (so none of its ipRules applies)" : "",
			 !fw->nvnet ? "there is no virtual network rule"
				    : in->subnet_id ? "no virtual network rule in force names the instance's subnet"
						    : "no virtual network rule can be matched (--subnet-id not given)");
	else
		snprintf(out->reason, sizeof(out->reason), "%s, which no IP rule allows%s, and defaultAction is Deny", where,
			 fw->nvnet ? " (virtual network rules do not match SNATed traffic)" : "");
	if (!out->passes) {
		if (out->same_region)
			snprintf(out->advice, sizeof(out->advice), "same region: IP rules do not apply; use a "
				 "virtual-network rule or an account in another region");
		else
			snprintf(out->advice, sizeof(out->advice), "allow the management IP %s with an IP rule "
				 "(minet mgmt-ip finds it from the instance's name)", addr_format(in->mgmt_ip, a));
	}
}

json_t *storage_prediction_json(const struct storage_prediction *p)
{
	char a[ADDR_STRLEN];
	const struct sfw_verdict *v = &p->verdict;
	const char *by = v->by == SFW_BY_IP_RULE ? p->fw->ip[v->rule_index].json_path
		       : v->by == SFW_BY_VNET_RULE ? p->fw->vnet[v->rule_index].json_path
		       : p->fw->default_allow ? "defaultAction Allow" : "defaultAction Deny";
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s}", "account", p->fw->name, "file",
			      p->fw->file ? p->fw->file : "", "region", p->account_region, "sameRegion", p->same_region,
			      "passes", p->passes, "source", addr_format(p->source, a), "sourceKind", p->source_kind,
			      "decidedBy", by, "reason", p->reason);
	json_object_set_new(o, "advice", p->passes ? json_null() : json_string(p->advice));
	return o;
}

/* Unit tests of the storage account firewall model (model/storagefw.h) and the backup/audit-log prediction
 * (analysis/storage.h): the shapes read, validation with JSON paths, the same-region rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analysis/storage.h"
#include "model/storagefw.h"
#include "testutil.h"

#define SUBNET_ID "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/mi"

static u128 A(const char *s)
{
	u128 a;
	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static int load(struct storagefw *fw, const char *text, int *errors)
{
	struct diag d = { .out = NULL, .file = "t.json" };
	json_t *j = json_of(text);
	assert_non_null(j);
	int r = sfw_load_json(fw, j, "t.json", &d);
	json_decref(j);
	if (errors)
		*errors = d.errors;
	return r;
}

static void test_real_az_output(void **st)
{
	struct storagefw fw;
	struct diag d = { .out = stderr };
	assert_int_equal(sfw_load_file(&fw, repo_file("tests/fixtures/storagefw/az-show-vnet-rule.json"), &d), 0);
	assert_false(fw.default_allow);
	assert_int_equal(fw.nip, 0);
	assert_int_equal(fw.nvnet, 1);
	assert_string_equal(fw.vnet[0].state, "Succeeded");
	assert_string_equal(fw.bypass, "AzureServices");
	assert_null(fw.location);
	sfw_free(&fw);
}

static void test_shapes(void **st)
{
	struct storagefw fw;
	/* az storage account show: networkRuleSet, ipAddressOrRange, primaryLocation */
	assert_int_equal(load(&fw, "{\"name\":\"sa\",\"primaryLocation\":\"northeurope\",\"networkRuleSet\":"
				   "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"ipAddressOrRange\":\"198.51.100.10\","
				   "\"action\":\"Allow\"}]}}", NULL), 0);
	assert_string_equal(fw.name, "sa");
	assert_string_equal(fw.location, "northeurope");
	assert_int_equal(fw.nip, 1);
	assert_true(fw.ip[0].cidr.lo == A("198.51.100.10"));
	assert_string_equal(fw.ip[0].json_path, "networkRuleSet.ipRules[0]");
	sfw_free(&fw);
	/* ARM: properties.networkAcls, value, id */
	assert_int_equal(load(&fw, "{\"name\":\"arm\",\"location\":\"westeurope\",\"properties\":{\"networkAcls\":"
				   "{\"defaultAction\":\"allow\",\"ipRules\":[{\"value\":\"203.0.113.0/24\"}],"
				   "\"virtualNetworkRules\":[{\"id\":\"" SUBNET_ID "\",\"action\":\"Allow\"}]}}}", NULL), 0);
	assert_true(fw.default_allow);
	assert_string_equal(fw.location, "westeurope");
	assert_string_equal(fw.vnet[0].json_path, "properties.networkAcls.virtualNetworkRules[0]");
	sfw_free(&fw);
	/* the bare rule set; ipRules null is none */
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"ipRules\":null}", NULL), 0);
	assert_int_equal(fw.nip + fw.nvnet, 0);
	assert_string_equal(fw.name, "t.json");
	sfw_free(&fw);
}

static void test_errors(void **st)
{
	struct storagefw fw;
	int n;
	assert_int_equal(load(&fw, "{\"kind\":\"StorageV2\"}", &n), -1);
	assert_int_equal(n, 1);
	assert_int_equal(load(&fw, "{\"networkRuleSet\":{\"ipRules\":[]}}", &n), -1); /* defaultAction missing */
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"value\":\"192.168.1.0/24\"}]}", &n), -1);
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"value\":\"1.2.3.4/32\"}]}", &n), -1);
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"value\":\"2001:db8::1\"}]}", &n), -1);
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"value\":\"1.2.3.4\",\"ipAddressOrRange\":"
				   "\"1.2.3.5\"}]}", &n), -1);
	assert_int_equal(load(&fw, "{\"defaultAction\":\"Deny\",\"virtualNetworkRules\":[{\"id\":\"/x\"}]}", &n), -1);
	/* all errors of a file are reported */
	assert_int_equal(load(&fw, "{\"defaultAction\":\"X\",\"ipRules\":[1,{\"value\":\"10.1.0.0/16\"}]}", &n), -1);
	assert_int_equal(n, 3);
	assert_int_equal(fw.nip, 0);
}

static struct storagefw pool[16]; /* kept until the test ends: a prediction points into its model */
static size_t npool;

static struct storage_prediction predict(const char *fwtext, const char *account_region)
{
	assert_true(npool < 16);
	struct storagefw *fw = &pool[npool++];
	struct storage_input in = { "West Europe", { 0 }, A("198.51.100.10"), SUBNET_ID };
	const char *why;
	struct storage_prediction p;
	assert_int_equal(cidr_parse("10.0.0.0/24", &in.subnet, &why), 0);
	assert_int_equal(load(fw, fwtext, NULL), 0);
	storage_predict(&in, fw, account_region, &p);
	return p;
}

static void test_same_region_rule(void **st)
{
	const char *ip_only = "{\"defaultAction\":\"Deny\",\"ipRules\":[{\"value\":\"198.51.100.10\"}]}";
	/* another region: SNAT to the management IP, which the IP rule allows */
	struct storage_prediction p = predict(ip_only, "northeurope");
	assert_true(p.passes && !p.same_region);
	assert_true(p.source == A("198.51.100.10"));
	assert_string_equal(p.source_kind, "managementIp");
	assert_int_equal(p.verdict.by, SFW_BY_IP_RULE);
	/* the same region ("westeurope" == "West Europe"): not NATed, IP rules have no effect */
	p = predict(ip_only, "westeurope");
	assert_true(!p.passes && p.same_region && p.verdict.ip_rules_skipped);
	assert_true(p.source == A("10.0.0.4"));
	assert_non_null(strstr(p.advice, "same region: IP rules do not apply"));
	/* even an IP rule for the private address could not help: Azure refuses private ranges in IP rules */
	/* a VNet rule naming the subnet (case-insensitively) lets the same region in, not another region */
	const char *vnet = "{\"defaultAction\":\"Deny\",\"virtualNetworkRules\":[{\"virtualNetworkResourceId\":"
			   "\"/SUBSCRIPTIONS/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/mi\"}]}";
	p = predict(vnet, "westeurope");
	assert_true(p.passes);
	assert_int_equal(p.verdict.by, SFW_BY_VNET_RULE);
	p = predict(vnet, "northeurope");
	assert_false(p.passes);
	assert_non_null(strstr(p.advice, "198.51.100.10"));
	/* a rule not in force matches nothing */
	p = predict("{\"defaultAction\":\"Deny\",\"virtualNetworkRules\":[{\"id\":\"" SUBNET_ID
		    "\",\"state\":\"NetworkSourceDeleted\"}]}", "westeurope");
	assert_false(p.passes);
	/* default Allow and default Deny, both regions */
	assert_true(predict("{\"defaultAction\":\"Allow\"}", "westeurope").passes);
	assert_true(predict("{\"defaultAction\":\"Allow\"}", "northeurope").passes);
	assert_false(predict("{\"defaultAction\":\"Deny\"}", "westeurope").passes);
	assert_false(predict("{\"defaultAction\":\"Deny\"}", "northeurope").passes);
	while (npool)
		sfw_free(&pool[--npool]);
}

static void test_region_names(void **st)
{
	assert_true(sfw_same_region("West Europe", "westeurope"));
	assert_true(sfw_same_region("NorthEurope", "north europe"));
	assert_false(sfw_same_region("westeurope", "westeurope2"));
	assert_false(sfw_same_region("westeurope", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_az_output),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_same_region_rule),
		cmocka_unit_test(test_region_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

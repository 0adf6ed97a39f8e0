/* bench_armtmpl [RUNS] [--write FILE]
 * Generates a ~2 MB ARM template: 1,000 NSG rules from an array parameter (800 by a property copy, 200 by a
 * copy of child securityRules resources), a route table with 400 looped routes, and ~1.7 MB of unrelated
 * resources (virtual machines with expression-heavy properties, never evaluated). Measures, median of RUNS:
 * jansson's json_loads of the text (the peer), then armtmpl_resources for the NSGs and for the route tables.
 * Times are CPU time of the thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "model/armtmpl.h"

static char *generate(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	fputs("{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\","
	      "\"contentVersion\":\"1.0.0.0\",\"parameters\":{\"location\":{\"type\":\"string\","
	      "\"defaultValue\":\"[resourceGroup().location]\"},\"rules\":{\"type\":\"array\",\"defaultValue\":[", f);
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%s{\"name\":\"rule-%04d\",\"priority\":%d,\"port\":\"%d\",\"source\":\"10.%d.%d.0/24\"}", i ? "," : "",
			i, 100 + i, 1000 + i, i / 256, i % 256);
	fputs("]}},\"variables\":{\"nsgName\":\"[format('{0}-nsg', 'bench')]\",\"rtName\":\"bench-rt\"},\"resources\":[", f);
	/* 800 rules by property copy */
	fputs("{\"type\":\"Microsoft.Network/networkSecurityGroups\",\"apiVersion\":\"2023-04-01\","
	      "\"name\":\"[variables('nsgName')]\",\"location\":\"[parameters('location')]\",\"properties\":{\"copy\":["
	      "{\"name\":\"securityRules\",\"count\":800,\"input\":{"
	      "\"name\":\"[parameters('rules')[copyIndex('securityRules')].name]\",\"properties\":{"
	      "\"priority\":\"[parameters('rules')[copyIndex('securityRules')].priority]\",\"access\":\"Allow\","
	      "\"direction\":\"[if(equals(mod(copyIndex('securityRules'), 2), 0), 'Inbound', 'Outbound')]\","
	      "\"protocol\":\"Tcp\",\"sourcePortRange\":\"*\","
	      "\"destinationPortRange\":\"[parameters('rules')[copyIndex('securityRules')].port]\","
	      "\"sourceAddressPrefix\":\"[parameters('rules')[copyIndex('securityRules')].source]\","
	      "\"destinationAddressPrefix\":\"VirtualNetwork\"}}}]}},", f);
	/* 200 more as child resources */
	fputs("{\"type\":\"Microsoft.Network/networkSecurityGroups/securityRules\",\"apiVersion\":\"2023-04-01\","
	      "\"copy\":{\"name\":\"extra\",\"count\":200},"
	      "\"name\":\"[format('{0}/{1}', variables('nsgName'), parameters('rules')[add(800, copyIndex())].name)]\","
	      "\"properties\":{\"priority\":\"[parameters('rules')[add(800, copyIndex())].priority]\",\"access\":\"Deny\","
	      "\"direction\":\"Inbound\",\"protocol\":\"*\",\"sourcePortRange\":\"*\",\"destinationPortRange\":\"*\","
	      "\"sourceAddressPrefix\":\"[parameters('rules')[add(800, copyIndex())].source]\","
	      "\"destinationAddressPrefix\":\"*\"},\"dependsOn\":[\"[resourceId('Microsoft.Network/networkSecurityGroups', "
	      "variables('nsgName'))]\"]},", f);
	/* a route table with 400 looped routes */
	fputs("{\"type\":\"Microsoft.Network/routeTables\",\"apiVersion\":\"2023-04-01\",\"name\":\"[variables('rtName')]\","
	      "\"properties\":{\"copy\":[{\"name\":\"routes\",\"count\":400,\"input\":{"
	      "\"name\":\"[concat('r', copyIndex('routes'))]\",\"properties\":{"
	      "\"addressPrefix\":\"[parameters('rules')[copyIndex('routes')].source]\","
	      "\"nextHopType\":\"VirtualAppliance\",\"nextHopIpAddress\":\"10.255.0.4\"}}}]}}", f);
	/* bulk: unrelated resources */
	for (int i = 0; ftell(f) < 2000000; i++)
		fprintf(f, ",{\"type\":\"Microsoft.Compute/virtualMachines\",\"apiVersion\":\"2023-03-01\","
			   "\"name\":\"[format('vm-{0}', %d)]\",\"location\":\"[parameters('location')]\",\"properties\":{"
			   "\"hardwareProfile\":{\"vmSize\":\"Standard_D2s_v5\"},\"osProfile\":{\"computerName\":\"vm%d\","
			   "\"adminUsername\":\"azureuser\",\"linuxConfiguration\":{\"disablePasswordAuthentication\":true}},"
			   "\"storageProfile\":{\"imageReference\":{\"publisher\":\"Canonical\",\"offer\":\"0001-com-ubuntu-server-jammy\","
			   "\"sku\":\"22_04-lts-gen2\",\"version\":\"latest\"},\"osDisk\":{\"createOption\":\"FromImage\","
			   "\"managedDisk\":{\"storageAccountType\":\"Premium_LRS\"}}},\"networkProfile\":{\"networkInterfaces\":["
			   "{\"id\":\"[resourceId('Microsoft.Network/networkInterfaces', format('nic-{0}', %d))]\"}]},"
			   "\"diagnosticsProfile\":{\"bootDiagnostics\":{\"enabled\":true}}},"
			   "\"dependsOn\":[\"[resourceId('Microsoft.Network/networkInterfaces', format('nic-{0}', %d))]\"]}",
			i, i, i, i);
	fputs("]}\n", f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 21;
	size_t len;
	char *text = generate(&len);
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--write")) {
			FILE *f = fopen(argv[i + 1], "w");
			if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
				perror(argv[i + 1]);
				return 2;
			}
		}
	if (runs < 1)
		runs = 1;
	double *t_load = calloc((size_t)runs, sizeof(double)), *t_nsg = calloc((size_t)runs, sizeof(double)),
	       *t_rt = calloc((size_t)runs, sizeof(double));
	size_t rules = 0, routes = 0;
	for (int k = 0; k < runs; k++) {
		double t0 = cpu_now() * 1e3;
		json_error_t je;
		json_t *root = json_loadb(text, len, 0, &je);
		double t1 = cpu_now() * 1e3;
		if (!root) {
			fprintf(stderr, "generated template: %s\n", je.text);
			return 2;
		}
		struct diag d = { .out = stderr, .file = "bench.json" };
		json_t *nsgs = armtmpl_resources(root, NULL, "Microsoft.Network/networkSecurityGroups", &d);
		double t2 = cpu_now() * 1e3;
		json_t *rts = armtmpl_resources(root, NULL, "Microsoft.Network/routeTables", &d);
		double t3 = cpu_now() * 1e3;
		if (!nsgs || !rts)
			return 2;
		rules = json_array_size(json_object_get(json_object_get(json_array_get(nsgs, 0), "properties"), "securityRules"));
		routes = json_array_size(json_object_get(json_object_get(json_array_get(rts, 0), "properties"), "routes"));
		t_load[k] = t1 - t0;
		t_nsg[k] = t2 - t1;
		t_rt[k] = t3 - t2;
		json_decref(nsgs);
		json_decref(rts);
		json_decref(root);
	}
	qsort(t_load, (size_t)runs, sizeof(double), dbl_cmp);
	qsort(t_nsg, (size_t)runs, sizeof(double), dbl_cmp);
	qsort(t_rt, (size_t)runs, sizeof(double), dbl_cmp);
	double load = t_load[runs / 2], nsg = t_nsg[runs / 2], rt = t_rt[runs / 2];
	printf("ARM template of %.2f MB (%zu NSG rules by copy loops, %zu routes), CPU time, median of %d:\n", (double)len / 1e6, rules,
	       routes, runs);
	printf("  jansson json_loads (peer)        %7.2f ms\n", load);
	printf("  armtmpl_resources, the NSGs      %7.2f ms   (target <= 5 ms)   ratio to json_loads %.2f\n", nsg, nsg / load);
	printf("  armtmpl_resources, route tables  %7.2f ms                      ratio to json_loads %.2f\n", rt, rt / load);
	free(t_load);
	free(t_nsg);
	free(t_rt);
	free(text);
	return rules == 1000 && routes == 400 ? 0 : 1;
}

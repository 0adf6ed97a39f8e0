/* minet route: the next hop of a destination under the subnet's route table. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/nexthop.h"
#include "cli/heap.h"
#include "cli/policy.h"
#include "cli/verbs.h"

static const char route_usage[] =
	"usage: minet route --tags F [--tags F…] --vnet CIDR[,CIDR…] [--routes RT.json] --dst IP [--json]\n"
	"\n"
	"The route in force for a destination: longest prefix match over the system routes and the user-defined\n"
	"routes (service tags expanded); on equal prefixes a user route beats a system route, and an explicit\n"
	"prefix > regional tag > global tag > AzureCloud.<region> > AzureCloud.\n"
	"--routes may also be an effective route table (az network nic show-effective-route-table, or\n"
	"Get-AzEffectiveRouteTable | ConvertTo-Json): Azure's merged routes are then the whole FIB (Invalid ones\n"
	"left out, no system routes added) and --vnet may be left out (the VnetLocal routes give it).\n"
	"--host-vip IP: an address that stands for 168.63.129.16 (a lab's, see minet topology).\n"
	"--nsg/--routes read REST, az, PowerShell, Terraform and ARM template JSON (minet-flow(1), INPUT SHAPES);\n"
	"FILE#NAME picks one of several; --parameters FILE: an ARM template's deploymentParameters file.\n"
	"Exit: 0, or 2 on bad input or usage.\n";

int cmd_route(int argc, char **argv)
{
	struct policy_args pa = { 0 };
	const char *dst = NULL;
	bool json = false;
	const struct arg args[] = { POLICY_ARGS(&pa), ARG_STR("dst", &dst), ARG_FLAG("json", &json), ARGS_END };
	int port, first = args_parse("route", argc, argv, args, 0, route_usage);
	u128 a;
	if (first < 0)
		return args_exit(first);
	if (pa.nsg || pa.nic_nsg) {
		fprintf(stderr, "minet route: --nsg and --nic-nsg do not apply to routes\n");
		return 2;
	}
	if (!dst) {
		fprintf(stderr, "minet route: --dst IP is required\n%s", route_usage);
		return 2;
	}
	if (endpoint_parse(dst, &a, &port) < 0 || port >= 0) {
		fprintf(stderr, "minet route: --dst: '%s' is not an IP address\n", dst);
		return 2;
	}
	struct policy p;
	struct fib fib;
	pa.short_run = true;
	if (policy_load(&p, &pa) < 0) {
		policy_free(&p);
		return 2;
	}
	if (fib_build(&fib, &p.env, p.has_rt ? &p.rt : NULL) < 0) {
		fprintf(stderr, "minet route: out of memory\n");
		policy_free(&p);
		return 2;
	}
	int len;
	const struct fib_route *r = fib_lookup(&fib, a, &len);
	const char *hop_ip = r->user && r->user->has_hop_ip ? r->user->hop_ip_text : NULL;
	const char *source = r->user ? (r->user->source ? r->user->source : "User") : r->no_route ? "" : "Default";
	char as[ADDR_STRLEN];
	int rc = 0;
	addr_format(a, as);
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "destination", json_string(as));
		json_object_set_new(o, "nextHopType", json_string(next_hop_name(r->hop)));
		json_object_set_new(o, "nextHopIpAddress", hop_ip ? json_string(hop_ip) : json_null());
		json_object_set_new(o, "route", r->user && *r->user->name ? json_string(r->user->name) : json_null());
		json_object_set_new(o, "source", *source ? json_string(source) : json_null());
		json_object_set_new(o, "addressPrefix", r->no_route ? json_null() : json_string(r->prefix_text));
		json_object_set_new(o, "effective", json_boolean(p.has_rt && p.rt.effective));
		if (r->user && r->user->source)
			json_object_set_new(o, "at", json_string(r->user->json_path));
		json_object_set_new(o, "prefixLength", json_integer(len));
		rc = heap_print_json(o, JSON_COMPACT, "minet route") < 0 ? 2 : 0;
		json_decref(o);
	} else {
		printf("%s  next hop %s%s%s\n", as, next_hop_name(r->hop), hop_ip ? " " : "", hop_ip ? hop_ip : "");
		if (r->no_route)
			printf("  no effective route covers it: Azure drops the packet\n");
		else if (r->user && r->user->source)
			printf("  effective route%s%s%s, source %s, addressPrefix %s (%s: %s)\n", *r->user->name ? " '" : "",
			       r->user->name, *r->user->name ? "'" : "", *source ? source : "?", r->prefix_text, p.rt.file,
			       r->user->json_path);
		else if (r->user)
			printf("  user route '%s' (%s), addressPrefix %s%s\n", r->user->name, p.rt.file, r->prefix_text,
			       r->user->tag ? " (service tag)" : "");
		else
			printf("  system route %s\n", r->prefix_text);
		printf("  matched prefix length /%d\n", len);
	}
	fib_free(&fib);
	policy_free(&p);
	return rc;
}

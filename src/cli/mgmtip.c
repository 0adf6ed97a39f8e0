/* minet mgmt-ip — the seed's recipe for the management endpoint's public IP ("How to determine the IP address of
 * the management endpoint"): resolve the instance FQDN, take the CNAME <vc>.<region>-a.worker.vnet.database.windows.net,
 * drop ".vnet", resolve that name: its address is the management IP. Real DNS queries with libresolv (res_nquery,
 * ns_parse), against --server or the system's resolv.conf. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/args.h"
#include "cli/heap.h"
#include "cli/verbs.h"

static const char usage_text[] =
	"usage: minet mgmt-ip FQDN [--server IP] [--json]\n"
	"\n"
	"Find the management endpoint's public IP of a managed instance the way the documentation does it:\n"
	"  1. resolve FQDN (e.g. mi1.abc123.database.windows.net): it is a CNAME to <vc>.<region>-a.worker.vnet.<domain>\n"
	"  2. drop \".vnet\" from that name: <vc>.<region>-a.worker.<domain>\n"
	"  3. resolve that name: its address is the management IP.\n"
	"--server IP asks that DNS server (e.g. the lab's, `minet status` names it) instead of /etc/resolv.conf's.\n"
	"--json prints {\"fqdn\", \"cname\", \"managementName\", \"managementIp\"}.\n"
	"Exit status: 0 found, 1 a step failed (the message names it), 2 bad usage.\n";

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "minet mgmt-ip: %s%s%s\n(minet mgmt-ip --help for usage)\n", what, arg ? " " : "",
		arg ? arg : "");
	return 2;
}

/* One A query; the CNAME of `name` (if the answer has one for it) into cname, the first A record's address into
 * ip. Returns 0, or -1 with a message in err. */
static int query_a(res_state rs, const char *name, char *cname, size_t cnlen, char *ip, size_t iplen, char *err,
		   size_t errlen)
{
	unsigned char ans[NS_PACKETSZ * 4];
	ns_msg msg;
	int n;

	cname[0] = ip[0] = 0;
	n = res_nquery(rs, name, ns_c_in, ns_t_a, ans, sizeof(ans));
	if (n < 0) {
		const char *why = "no answer (server unreachable or timed out)";
		switch (rs->res_h_errno) {
		case HOST_NOT_FOUND: why = "NXDOMAIN (no such name)"; break;
		case NO_DATA: why = "no A record"; break;
		case TRY_AGAIN: why = "SERVFAIL or timeout"; break;
		case NO_RECOVERY: why = "refused or unrecoverable server error"; break;
		}
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (ns_initparse(ans, n, &msg) < 0) {
		snprintf(err, errlen, "malformed DNS answer");
		return -1;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			snprintf(err, errlen, "malformed answer record %d", i);
			return -1;
		}
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_type(rr) == ns_t_cname && !cname[0]) {
			if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), cname, cnlen) < 0) {
				snprintf(err, errlen, "malformed CNAME record");
				return -1;
			}
		} else if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4 && !ip[0]) {
			inet_ntop(AF_INET, ns_rr_rdata(rr), ip, iplen);
		}
	}
	if (!ip[0]) {
		snprintf(err, errlen, "no A record in the answer");
		return -1;
	}
	return 0;
}

int cmd_mgmtip(int argc, char **argv)
{
	const char *server = NULL;
	bool json = false;
	const struct arg args[] = { ARG_STR("server", &server), ARG_FLAG("json", &json), ARGS_END };
	int first = args_parse("mgmt-ip", argc, argv, args, 1, usage_text);
	if (first < 0)
		return args_exit(first);
	if (first == argc)
		return bad("missing FQDN", NULL);
	const char *fqdn = argv[first];
	if (!*fqdn || strlen(fqdn) > NS_MAXDNAME - 2 || strchr(fqdn, ' '))
		return bad("not a domain name:", fqdn);

	struct in_addr sa;
	if (server && inet_pton(AF_INET, server, &sa) != 1)
		return bad("--server needs an IPv4 address, not", server);

	struct __res_state rs;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0) {
		fprintf(stderr, "minet mgmt-ip: cannot initialise the resolver\n");
		return 1;
	}
	if (server) {
		rs.nsaddr_list[0].sin_family = AF_INET;
		rs.nsaddr_list[0].sin_addr = sa;
		rs.nsaddr_list[0].sin_port = htons(NS_DEFAULTPORT);
		rs.nscount = 1;
	}
	rs.retrans = 2;
	rs.retry = 2;
	/* Names are taken as given (no search list): the FQDN is absolute. */
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);

	char cname[NS_MAXDNAME], ip1[INET_ADDRSTRLEN], mname[NS_MAXDNAME], ip2[INET_ADDRSTRLEN], junk[NS_MAXDNAME];
	char err[200];
	int rc = 1;

	if (query_a(&rs, fqdn, cname, sizeof(cname), ip1, sizeof(ip1), err, sizeof(err)) < 0 && !cname[0]) {
		fprintf(stderr, "minet mgmt-ip: step 1, resolving %s: %s\n", fqdn, err);
		goto out;
	}
	if (!cname[0]) {
		fprintf(stderr, "minet mgmt-ip: step 1, resolving %s: no CNAME (an address %s directly); "
				"not a managed instance's name\n", fqdn, ip1);
		goto out;
	}
	/* ".worker.vnet." is the seed's marker; drop the ".vnet" label after "worker". */
	char *v = strstr(cname, ".worker.vnet.");
	if (!v) {
		fprintf(stderr, "minet mgmt-ip: step 2, %s is a CNAME to %s, which has no \".worker.vnet.\" label to drop\n",
			fqdn, cname);
		goto out;
	}
	snprintf(mname, sizeof(mname), "%.*s.worker.%s", (int)(v - cname), cname, v + strlen(".worker.vnet."));
	if (query_a(&rs, mname, junk, sizeof(junk), ip2, sizeof(ip2), err, sizeof(err)) < 0) {
		fprintf(stderr, "minet mgmt-ip: step 3, resolving %s: %s\n", mname, err);
		goto out;
	}
	rc = 0;
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "fqdn", fqdn, "cname", cname, "managementName", mname,
				      "managementIp", ip2);
		if (heap_print_json(o, JSON_INDENT(2), "minet mgmt-ip") < 0)
			rc = 2;
		json_decref(o);
	} else {
		printf("%s\n", ip2);
	}
out:
	res_nclose(&rs);
	return rc;
}

/* The verbs of `minet`: each is `int cmd_NAME(int argc, char **argv)`, argv[0] being the verb.
 * Exit codes: 0 success (flow: allowed), 1 a negative answer (flow: denied; verify: violations),
 * 2 bad input or usage. */
#ifndef MINET_CLI_VERBS_H
#define MINET_CLI_VERBS_H

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_flow(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_topology(int argc, char **argv);
int cmd_lbd(int argc, char **argv);
int cmd_pki(int argc, char **argv);
int cmd_mgmt(int argc, char **argv);
int cmd_mgmtip(int argc, char **argv);
int cmd_tags(int argc, char **argv);

#endif

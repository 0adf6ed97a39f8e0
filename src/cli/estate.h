/* minet verify --estate: every managed-instance subnet of an Azure Resource Graph export (cli/estate.c). */
#ifndef MINET_CLI_ESTATE_H
#define MINET_CLI_ESTATE_H

#include <stdbool.h>

#include "cli/policy.h"

struct estate_args {
	const char *file;
	const char *contracts; /* documented | provisioned */
	bool strict, json, sarif;
	int threads;           /* 0: every core */
};

/* Run it; the exit status (0 all compliant, 1 some not, 2 bad input). */
int verify_estate(const struct policy_args *pa, const struct estate_args *ea);

/* A file name as a URI reference for SARIF (cli/verify.c). */
char *file_uri(const char *path);

#endif

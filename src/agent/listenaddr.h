/* Listen addresses of the agent: "A.B.C.D:PORT" or "[IPv6]:PORT" (PORT 0 = any free port). Pure parsing, no
 * sockets: library code, fuzzed by fuzz/fuzz_listen.c. */
#ifndef MINET_AGENT_LISTENADDR_H
#define MINET_AGENT_LISTENADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Parse s into *ss (length in *len). 0, or -1 with the reason in err. */
int listen_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);

/* "A.B.C.D:PORT" / "[v6]:PORT" of a socket address into buf. */
void listen_addr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif

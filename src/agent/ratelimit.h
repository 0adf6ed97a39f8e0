/* Per-source handshake rate limit: a token bucket per source address in a fixed-size table (no allocation after
 * creation, so a flood of sources cannot grow it). IPv4 sources are keyed by address, IPv6 by their /64 (one host
 * owns a whole /64). When the probe window of a new source is full, its least recently seen entry is reused. */
#ifndef MINET_AGENT_RATELIMIT_H
#define MINET_AGENT_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rl_entry {
	uint8_t key[16];
	uint8_t used;
	double tokens, last;
};

struct rl_table {
	struct rl_entry *e;
	size_t cap;            /* a power of two */
	double rate, burst;    /* tokens per second, bucket size */
	uint64_t evictions;
};

/* cap is rounded up to a power of two. rate 0 disables the limit (everything allowed). 0 or -1 (no memory). */
int rl_init(struct rl_table *t, size_t cap, double rate, double burst);
void rl_free(struct rl_table *t);
/* Take one token for the source sa at time now (seconds, monotonic): 1 allowed, 0 over the limit. */
int rl_allow(struct rl_table *t, const struct sockaddr *sa, double now);
/* The same keyed by 16 raw bytes (tests, fuzzing). */
int rl_allow_key(struct rl_table *t, const uint8_t key[16], double now);

#endif

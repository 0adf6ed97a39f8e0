/* Token buckets per source address in a bounded open-addressing table (ratelimit.h). Library code: unit-tested. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "agent/ratelimit.h"

#define RL_PROBE 8

int rl_init(struct rl_table *t, size_t cap, double rate, double burst)
{
	size_t c = RL_PROBE;

	while (c < cap)
		c <<= 1;
	memset(t, 0, sizeof(*t));
	t->cap = c;
	t->rate = rate;
	t->burst = burst < 1 ? 1 : burst;
	t->e = calloc(c, sizeof(*t->e));
	return t->e ? 0 : -1;
}

void rl_free(struct rl_table *t)
{
	free(t->e);
	t->e = NULL;
}

static uint64_t hash16(const uint8_t k[16])
{
	uint64_t a, b;

	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ull;
	a ^= a >> 31;
	a *= 0xbf58476d1ce4e5b9ull;
	a ^= a >> 29;
	return a;
}

int rl_allow_key(struct rl_table *t, const uint8_t key[16], double now)
{
	size_t h, victim = (size_t)-1;
	struct rl_entry *e = NULL;

	if (t->rate <= 0 || !t->e)
		return 1;
	h = (size_t)hash16(key) & (t->cap - 1);
	for (size_t i = 0; i < RL_PROBE; i++) {
		struct rl_entry *x = &t->e[(h + i) & (t->cap - 1)];

		if (x->used && !memcmp(x->key, key, 16)) {
			e = x;
			break;
		}
		if (!x->used) {
			if (victim == (size_t)-1 || t->e[victim].used)
				victim = (h + i) & (t->cap - 1);
		} else if (victim == (size_t)-1 || (t->e[victim].used && x->last < t->e[victim].last)) {
			victim = (h + i) & (t->cap - 1);
		}
	}
	if (!e) {
		e = &t->e[victim];
		if (e->used)
			t->evictions++;
		memcpy(e->key, key, 16);
		e->used = 1;
		e->tokens = t->burst;
		e->last = now;
	}
	if (now > e->last) {
		e->tokens += (now - e->last) * t->rate;
		if (e->tokens > t->burst)
			e->tokens = t->burst;
	}
	e->last = now;
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return 1;
	}
	return 0;
}

int rl_allow(struct rl_table *t, const struct sockaddr *sa, double now)
{
	uint8_t key[16] = { 0 };

	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff; /* v4-mapped */
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		if (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
			memcpy(key, a, 16); /* a mapped IPv4 source: the same key as over IPv4 */
		else
			memcpy(key, a, 8);  /* the /64 */
	} else {
		return 1;
	}
	return rl_allow_key(t, key, now);
}

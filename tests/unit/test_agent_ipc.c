/* minet-agent's parent/worker framing (ipc.c) and per-source handshake rate limiter (ratelimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/ipc.h"
#include "agent/ratelimit.h"

static void test_roundtrip(void **state)
{
	struct ipc_blob in[3] = { { (const uint8_t *)"cert", 4 }, { (const uint8_t *)"", 0 },
				  { (const uint8_t *)"ca-bundle", 9 } }, out[IPC_MAX_BLOBS];
	const uint8_t *payload;
	uint32_t type, len;
	size_t flen, need;
	uint8_t *f = ipc_frame_build(IPC_TLS, in, 3, &flen);

	assert_non_null(f);
	assert_int_equal(flen, IPC_HDR_LEN + 3 * 4 + 4 + 0 + 9);
	/* every prefix is "need more", never a frame or an error */
	for (size_t i = 0; i < flen; i++) {
		assert_int_equal(ipc_frame_parse(f, i, &type, &payload, &len, &need), 0);
		if (i >= IPC_HDR_LEN)
			assert_int_equal(need, flen);
	}
	assert_int_equal(ipc_frame_parse(f, flen, &type, &payload, &len, NULL), (long)flen);
	assert_int_equal(type, IPC_TLS);
	assert_int_equal(ipc_blobs_parse(payload, len, ipc_type_blobs(type), out), 0);
	assert_int_equal(out[0].len, 4);
	assert_memory_equal(out[0].p, "cert", 4);
	assert_int_equal(out[1].len, 0);
	assert_int_equal(out[2].len, 9);
	assert_memory_equal(out[2].p, "ca-bundle", 9);
	/* the wrong number of blobs for the payload is refused */
	assert_int_equal(ipc_blobs_parse(payload, len, 2, out), -1);
	assert_int_equal(ipc_blobs_parse(payload, len, 4, out), -1);
	free(f);
	/* a type must carry its own number of blobs */
	assert_null(ipc_frame_build(IPC_CRL, in, 3, &flen));
	assert_non_null(f = ipc_frame_build(IPC_READY, NULL, 0, &flen));
	assert_int_equal(flen, IPC_HDR_LEN);
	free(f);
}

static void test_bounds(void **state)
{
	uint32_t h[2], type, len;
	const uint8_t *payload;
	uint8_t p[12];
	struct ipc_blob b[2];
	uint32_t big = 0xfffffff0u;

	h[0] = IPC_CRL;
	h[1] = IPC_MAX_PAYLOAD + 1; /* longer than any CRL: an error at once, not an allocation */
	assert_int_equal(ipc_frame_parse(h, sizeof(h), &type, &payload, &len, NULL), -1);
	h[0] = 0;
	h[1] = 0;
	assert_int_equal(ipc_frame_parse(h, sizeof(h), &type, &payload, &len, NULL), -1);
	h[0] = IPC_TYPE_MAX + 1;
	assert_int_equal(ipc_frame_parse(h, sizeof(h), &type, &payload, &len, NULL), -1);
	/* a blob length past the payload (and one that would wrap) */
	memcpy(p, &big, 4);
	assert_int_equal(ipc_blobs_parse(p, sizeof(p), 1, b), -1);
	memset(p, 0, sizeof(p));
	p[0] = 9;
	assert_int_equal(ipc_blobs_parse(p, sizeof(p), 1, b), -1);
	/* trailing bytes after the last blob */
	p[0] = 4;
	assert_int_equal(ipc_blobs_parse(p, sizeof(p), 1, b), -1);
	p[0] = 0;
	p[4] = 4;
	assert_int_equal(ipc_blobs_parse(p, sizeof(p), 2, b), 0);
	assert_int_equal(ipc_blobs_parse(p, 3, 1, b), -1);
}

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static void test_token_bucket(void **state)
{
	struct rl_table t;
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
	int ok = 0;

	assert_int_equal(rl_init(&t, 64, 10, 5), 0);
	for (int i = 0; i < 20; i++)
		ok += rl_allow(&t, (struct sockaddr *)&a, 100.0);
	assert_int_equal(ok, 5); /* the burst, then nothing in the same instant */
	/* another source has its own bucket */
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&b, 100.0), 1);
	/* refill at 10/s: 0.5 s later, 5 more */
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += rl_allow(&t, (struct sockaddr *)&a, 100.5);
	assert_int_equal(ok, 5);
	rl_free(&t);
	/* rate 0: no limit */
	assert_int_equal(rl_init(&t, 64, 0, 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rl_allow(&t, (struct sockaddr *)&a, 1.0), 1);
	rl_free(&t);
}

static void test_ipv6_by_prefix_and_mapped(void **state)
{
	struct rl_table t;
	struct sockaddr_in6 x = { .sin6_family = AF_INET6 }, y = x, m = x;
	struct sockaddr_in a = v4("198.51.100.7");

	assert_int_equal(rl_init(&t, 64, 1, 2), 0);
	inet_pton(AF_INET6, "2001:db8:1:2::1", &x.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &y.sin6_addr); /* same /64 */
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &m.sin6_addr);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&x, 5.0), 1);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&y, 5.0), 1);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&x, 5.0), 0);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&a, 5.0), 1);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&m, 5.0), 1);
	assert_int_equal(rl_allow(&t, (struct sockaddr *)&a, 5.0), 0); /* mapped and plain IPv4 share a bucket */
	rl_free(&t);
}

static void test_table_bounded(void **state)
{
	struct rl_table t;
	uint8_t key[16] = { 0 };
	int ok = 0;

	assert_int_equal(rl_init(&t, 16, 1, 1), 0);
	assert_int_equal(t.cap, 16);
	/* 100,000 distinct sources: the table never grows, old entries are reused */
	for (uint32_t i = 0; i < 100000; i++) {
		memcpy(key, &i, 4);
		assert_int_equal(rl_allow_key(&t, key, 1.0 + i * 1e-6), 1);
	}
	assert_true(t.evictions >= 100000 - 16);
	/* a source seen just now is still limited */
	memset(key, 0, 16);
	key[15] = 1;
	ok += rl_allow_key(&t, key, 2.0);
	ok += rl_allow_key(&t, key, 2.0);
	assert_int_equal(ok, 1);
	rl_free(&t);
}

/* A descriptor crosses a socketpair and works on the other side, close-on-exec; a byte without one, and the end
 * of the stream, are told apart. */
static void test_fd_passing(void **state)
{
	int sv[2], pipefd[2], got;
	char buf[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(ipc_send_fd(sv[0], pipefd[1], 0), 0);
	close(pipefd[1]);
	assert_int_equal(ipc_recv_fd(sv[1], &got), 1);
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "log", 3), 3);
	close(got);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "log", 3);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 0); /* the only write end was the one passed */
	close(pipefd[0]);

	assert_int_equal(write(sv[0], "x", 1), 1);
	assert_int_equal(ipc_recv_fd(sv[1], &got), 1);
	assert_int_equal(got, -1);
	close(sv[0]);
	assert_int_equal(ipc_recv_fd(sv[1], &got), 0);
	assert_int_equal(got, -1);
	close(sv[1]);
	assert_int_equal(ipc_send_fd(sv[1], 0, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_ipv6_by_prefix_and_mapped),
		cmocka_unit_test(test_table_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* imsg-like framing between the agent's parent and workers (ipc.h). The framing is library code, fuzzed by
 * fuzz/fuzz_ipc.c; the descriptor passing is tested over a socketpair (tests/unit/test_agent_ipc.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/ipc.h"

static const unsigned type_blobs[IPC_TYPE_MAX + 1] = { [IPC_TLS] = 3, [IPC_CRL] = 2, [IPC_READY] = 0, [IPC_TLS_OK] = 0 };

unsigned ipc_type_blobs(uint32_t type)
{
	return type >= 1 && type <= IPC_TYPE_MAX ? type_blobs[type] : 0;
}

long ipc_frame_parse(const void *buf, size_t avail, uint32_t *type, const uint8_t **payload, uint32_t *len,
		     size_t *need)
{
	uint32_t h[2];

	if (need)
		*need = IPC_HDR_LEN;
	if (avail < IPC_HDR_LEN)
		return 0;
	memcpy(h, buf, sizeof(h));
	if (h[0] < 1 || h[0] > IPC_TYPE_MAX || h[1] > IPC_MAX_PAYLOAD)
		return -1;
	if (need)
		*need = IPC_HDR_LEN + (size_t)h[1];
	if (avail - IPC_HDR_LEN < h[1])
		return 0;
	*type = h[0];
	*len = h[1];
	*payload = (const uint8_t *)buf + IPC_HDR_LEN;
	return (long)(IPC_HDR_LEN + h[1]);
}

int ipc_blobs_parse(const uint8_t *payload, uint32_t len, unsigned n, struct ipc_blob *out)
{
	size_t off = 0;

	if (n > IPC_MAX_BLOBS)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t bl;

		if (len - off < 4)
			return -1;
		memcpy(&bl, payload + off, 4);
		off += 4;
		if (len - off < bl)
			return -1;
		out[i].p = payload + off;
		out[i].len = bl;
		off += bl;
	}
	return off == len ? 0 : -1;
}

uint8_t *ipc_frame_build(uint32_t type, const struct ipc_blob *blobs, unsigned n, size_t *outlen)
{
	size_t total = 0, off = IPC_HDR_LEN;
	uint32_t h[2];
	uint8_t *out;

	if (type < 1 || type > IPC_TYPE_MAX || n != type_blobs[type])
		return NULL;
	for (unsigned i = 0; i < n; i++)
		total += 4 + (size_t)blobs[i].len;
	if (total > IPC_MAX_PAYLOAD || !(out = malloc(IPC_HDR_LEN + total + 1)))
		return NULL;
	h[0] = type;
	h[1] = (uint32_t)total;
	memcpy(out, h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		memcpy(out + off, &blobs[i].len, 4);
		off += 4;
		if (blobs[i].len)
			memcpy(out + off, blobs[i].p, blobs[i].len);
		off += blobs[i].len;
	}
	*outlen = off;
	return out;
}

/* ---- descriptors ---- */

union one_fd {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static void fd_msg(struct msghdr *msg, struct iovec *iov, char *byte, union one_fd *u)
{
	*iov = (struct iovec){ byte, 1 };
	memset(u, 0, sizeof(*u));
	*msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1, .msg_control = u->buf, .msg_controllen = sizeof(u->buf) };
}

int ipc_send_fd(int sock, int fd, int flags)
{
	char byte = 'L';
	union one_fd u;
	struct iovec iov;
	struct msghdr msg;

	fd_msg(&msg, &iov, &byte, &u);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, flags | MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int ipc_recv_fd(int sock, int *fd)
{
	char byte;
	union one_fd u;
	struct iovec iov;
	struct msghdr msg;

	*fd = -1;
	fd_msg(&msg, &iov, &byte, &u);
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); /* room for one: the kernel closes any more */
	if (n <= 0)
		return (int)n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 1;
}

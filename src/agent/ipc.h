/* The framing between minet-agent's privileged parent and its workers (imsg-like): each message is a header
 * (type, payload length; native byte order, both ends are the same binary on the same host) and the payload.
 * A payload is a fixed number of blobs, each a 32-bit length and that many bytes. Everything is bounded: a frame
 * longer than IPC_MAX_PAYLOAD or of an unknown type is an error, never an allocation. */
#ifndef MINET_AGENT_IPC_H
#define MINET_AGENT_IPC_H

#include <stddef.h>
#include <stdint.h>

enum ipc_type {
	IPC_TLS = 1,    /* 3 blobs: certificate chain PEM, private key PEM, CA bundle PEM */
	IPC_CRL = 2,    /* 2 blobs: source (text), CRL bytes (PEM or DER) */
	IPC_READY = 3,  /* 0 blobs: the initial material is sent, start accepting */
	IPC_TLS_OK = 4, /* 0 blobs, worker to parent: the last IPC_TLS is in use for new connections */
	IPC_TYPE_MAX = 4
};

#define IPC_HDR_LEN 8u
#define IPC_MAX_PAYLOAD ((64u << 20) + (1u << 20)) /* the largest CRL (64 MiB) and its source */
#define IPC_MAX_BLOBS 4

struct ipc_blob {
	const uint8_t *p;
	uint32_t len;
};

/* Look at the start of a byte stream. Returns 0 when the header is incomplete or the frame not all there yet
 * (*need, when not NULL, says how many bytes the whole frame takes once the header is in), the frame length
 * (header + payload) when a whole frame is there, -1 when the header is invalid (unknown type, too long). */
long ipc_frame_parse(const void *buf, size_t avail, uint32_t *type, const uint8_t **payload, uint32_t *len,
		     size_t *need);

/* Split a payload into exactly n blobs (n <= IPC_MAX_BLOBS). 0, or -1 when it is not exactly n blobs. */
int ipc_blobs_parse(const uint8_t *payload, uint32_t len, unsigned n, struct ipc_blob *out);

/* The number of blobs a message type carries. */
unsigned ipc_type_blobs(uint32_t type);

/* Encode a frame into out (malloc'ed, *outlen bytes): type and n blobs. NULL when too large or out of memory. */
uint8_t *ipc_frame_build(uint32_t type, const struct ipc_blob *blobs, unsigned n, size_t *outlen);

/* A descriptor handed over a unix socket of its own (the parent's reopened --log): one byte of data carrying
 * one descriptor (SCM_RIGHTS). Send: 0, or -1 and errno; flags as sendmsg's (MSG_NOSIGNAL is added). */
int ipc_send_fd(int sock, int fd, int flags);
/* Receive one: 1 with *fd (close-on-exec), or -1 in *fd when the byte came without one; 0 at the end of the
 * stream; -1 on error (errno). */
int ipc_recv_fd(int sock, int *fd);

#endif

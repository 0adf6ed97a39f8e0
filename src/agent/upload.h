/* Backups and audit logs: the node uploads a real blob to a storage host (Put Blob, SharedKey auth) and answers
 * with what happened. Everything is set up at start-up (options, the TLS client context sharing the agent's trust
 * store); a request opens no file and never blocks the event loop (evhttp client over bufferevent_openssl).
 *   POST /v1/backup    {"target":"storage-ne","bytes":N[,"container":"backups"]}
 *   POST /v1/auditlog  the same (container "auditlogs" by default)
 * Answer 200 {"status":"uploaded","blob","bytes","seconds","target","httpStatus"} or 502 {"status":"failed",
 * "target","error",["httpStatus"]} naming the TCP/TLS/HTTP error met; 400 for a bad body. */
#ifndef MINET_AGENT_UPLOAD_H
#define MINET_AGENT_UPLOAD_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

/* Start-up options: --storage NAME=IP[:PORT] (repeatable), --storage-account NAME, --storage-key BASE64.
 * 0, or -1 with a message in err. */
int upload_opt(const char *opt, const char *arg, char *err, size_t errlen);

/* After the TLS context exists: a client context that verifies storage hosts against store (shared, not copied).
 * node names the blobs. 0 or -1 with a message. */
int upload_init(struct event_base *base, X509_STORE *store, const char *node, char *err, size_t errlen);
/* A new trust store (the worker's TLS material was reloaded): verify storage hosts against it from now on. */
void upload_trust(X509_STORE *store);
void upload_free(void);

/* Serve POST /v1/backup (kind "backup") or /v1/auditlog (kind "auditlog"). */
void upload_request(struct evhttp_request *req, const char *kind);

/* blob.c: the Shared Key Authorization header of a Blob service request (version 2015-02-21 or later):
 * "SharedKey ACCOUNT:SIGNATURE". resource is the URL path (with the account, path-style), query the
 * canonicalized query lines ("" or "\nrestype:container"), xms the canonicalized x-ms-* headers
 * ("x-ms-blob-type:BlockBlob\nx-ms-date:…\nx-ms-version:…\n"). 0, or -1 (bad key). */
int blob_shared_key(const char *account, const unsigned char *key, size_t keylen, const char *verb,
		    unsigned long long content_length, const char *content_type, const char *xms, const char *resource,
		    const char *query, char *out, size_t outlen);
/* Decode base64 into out (at most outlen bytes). The length, or -1. */
int blob_b64decode(const char *in, unsigned char *out, size_t outlen);

#endif

/* The agent's TLS: server context, client-chain verification with the verify-once CRL store, per-connection
 * state (logging, refusal reasons, handshake timeout) and closing connections whose certificate got revoked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <event2/buffer.h>

#include "agent/agent.h"
#include "model/clock.h"
#include "pki/pkifile.h"

#define LOG_REFUSALS_PER_S 50

static int conn_idx = -1;


static const char *const slugs[REF_COUNT] = {
	[REF_NO_CERT] = "no_client_cert", [REF_SELF_SIGNED] = "self_signed", [REF_UNTRUSTED] = "untrusted_issuer",
	[REF_EXPIRED] = "cert_expired", [REF_NOT_YET_VALID] = "cert_not_yet_valid", [REF_PURPOSE] = "no_client_auth",
	[REF_REVOKED] = "revoked", [REF_CRL_EXPIRED] = "crl_expired", [REF_CRL_NOT_YET_VALID] = "crl_not_yet_valid",
	[REF_CRL_INVALID] = "crl_invalid", [REF_BAD_SERIAL] = "bad_serial", [REF_BAD_SIGNATURE] = "bad_signature",
	[REF_PROTOCOL] = "protocol_version", [REF_TIMEOUT] = "handshake_timeout", [REF_PEER_CLOSED] = "peer_closed",
	[REF_PEER_ALERT] = "peer_alert", [REF_OVERLOAD] = "too_many_connections", [REF_RATE] = "rate_limited",
	[REF_OTHER] = "other",
};

const char *tls_refusal_slug(enum refusal r)
{
	return r < REF_COUNT ? slugs[r] : "other";
}

static void refuse(struct conn *c, enum refusal r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(struct conn *c, enum refusal r, const char *fmt, ...)
{
	va_list ap;

	if (c->reason[0])
		return; /* the first reason is the real one */
	c->ref = r;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

static void cert_ids(X509 *x, char *subject, size_t slen, char *serial, size_t serlen)
{
	const X509_NAME *nm = X509_get_subject_name(x);
	struct crl_serial sn;
	size_t n = 0;

	/* "/O=minet/CN=ops" as X509_NAME_oneline writes it, but from the raw UTF-8 values, each escaped once for
	 * the log (oneline's own \xHH escapes would be escaped again) */
	subject[0] = 0;
	for (int i = 0; i < X509_NAME_entry_count(nm) && n + 1 < slen; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const char *sn_ = nid != NID_undef ? OBJ_nid2sn(nid) : "?";
		unsigned char *u = NULL;
		int ulen = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		char raw[300], esc[600];

		snprintf(raw, sizeof(raw), "%.*s", ulen > 0 ? ulen : 0, ulen > 0 ? (const char *)u : "");
		OPENSSL_free(u);
		agent_log_escape(raw, esc, sizeof(esc));
		n += (size_t)snprintf(subject + n, slen - n, "/%s=%s", sn_, esc);
	}
	if (crl_serial_from_asn1(X509_get0_serialNumber(x), &sn))
		snprintf(serial, serlen, "(longer than 20 octets)");
	else
		crl_serial_hex(&sn, serial, serlen);
}

/* ---- connection lifetime ---- */

static void conn_close_fd(struct conn *c)
{
	int fd = SSL_get_fd(c->ssl);

	/* Not close(): evhttp owns the socket. shutdown() makes it see EOF and free the connection, and the
	 * peer sees the close at once. */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void conn_log_refusal(struct conn *c)
{
	struct agent *ag = c->ag;

	if (!c->reason[0]) {
		if (c->timed_out)
			refuse(c, REF_TIMEOUT, "handshake timeout (%lds)", ag->o.hs_timeout);
		else
			refuse(c, REF_PEER_CLOSED, "peer closed the connection during the handshake");
	}
	ag->st->hs_failed[c->ref]++;
	{
		/* A flood must not become a flood of log lines: at most LOG_REFUSALS_PER_S refusals a second are
		 * written one by one, the rest counted and summed up in the next second's first line. */
		static time_t win;
		static unsigned in_win;
		static uint64_t quiet;
		time_t now = time(NULL);

		if (now != win) {
			if (quiet)
				agent_log("refused: %llu more handshakes refused and not logged one by one (more than %d a "
					  "second; see minet_agent_handshakes_failed_total)", (unsigned long long)quiet,
					  LOG_REFUSALS_PER_S);
			win = now;
			in_win = 0;
			quiet = 0;
		}
		if (++in_win > LOG_REFUSALS_PER_S) {
			quiet++;
			return;
		}
	}
	agent_log("refused peer=%s subject=\"%s\" serial=%s reason=%s: %s", c->peer[0] ? c->peer : "?",
		  c->subject[0] ? c->subject : "-", c->serial[0] ? c->serial : "-", slugs[c->ref], c->reason);
}

/* ex_data free callback: runs inside SSL_free, i.e. when evhttp frees the connection. */
static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	if (!c)
		return;
	if (!c->established)
		conn_log_refusal(c);
	if (c->hs_timer)
		event_free(c->hs_timer);
	if (c->req_timer)
		event_free(c->req_timer);
	if (c->in && c->in_cb)
		evbuffer_remove_cb_entry(c->in, c->in_cb);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->ag->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->ag->nconns--;
	c->ag->st->nconns = c->ag->nconns;
	worker_conns_changed(c->ag);
	free(c);
}

int tls_init_indices(void)
{
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free_cb);
	return conn_idx < 0 ? -1 : 0;
}

static struct conn *conn_of(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, conn_idx);
}

static void hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->timed_out = 1;
	refuse(c, REF_TIMEOUT, "handshake timeout (%lds)", c->ag->o.hs_timeout);
	conn_close_fd(c);
}

static void req_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->ag->st->request_timeouts++;
	agent_log("closed peer=%s subject=\"%s\" serial=%s reason=request_timeout: no whole request within %lds",
		  c->peer, c->subject, c->serial, c->ag->o.request_timeout);
	c->closed_by_us = 1;
	conn_close_fd(c);
}

/* Bytes of a request arrived: the first ones since the last whole request start its deadline (--idle-timeout
 * restarts on every byte; this one does not). */
static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct timeval tv = { c->ag->o.request_timeout, 0 };

	if (info->n_added && c->established && c->req_timer && !evtimer_pending(c->req_timer, NULL))
		evtimer_add(c->req_timer, &tv);
}

void tls_request_done(struct conn *c)
{
	if (c && c->req_timer)
		evtimer_del(c->req_timer);
}

struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
	struct agent *ag = arg;
	SSL *ssl = SSL_new(ag->ctx);
	struct conn *c = calloc(1, sizeof(*c));
	struct timeval tv = { ag->o.hs_timeout, 0 };
	struct bufferevent *bev;

	if (!ssl || !c)
		goto fail;
	c->ag = ag;
	c->ssl = ssl;
	c->since = time(NULL);
	c->hs_timer = evtimer_new(base, hs_timeout_cb, c);
	c->req_timer = evtimer_new(base, req_timeout_cb, c);
	if (!c->hs_timer || !c->req_timer || !SSL_set_ex_data(ssl, conn_idx, c)) {
		if (c->hs_timer)
			event_free(c->hs_timer);
		if (c->req_timer)
			event_free(c->req_timer);
		goto fail;
	}
	/* from here on c is freed with the SSL */
	c->next = ag->conns;
	if (ag->conns)
		ag->conns->prev = c;
	ag->conns = c;
	ag->nconns++;
	ag->st->nconns = ag->nconns;
	evtimer_add(c->hs_timer, &tv);
	if (ag->nconns > ag->max_conns)
		refuse(c, REF_OVERLOAD, "more than %ld connections in this worker", ag->max_conns);
	worker_conns_changed(ag); /* at the limit: stop accepting before the next one */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	c->in = bufferevent_get_input(bev);
	c->in_cb = evbuffer_add_cb(c->in, input_cb, c);
	return bev;
fail:
	free(c);
	SSL_free(ssl);
	return NULL;
}

/* Map the OpenSSL error behind a fatal alert we send to a refusal. */
static void classify_ssl_error(struct conn *c, int alert)
{
	unsigned long e = ERR_peek_last_error();
	int r = ERR_GET_REASON(e);
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		switch (r) {
		case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
			refuse(c, REF_NO_CERT, "no client certificate");
			return;
		case SSL_R_UNSUPPORTED_PROTOCOL:
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_UNSUPPORTED_SSL_VERSION:
		case SSL_R_VERSION_TOO_LOW:
			refuse(c, REF_PROTOCOL, "client offers only TLS below 1.2 (%s)", s ? s : "unsupported protocol");
			return;
		case SSL_R_BAD_SIGNATURE:
		case SSL_R_BAD_RSA_ENCRYPT:
			refuse(c, REF_BAD_SIGNATURE, "client key does not match its certificate (CertificateVerify: %s)",
			       s ? s : "bad signature");
			return;
		}
	}
	if (alert == SSL_AD_PROTOCOL_VERSION)
		refuse(c, REF_PROTOCOL, "client offers only TLS below 1.2");
	else if (alert == SSL_AD_CERTIFICATE_REQUIRED)
		refuse(c, REF_NO_CERT, "no client certificate");
	else if (alert == SSL_AD_DECRYPT_ERROR)
		refuse(c, REF_BAD_SIGNATURE, "client key does not match its certificate (decrypt error)");
	else
		refuse(c, REF_OTHER, "handshake failed: %s (alert %s)", s ? s : "?", SSL_alert_desc_string_long(alert));
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct conn *c = conn_of(ssl);
	struct agent *ag;

	if (!c)
		return;
	ag = c->ag;
	if (where & SSL_CB_HANDSHAKE_START && !c->peer[0]) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;

		ss.ss_family = 0;
		if (!getpeername(SSL_get_fd(ssl), (struct sockaddr *)&ss, &len)) {
			if (ss.ss_family == AF_INET6) {
				const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

				inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
				port = ntohs(s6->sin6_port);
			} else if (ss.ss_family == AF_INET) {
				const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

				inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
				port = ntohs(s4->sin_port);
			}
		}
		snprintf(c->peer, sizeof(c->peer), ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
		/* responses go out as several TLS records: without this, Nagle + delayed ACK stall keep-alive replies */
		setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		if (c->ref == REF_OVERLOAD && c->reason[0])
			conn_close_fd(c);
		else if (ss.ss_family && !rl_allow(&ag->rl, (struct sockaddr *)&ss, monotonic_seconds())) {
			/* before the ClientHello is read: no key exchange, no signature for a flooding source */
			refuse(c, REF_RATE, "more than %g handshakes/s from this source", ag->o.hs_rate);
			conn_close_fd(c);
		}
	}
	if (where & SSL_CB_ALERT && (ret >> 8) == SSL3_AL_FATAL) {
		if (where & SSL_CB_WRITE)
			classify_ssl_error(c, ret & 0xff);
		else
			refuse(c, REF_PEER_ALERT, "client aborted the handshake: %s", SSL_alert_desc_string_long(ret));
	}
	if (where & SSL_CB_HANDSHAKE_DONE && !c->established) {
		c->established = 1;
		/* TLS 1.3: the client's last flight needs no answer, so the kernel delays its ACK (40 ms), and a
		 * client with Nagle on holds its request until that ACK comes. Send the ACK now. */
		setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 }, sizeof(int));
		if (c->hs_timer) {
			event_free(c->hs_timer);
			c->hs_timer = NULL;
		}
		ag->st->hs_ok++;
		agent_log("accepted peer=%s subject=\"%s\" serial=%s %s %s", c->peer, c->subject, c->serial,
			  SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	}
}

static enum refusal x509_refusal(int err)
{
	switch (err) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return REF_SELF_SIGNED;
	case X509_V_ERR_CERT_HAS_EXPIRED: return REF_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID: return REF_NOT_YET_VALID;
	case X509_V_ERR_INVALID_PURPOSE: return REF_PURPOSE;
	case X509_V_ERR_CERT_REVOKED: return REF_REVOKED;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return REF_UNTRUSTED;
	default: return REF_OTHER;
	}
}

/* Replaces X509_verify_cert for client chains: OpenSSL's chain and time checks (no CRL flags: OpenSSL would
 * re-verify the CRL signature each time), then clientAuth and revocation against the verify-once store. */
static int verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? conn_of(ssl) : NULL;
	struct agent *ag = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	STACK_OF(X509) *chain;
	enum crl_status st;
	int depth, e;
	char why[640];

	if (!c)
		return 0;
	if (leaf)
		cert_ids(leaf, c->subject, sizeof(c->subject), c->serial, sizeof(c->serial));
	if (X509_verify_cert(xs) <= 0) {
		e = X509_STORE_CTX_get_error(xs);
		refuse(c, x509_refusal(e), "%s (depth %d)", X509_verify_cert_error_string(e),
		       X509_STORE_CTX_get_error_depth(xs));
		return 0;
	}
	/* purpose sslclient already rejects a present EKU without clientAuth; also require the EKU to be there */
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_INVALID_PURPOSE);
		refuse(c, REF_PURPOSE, "certificate lacks the clientAuth extended key usage");
		return 0;
	}
	chain = X509_STORE_CTX_get0_chain(xs);
	st = crl_store_check_chain(ag->crl, chain, time(NULL), ag->o.grace, &depth);
	switch (st) {
	case CRL_OK:
		return 1;
	case CRL_OK_GRACE:
		agent_log("warning: accepting peer=%s serial=%s with a CRL past its nextUpdate (--grace %ld)",
			  c->peer, c->serial, ag->o.grace);
		return 1;
	case CRL_REVOKED:
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REVOKED);
		refuse(c, REF_REVOKED, "certificate revoked (depth %d)", depth);
		return 0;
	case CRL_EXPIRED:
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CRL_HAS_EXPIRED);
		refuse(c, REF_CRL_EXPIRED, "CRL expired (past its nextUpdate; depth %d)", depth);
		return 0;
	case CRL_NOT_YET_VALID:
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CRL_NOT_YET_VALID);
		refuse(c, REF_CRL_NOT_YET_VALID, "CRL not yet valid (depth %d)", depth);
		return 0;
	case CRL_SERIAL_TOO_LONG:
		X509_STORE_CTX_set_error(xs, X509_V_ERR_INVALID_EXTENSION);
		refuse(c, REF_BAD_SERIAL, "certificate serial longer than 20 octets");
		return 0;
	case CRL_NO_CRL:
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNABLE_TO_GET_CRL);
		if (!ag->crl && worker_crl_err(ag, why, sizeof(why))[0])
			refuse(c, REF_CRL_INVALID, "no valid CRL (%s)", why);
		else
			refuse(c, REF_CRL_INVALID, "no valid CRL for the issuer at depth %d", depth);
		return 0;
	}
	return 0;
}

/* ---- context ---- */

/* Read the private key file, refusing one that group or others may read. */
static char *read_key_file(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat sb;

	if (stat(path, &sb)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: key file is accessible by group or others (mode %04o); chmod 600 it", path,
			 (unsigned)(sb.st_mode & 07777));
		return NULL;
	}
	return pki_read_file(path, 1 << 20, len, err, errlen);
}

int tls_material_read(const struct agent_opts *o, struct tls_material *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (!(m->cert = pki_read_file(o->cert, 1 << 20, &m->cert_len, err, errlen)) ||
	    !(m->key = read_key_file(o->key, &m->key_len, err, errlen)) ||
	    !(m->ca = pki_read_file(o->ca, 16 << 20, &m->ca_len, err, errlen))) {
		tls_material_free(m);
		return -1;
	}
	return 0;
}

void tls_material_free(struct tls_material *m)
{
	if (m->key)
		OPENSSL_cleanse(m->key, m->key_len);
	free(m->cert);
	free(m->key);
	free(m->ca);
	memset(m, 0, sizeof(*m));
}

static STACK_OF(X509) *pem_certs(const char *buf, size_t len)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	X509 *x;

	if (!sk || !b)
		goto fail;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	ERR_clear_error();
	BIO_free(b);
	return sk;
fail:
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

SSL_CTX *tls_ctx_from_material(struct agent *ag, const struct tls_material *m, STACK_OF(X509) **cas_out,
			       char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509) *cas = NULL, *chain = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	X509_STORE *store;
	EVP_PKEY *key = NULL;
	BIO *b;

	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	/* no resumption: a resumed session would skip the revocation check */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
				     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
				     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) {
		snprintf(err, errlen, "cannot set the cipher list");
		goto fail;
	}
	chain = pem_certs(m->cert, m->cert_len);
	if (!chain || !sk_X509_num(chain) || SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0)) != 1) {
		snprintf(err, errlen, "%s: cannot use as certificate chain (%s)", ag->o.cert,
			 chain && sk_X509_num(chain) ? ERR_reason_error_string(ERR_peek_last_error()) : "no PEM certificate");
		goto fail;
	}
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1) {
			snprintf(err, errlen, "%s: cannot use as certificate chain", ag->o.cert);
			goto fail;
		}
	b = BIO_new_mem_buf(m->key, (int)m->key_len);
	if (b)
		key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!key) {
		snprintf(err, errlen, "%s: not a PEM private key", ag->o.key);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s: key does not match certificate %s", ag->o.key, ag->o.cert);
		goto fail;
	}
	cas = pem_certs(m->ca, m->ca_len);
	if (!cas || !sk_X509_num(cas)) {
		snprintf(err, errlen, "%s: no PEM certificate", ag->o.ca);
		goto fail;
	}
	store = SSL_CTX_get_cert_store(ctx);
	names = sk_X509_NAME_new_null();
	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *x = sk_X509_value(cas, i);
		X509_NAME *n;

		X509_STORE_add_cert(store, x);
		if (names && (n = X509_NAME_dup(X509_get_subject_name(x))) && !sk_X509_NAME_push(names, n))
			X509_NAME_free(n);
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	/* Our certificate chain, built once here: without it OpenSSL rebuilds it on every handshake (an
	 * X509_verify_cert and a signature check, ~1M instructions, 15% of a handshake) and sends the root too.
	 * Intermediates from --cert or the --ca bundle are sent, the root not (the peer has it or fails anyway);
	 * an incomplete chain is sent as it is, as before. nginx does the same (SSL_MODE_NO_AUTO_CHAIN). */
	if (sk_X509_num(chain) == 1)
		SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	ERR_clear_error();
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, ag);
	SSL_CTX_set_info_callback(ctx, info_cb);
	EVP_PKEY_free(key); /* the context keeps its reference; freeing the context wipes it */
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	*cas_out = cas;
	return ctx;
fail:
	ERR_clear_error();
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(cas, X509_free);
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_sweep_revoked(struct agent *ag)
{
	for (struct conn *c = ag->conns; c; c = c->next) {
		if (!c->established || c->closed_by_us)
			continue;
		if (!crl_store_chain_revoked(ag->crl, SSL_get0_verified_chain(c->ssl)))
			continue;
		c->closed_by_us = 1;
		ag->st->revocation_closes++;
		agent_log("closed peer=%s subject=\"%s\" serial=%s reason=revoked: certificate revoked by the new CRL",
			  c->peer, c->subject, c->serial);
		conn_close_fd(c);
	}
}

struct conn *tls_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? conn_of(ssl) : NULL;
}

/* Small file helpers shared by the CA and the agent: bounded reads, atomic replacement, directory locks. */
#ifndef MINET_PKI_PKIFILE_H
#define MINET_PKI_PKIFILE_H

#include <stddef.h>

/* Read at most max bytes of path into a new NUL-terminated buffer (length in *len). NULL with the reason in err
 * (also when the file is larger than max, or not a regular file: a FIFO is refused, never waited on).
 * The caller frees; for key files it wipes first. */
char *pki_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Replace DIR/NAME with data: write DIR/.NAME.tmp.PID with mode, fsync, rename, fsync DIR. 0 or -1 + err. */
int pki_write_atomic(const char *dir, const char *name, const void *data, size_t len, int mode, char *err,
		     size_t errlen);

/* The two halves of pki_write_atomic, for replacing several files only once all of them are written:
 * pki_stage writes and fsyncs DIR/.NAME.tmp.PID (its path in tmp), removing it again on failure;
 * pki_commit renames it to DIR/NAME and fsyncs DIR. 0 or -1 + err. */
int pki_stage(const char *dir, const char *name, const void *data, size_t len, int mode, char *tmp, size_t tmplen,
	      char *err, size_t errlen);
int pki_commit(const char *dir, const char *tmp, const char *name, char *err, size_t errlen);

/* Check an http:// URL a CRL is fetched from (libevent's strict RFC 3986 parser): scheme http, a host, no
 * userinfo or fragment. 0, or -1 with the reason in err. */
int pki_crl_url_check(const char *url, char *err, size_t errlen);

/* Take an exclusive flock on DIR/.lock (blocking). The fd to pass to pki_unlock, or -1 + err. */
int pki_lock(const char *dir, char *err, size_t errlen);
void pki_unlock(int fd);

static inline int isalnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

#endif

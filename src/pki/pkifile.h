/* Small file helpers shared by the CA and the agent: bounded reads, atomic replacement, directory locks. */
#ifndef MINET_PKI_PKIFILE_H
#define MINET_PKI_PKIFILE_H

#include <stddef.h>

/* Read at most max bytes of path into a new NUL-terminated buffer (length in *len). NULL with the reason in err
 * (also when the file is larger than max). The caller frees; for key files it wipes first. */
char *pki_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Replace DIR/NAME with data: write DIR/.NAME.tmp.PID with mode, fsync, rename, fsync DIR. 0 or -1 + err. */
int pki_write_atomic(const char *dir, const char *name, const void *data, size_t len, int mode, char *err,
		     size_t errlen);

/* Take an exclusive flock on DIR/.lock (blocking). The fd to pass to pki_unlock, or -1 + err. */
int pki_lock(const char *dir, char *err, size_t errlen);
void pki_unlock(int fd);

static inline int isalnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

#endif

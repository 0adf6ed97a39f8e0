/* File helpers: bounded reads, write-temp-then-rename, flock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/http.h>

#include "pki/pkifile.h"

char *pki_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path,
			 S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISDIR(sb.st_mode) ? "a directory" :
			 S_ISCHR(sb.st_mode) ? "a character device" : S_ISSOCK(sb.st_mode) ? "a socket" :
			 S_ISBLK(sb.st_mode) ? "a block device" : "not a file");
		goto fail;
	}
	if (fcntl(fd, F_SETFL, 0)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((size_t)sb.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int pki_stage(const char *dir, const char *name, const void *data, size_t len, int mode, char *tmp, size_t tmplen,
	      char *err, size_t errlen)
{
	const char *p = data;
	int fd;

	snprintf(tmp, tmplen, "%s/.%s.tmp.%d", dir, name, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, (mode_t)mode))
		goto fail;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int pki_commit(const char *dir, const char *tmp, const char *name, char *err, size_t errlen)
{
	char dst[PATH_MAX];
	int dfd;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (rename(tmp, dst)) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int pki_write_atomic(const char *dir, const char *name, const void *data, size_t len, int mode, char *err,
		     size_t errlen)
{
	char tmp[PATH_MAX];

	if (pki_stage(dir, name, data, len, mode, tmp, sizeof(tmp), err, errlen))
		return -1;
	return pki_commit(dir, tmp, name, err, errlen);
}

int pki_lock(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", errno == ENOENT ? dir : path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX))
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: flock: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	return fd;
}

void pki_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int pki_crl_url_check(const char *url, char *err, size_t errlen)
{
	/* flags 0: strict RFC 3986 (no spaces, no unbalanced brackets, numeric port) */
	struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
	const char *scheme, *host;
	int rc = -1;

	if (!u) {
		snprintf(err, errlen, "'%s': not a valid URL (RFC 3986)", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (!scheme || strcasecmp(scheme, "http"))
		snprintf(err, errlen, "'%s': must be an http:// URL (a CRL is signed; no TLS needed)", url);
	else if (!host || !*host || !strcmp(host, "[]"))
		snprintf(err, errlen, "'%s': no host", url);
	else if (evhttp_uri_get_userinfo(u))
		snprintf(err, errlen, "'%s': user information is not allowed", url);
	else if (evhttp_uri_get_fragment(u))
		snprintf(err, errlen, "'%s': a fragment (#...) is not allowed", url);
	else if (evhttp_uri_get_port(u) == 0)
		snprintf(err, errlen, "'%s': port 0", url);
	else if (strlen(url) > 1000)
		snprintf(err, errlen, "'%s...': longer than 1000 characters", url);
	else
		rc = 0;
	evhttp_uri_free(u);
	return rc;
}

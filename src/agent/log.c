/* The agent's log: one line per event, UTC timestamp first, to --log or stderr. Only the parent opens --log
 * (at startup and again on SIGHUP, for logrotate); workers inherit the descriptor and get the reopened one over
 * IPC, swapped in place with dup2 so no line is lost. Lines are written with one write() (O_APPEND) so the
 * processes never interleave them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"

static int log_fd = 2;

int agent_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

int agent_log_reopen(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	agent_log_adopt(fd);
	return 0;
}

void agent_log_adopt(int fd)
{
	if (log_fd == 2) {
		log_fd = fd;
		return;
	}
	if (fd != log_fd) {
		dup3(fd, log_fd, O_CLOEXEC);
		close(fd);
	}
}

int agent_log_fd(void)
{
	return log_fd;
}

void agent_log_escape(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (!outlen)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char tmp[5];
		size_t k;

		if (*p == '"' || *p == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)*p;
			k = 2;
		} else if (*p < 0x20 || *p >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			k = 4;
		} else {
			tmp[0] = (char)*p;
			k = 1;
		}
		if (n + k >= outlen)
			break;
		memcpy(out + n, tmp, k);
		n += k;
	}
	out[n] = 0;
}

void agent_log(const char *fmt, ...)
{
	char line[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;
	int m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03dZ minet-agent[%d]: ", (int)(tv.tv_usec / 1000),
			      (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n = n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2;
	line[n++] = '\n';
	while (write(log_fd, line, n) < 0 && errno == EINTR)
		;
}

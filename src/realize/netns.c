/* Namespaces: unshare in this process, bind-mount the new namespace to a file, go back. */
#include "realize/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_of(const char *name, char *buf, size_t n)
{
	if (!*name || strchr(name, '/') || (size_t)snprintf(buf, n, NETNS_DIR "/%s", name) >= n)
		return -EINVAL;
	return 0;
}

/* /run/netns must be a shared mount point so that later mounts propagate, as iproute2 makes it. */
static int prepare_dir(void)
{
	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Not a mount point yet: bind it onto itself, then make it shared. */
	if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
	    mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

int netns_add(const char *name)
{
	char path[256];
	int rc, fd, self;
	if ((rc = path_of(name, path, sizeof(path))) < 0 || (rc = prepare_dir()) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		rc = -errno;
		close(self);
		goto fail;
	}
	rc = mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0 ? -errno : 0;
	if (setns(self, CLONE_NEWNET) < 0 && !rc)
		rc = -errno;
	close(self);
	if (!rc)
		return 0;
fail:
	umount2(path, MNT_DETACH);
	unlink(path);
	return rc;
}

int netns_open(const char *name)
{
	char path[256];
	int rc = path_of(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_del(const char *name)
{
	char path[256];
	int rc = path_of(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	umount2(path, MNT_DETACH);
	return unlink(path) < 0 ? -errno : 0;
}

int netns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

char **netns_list(const char *prefix)
{
	DIR *d = opendir(NETNS_DIR);
	size_t n = 0, len = strlen(prefix);
	char **v = calloc(1, sizeof(*v));
	struct dirent *e;
	if (!v || !d) {
		if (d)
			closedir(d);
		return v;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, len))
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(e->d_name))) {
			v = nv ? nv : v;
			break;
		}
		v = nv;
		v[++n] = NULL;
	}
	closedir(d);
	return v;
}

void netns_list_free(char **names)
{
	for (char **p = names; p && *p; p++)
		free(*p);
	free(names);
}

int netns_kill_all(const char *name, int sig)
{
	char path[256];
	struct stat want, st;
	int n = 0;
	if (path_of(name, path, sizeof(path)) < 0 || stat(path, &want) < 0)
		return 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[64];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%d/ns/net", pid);
		if (stat(p, &st) == 0 && st.st_ino == want.st_ino && st.st_dev == want.st_dev && kill(pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

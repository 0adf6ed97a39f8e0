/* Named network namespaces, kept as iproute2 keeps them (a bind mount at /run/netns/NAME), so that
 * `ip netns exec` and friends see ours. Functions return 0 or -errno. */
#ifndef MINET_NETNS_H
#define MINET_NETNS_H

#include <stddef.h>
#include <sys/types.h>

#define NETNS_DIR "/run/netns"

/* Create namespace NAME (it must not exist) without leaving the caller's namespace. */
int netns_add(const char *name);
/* Open NAME's namespace; returns an fd (O_CLOEXEC) or -errno. */
int netns_open(const char *name);
/* Unmount and remove NAME. Processes still inside keep it alive until they exit. */
int netns_del(const char *name);
/* Enter the namespace behind fd (the calling thread). */
int netns_enter(int fd);

/* Names of the namespaces beginning with prefix; a NULL-terminated array the caller frees with
 * netns_list_free. NULL when out of memory. */
char **netns_list(const char *prefix);
void netns_list_free(char **names);

/* Send sig to every process whose network namespace is NAME's. Returns how many were signalled. */
int netns_kill_all(const char *name, int sig);

#endif

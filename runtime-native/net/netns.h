/* Network namespaces kept alive by a bind mount on a file (as `ip netns` does under /run/netns,
 * but in the engine's own run directory), so a container created later joins it by path. */
#ifndef TN_NET_NETNS_H
#define TN_NET_NETNS_H

#include "nl.h"

/* Creates a new network namespace bound at `path` (which must not exist), with loopback up. The
 * caller stays in its own namespace. On failure nothing is left at `path`. */
int tn_netns_create (const char *path, struct tn_error **err);
/* Unmounts and removes `path`; a path that is not there or not mounted is fine. */
int tn_netns_delete (const char *path, struct tn_error **err);
/* Opens `path` (O_RDONLY) as a namespace file descriptor. */
int tn_netns_open (const char *path, int *fd, struct tn_error **err);
/* Opens a netlink socket inside namespace `nsfd`, returning to the current namespace after. */
int tn_netns_socket (int nsfd, struct tn_nl *nl, struct tn_error **err);
/* Turns IPv6 off on interface `name` of namespace `nsfd` (its disable_ipv6 knob), returning to the
 * current namespace after; a kernel without IPv6 has nothing to turn off. */
int tn_netns_disable_ipv6 (int nsfd, const char *name, struct tn_error **err);

#endif

#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "link.h"

#define SELF_NETNS "/proc/thread-self/ns/net"

int
tn_netns_open (const char *path, int *fd, struct tn_error **err)
{
  *fd = open (path, O_RDONLY | O_CLOEXEC);
  if (*fd < 0)
    return tn_error_sys (err, errno, "open network namespace `%s`", path);
  return 0;
}

/* Runs with the thread moved into `nsfd`, then moves it back to `home`. */
int
tn_netns_socket (int nsfd, struct tn_nl *nl, struct tn_error **err)
{
  cleanup_close int home = open (SELF_NETNS, O_RDONLY | O_CLOEXEC);
  if (home < 0)
    return tn_error_sys (err, errno, "open the current network namespace");
  if (setns (nsfd, CLONE_NEWNET) < 0)
    return tn_error_sys (err, errno, "enter the network namespace");
  int rc = tn_nl_open (nl, err);
  if (setns (home, CLONE_NEWNET) < 0)
    {
      tn_nl_close (nl);
      return tn_error_sys (err, errno, "return to the host network namespace");
    }
  return rc;
}

int
tn_netns_disable_ipv6 (int nsfd, const char *name, struct tn_error **err)
{
  char knob[128];
  snprintf (knob, sizeof knob, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
  cleanup_close int home = open (SELF_NETNS, O_RDONLY | O_CLOEXEC);
  if (home < 0)
    return tn_error_sys (err, errno, "open the current network namespace");
  if (setns (nsfd, CLONE_NEWNET) < 0)
    return tn_error_sys (err, errno, "enter the network namespace");
  /* /proc/sys/net is the namespace of whoever opens it: open it inside. */
  int fd = open (knob, O_WRONLY | O_CLOEXEC);
  int rc = 0;
  if (fd < 0 && errno != ENOENT)
    rc = tn_error_sys (err, errno, "open `%s`", knob);
  else if (fd >= 0 && write (fd, "1", 1) != 1)
    rc = tn_error_sys (err, errno, "write `%s`", knob);
  if (fd >= 0)
    close (fd);
  if (setns (home, CLONE_NEWNET) < 0)
    return tn_error_sys (err, errno, "return to the host network namespace");
  return rc;
}

int
tn_netns_create (const char *path, struct tn_error **err)
{
  cleanup_close int home = open (SELF_NETNS, O_RDONLY | O_CLOEXEC);
  if (home < 0)
    return tn_error_sys (err, errno, "open the current network namespace");
  int fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return tn_error_sys (err, errno, "create `%s`", path);
  close (fd);
  if (unshare (CLONE_NEWNET) < 0)
    {
      int e = errno;
      unlink (path);
      return tn_error_sys (err, e, "unshare the network namespace");
    }
  int rc = 0;
  if (mount (SELF_NETNS, path, "none", MS_BIND, NULL) < 0)
    rc = tn_error_sys (err, errno, "bind the network namespace to `%s`", path);
  struct tn_nl nl = { .fd = -1 };
  if (rc == 0 && tn_nl_open (&nl, err) == 0)
    {
      /* Loopback is index 1 in a new namespace. */
      rc = tn_link_up (&nl, 1, err);
      tn_nl_close (&nl);
    }
  else if (rc == 0)
    rc = -1;
  if (setns (home, CLONE_NEWNET) < 0 && rc == 0)
    rc = tn_error_sys (err, errno, "return to the host network namespace");
  if (rc < 0)
    {
      umount2 (path, MNT_DETACH);
      unlink (path);
      return tn_error_wrap (err, "create network namespace `%s`", path);
    }
  return 0;
}

int
tn_netns_delete (const char *path, struct tn_error **err)
{
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return tn_error_sys (err, errno, "unmount network namespace `%s`", path);
  if (unlink (path) < 0 && errno != ENOENT)
    return tn_error_sys (err, errno, "remove `%s`", path);
  return 0;
}

#include "root.h"
#include "cleanup.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "openat2.h"

/* SRC:DST[:ro] — SRC is a host path the daemon chose (a bind or a volume's directory). */
static int
bind_one (int rootfd, const char *spec, struct tn_error **err)
{
  cleanup_free char *copy = strdup (spec);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "bind `%s`", spec);
  int ro = 0;
  size_t len = strlen (copy);
  if (len > 3 && strcmp (copy + len - 3, ":ro") == 0)
    {
      ro = 1;
      copy[len - 3] = '\0';
    }
  else if (len > 3 && strcmp (copy + len - 3, ":rw") == 0)
    copy[len - 3] = '\0';
  char *colon = strrchr (copy, ':');
  if (colon == NULL)
    return tn_error_new (err, "bind `%s`: expected SRC:DST[:ro]", spec);
  *colon = '\0';
  const char *src = copy, *dst = colon + 1;
  /* The mount point inside the root, resolved in it; one the runtime has not made yet (never
   * started) stays unmounted, as nothing of the container's could be under it. */
  cleanup_close int target = tn_open_beneath_root (rootfd, dst, O_PATH);
  if (target < 0)
    return errno == ENOENT || errno == ENOTDIR ? 0 : tn_error_sys (err, errno, "mount point `%s`", dst);
  struct stat st;
  if (stat (src, &st) < 0)
    return errno == ENOENT ? 0 : tn_error_sys (err, errno, "bind source `%s`", src);
  char where[64];
  snprintf (where, sizeof where, "/proc/self/fd/%d", target);
  if (mount (src, where, NULL, MS_BIND | MS_REC, NULL) < 0)
    {
      /* A file on a directory or the other way round: the runtime would refuse it too. */
      if (errno == ENOTDIR || errno == EISDIR)
        return 0;
      return tn_error_sys (err, errno, "bind `%s` on `%s`", src, dst);
    }
  if (ro)
    {
      cleanup_close int top = tn_open_beneath_root (rootfd, dst, O_PATH);
      if (top < 0)
        return tn_error_sys (err, errno, "mount point `%s`", dst);
      snprintf (where, sizeof where, "/proc/self/fd/%d", top);
      if (mount (NULL, where, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return tn_error_sys (err, errno, "make `%s` read-only", dst);
    }
  return 0;
}

int
root_open (const struct root_opts *o, int *rootfd, int *gone, struct tn_error **err)
{
  *gone = 0;
  if (o->overlay)
    {
      if (o->mountpoint == NULL)
        return tn_error_new (err, "--overlay needs --mountpoint");
      if (unshare (CLONE_NEWNS) < 0)
        return tn_error_sys (err, errno, "unshare the mount namespace");
      if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return tn_error_sys (err, errno, "make the mount namespace private");
      if (mount ("overlay", o->mountpoint, "overlay", 0, o->overlay) < 0)
        return tn_error_sys (err, errno, "mount the container's rootfs on `%s`", o->mountpoint);
      int fd = open (o->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return tn_error_sys (err, errno, "open `%s`", o->mountpoint);
      for (int i = 0; i < o->nbinds; i++)
        if (bind_one (fd, o->binds[i], err) < 0)
          {
            close (fd);
            return -1;
          }
      *rootfd = fd;
      return 0;
    }
  if (o->root == NULL)
    return tn_error_new (err, "no root: --root or --overlay");
  int fd = open (o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (o->expect_root && (errno == ENOENT || errno == ESRCH || errno == EACCES))
        *gone = 1;
      return tn_error_sys (err, errno, "open `%s`", o->root);
    }
  if (o->expect_root)
    {
      struct stat a, b;
      if (fstat (fd, &a) < 0 || stat (o->expect_root, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        {
          close (fd);
          *gone = 1;
          return tn_error_new (err, "`%s` is not the container's root any more", o->root);
        }
    }
  *rootfd = fd;
  return 0;
}

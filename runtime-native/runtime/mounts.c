#include "mounts.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "openat2.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct tn_mount_attr
{
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static const char *
fd_path (int fd, char *buf, size_t size)
{
  snprintf (buf, size, "/proc/self/fd/%d", fd);
  return buf;
}

int
tn_open_in_root (int rootfd, const char *path, bool create, bool last_is_dir, int *out, struct tn_error **err)
{
  int fd = tn_open_beneath_root (rootfd, path, O_PATH);
  if (fd >= 0)
    {
      *out = fd;
      return 0;
    }
  if (errno != ENOENT || !create)
    return tn_error_sys (err, errno, "open `%s` in the container", path);

  /* walk the components, creating what is missing; a dangling symlink restarts the walk at its
   * target (still resolved inside the root) */
  cleanup_free char *want = strdup (path);
  if (want == NULL)
    return tn_error_sys (err, ENOMEM, "%s", path);
  for (int restarts = 0; restarts < 40; restarts++)
    {
      cleanup_free char *prefix = calloc (1, strlen (want) + 2);
      if (prefix == NULL)
        return tn_error_sys (err, ENOMEM, "%s", path);
      cleanup_close int cur = tn_open_beneath_root (rootfd, "/", O_PATH);
      if (cur < 0)
        return tn_error_sys (err, errno, "open the container root");
      const char *p = want;
      bool restarted = false;
      while (*p)
        {
          while (*p == '/')
            p++;
          if (*p == '\0')
            break;
          size_t n = strcspn (p, "/");
          char comp[256];
          if (n >= sizeof comp)
            return tn_error_sys (err, ENAMETOOLONG, "%s", path);
          memcpy (comp, p, n);
          comp[n] = '\0';
          p += n;
          while (*p == '/')
            p++;
          bool last = *p == '\0';
          size_t plen = strlen (prefix);
          prefix[plen] = '/';
          memcpy (prefix + plen + 1, comp, n + 1);
          int next = tn_open_beneath_root (rootfd, prefix, O_PATH);
          if (next >= 0)
            {
              close (cur);
              cur = next;
              continue;
            }
          if (errno != ENOENT)
            return tn_error_sys (err, errno, "open `%s` in the container", prefix);
          int r;
          if (!last || last_is_dir)
            r = mkdirat (cur, comp, 0755);
          else
            {
              r = openat (cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
              if (r >= 0)
                {
                  close (r);
                  r = 0;
                }
            }
          if (r < 0 && errno == EEXIST)
            {
              /* something is there but does not resolve: a dangling symlink */
              char target[4096];
              ssize_t tl = readlinkat (cur, comp, target, sizeof target - 1);
              if (tl < 0)
                return tn_error_sys (err, EEXIST, "create `%s` in the container", prefix);
              target[tl] = '\0';
              cleanup_free char *rest = strdup (p);
              cleanup_free char *base = strdup (prefix);
              if (rest == NULL || base == NULL)
                return tn_error_sys (err, ENOMEM, "%s", path);
              char *slash = strrchr (base, '/');
              *slash = '\0';
              char *np = NULL;
              if (asprintf (&np, "%s/%s/%s", target[0] == '/' ? "" : base, target, rest) < 0)
                return tn_error_sys (err, ENOMEM, "%s", path);
              free (want);
              want = np;
              restarted = true;
              break;
            }
          if (r < 0)
            return tn_error_sys (err, errno, "create `%s` in the container", prefix);
          next = tn_open_beneath_root (rootfd, prefix, O_PATH);
          if (next < 0)
            return tn_error_sys (err, errno, "open `%s` in the container", prefix);
          close (cur);
          cur = next;
        }
      if (!restarted)
        {
          *out = TN_STEAL_FD (cur);
          return 0;
        }
    }
  return tn_error_sys (err, ELOOP, "open `%s` in the container", path);
}

/* Flags of the mount at `path` that a remount must keep (locked in a user namespace). */
static unsigned long
locked_flags (const char *path)
{
  struct statvfs sv;
  if (statvfs (path, &sv) < 0)
    return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME)
    f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    f |= MS_RELATIME;
  return f;
}

/* A bind remount with `flags`; where a user namespace locks flags of the source, retry keeping
 * them. */
static int
remount_bind (const char *path, unsigned long flags, struct tn_error **err)
{
  if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
    return 0;
  if (errno == EPERM)
    {
      unsigned long keep = locked_flags (path) & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
      unsigned long atime = flags & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME) ? 0 : locked_flags (path) & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
      if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | flags | keep | atime, NULL) == 0)
        return 0;
    }
  return tn_error_sys (err, errno, "remount");
}

static int
set_attrs (int fd, const struct tn_mount *m, struct tn_error **err)
{
  if (m->attr_set == 0 && m->attr_clr == 0)
    return 0;
  struct tn_mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return tn_error_sys (err, errno, "mount_setattr");
  return 0;
}


#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#define PER_MOUNT_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

/* MS_* flags as mount_setattr attributes. With `like_remount`, what is not asked for is cleared
 * (a bind remount replaces the flags; only the atime mode is kept when none is given). */
static struct tn_mount_attr
ms_to_attr (unsigned long f, bool like_remount)
{
  struct tn_mount_attr a = { 0 };
  if (f & MS_RDONLY)
    a.attr_set |= MOUNT_ATTR_RDONLY;
  if (f & MS_NOSUID)
    a.attr_set |= MOUNT_ATTR_NOSUID;
  if (f & MS_NODEV)
    a.attr_set |= MOUNT_ATTR_NODEV;
  if (f & MS_NOEXEC)
    a.attr_set |= MOUNT_ATTR_NOEXEC;
  if (f & MS_NODIRATIME)
    a.attr_set |= MOUNT_ATTR_NODIRATIME;
  if (f & MS_NOSYMFOLLOW)
    a.attr_set |= MOUNT_ATTR_NOSYMFOLLOW;
  if (f & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
    {
      a.attr_clr |= MOUNT_ATTR__ATIME;
      a.attr_set |= (f & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (f & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
    }
  if (like_remount)
    a.attr_clr |= PER_MOUNT_ATTRS & ~a.attr_set;
  return a;
}

/* A bind mount made with the new mount API: a clone of `src` (recursive or not) gets its
 * attributes while still detached and is then attached at (to_dfd, to_name) — no path is walked
 * twice and no remount is needed. Returns -1 with errno ENOSYS on kernels without it. */
static int
attach_bind (int src_dfd, const char *src, bool recursive, unsigned long flags, bool like_remount, int to_dfd, const char *to_name)
{
  int tree = (int) syscall (SYS_open_tree, src_dfd, src, OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (src[0] ? 0 : AT_EMPTY_PATH));
  if (tree < 0)
    return -1;
  if (flags)
    {
      struct tn_mount_attr a = ms_to_attr (flags, like_remount);
      if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
        {
          /* a user namespace locks the flags the source had: keep them */
          a.attr_clr &= ~(uint64_t) PER_MOUNT_ATTRS;
          if (errno != EPERM || syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
            {
              int saved = errno;
              close (tree);
              errno = saved == ENOSYS ? EINVAL : saved;
              return -1;
            }
        }
    }
  int r = (int) syscall (SYS_move_mount, tree, "", to_dfd, to_name, MOVE_MOUNT_F_EMPTY_PATH | (to_name[0] ? 0 : MOVE_MOUNT_T_EMPTY_PATH));
  int saved = errno;
  close (tree);
  errno = saved == ENOSYS ? EINVAL : saved;
  return r;
}

static int
copy_tree (int src, int dst, struct tn_error **err)
{
  cleanup_close int dup_src = dup (src);
  if (dup_src < 0)
    return tn_error_sys (err, errno, "dup");
  DIR *d = fdopendir (TN_STEAL_FD (dup_src));
  if (d == NULL)
    return tn_error_sys (err, errno, "opendir");
  int ret = 0;
  struct dirent *e;
  while (ret == 0 && (e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = tn_error_sys (err, errno, "stat `%s`", e->d_name);
          break;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (mkdirat (dst, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
            ret = tn_error_sys (err, errno, "mkdir `%s`", e->d_name);
          cleanup_close int s2 = openat (src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          cleanup_close int d2 = openat (dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (ret == 0 && (s2 < 0 || d2 < 0))
            ret = tn_error_sys (err, errno, "open `%s`", e->d_name);
          if (ret == 0)
            ret = copy_tree (s2, d2, err);
        }
      else if (S_ISLNK (st.st_mode))
        {
          char target[4096];
          ssize_t n = readlinkat (src, e->d_name, target, sizeof target - 1);
          if (n < 0)
            ret = tn_error_sys (err, errno, "readlink `%s`", e->d_name);
          else
            {
              target[n] = '\0';
              if (symlinkat (target, dst, e->d_name) < 0)
                ret = tn_error_sys (err, errno, "symlink `%s`", e->d_name);
            }
        }
      else if (S_ISREG (st.st_mode))
        {
          cleanup_close int in = openat (src, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          cleanup_close int out = openat (dst, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
          if (in < 0 || out < 0)
            ret = tn_error_sys (err, errno, "copy `%s`", e->d_name);
          char buf[65536];
          ssize_t n;
          while (ret == 0 && (n = read (in, buf, sizeof buf)) > 0)
            if (tn_write_all (out, buf, (size_t) n) < 0)
              ret = tn_error_sys (err, errno, "copy `%s`", e->d_name);
        }
      else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode))
        {
          if (mknodat (dst, e->d_name, st.st_mode, st.st_rdev) < 0)
            ret = tn_error_sys (err, errno, "mknod `%s`", e->d_name);
        }
      if (ret == 0)
        {
          fchownat (dst, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
          if (!S_ISLNK (st.st_mode))
            fchmodat (dst, e->d_name, st.st_mode & 07777, 0);
        }
    }
  closedir (d);
  return ret;
}

/* Is `dest` the path "/dev" (allowing redundant slashes)? */
static bool
is_path (const char *dest, const char *want)
{
  while (*dest == '/' && *want == '/')
    {
      while (*dest == '/')
        dest++;
      want++;
      size_t n = strcspn (want, "/");
      if (strncmp (dest, want, n) != 0 || (dest[n] != '/' && dest[n] != '\0'))
        return false;
      dest += n;
      want += n;
    }
  while (*dest == '/')
    dest++;
  return *dest == '\0' && *want == '\0';
}

static int
ensure_ready (struct tn_rootfs *r, struct tn_error **err)
{
  if (r->wait_ready == NULL)
    return 0;
  int (*fn) (void *, struct tn_error **) = r->wait_ready;
  r->wait_ready = NULL;
  return fn (r->wait_ready_arg, err);
}

static int
mount_bind_entry (struct tn_rootfs *r, const struct tn_mount *m, const char *label, struct tn_error **err)
{
  char pb[64];
  struct stat st;
  if (stat (m->source, &st) < 0)
    return tn_error_sys (err, errno, "%s.source: stat `%s`", label, m->source);
  cleanup_close int fd = -1;
  if (tn_open_in_root (r->rootfd, m->destination, true, S_ISDIR (st.st_mode), &fd, err) < 0)
    return tn_error_wrap (err, "%s.destination", label);
  unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  bool done = attach_bind (AT_FDCWD, m->source, m->flags & MS_REC, flags, true, fd, "") == 0;
  if (!done && errno != ENOSYS)
    return tn_error_sys (err, errno, "%s: bind `%s` on `%s`", label, m->source, m->destination);
  if (!done && mount (m->source, fd_path (fd, pb, sizeof pb), NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
    return tn_error_sys (err, errno, "%s: bind `%s` on `%s`", label, m->source, m->destination);
  if (done && !m->propagation && !m->attr_set && !m->attr_clr)
    return 0;
  /* the descriptor still names the directory under the new mount: open it again to reach the
   * mount itself */
  cleanup_close int top = -1;
  if (tn_open_in_root (r->rootfd, m->destination, false, false, &top, err) < 0)
    return tn_error_wrap (err, "%s", label);
  if (!done && flags && remount_bind (fd_path (top, pb, sizeof pb), flags, err) < 0)
    return tn_error_wrap (err, "%s: apply the options to `%s`", label, m->destination);
  if (m->propagation && mount (NULL, fd_path (top, pb, sizeof pb), NULL, m->propagation, NULL) < 0)
    return tn_error_sys (err, errno, "%s: set the propagation of `%s`", label, m->destination);
  if (set_attrs (top, m, err) < 0)
    return tn_error_wrap (err, "%s: recursive options on `%s`", label, m->destination);
  return 0;
}

static const char *
base_name (const char *path)
{
  const char *s = strrchr (path, '/');
  return s ? s + 1 : path;
}

static int make_devices (struct tn_rootfs *r, struct tn_error **err);

static int
mount_cgroup_entry (struct tn_rootfs *r, const struct tn_mount *m, const char *label, struct tn_error **err)
{
  char pb[64];
  const struct tn_cgroup *cg = r->cgroup;
  unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  /* the device nodes while the parent still prepares the cgroup (the child is not in it yet, so
   * its device rules do not apply to these mknods); in a user namespace they are bind mounts and
   * come after the configured mounts, as with runc */
  if (r->dev_mounted && !r->userns && !r->devices_made && make_devices (r, err) < 0)
    return -1;
  if (r->ready_before_cgroup && ensure_ready (r, err) < 0)
    return -1;
  cleanup_close int fd = -1;
  if (tn_open_in_root (r->rootfd, m->destination, true, true, &fd, err) < 0)
    return tn_error_wrap (err, "%s.destination", label);

  if (cg->mode == TN_CGROUP_V2)
    {
      if (r->cgroupns)
        {
          if (mount ("cgroup2", fd_path (fd, pb, sizeof pb), "cgroup2", flags, m->data) < 0)
            return tn_error_sys (err, errno, "%s: mount cgroup2 on `%s`", label, m->destination);
        }
      else
        {
          /* without a cgroup namespace: the container's own cgroup, not the host's tree */
          if (mount (cg->dirs[0].dir, fd_path (fd, pb, sizeof pb), NULL, MS_BIND, NULL) < 0)
            return tn_error_sys (err, errno, "%s: bind `%s` on `%s`", label, cg->dirs[0].dir, m->destination);
          cleanup_close int top = -1;
          if (tn_open_in_root (r->rootfd, m->destination, false, true, &top, err) < 0)
            return tn_error_wrap (err, "%s", label);
          if (flags && remount_bind (fd_path (top, pb, sizeof pb), flags, err) < 0)
            return tn_error_wrap (err, "%s: apply the options to `%s`", label, m->destination);
        }
      return 0;
    }

  /* v1: a tmpfs holding one directory per hierarchy, each showing the container's own cgroup */
  if (mount ("tmpfs", fd_path (fd, pb, sizeof pb), "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
    return tn_error_sys (err, errno, "%s: mount a tmpfs on `%s`", label, m->destination);
  cleanup_close int top = -1;
  if (tn_open_in_root (r->rootfd, m->destination, false, true, &top, err) < 0)
    return tn_error_wrap (err, "%s", label);
  for (size_t i = 0; i < cg->n; i++)
    {
      const struct tn_cgroup_dir *d = &cg->dirs[i];
      if (d->controllers[0] == '\0')
        continue; /* a hybrid host's unified hierarchy is not shown, as with runc */
      const char *name = base_name (d->mount);
      if (mkdirat (top, name, 0755) < 0 && errno != EEXIST)
        return tn_error_sys (err, errno, "%s: mkdir `%s/%s`", label, m->destination, name);
      cleanup_close int sub = openat (top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return tn_error_sys (err, errno, "%s: open `%s/%s`", label, m->destination, name);
      if (r->cgroupns)
        {
          char opts[256];
          if (strncmp (d->controllers, "name=", 5) == 0)
            snprintf (opts, sizeof opts, "none,%s", d->controllers);
          else
            snprintf (opts, sizeof opts, "%s", d->controllers);
          if (mount ("cgroup", fd_path (sub, pb, sizeof pb), "cgroup", flags, opts) < 0)
            return tn_error_sys (err, errno, "%s: mount cgroup %s on `%s/%s`", label, d->controllers, m->destination, name);
        }
      else if (attach_bind (AT_FDCWD, d->dir, false, flags, true, top, name) < 0)
        {
          if (errno != ENOSYS)
            return tn_error_sys (err, errno, "%s: bind `%s`", label, d->dir);
          if (mount (d->dir, fd_path (sub, pb, sizeof pb), NULL, MS_BIND, NULL) < 0)
            return tn_error_sys (err, errno, "%s: bind `%s`", label, d->dir);
          cleanup_close int subtop = openat (top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (subtop < 0)
            return tn_error_sys (err, errno, "%s: open `%s/%s`", label, m->destination, name);
          if (flags && remount_bind (fd_path (subtop, pb, sizeof pb), flags, err) < 0)
            return tn_error_wrap (err, "%s: apply the options to `%s/%s`", label, m->destination, name);
        }
      /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct" */
      if (strchr (name, ','))
        {
          cleanup_free char *copy = strdup (name);
          if (copy == NULL)
            return tn_error_sys (err, ENOMEM, "%s", label);
          for (char *save = NULL, *c = strtok_r (copy, ",", &save); c; c = strtok_r (NULL, ",", &save))
            if (symlinkat (name, top, c) < 0 && errno != EEXIST)
              return tn_error_sys (err, errno, "%s: symlink `%s/%s`", label, m->destination, c);
        }
    }
  return 0;
}

static int
mount_entry (struct tn_rootfs *r, const struct tn_mount *m, size_t index, struct tn_error **err)
{
  char label[64], pb[64];
  snprintf (label, sizeof label, "mounts[%zu]", index);
  if (m->bind)
    return mount_bind_entry (r, m, label, err);
  if (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0)
    return mount_cgroup_entry (r, m, label, err);

  cleanup_close int fd = -1;
  if (tn_open_in_root (r->rootfd, m->destination, true, true, &fd, err) < 0)
    return tn_error_wrap (err, "%s.destination", label);
  unsigned long flags = m->flags;
  bool dev = is_path (m->destination, "/dev");
  if (dev)
    {
      r->dev_mounted = true;
      /* devices are created in it first; a read-only /dev is remounted at the end */
      if (flags & MS_RDONLY)
        {
          r->dev_readonly = true;
          flags &= ~MS_RDONLY;
        }
    }
  cleanup_close int below = -1;
  if (m->tmpcopyup)
    {
      below = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (below < 0)
        return tn_error_sys (err, errno, "%s: open `%s`", label, m->destination);
    }
  if (mount (m->source, fd_path (fd, pb, sizeof pb), m->type, flags, m->data) < 0)
    {
      int saved = errno;
      if (saved == EPERM && r->userns && strcmp (m->type, "sysfs") == 0)
        {
          /* sysfs cannot be mounted from a user namespace without its own network namespace:
           * bind the host's instead, as runc does */
          struct tn_mount alt = *m;
          alt.source = (char *) "/sys";
          alt.flags = (m->flags | MS_BIND | MS_REC);
          alt.bind = true;
          return mount_bind_entry (r, &alt, label, err);
        }
      return tn_error_sys (err, saved, "%s: mount %s on `%s`%s%s%s", label, m->type, m->destination,
                           m->data ? " (options \"" : "", m->data ? m->data : "", m->data ? "\")" : "");
    }
  if (m->propagation || m->attr_set || m->attr_clr || m->tmpcopyup)
    {
      cleanup_close int top = -1;
      if (tn_open_in_root (r->rootfd, m->destination, false, true, &top, err) < 0)
        return tn_error_wrap (err, "%s", label);
      if (m->propagation && mount (NULL, fd_path (top, pb, sizeof pb), NULL, m->propagation, NULL) < 0)
        return tn_error_sys (err, errno, "%s: set the propagation of `%s`", label, m->destination);
      if (set_attrs (top, m, err) < 0)
        return tn_error_wrap (err, "%s: recursive options on `%s`", label, m->destination);
      if (m->tmpcopyup)
        {
          cleanup_close int above = openat (top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (above < 0)
            return tn_error_sys (err, errno, "%s: open `%s`", label, m->destination);
          if (copy_tree (below, above, err) < 0)
            return tn_error_wrap (err, "%s: tmpcopyup into `%s`", label, m->destination);
        }
    }
  return 0;
}

/* A device node in the container: mknod, or in a user namespace (where mknod is refused) a bind
 * mount of the host's node over an empty file. `parent` is the directory's descriptor (O_PATH),
 * or -1 to find it from the path. The process umask is 0 here, so the mode is exact. */
static int
make_device (struct tn_rootfs *r, int parent, const char *path, char type, int64_t major, int64_t minor, mode_t mode, uid_t uid, gid_t gid, struct tn_error **err)
{
  char pb[64];
  const char *slash = strrchr (path, '/');
  const char *name = slash + 1;
  cleanup_close int own = -1;
  if (parent < 0)
    {
      cleanup_free char *dir = strndup (path, (size_t) (slash - path));
      if (dir == NULL)
        return tn_error_sys (err, ENOMEM, "%s", path);
      if (tn_open_in_root (r->rootfd, dir[0] ? dir : "/", true, true, &own, err) < 0)
        return -1;
      parent = own;
    }
  if (r->userns && type != 'p')
    {
      int f = openat (parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
      if (f < 0)
        return tn_error_sys (err, errno, "create `%s`", path);
      close (f);
      cleanup_close int target = openat (parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (target < 0)
        return tn_error_sys (err, errno, "open `%s`", path);
      if (mount (path, fd_path (target, pb, sizeof pb), NULL, MS_BIND, NULL) < 0)
        return tn_error_sys (err, errno, "bind the host's `%s`", path);
      return 0;
    }
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = type == 'p' ? 0 : makedev ((unsigned) major, (unsigned) minor);
  if (mknodat (parent, name, kind | (mode & 07777), dev) < 0)
    {
      if (errno != EEXIST || unlinkat (parent, name, 0) < 0 || mknodat (parent, name, kind | (mode & 07777), dev) < 0)
        return tn_error_sys (err, errno, "mknod `%s`", path);
    }
  if ((uid != 0 || gid != 0) && fchownat (parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "chown `%s`", path);
  return 0;
}

static int
make_devices (struct tn_rootfs *r, struct tn_error **err)
{
  static const struct
  {
    const char *path;
    int major, minor;
  } defaults[] = {
    /* runc's order, so the mount tables of the two compare equal in a user namespace */
    { "/dev/null", 1, 3 }, { "/dev/random", 1, 8 }, { "/dev/full", 1, 7 },
    { "/dev/tty", 5, 0 }, { "/dev/zero", 1, 5 }, { "/dev/urandom", 1, 9 },
  };
  r->devices_made = true;
  mode_t old_umask = umask (0);
  int ret = -1;
  if (r->dev_mounted)
    {
      cleanup_close int dev = -1;
      if (tn_open_in_root (r->rootfd, "/dev", false, true, &dev, err) < 0)
        goto out;
      for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        {
          /* a device the configuration lists itself is made from its entry */
          bool listed = false;
          for (size_t j = 0; j < r->spec->lx.n_devices; j++)
            if (is_path (r->spec->lx.devices[j].path, defaults[i].path))
              listed = true;
          if (!listed && make_device (r, dev, defaults[i].path, 'c', defaults[i].major, defaults[i].minor, 0666, 0, 0, err) < 0)
            goto out;
        }
      static const char *const links[][2] = {
        { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
      };
      for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat (links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
          {
            tn_error_sys (err, errno, "symlink /dev/%s", links[i][1]);
            goto out;
          }
      if (access ("/proc/kcore", F_OK) == 0 && symlinkat ("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
        {
          tn_error_sys (err, errno, "symlink /dev/core");
          goto out;
        }
      /* /dev/ptmx is the devpts instance's own */
      if (symlinkat ("pts/ptmx", dev, "ptmx") < 0 && (errno != EEXIST || unlinkat (dev, "ptmx", 0) < 0 || symlinkat ("pts/ptmx", dev, "ptmx") < 0))
        {
          tn_error_sys (err, errno, "symlink /dev/ptmx");
          goto out;
        }
    }
  for (size_t i = 0; i < r->spec->lx.n_devices; i++)
    {
      const struct tn_device *d = &r->spec->lx.devices[i];
      if (make_device (r, -1, d->path, d->type, d->major, d->minor, d->has_mode ? d->mode : 0666, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, err) < 0)
        {
          tn_error_wrap (err, "linux.devices[%zu]", i);
          goto out;
        }
    }
  ret = 0;
out:
  umask (old_umask);
  return ret;
}

int
tn_rootfs_prepare (struct tn_rootfs *r, struct tn_error **err)
{
  unsigned long prop = r->spec->lx.rootfs_propagation;
  /* private when asked, else slave: mounts made here never reach the host. shared and
   * unbindable are applied to the new root after pivot_root (pivot_root refuses a shared
   * parent, and an unbindable "/" could not be bound) */
  unsigned long first = (prop & MS_PRIVATE) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
  if (mount (NULL, "/", NULL, first, NULL) < 0)
    return tn_error_sys (err, errno, "make / %s", first & MS_PRIVATE ? "rprivate" : "rslave");
  if (mount (r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return tn_error_sys (err, errno, "root.path: bind `%s` onto itself", r->rootfs);
  r->rootfd = open (r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (r->rootfd < 0)
    return tn_error_sys (err, errno, "root.path: open `%s`", r->rootfs);
  for (size_t i = 0; i < r->spec->n_mounts; i++)
    {
      if (mount_entry (r, &r->spec->mounts[i], i, err) < 0)
        return -1;
      tn_log_phase (r->spec->mounts[i].destination);
    }
  if (!r->devices_made && make_devices (r, err) < 0)
    return -1;
  tn_log_phase ("devices");
  return 0;
}

int
tn_rootfs_pivot (struct tn_rootfs *r, bool no_pivot, struct tn_error **err)
{
  cleanup_close int newroot = open (r->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (newroot < 0)
    return tn_error_sys (err, errno, "open `%s`", r->rootfs);
  if (!no_pivot)
    {
      cleanup_close int oldroot = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (oldroot < 0)
        return tn_error_sys (err, errno, "open /");
      if (fchdir (newroot) < 0)
        return tn_error_sys (err, errno, "chdir into the rootfs");
      /* pivot_root(".", "."): the old root ends up stacked under the new one, then detached */
      if (syscall (SYS_pivot_root, ".", ".") == 0)
        {
          if (fchdir (oldroot) < 0)
            return tn_error_sys (err, errno, "chdir to the old root");
          if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
            return tn_error_sys (err, errno, "make the old root rslave");
          if (umount2 (".", MNT_DETACH) < 0)
            return tn_error_sys (err, errno, "detach the old root");
          if (chdir ("/") < 0)
            return tn_error_sys (err, errno, "chdir /");
          return 0;
        }
      if (errno != EINVAL)
        return tn_error_sys (err, errno, "pivot_root");
      /* EINVAL: e.g. the root is a ramfs (initramfs) that cannot be pivoted away: move instead */
    }
  if (fchdir (newroot) < 0)
    return tn_error_sys (err, errno, "chdir into the rootfs");
  if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
    return tn_error_sys (err, errno, "move the rootfs onto /");
  if (chroot (".") < 0)
    return tn_error_sys (err, errno, "chroot");
  if (chdir ("/") < 0)
    return tn_error_sys (err, errno, "chdir /");
  return 0;
}

int
tn_rootfs_bind_console (const char *pts, struct tn_error **err)
{
  int fd = open ("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return tn_error_sys (err, errno, "create /dev/console");
  close (fd);
  if (mount (pts, "/dev/console", NULL, MS_BIND, NULL) < 0)
    return tn_error_sys (err, errno, "bind %s on /dev/console", pts);
  return 0;
}

static int
mask_path (const char *path, struct tn_error **err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return tn_error_sys (err, errno, "stat `%s`", path);
    }
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
        return tn_error_sys (err, errno, "mask `%s`", path);
    }
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return tn_error_sys (err, errno, "mask `%s`", path);
  return 0;
}

static int
readonly_path (const char *path, struct tn_error **err)
{
  /* a recursive clone made read-only (its top, as a remount would) and attached over the path */
  if (attach_bind (AT_FDCWD, path, true, MS_RDONLY, false, AT_FDCWD, path) == 0)
    return 0;
  if (errno == ENOENT)
    return 0;
  if (errno != ENOSYS)
    return tn_error_sys (err, errno, "make `%s` read-only", path);
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return tn_error_sys (err, errno, "bind `%s`", path);
    }
  unsigned long keep = locked_flags (path) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount (NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
    return tn_error_sys (err, errno, "make `%s` read-only", path);
  return 0;
}

int
tn_rootfs_finalize (struct tn_rootfs *r, struct tn_error **err)
{
  const struct tn_linux *L = &r->spec->lx;
  for (size_t i = 0; i < L->n_readonly_paths; i++)
    if (readonly_path (L->readonly_paths[i], err) < 0)
      return tn_error_wrap (err, "linux.readonlyPaths[%zu]", i);
  for (size_t i = 0; i < L->n_masked_paths; i++)
    if (mask_path (L->masked_paths[i], err) < 0)
      return tn_error_wrap (err, "linux.maskedPaths[%zu]", i);
  if (r->dev_readonly)
    {
      unsigned long keep = locked_flags ("/dev") & ~MS_RDONLY;
      if (mount (NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        return tn_error_sys (err, errno, "make /dev read-only");
    }
  if (r->spec->root_readonly && remount_bind ("/", MS_RDONLY, err) < 0)
    return tn_error_wrap (err, "root.readonly: make / read-only");
  unsigned long prop = L->rootfs_propagation;
  if (prop & (MS_SHARED | MS_UNBINDABLE))
    if (mount (NULL, "/", NULL, prop, NULL) < 0)
      return tn_error_sys (err, errno, "linux.rootfsPropagation: apply to /");
  return 0;
}

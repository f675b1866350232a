/* The rootfs of a container in a user namespace of its own (the engine's userns-remap): an overlay
 * whose lower layers are idmapped onto the container's id maps, so the image's layers — unpacked
 * once, owned by host ids 0… — are seen with their owners inside the container without a copy or
 * a chown per container.
 *
 * The rootfs options carry the maps as `uidmap=C:H:N` / `gidmap=C:H:N` (one per range). For each
 * lowerdir a detached bind mount is made (open_tree(OPEN_TREE_CLONE)) and idmapped with a user
 * namespace holding those maps (mount_setattr(MOUNT_ATTR_IDMAP)); the overlay is built on their
 * descriptors with the new mount API (fsconfig "lowerdir+" FSCONFIG_SET_FD, Linux 6.13+) and moved
 * onto the target. The upperdir is not idmapped: what the container writes is owned on the host by
 * its range, as under Docker's userns-remap. The detached mounts live on inside the overlay only;
 * the one mount to undo is the overlay itself (rootfs.c). */
#include "monitor.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define OPEN_TREE_CLONE_ 1
#define OPEN_TREE_CLOEXEC_ O_CLOEXEC
#define AT_EMPTY_PATH_ 0x1000
#define AT_RECURSIVE_ 0x8000
#define MOUNT_ATTR_IDMAP_ 0x00100000
#define FSOPEN_CLOEXEC_ 1
#define FSMOUNT_CLOEXEC_ 1
#define FSCONFIG_SET_FLAG_ 0
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_SET_FD_ 5
#define FSCONFIG_CMD_CREATE_ 6
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x4

/* overlayfs takes at most 500 lower layers */
#define MAX_LAYERS 500

struct mount_attr_
{
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

bool
idmap_requested (const char *options)
{
  return options && (strstr (options, "uidmap=") || strstr (options, "gidmap="));
}

/* "C:H:N" → "C H N\n" appended to buf. */
static int
add_map (char *buf, size_t size, const char *spec, struct tn_error **err)
{
  unsigned long c, h, n;
  char tail;
  if (sscanf (spec, "%lu:%lu:%lu%c", &c, &h, &n, &tail) != 3 || n == 0)
    return tn_error_new (err, "rootfs: invalid id map \"%s\" (want CONTAINER:HOST:SIZE)", spec);
  size_t used = strlen (buf);
  if (snprintf (buf + used, size - used, "%lu %lu %lu\n", c, h, n) >= (int) (size - used))
    return tn_error_new (err, "rootfs: too many id map ranges");
  return 0;
}

static int
write_map (pid_t pid, const char *file, const char *map, struct tn_error **err)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, map, strlen (map)) != (ssize_t) strlen (map))
    return tn_error_sys (err, errno, "write %s", path);
  return 0;
}

/* A user namespace with the maps: a child unshares one and waits while the maps are written and
 * its namespace is opened, then goes. */
static int
userns_with_maps (const char *uid_map, const char *gid_map, struct tn_error **err)
{
  int sync[2];
  if (pipe2 (sync, O_CLOEXEC) < 0)
    return tn_error_sys (err, errno, "pipe");
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (sync[0]);
      close (sync[1]);
      return tn_error_sys (err, errno, "fork");
    }
  if (pid == 0)
    {
      close (sync[0]);
      char ok = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
      if (write (sync[1], &ok, 1) != 1)
        _exit (1);
      pause ();
      _exit (0);
    }
  close (sync[1]);
  char ok = 'n';
  ssize_t r = read (sync[0], &ok, 1);
  close (sync[0]);
  int fd = -1;
  if (r != 1 || ok != 'y')
    tn_error_new (err, "rootfs: cannot make a user namespace for the id maps");
  else if (write_map (pid, "uid_map", uid_map, err) == 0 && write_map (pid, "gid_map", gid_map, err) == 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", (int) pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        tn_error_sys (err, errno, "open %s", path);
    }
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return fd;
}

/* A detached bind mount of `dir`, idmapped with the user namespace: its descriptor. */
static int
idmapped_tree (const char *dir, int userns, struct tn_error **err)
{
  int tree = (int) syscall (SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_);
  if (tree < 0)
    return tn_error_sys (err, errno, "rootfs: open_tree `%s`", dir);
  struct mount_attr_ attr = { .attr_set = MOUNT_ATTR_IDMAP_, .userns_fd = (uint64_t) userns };
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH_, &attr, sizeof attr) < 0)
    {
      int saved = errno;
      close (tree);
      return tn_error_sys (err, saved, "rootfs: idmap `%s`", dir);
    }
  return tree;
}

/* fsconfig's error, with what the filesystem logged on the context. */
static int
fs_error (int fs, int saved, const char *what, struct tn_error **err)
{
  char log[512] = "";
  ssize_t n = read (fs, log, sizeof log - 1);
  log[n > 0 ? n : 0] = '\0';
  log[strcspn (log, "\n")] = '\0';
  return tn_error_sys (err, saved, "rootfs: overlay %s%s%s", what, log[0] ? ": " : "", log);
}

int
idmap_overlay_mount (const char *options, const char *target, struct tn_error **err)
{
  cleanup_free char *opts = strdup (options);
  if (opts == NULL)
    return tn_error_sys (err, ENOMEM, "rootfs options");
  char uid_map[1024] = "", gid_map[1024] = "";
  char *lower = NULL, *save = NULL;
  /* maps first: the user namespace is needed before the layers */
  for (char *o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      if (strncmp (o, "uidmap=", 7) == 0 && add_map (uid_map, sizeof uid_map, o + 7, err) < 0)
        return -1;
      if (strncmp (o, "gidmap=", 7) == 0 && add_map (gid_map, sizeof gid_map, o + 7, err) < 0)
        return -1;
    }
  if (!uid_map[0] || !gid_map[0])
    return tn_error_new (err, "rootfs: an idmapped rootfs needs both uidmap= and gidmap=");
  cleanup_close int userns = userns_with_maps (uid_map, gid_map, err);
  if (userns < 0)
    return -1;
  cleanup_close int fs = (int) syscall (SYS_fsopen, "overlay", FSOPEN_CLOEXEC_);
  if (fs < 0)
    return tn_error_sys (err, errno, "rootfs: fsopen overlay");

  free (opts);
  opts = strdup (options);
  if (opts == NULL)
    return tn_error_sys (err, ENOMEM, "rootfs options");
  save = NULL;
  for (char *o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      if (strncmp (o, "uidmap=", 7) == 0 || strncmp (o, "gidmap=", 7) == 0)
        continue;
      if (strncmp (o, "lowerdir=", 9) == 0)
        {
          lower = o + 9;
          continue;
        }
      char *eq = strchr (o, '=');
      long r;
      if (eq)
        {
          *eq = '\0';
          r = syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING_, o, eq + 1, 0);
        }
      else
        r = syscall (SYS_fsconfig, fs, FSCONFIG_SET_FLAG_, o, NULL, 0);
      if (r < 0)
        return fs_error (fs, errno, o, err);
    }
  if (lower == NULL || !*lower)
    return tn_error_new (err, "rootfs: an idmapped overlay needs lowerdir=");
  /* topmost first, as in lowerdir=; "lowerdir+" appends below the ones given before. The
   * detached mounts must stay open until the overlay is created: closing the last descriptor of
   * one dissolves it, and overlayfs clones its layers only then. */
  int trees[MAX_LAYERS];
  size_t n = 0;
  int r = 0;
  char *lsave = NULL;
  for (char *dir = strtok_r (lower, ":", &lsave); dir && r == 0; dir = strtok_r (NULL, ":", &lsave))
    {
      if (n == MAX_LAYERS)
        r = tn_error_new (err, "rootfs: more than %d layers", MAX_LAYERS);
      else if ((trees[n] = idmapped_tree (dir, userns, err)) < 0)
        r = -1;
      else if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_FD_, "lowerdir+", NULL, trees[n++]) < 0)
        r = fs_error (fs, errno, "lowerdir+", err);
    }
  if (r == 0 && syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0)
    r = fs_error (fs, errno, "create", err);
  for (size_t i = 0; i < n; i++)
    close (trees[i]);
  if (r < 0)
    return -1;
  cleanup_close int mnt = (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC_, 0);
  if (mnt < 0)
    return tn_error_sys (err, errno, "rootfs: fsmount overlay");
  if (syscall (SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_) < 0)
    return tn_error_sys (err, errno, "rootfs: move the overlay onto `%s`", target);
  return 0;
}

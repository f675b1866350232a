/* The container's filesystem: the rootfs made a mount point, every configured mount made with
 * its destination resolved inside the rootfs (openat2 RESOLVE_IN_ROOT: a symlink in the image
 * cannot send a mount outside it; missing directories and files are created), the default
 * device nodes, pivot_root (or MS_MOVE + chroot), and afterwards masked and read-only paths and a
 * read-only root. Runs in the container process, in its mount namespace. */
#ifndef TN_MOUNTS_H
#define TN_MOUNTS_H

#include <stdbool.h>
#include "cgroup.h"
#include "error.h"
#include "spec.h"

struct tn_rootfs
{
  const struct tn_spec *spec;
  const char *rootfs;  /* absolute host path */
  const struct tn_cgroup *cgroup;
  bool userns;         /* devices are bind-mounted from the host instead of mknod'ed */
  bool cgroupns;
  /* called once, before the first step that needs the parent's work done: the cgroup mount (when
   * `ready_before_cgroup`), a mount that may open a block device, the device nodes (the device
   * cgroup rules must be complete) */
  int (*wait_ready) (void *arg, struct tn_error **err);
  void *wait_ready_arg;
  bool ready_before_cgroup;
  /* filled in while mounting */
  int rootfd;
  bool dev_mounted;
  bool dev_readonly;
  bool devices_made;
};

/* Before pivot_root: propagation of "/", the rootfs bind mount, spec mounts, devices. */
int tn_rootfs_prepare (struct tn_rootfs *r, struct tn_error **err);
/* pivot_root into the rootfs, or MS_MOVE + chroot (no_pivot, or a ramfs root where pivot_root
 * is refused). Leaves the process in "/" of the container. */
int tn_rootfs_pivot (struct tn_rootfs *r, bool no_pivot, struct tn_error **err);
/* After pivot_root: masked paths, read-only paths, read-only /dev and root, root propagation. */
int tn_rootfs_finalize (struct tn_rootfs *r, struct tn_error **err);
/* Binds the terminal's slave (by path, e.g. /dev/pts/3) over /dev/console. */
int tn_rootfs_bind_console (const char *pts, struct tn_error **err);

/* Opens `path` inside the directory `rootfd` as if it were "/" (O_PATH), creating missing
 * directories, and the last component as a directory or an empty file. Exposed for tests. */
int tn_open_in_root (int rootfd, const char *path, bool create, bool last_is_dir, int *out, struct tn_error **err);

#endif

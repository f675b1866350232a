/* The container's root as the archive operations see it.
 *
 *   running container:  --root /proc/<pid>/root --expect-root <bundle>/rootfs
 *       the container's own mount namespace view (its volumes, binds and tmpfs mounts included),
 *       checked to be the container's rootfs (same device and inode as the overlay mounted on the
 *       bundle), so a pid reused by another process is never taken for the container;
 *   stopped container:  --overlay <lowerdir=…,upperdir=…,workdir=…> --mountpoint <bundle>/rootfs
 *                       [--bind SRC:DST[:ro]]…
 *       the overlay is mounted in a private mount namespace of this process (nobody else sees it;
 *       it goes away with the process, whatever happens), with the container's bind mounts and
 *       volumes on top where their mount points exist, as Docker mounts them for a stopped one;
 *   a plain directory:  --root DIR (an image layer, a mounted rootfs). */
#ifndef TN_ARCHIVE_ROOT_H
#define TN_ARCHIVE_ROOT_H

#include "error.h"

#define ROOT_MAX_BINDS 256

struct root_opts {
  const char *root;
  const char *expect_root;
  const char *overlay;
  const char *mountpoint;
  const char *binds[ROOT_MAX_BINDS];
  int nbinds;
};

/* Exit status for "the container's root is not there any more" (it stopped meanwhile). */
#define EXIT_ROOT_GONE 6

/* Opens the root (O_PATH | O_DIRECTORY); sets *gone when the running container went away. */
int root_open (const struct root_opts *o, int *rootfd, int *gone, struct tn_error **err);

#endif

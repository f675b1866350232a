/* Writing a tree as a tar, safely against a container that changes it meanwhile: every file is
 * reached from its parent directory's descriptor with O_NOFOLLOW, so a component swapped for a
 * symlink is never followed; a regular file is opened O_NONBLOCK and checked to still be the file
 * that was stat'ed (a FIFO put in its place never blocks the copy). Entries come in name order. */
#ifndef TN_ARCHIVE_WALK_H
#define TN_ARCHIVE_WALK_H

#include <stdbool.h>
#include "error.h"
#include "tarw.h"

struct walk_opts {
  /* Directories on pseudo filesystems (proc, sysfs, cgroup, devpts, mqueue…) are written without
   * their contents: a container's /proc is not files to copy. */
  bool skip_pseudo;
  /* Overlay upper-dir mode (`docker commit`): whiteouts (char 0:0) become OCI `.wh.<name>` files,
   * opaque directories get a `.wh..wh..opq` entry, trusted.overlay.* attributes stay out. */
  bool overlay_whiteouts;
  /* Paths relative to the walked root that are left out (Docker's init layer), NULL-terminated. */
  char **elided;
};

struct walk {
  struct tarw *w;
  const struct walk_opts *opts;
  /* Regular files with several links: the first one's name, later ones become hardlinks. */
  struct seen *seen;
  size_t nseen, capseen;
};

void walk_init (struct walk *k, struct tarw *w, const struct walk_opts *opts);
void walk_free (struct walk *k);
/* Writes `name` in directory `parent` (and everything below it) as `tarname`; `rel` is its path
 * relative to the walked root, for the elided list ("" for the root itself). */
int walk_entry (struct walk *k, int parent, const char *name, const char *tarname, const char *rel,
                struct tn_error **err);
/* Writes the contents of directory `dirfd` (not the directory itself) below `tarprefix` ("" for
 * none). */
int walk_children (struct walk *k, int dirfd, const char *tarprefix, const char *rel, struct tn_error **err);

#endif

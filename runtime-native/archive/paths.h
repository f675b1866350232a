/* Paths inside a container's root, resolved the way Docker resolves them for `docker cp`, and
 * never outside the root: every lookup is openat2(2) relative to the root's descriptor with
 * RESOLVE_IN_ROOT (a `..` or an absolute symlink stops at the root, as in a chroot) and
 * RESOLVE_NO_MAGICLINKS (no /proc/<pid>/root or fd links to jump through). */
#ifndef TN_ARCHIVE_PATHS_H
#define TN_ARCHIVE_PATHS_H

#include <stdint.h>
#include <linux/openat2.h>
#include "error.h"
#include "openat2.h"

/* Confined to the root, following no symlink at all (containerd's own layer directories). */
#define RESOLVE_IN_ROOT_FLAGS_NO_SYMLINKS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)


/* Docker's absolute form of a user's path: "/" joined and cleaned, keeping a trailing "/." or "/"
 * that the user wrote (it means "the directory's contents" or "must be a directory"). */
char *docker_abs_path (const char *path);
/* Lexical cleaning of an absolute path (Go's filepath.Clean): no "//", ".", or "..". */
char *clean_abs (const char *path);
/* Docker's FollowSymlinkInScope: every symlink of `abs` evaluated inside the root (absolute links
 * from the root, `..` never above it), components that do not exist kept as written. Returns the
 * resolved absolute path inside the root. */
int resolve_in_scope (int rootfd, const char *abs, char **out, struct tn_error **err);
/* The last element of a cleaned path ("/" for the root), as Go's filepath.Base. */
const char *path_base (const char *path);

#endif

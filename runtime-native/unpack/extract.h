/* Applies tar entries to a destination directory without ever touching anything outside it:
 * every path is resolved by openat2(2) relative to the destination's descriptor with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, and every escape a hostile archive attempts (`..`
 * above the root, absolute names, writing through a symlink that leads out, hardlinks or
 * whiteouts naming something outside) is refused with an error rather than silently clamped.
 * OCI whiteouts become overlayfs whiteouts (`.wh.x` → char device 0:0 `x`; `.wh..wh..opq` →
 * trusted.overlay.opaque=y on the directory). */
#ifndef TN_UNPACK_EXTRACT_H
#define TN_UNPACK_EXTRACT_H

#include <stdint.h>
#include "error.h"
#include "tar.h"

struct tn_extract;

int tn_extract_open (struct tn_extract **out, const char *dest, struct tn_error **err);

/* Extracting into a directory of a container's root (`docker cp` into a container, Docker's
 * semantics): entries are relative to `prefix` (inside the root; "" for the root) and may not climb
 * above it; symlinks already in the container are followed the way a chroot follows them, never
 * out of the root; `.wh.` names are ordinary files; the archive's "." entry leaves the destination
 * as it is. */
struct tn_extract_opts {
  const char *prefix;
  int in_root;
  /* Refuse to replace a directory with a non-directory or the other way round. */
  int no_overwrite_dir_nondir;
  /* Own every entry by uid:gid instead of the archive's ids. */
  int chown;
  unsigned uid, gid;
};

/* rootfd is duplicated; the caller keeps its own. */
int tn_extract_open_root (struct tn_extract **out, int rootfd, const struct tn_extract_opts *opts,
                          struct tn_error **err);
/* Applies one entry; for a regular file, its data is read from t. */
int tn_extract_entry (struct tn_extract *x, struct tn_tar *t, struct tn_tar_entry *e, struct tn_error **err);
/* Applies every entry of the tar read from `in`, reads the input to its end (so its digest covers
 * all of it), then finishes: the whole of an unpack or a `docker cp` upload. */
int tn_extract_stream (struct tn_extract *x, struct tn_input *in, struct tn_error **err);
/* Sets the directories' times last (their contents changed them while unpacking). */
int tn_extract_finish (struct tn_extract *x, struct tn_error **err);
uint64_t tn_extract_bytes (struct tn_extract *x);
void tn_extract_free (struct tn_extract *x);

#endif

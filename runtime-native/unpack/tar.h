/* A tar reader for the formats layer tars come in: POSIX ustar, PAX (path, linkpath, size,
 * uid, gid, mtime, SCHILY.xattr.*) and GNU (long names and link names, base-256 numbers). */
#ifndef TN_UNPACK_TAR_H
#define TN_UNPACK_TAR_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "error.h"
#include "input.h"

/* Sizes beyond this are taken for a corrupt or hostile header, not a real file. */
#define TN_TAR_MAX_SIZE ((int64_t) 1 << 40)
/* PAX and GNU long-name records are metadata: a few KiB in practice. */
#define TN_TAR_MAX_META (1 << 20)
#define TN_TAR_MAX_XATTRS 128

enum tn_tar_type {
  TN_TAR_FILE, TN_TAR_HARDLINK, TN_TAR_SYMLINK, TN_TAR_CHAR, TN_TAR_BLOCK, TN_TAR_DIR, TN_TAR_FIFO,
};

struct tn_xattr {
  char *name;
  char *value;
  size_t len;
};

struct tn_tar_entry {
  enum tn_tar_type type;
  char *path;
  char *linkpath;
  mode_t mode;        /* permission bits incl. setuid/setgid/sticky */
  uid_t uid;
  gid_t gid;
  int64_t size;
  struct timespec mtime;
  unsigned devmajor, devminor;
  struct tn_xattr xattrs[TN_TAR_MAX_XATTRS];
  int nxattrs;
};

struct tn_tar {
  struct tn_input *in;
  int64_t left;       /* data bytes of the current entry not consumed yet */
  int64_t pad;        /* padding after them */
};

/* Reads the next entry's header (skipping what is left of the previous one). Returns 1 with *e
 * filled, 0 at the end of the archive, -1 on error. */
int tn_tar_next (struct tn_tar *t, struct tn_tar_entry *e, struct tn_error **err);
void tn_tar_entry_clear (struct tn_tar_entry *e);

#endif

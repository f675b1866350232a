/* A streaming tar writer: ustar headers, with a PAX record before an entry whose name, link name,
 * size or ids do not fit ustar's fields, or that carries extended attributes. Output is buffered
 * and written to a file descriptor (a pipe to containerd). */
#ifndef TN_ARCHIVE_TARW_H
#define TN_ARCHIVE_TARW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define TARW_MAX_XATTRS 8

struct tarw_xattr {
  const char *name;
  const void *value;
  size_t len;
};

struct tarw_hdr {
  const char *name;       /* a directory's name ends with '/' */
  const char *linkname;   /* symlink target or hardlink target; NULL for none */
  char type;              /* '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
  mode_t mode;            /* permission bits with setuid, setgid and sticky */
  uid_t uid;
  gid_t gid;
  int64_t size;
  int64_t mtime;          /* seconds */
  unsigned devmajor, devminor;
  struct tarw_xattr xattrs[TARW_MAX_XATTRS];
  int nxattrs;
};

struct tarw {
  int fd;
  size_t used;
  uint64_t written;
  uint8_t buf[256 * 1024];
};

void tarw_init (struct tarw *w, int fd);
int tarw_header (struct tarw *w, const struct tarw_hdr *h, struct tn_error **err);
int tarw_data (struct tarw *w, const void *data, size_t len, struct tn_error **err);
/* The zero padding after `size` bytes of data. */
int tarw_pad (struct tarw *w, int64_t size, struct tn_error **err);
/* The end-of-archive marker (two zero blocks), then everything is flushed. */
int tarw_finish (struct tarw *w, struct tn_error **err);
int tarw_flush (struct tarw *w, struct tn_error **err);

#endif

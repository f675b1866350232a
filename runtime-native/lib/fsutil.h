/* Small file helpers shared by the runtime, the monitor and the unpacker. */
#ifndef TN_FSUTIL_H
#define TN_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include "error.h"

/* Writes data to `path` through a temporary file in the same directory and rename(2), so a reader
 * (or a crash) never sees a half-written file. fsyncs the file when `durable` is set. */
int tn_write_file_atomic (const char *path, const void *data, size_t len, int durable, struct tn_error **err);
/* Writes data to an existing file (cgroup knobs, /proc files) in one write(2). */
int tn_write_file_at (int dirfd, const char *name, const char *data, struct tn_error **err);
/* Reads a whole file into a NUL-terminated heap buffer. */
int tn_read_file (const char *path, char **out, size_t *len, struct tn_error **err);
/* mkdir -p with mode for each created component. */
int tn_mkdir_p (const char *path, mode_t mode, struct tn_error **err);
/* write(2) until done, retrying on EINTR and short writes. */
ssize_t tn_write_all (int fd, const void *buf, size_t len);

#endif

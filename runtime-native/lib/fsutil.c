#include "fsutil.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t
tn_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  size_t left = len;
  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      left -= (size_t) n;
    }
  return (ssize_t) len;
}

int
tn_write_file_atomic (const char *path, const void *data, size_t len, int durable, struct tn_error **err)
{
  cleanup_free char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp-%d", path, (int) getpid ()) < 0)
    return tn_error_sys (err, ENOMEM, "write `%s`", path);
  cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return tn_error_sys (err, errno, "open `%s`", tmp);
  if (tn_write_all (fd, data, len) < 0 || (durable && fsync (fd) < 0))
    {
      int saved = errno;
      unlink (tmp);
      return tn_error_sys (err, saved, "write `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return tn_error_sys (err, saved, "rename `%s` to `%s`", tmp, path);
    }
  return 0;
}

int
tn_write_file_at (int dirfd, const char *name, const char *data, struct tn_error **err)
{
  cleanup_close int fd = openat (dirfd, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return tn_error_sys (err, errno, "open `%s`", name);
  if (tn_write_all (fd, data, strlen (data)) < 0)
    return tn_error_sys (err, errno, "write `%s` to `%s`", data, name);
  return 0;
}

int
tn_read_file (const char *path, char **out, size_t *len, struct tn_error **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tn_error_sys (err, errno, "open `%s`", path);
  size_t cap = 4096, used = 0;
  cleanup_free char *buf = malloc (cap + 1);
  if (buf == NULL)
    return tn_error_sys (err, ENOMEM, "read `%s`", path);
  for (;;)
    {
      if (used == cap)
        {
          char *bigger = realloc (buf, cap * 2 + 1);
          if (bigger == NULL)
            return tn_error_sys (err, ENOMEM, "read `%s`", path);
          buf = bigger;
          cap *= 2;
        }
      ssize_t n = read (fd, buf + used, cap - used);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return tn_error_sys (err, errno, "read `%s`", path);
        }
      if (n == 0)
        break;
      used += (size_t) n;
    }
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = TN_STEAL (buf);
  return 0;
}

int
tn_mkdir_p (const char *path, mode_t mode, struct tn_error **err)
{
  cleanup_free char *copy = strdup (path);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "mkdir `%s`", path);
  for (char *p = copy + 1; ; p++)
    {
      if (*p == '/' || *p == '\0')
        {
          char saved = *p;
          *p = '\0';
          if (mkdir (copy, mode) < 0 && errno != EEXIST)
            return tn_error_sys (err, errno, "mkdir `%s`", copy);
          *p = saved;
          if (saved == '\0')
            break;
        }
    }
  return 0;
}

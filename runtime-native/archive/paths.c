#include "paths.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "openat2.h"

/* Docker's limit on symlinks followed while resolving one path. */
#define MAX_LINKS 255

char *
clean_abs (const char *in)
{
  size_t len = strlen (in);
  char *out = malloc (len + 2);
  if (out == NULL)
    return NULL;
  size_t used = 0;
  const char *p = in;
  while (*p)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      const char *end = strchr (p, '/');
      size_t n = end ? (size_t) (end - p) : strlen (p);
      if (n == 1 && p[0] == '.')
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          while (used > 0 && out[used - 1] != '/')
            used--;
          if (used > 0)
            used--;
        }
      else
        {
          out[used++] = '/';
          memcpy (out + used, p, n);
          used += n;
        }
      p += n;
    }
  if (used == 0)
    out[used++] = '/';
  out[used] = '\0';
  return out;
}

char *
docker_abs_path (const char *path)
{
  cleanup_free char *joined = NULL;
  if (asprintf (&joined, "/%s", path) < 0)
    return NULL;
  char *clean = clean_abs (joined);
  if (clean == NULL)
    return NULL;
  size_t plen = strlen (path);
  int dot = plen >= 2 && strcmp (path + plen - 2, "/.") == 0;
  int slash = plen >= 1 && path[plen - 1] == '/';
  if (!dot && !slash)
    return clean;
  if (strcmp (clean, "/") == 0 && !dot)
    return clean;
  char *out = NULL;
  if (asprintf (&out, "%s%s", strcmp (clean, "/") == 0 ? "" : clean, dot ? "/." : "/") < 0)
    out = NULL;
  free (clean);
  return out;
}

const char *
path_base (const char *path)
{
  if (strcmp (path, "/") == 0)
    return "/";
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* What is at `abs` (a cleaned absolute path whose parents hold no symlinks) inside the root:
 * 1 and *st filled, 0 when nothing is there, -1 on another error. */
static int
lstat_in_root (int rootfd, const char *abs, struct stat *st)
{
  cleanup_free char *dir = strdup (abs);
  if (dir == NULL)
    return -1;
  char *slash = strrchr (dir, '/');
  const char *base = slash + 1;
  *slash = '\0';
  cleanup_close int dfd = tn_open_beneath_root (rootfd, dir[0] ? dir : "/", O_PATH | O_DIRECTORY);
  if (dfd < 0)
    return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  if (fstatat (dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  return 1;
}

static int
readlink_in_root (int rootfd, const char *abs, char **out)
{
  cleanup_close int fd = tn_open_beneath_root (rootfd, abs, O_PATH | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat (fd, "", buf, PATH_MAX);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  *out = strdup (buf);
  return *out ? 0 : -1;
}

int
resolve_in_scope (int rootfd, const char *abs, char **out, struct tn_error **err)
{
  /* `todo` holds what is left to walk; `done` the resolved prefix (absolute, no trailing slash). */
  cleanup_free char *todo = clean_abs (abs);
  cleanup_free char *done = strdup ("");
  if (todo == NULL || done == NULL)
    return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
  int links = 0;
  char *rest = todo;
  while (*rest)
    {
      while (*rest == '/')
        rest++;
      if (*rest == '\0')
        break;
      char *end = strchr (rest, '/');
      size_t n = end ? (size_t) (end - rest) : strlen (rest);
      cleanup_free char *comp = strndup (rest, n);
      rest += n;
      if (comp == NULL)
        return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
      cleanup_free char *candidate = NULL;
      if (asprintf (&candidate, "%s/%s", done, comp) < 0)
        return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
      char *cleaned = clean_abs (candidate);
      if (cleaned == NULL)
        return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
      if (strcmp (cleaned, "/") == 0)
        {
          free (cleaned);
          done[0] = '\0';
          continue;
        }
      struct stat st;
      int r = lstat_in_root (rootfd, cleaned, &st);
      if (r < 0)
        {
          int e = errno;
          free (cleaned);
          return tn_error_sys (err, e, "resolve `%s`", abs);
        }
      if (r == 0 || !S_ISLNK (st.st_mode))
        {
          free (done);
          done = cleaned;
          continue;
        }
      if (++links > MAX_LINKS)
        {
          free (cleaned);
          return tn_error_new (err, "too many links in %s", abs);
        }
      cleanup_free char *target = NULL;
      int rl = readlink_in_root (rootfd, cleaned, &target);
      free (cleaned);
      if (rl < 0)
        return tn_error_sys (err, errno, "resolve `%s`", abs);
      if (target[0] == '/')
        done[0] = '\0';
      /* The link's text goes in front of what is left. */
      char *next = NULL;
      if (asprintf (&next, "%s/%s", target, rest) < 0)
        return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
      free (todo);
      todo = next;
      rest = todo;
    }
  *out = done[0] ? TN_STEAL (done) : strdup ("/");
  if (*out == NULL)
    return tn_error_sys (err, ENOMEM, "resolve `%s`", abs);
  return 0;
}

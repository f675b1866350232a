#include "changes.h"
#include "cleanup.h"
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "openat2.h"

#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

enum kind { MODIFY = 0, ADD = 1, DELETE = 2 };

static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && major (st->st_rdev) == 0 && minor (st->st_rdev) == 0;
}

/* lstat of `rel` ("/a/b") below a layer directory, never following its symlinks. */
static int
lstat_below (int layer, const char *rel, struct stat *st)
{
  cleanup_free char *dir = strdup (rel);
  if (dir == NULL)
    return -1;
  char *slash = strrchr (dir, '/');
  *slash = '\0';
  cleanup_close int dfd = tn_openat2 (layer, dir[0] ? dir + 1 : ".", O_PATH | O_DIRECTORY | O_CLOEXEC,
                                       RESOLVE_IN_ROOT_FLAGS_NO_SYMLINKS);
  if (dfd < 0)
    return 0;
  if (fstatat (dfd, slash + 1, st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  return 1;
}

/* What the image's layers have at `rel`: 1 with *st when something is there (the topmost layer
 * that has it or hides it decides), 0 when nothing is. */
static int
in_lowers (const struct layers *l, const char *rel, struct stat *st)
{
  for (int i = 0; i < l->nlowers; i++)
    {
      if (!lstat_below (l->lowers[i], rel, st))
        continue;
      return is_whiteout (st) ? 0 : 1;
    }
  return 0;
}

static bool
is_opaque (int dirfd)
{
  char v[4];
  ssize_t n = fgetxattr (dirfd, OVERLAY_OPAQUE_XATTR, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

static bool
listed (char **list, const char *rel)
{
  for (char **p = list; p && *p; p++)
    if (strcmp (*p, rel) == 0)
      return true;
  return false;
}

static int
push (char ***list, size_t *n, const char *s)
{
  char **bigger = realloc (*list, (*n + 2) * sizeof *bigger);
  if (bigger == NULL)
    return -1;
  *list = bigger;
  if ((bigger[*n] = strdup (s)) == NULL)
    return -1;
  bigger[++*n] = NULL;
  return 0;
}

/* True when every entry of the upper directory `rel` is in `list`. */
static bool
only_listed (int upper, const char *rel, char **list)
{
  cleanup_close int dfd = tn_openat2 (upper, rel + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT_FLAGS_NO_SYMLINKS);
  if (dfd < 0 || is_opaque (dfd))
    return false;
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    return false;
  dfd = -1;
  bool all = true;
  struct dirent *de;
  while (all && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      cleanup_free char *child = NULL;
      if (asprintf (&child, "%s/%s", rel, de->d_name) < 0 || !listed (list, child))
        all = false;
    }
  closedir (d);
  return all;
}

int
init_placeholders (const struct layers *l, char **init, int ninit, char ***out, struct tn_error **err)
{
  char **list = calloc (1, sizeof *list);
  size_t n = 0;
  if (list == NULL)
    return tn_error_sys (err, ENOMEM, "init layer");
  for (int i = 0; i < ninit; i++)
    {
      cleanup_free char *path = strdup (init[i]);
      if (path == NULL)
        goto oom;
      char *colon = strrchr (path, ':');
      bool dir = colon && strcmp (colon + 1, "dir") == 0;
      if (colon)
        *colon = '\0';
      struct stat st, below;
      if (!lstat_below (l->upper, path, &st) || in_lowers (l, path, &below))
        continue;
      bool placeholder = dir ? S_ISDIR (st.st_mode) && only_listed (l->upper, path, list)
                             : (S_ISREG (st.st_mode) && st.st_size == 0) || S_ISLNK (st.st_mode);
      if (placeholder && push (&list, &n, path) < 0)
        goto oom;
    }
  /* Their parent directories (/dev, /etc), when nothing but placeholders is in them: made for the
   * mount points, or copied up because a placeholder was made inside. Deepest first. */
  for (int depth = 8; depth >= 1; depth--)
    for (int i = 0; i < ninit; i++)
      {
        cleanup_free char *parent = strdup (init[i]);
        if (parent == NULL)
          goto oom;
        char *colon = strrchr (parent, ':');
        if (colon)
          *colon = '\0';
        /* The ancestor of this init path that has `depth` components, if it has one. */
        int comps = 0;
        char *cut = NULL;
        for (char *p = parent + 1; *p; p++)
          if (*p == '/' && ++comps == depth)
            {
              cut = p;
              break;
            }
        if (cut == NULL)
          continue;
        *cut = '\0';
        if (listed (list, parent))
          continue;
        struct stat st, below;
        if (!lstat_below (l->upper, parent, &st) || !S_ISDIR (st.st_mode))
          continue;
        if (in_lowers (l, parent, &below) && !S_ISDIR (below.st_mode))
          continue;
        if (only_listed (l->upper, parent, list) && push (&list, &n, parent) < 0)
          goto oom;
      }
  *out = list;
  return 0;
oom:
  for (size_t i = 0; i < n; i++)
    free (list[i]);
  free (list);
  return tn_error_sys (err, ENOMEM, "init layer");
}

struct out {
  FILE *f;
  int count;
  char **changed_dirs;
  size_t nchanged;
};

static void
json_string (FILE *f, const char *s)
{
  fputc ('"', f);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fprintf (f, "\\%c", *p);
      else if (*p < 0x20)
        fprintf (f, "\\u%04x", *p);
      else
        fputc (*p, f);
    }
  fputc ('"', f);
}

static void
emit (struct out *o, const char *path, enum kind kind)
{
  fputs (o->count++ ? ",{\"Path\":" : "[{\"Path\":", o->f);
  json_string (o->f, path);
  fprintf (o->f, ",\"Kind\":%d}", kind);
}

static bool
same_dir (const struct stat *a, const struct stat *b)
{
  /* Go's sameFsTime: equal, or equal seconds when either side has no sub-second part. */
  bool same_time = (a->st_mtim.tv_sec == b->st_mtim.tv_sec
                    && (a->st_mtim.tv_nsec == b->st_mtim.tv_nsec || a->st_mtim.tv_nsec == 0 || b->st_mtim.tv_nsec == 0));
  return a->st_size == b->st_size && a->st_mode == b->st_mode && same_time;
}

static int
walk (const struct layers *l, char **elided, struct out *o, int dirfd, const char *rel, bool hidden,
      struct tn_error **err)
{
  int dup_fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup_fd < 0 ? NULL : fdopendir (dup_fd);
  if (d == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return tn_error_sys (err, errno, "read `%s`", rel[0] ? rel : "/");
    }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0 && push (&names, &n, de->d_name) < 0)
      {
        closedir (d);
        return tn_error_sys (err, ENOMEM, "read `%s`", rel);
      }
  closedir (d);
  int rc = 0;
  /* Lexical order, as Go's filepath.Walk. */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp (names[j - 1], names[j]) > 0; j--)
      {
        char *t = names[j - 1];
        names[j - 1] = names[j];
        names[j] = t;
      }
  for (size_t i = 0; rc == 0 && i < n; i++)
    {
      cleanup_free char *path = NULL;
      if (asprintf (&path, "%s/%s", rel, names[i]) < 0)
        {
          rc = tn_error_sys (err, ENOMEM, "walk");
          break;
        }
      if (listed (elided, path))
        continue;
      struct stat st;
      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      cleanup_close int child = S_ISDIR (st.st_mode) ? openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
      bool opaque = child >= 0 && is_opaque (child);
      struct stat below;
      bool existed = !hidden && in_lowers (l, path, &below);
      enum kind kind;
      bool record = true;
      if (is_whiteout (&st) || (opaque && existed))
        kind = DELETE;
      else if (!existed)
        kind = ADD;
      else
        {
          kind = MODIFY;
          if (S_ISDIR (st.st_mode) && S_ISDIR (below.st_mode) && same_dir (&st, &below))
            record = false;
        }
      if (record)
        {
          if (S_ISDIR (st.st_mode) && push (&o->changed_dirs, &o->nchanged, path) < 0)
            rc = tn_error_sys (err, ENOMEM, "walk");
          if (kind != MODIFY)
            {
              /* The parent of an added or deleted entry counts as changed, once. */
              char *slash = strrchr (path, '/');
              if (slash != path)
                {
                  *slash = '\0';
                  if (!listed (o->changed_dirs, path))
                    {
                      emit (o, path, MODIFY);
                      if (push (&o->changed_dirs, &o->nchanged, path) < 0)
                        rc = tn_error_sys (err, ENOMEM, "walk");
                    }
                  *slash = '/';
                }
            }
          emit (o, path, kind);
        }
      if (rc == 0 && child >= 0)
        rc = walk (l, elided, o, child, path, hidden || opaque, err);
    }
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return rc;
}

int
write_changes (const struct layers *l, char **elided, FILE *f, struct tn_error **err)
{
  struct out o = { .f = f };
  cleanup_close int root = openat (l->upper, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return tn_error_sys (err, errno, "open the upper directory");
  int rc = walk (l, elided, &o, root, "", false, err);
  for (size_t i = 0; i < o.nchanged; i++)
    free (o.changed_dirs[i]);
  free (o.changed_dirs);
  if (rc < 0)
    return -1;
  fputs (o.count ? "]\n" : "null\n", f);
  return fflush (f) == 0 ? 0 : tn_error_sys (err, errno, "write the changes");
}

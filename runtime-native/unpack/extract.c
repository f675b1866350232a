#include "extract.h"
#include "cleanup.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "openat2.h"

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

struct dir_time {
  char *path;
  struct timespec mtime;
};

struct tn_extract {
  int root;               /* O_PATH descriptor of the destination */
  /* The parent directory of the last regular file, reused by the next file in the same directory
   * (most of a layer): forgotten as soon as an entry other than a regular file comes, or a file
   * replaces something, so a directory changed by the archive is always resolved again. */
  char *cache_dir;
  size_t cache_len;
  int cache_fd;
  int privileged;         /* may chown and make devices */
  uint64_t bytes;         /* regular file bytes written */
  struct dir_time *dirs;
  size_t ndirs, capdirs;
  /* tn_extract_open_root's mode (docker cp): see extract.h. */
  int in_root;
  char *prefix;           /* "" or "a/b": the destination inside the root */
  int whiteouts;          /* OCI whiteouts become overlay whiteouts (image layers) */
  int no_overwrite;
  int chown;
  uid_t uid;
  gid_t gid;
};

int
tn_extract_open (struct tn_extract **out, const char *dest, struct tn_error **err)
{
  if (tn_mkdir_p (dest, 0755, err) < 0)
    return -1;
  struct tn_extract *x = calloc (1, sizeof *x);
  if (x == NULL)
    return tn_error_sys (err, ENOMEM, "allocate");
  x->root = open (dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (x->root < 0)
    {
      int saved = errno;
      free (x);
      return tn_error_sys (err, saved, "open destination `%s`", dest);
    }
  x->privileged = geteuid () == 0;
  x->cache_fd = -1;
  x->whiteouts = 1;
  *out = x;
  return 0;
}

int
tn_extract_open_root (struct tn_extract **out, int rootfd, const struct tn_extract_opts *opts, struct tn_error **err)
{
  struct tn_extract *x = calloc (1, sizeof *x);
  if (x == NULL)
    return tn_error_sys (err, ENOMEM, "allocate");
  x->root = fcntl (rootfd, F_DUPFD_CLOEXEC, 0);
  x->prefix = strdup (opts->prefix ? opts->prefix : "");
  if (x->root < 0 || x->prefix == NULL)
    {
      int saved = x->root < 0 ? errno : ENOMEM;
      if (x->root >= 0)
        close (x->root);
      free (x->prefix);
      free (x);
      return tn_error_sys (err, saved, "open the destination");
    }
  x->privileged = geteuid () == 0;
  x->cache_fd = -1;
  x->in_root = opts->in_root;
  x->no_overwrite = opts->no_overwrite_dir_nondir;
  x->chown = opts->chown;
  x->uid = (uid_t) opts->uid;
  x->gid = (gid_t) opts->gid;
  *out = x;
  return 0;
}

void
tn_extract_free (struct tn_extract *x)
{
  if (x == NULL)
    return;
  close (x->root);
  if (x->cache_fd >= 0)
    close (x->cache_fd);
  free (x->cache_dir);
  for (size_t i = 0; i < x->ndirs; i++)
    free (x->dirs[i].path);
  free (x->dirs);
  free (x->prefix);
  free (x);
}

uint64_t
tn_extract_bytes (struct tn_extract *x)
{
  return x->bytes;
}

/* Lexically normalises an archive path: drops "." and empty components, resolves "..", and
 * refuses absolute names and any ".." that would climb above the root. "" is the root itself. */
static int
clean_path (const char *what, const char *in, char **out, struct tn_error **err)
{
  if (in[0] == '/')
    return tn_error_new (err, "%s `%s` is an absolute path: refusing to write outside the destination", what, in);
  size_t len = strlen (in);
  char *buf = malloc (len + 1);
  if (buf == NULL)
    return tn_error_sys (err, ENOMEM, "clean path");
  size_t used = 0;
  const char *p = in;
  while (*p)
    {
      const char *end = strchr (p, '/');
      size_t n = end ? (size_t) (end - p) : strlen (p);
      if (n == 0 || (n == 1 && p[0] == '.'))
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (used == 0)
            {
              free (buf);
              return tn_error_new (err, "%s `%s` climbs out of the destination with `..`", what, in);
            }
          while (used > 0 && buf[used - 1] != '/')
            used--;
          if (used > 0)
            used--; /* the slash */
        }
      else
        {
          if (used > 0)
            buf[used++] = '/';
          memcpy (buf + used, p, n);
          used += n;
        }
      p += n;
      if (*p == '/')
        p++;
    }
  buf[used] = '\0';
  *out = buf;
  return 0;
}

/* Opens a directory of the destination (O_PATH). In-root resolution without symlinks first;
 * a path that goes through a symlink is resolved again beneath the root, which fails when the
 * symlink leads outside: that is an escape attempt, refused. */
static int
open_dir (struct tn_extract *x, const char *dir, const char *entry, struct tn_error **err)
{
  const char *path = dir[0] ? dir : ".";
  if (x->in_root)
    return tn_openat2 (x->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  int fd = tn_openat2 (x->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
  if (fd >= 0 || errno != ELOOP)
    return fd;
  fd = tn_openat2 (x->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && errno == EXDEV)
    {
      tn_error_new (err, "entry `%s` goes through a symlink that leads outside the destination", entry);
      errno = EXDEV;
      return -1;
    }
  if (fd < 0)
    return -1;
  close (fd);
  return tn_openat2 (x->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Resolves the parent directory of a cleaned path, creating missing directories (0755, as tar
 * does) when `create`. Sets *base to the last component. */
static int
open_parent (struct tn_extract *x, char *path, int create, const char **base, struct tn_error **err)
{
  char *slash = strrchr (path, '/');
  *base = slash ? slash + 1 : path;
  if (slash == NULL)
    {
      int fd = open_dir (x, "", path, err);
      if (fd < 0 && (err == NULL || *err == NULL))
        tn_error_sys (err, errno, "open the destination");
      return fd;
    }
  *slash = '\0';
  int fd = open_dir (x, path, path, err);
  if (fd < 0 && errno == ENOENT && create)
    {
      /* Create each missing component, resolving every prefix from the root again. */
      for (char *p = path;; p++)
        {
          if (*p != '/' && *p != '\0')
            continue;
          char saved = *p;
          *p = '\0';
          cleanup_close int exists = open_dir (x, path, path, err);
          if (exists < 0)
            {
              if (errno != ENOENT)
                {
                  *p = saved;
                  break;
                }
              char *cut = strrchr (path, '/');
              const char *comp = cut ? cut + 1 : path;
              if (cut)
                *cut = '\0';
              cleanup_close int parent = open_dir (x, cut ? path : "", path, err);
              if (cut)
                *cut = '/';
              if (parent < 0 || (mkdirat (parent, comp, 0755) < 0 && errno != EEXIST))
                {
                  *p = saved;
                  break;
                }
            }
          *p = saved;
          if (saved == '\0')
            break;
        }
      if (err == NULL || *err == NULL)
        fd = open_dir (x, path, path, err);
    }
  if (fd < 0 && (err == NULL || *err == NULL))
    tn_error_sys (err, errno, "open directory `%s`", path);
  *slash = '/';
  return fd;
}

/* Removes what is at parent/name, recursively for a directory; never follows symlinks. */
static int
remove_at (int parent, const char *name, struct tn_error **err)
{
  if (unlinkat (parent, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return tn_error_sys (err, errno, "remove `%s`", name);
  if (unlinkat (parent, name, AT_REMOVEDIR) == 0)
    return 0;
  if (errno != ENOTEMPTY && errno != EEXIST)
    return tn_error_sys (err, errno, "remove directory `%s`", name);
  int dfd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return tn_error_sys (err, errno, "open directory `%s`", name);
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return tn_error_sys (err, errno, "read directory `%s`", name);
    }
  struct dirent *de;
  int rc = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (remove_at (dirfd (d), de->d_name, err) < 0)
        {
          rc = -1;
          break;
        }
    }
  closedir (d);
  if (rc == 0 && unlinkat (parent, name, AT_REMOVEDIR) < 0)
    return tn_error_sys (err, errno, "remove directory `%s`", name);
  return rc;
}

/* Replaces whatever is at parent/name, except a directory when a directory comes again. */
static int
make_room (int parent, const char *name, int keep_dir, struct tn_error **err)
{
  struct stat st;
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : tn_error_sys (err, errno, "stat `%s`", name);
  if (keep_dir && S_ISDIR (st.st_mode))
    return 1;
  return remove_at (parent, name, err);
}

static int
set_xattrs_fd (int fd, const char *path, struct tn_tar_entry *e, struct tn_error **err)
{
  for (int i = 0; i < e->nxattrs; i++)
    {
      struct tn_xattr *a = &e->xattrs[i];
      int rc;
      if (fd >= 0)
        rc = fsetxattr (fd, a->name, a->value, a->len, 0);
      else
        rc = lsetxattr (path, a->name, a->value, a->len, 0);
      if (rc < 0 && errno != EOPNOTSUPP)
        return tn_error_sys (err, errno, "entry `%s`: set extended attribute `%s`", e->path, a->name);
    }
  return 0;
}

/* The owner an entry gets: the archive's, or the one the caller imposes. */
static uid_t
owner_uid (struct tn_extract *x, struct tn_tar_entry *e)
{
  return x->chown ? x->uid : e->uid;
}

static gid_t
owner_gid (struct tn_extract *x, struct tn_tar_entry *e)
{
  return x->chown ? x->gid : e->gid;
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown clears security.capability). */
static int
apply_meta_fd (struct tn_extract *x, int fd, struct tn_tar_entry *e, struct tn_error **err)
{
  if (x->privileged && fchown (fd, owner_uid (x, e), owner_gid (x, e)) < 0)
    return tn_error_sys (err, errno, "entry `%s`: chown %u:%u", e->path, owner_uid (x, e), owner_gid (x, e));
  if (fchmod (fd, e->mode) < 0)
    return tn_error_sys (err, errno, "entry `%s`: chmod %o", e->path, e->mode);
  return set_xattrs_fd (fd, NULL, e, err);
}

/* For entries that cannot be opened (symlinks, devices, fifos): by name in their parent. */
static int
apply_meta_at (struct tn_extract *x, int parent, const char *name, struct tn_tar_entry *e, int chmod_too,
               struct tn_error **err)
{
  if (x->privileged && fchownat (parent, name, owner_uid (x, e), owner_gid (x, e), AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "entry `%s`: chown %u:%u", e->path, owner_uid (x, e), owner_gid (x, e));
  /* Never through a symlink: a node swapped for one meanwhile must not redirect the chmod. */
  if (chmod_too && fchmodat (parent, name, e->mode, AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "entry `%s`: chmod %o", e->path, e->mode);
  if (e->nxattrs > 0)
    {
      char procpath[64 + 4096];
      snprintf (procpath, sizeof procpath, "/proc/self/fd/%d/%s", parent, name);
      if (set_xattrs_fd (-1, procpath, e, err) < 0)
        return -1;
    }
  struct timespec ts[2] = { e->mtime, e->mtime };
  if (utimensat (parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "entry `%s`: set times", e->path);
  return 0;
}

static int
write_data (struct tn_extract *x, struct tn_tar *t, int fd, struct tn_tar_entry *e, struct tn_error **err)
{
  int64_t left = e->size;
  while (left > 0)
    {
      const uint8_t *p;
      long n = tn_input_peek (t->in, &p, (size_t) left, err);
      if (n < 0)
        return tn_error_wrap (err, "entry `%s`", e->path);
      if (n == 0)
        return tn_error_new (err, "entry `%s`: unexpected end of archive (truncated tar)", e->path);
      if (tn_write_all (fd, p, (size_t) n) < 0)
        return tn_error_sys (err, errno, "entry `%s`: write", e->path);
      tn_input_consume (t->in, (size_t) n);
      left -= n;
      t->left -= n;
    }
  x->bytes += (uint64_t) e->size;
  return 0;
}

static int
remember_dir (struct tn_extract *x, const char *path, struct timespec mtime, struct tn_error **err)
{
  if (x->ndirs == x->capdirs)
    {
      size_t cap = x->capdirs ? x->capdirs * 2 : 64;
      struct dir_time *bigger = realloc (x->dirs, cap * sizeof *bigger);
      if (bigger == NULL)
        return tn_error_sys (err, ENOMEM, "remember directory times");
      x->dirs = bigger;
      x->capdirs = cap;
    }
  x->dirs[x->ndirs].path = strdup (path);
  x->dirs[x->ndirs].mtime = mtime;
  if (x->dirs[x->ndirs].path == NULL)
    return tn_error_sys (err, ENOMEM, "remember directory times");
  x->ndirs++;
  return 0;
}

static int
whiteout (struct tn_extract *x, int parent, const char *base, struct tn_tar_entry *e, struct tn_error **err)
{
  if (strcmp (base, OPAQUE_MARKER) == 0)
    {
      /* The directory hides everything below it in the lower layers. */
      char procpath[64];
      snprintf (procpath, sizeof procpath, "/proc/self/fd/%d", parent);
      if (setxattr (procpath, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
        return tn_error_sys (err, errno, "entry `%s`: mark the directory opaque", e->path);
      return 0;
    }
  if (strncmp (base, WHITEOUT_PREFIX WHITEOUT_PREFIX, 8) == 0)
    return 0; /* other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): nothing to apply */
  const char *name = base + strlen (WHITEOUT_PREFIX);
  if (name[0] == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return tn_error_new (err, "whiteout `%s` names a path outside its directory", e->path);
  if (make_room (parent, name, 0, err) < 0)
    return -1;
  if (mknodat (parent, name, S_IFCHR | 0, makedev (0, 0)) < 0)
    return tn_error_sys (err, errno, "entry `%s`: make the whiteout for `%s`", e->path, name);
  if (x->privileged && fchownat (parent, name, owner_uid (x, e), owner_gid (x, e), AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "entry `%s`: chown", e->path);
  return 0;
}

/* With no_overwrite (docker cp's noOverwriteDirNonDir): a directory is not replaced by a
 * non-directory, nor the other way round. Docker's wording, with paths inside the root. */
static int
check_overwrite (struct tn_extract *x, int parent, const char *base, const char *path, int is_dir, struct tn_error **err)
{
  struct stat st;
  if (!x->no_overwrite || fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (S_ISDIR (st.st_mode) && !is_dir)
    return tn_error_new (err, "cannot overwrite directory \"/%s\" with non-directory \"/%s\"", path, x->prefix);
  if (!S_ISDIR (st.st_mode) && is_dir)
    return tn_error_new (err, "cannot overwrite non-directory \"/%s\" with directory \"/%s\"", path, x->prefix);
  return 0;
}

/* In docker cp mode an archive's names are relative to the destination inside the root: a
 * leading "/" is dropped (Docker joins the name to the destination), `..` may not climb above it. */
static int
dest_path (struct tn_extract *x, const char *name, char **out, struct tn_error **err)
{
  const char *rel = name;
  while (*rel == '/')
    rel++;
  cleanup_free char *clean = NULL;
  if (clean_path ("entry", rel, &clean, NULL) < 0)
    return tn_error_new (err, "\"%s\" is outside of \"/%s\"", name, x->prefix);
  if (x->prefix[0] == '\0' || clean[0] == '\0')
    *out = strdup (clean[0] ? clean : x->prefix);
  else if (asprintf (out, "%s/%s", x->prefix, clean) < 0)
    *out = NULL;
  return *out ? 0 : tn_error_sys (err, ENOMEM, "entry `%s`", name);
}

static int
hardlink (struct tn_extract *x, int parent, const char *base, struct tn_tar_entry *e, struct tn_error **err)
{
  cleanup_free char *target = NULL;
  if (x->in_root)
    {
      if (dest_path (x, e->linkpath, &target, NULL) < 0)
        return tn_error_new (err, "invalid hardlink \"%s\" -> \"%s\"", e->path, e->linkpath);
    }
  else if (clean_path ("hardlink target", e->linkpath, &target, err) < 0)
    return tn_error_wrap (err, "entry `%s`", e->path);
  if (target[0] == '\0')
    return tn_error_new (err, "entry `%s`: a hardlink to the destination's root", e->path);
  const char *tbase;
  cleanup_close int tparent = open_parent (x, target, 0, &tbase, err);
  if (tparent < 0)
    return tn_error_wrap (err, "entry `%s`: hardlink target `%s`", e->path, e->linkpath);
  struct stat tst, st;
  if (fstatat (tparent, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0)
    return tn_error_sys (err, errno, "entry `%s`: hardlink target `%s`", e->path, e->linkpath);
  if (S_ISDIR (tst.st_mode))
    return tn_error_new (err, "entry `%s`: hardlink to a directory `%s`", e->path, e->linkpath);
  if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
    return 0;
  if (make_room (parent, base, 0, err) < 0)
    return -1;
  /* No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself, as tar does. */
  if (linkat (tparent, tbase, parent, base, 0) < 0)
    return tn_error_sys (err, errno, "entry `%s`: hardlink to `%s`", e->path, e->linkpath);
  return 0;
}

static void
forget_parent (struct tn_extract *x)
{
  if (x->cache_fd >= 0)
    close (x->cache_fd);
  x->cache_fd = -1;
  free (x->cache_dir);
  x->cache_dir = NULL;
}

/* The parent of a regular file's path: the cached descriptor when it is the same directory. The
 * descriptor is borrowed: the cache owns it. */
static int
file_parent (struct tn_extract *x, char *path, const char **base, struct tn_error **err)
{
  char *slash = strrchr (path, '/');
  size_t len = slash ? (size_t) (slash - path) : 0;
  *base = slash ? slash + 1 : path;
  if (x->cache_fd >= 0 && x->cache_len == len && memcmp (x->cache_dir, path, len) == 0)
    return x->cache_fd;
  forget_parent (x);
  const char *b;
  int fd = open_parent (x, path, 1, &b, err);
  if (fd < 0)
    return -1;
  x->cache_dir = strndup (path, len);
  if (x->cache_dir == NULL)
    {
      close (fd);
      return tn_error_sys (err, ENOMEM, "cache directory");
    }
  x->cache_len = len;
  x->cache_fd = fd;
  return fd;
}

static int
regular_file (struct tn_extract *x, struct tn_tar *t, struct tn_tar_entry *e, char *path, struct tn_error **err)
{
  const char *base;
  int parent = file_parent (x, path, &base, err);
  if (parent < 0)
    return -1;
  if (check_overwrite (x, parent, base, path, 0, err) < 0)
    return -1;
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  cleanup_close int fd = openat (parent, base, flags, 0600);
  if (fd < 0 && errno == EEXIST)
    {
      /* Something is there already (a later entry replaces an earlier one): remove it, and
       * resolve directories again from now on. */
      if (make_room (parent, base, 0, err) < 0)
        return -1;
      fd = openat (parent, base, flags, 0600);
      forget_parent (x);
    }
  if (fd < 0)
    return tn_error_sys (err, errno, "entry `%s`: create", e->path);
  if (write_data (x, t, fd, e, err) < 0 || apply_meta_fd (x, fd, e, err) < 0)
    return -1;
  struct timespec ts[2] = { e->mtime, e->mtime };
  if (futimens (fd, ts) < 0)
    return tn_error_sys (err, errno, "entry `%s`: set times", e->path);
  return 0;
}

int
tn_extract_entry (struct tn_extract *x, struct tn_tar *t, struct tn_tar_entry *e, struct tn_error **err)
{
  cleanup_free char *path = NULL;
  if (x->in_root)
    {
      cleanup_free char *clean = NULL;
      const char *rel = e->path;
      while (*rel == '/')
        rel++;
      /* The archive's "." is the destination itself: left as it is, as Docker does. */
      if (clean_path ("entry", rel, &clean, NULL) == 0 && clean[0] == '\0')
        return 0;
      if (dest_path (x, e->path, &path, err) < 0)
        return -1;
    }
  else if (clean_path ("entry", e->path, &path, err) < 0)
    return -1;

  const char *last = strrchr (path, '/');
  last = last ? last + 1 : path;
  int whiteout_name = x->whiteouts && strncmp (last, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0;
  if (e->type == TN_TAR_FILE && path[0] != '\0' && !whiteout_name)
    return regular_file (x, t, e, path, err);
  forget_parent (x);

  if (path[0] == '\0')
    {
      /* "./": the layer's root directory itself. */
      if (e->type != TN_TAR_DIR)
        return tn_error_new (err, "entry `%s` would replace the destination's root", e->path);
      cleanup_close int fd = tn_openat2 (x->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT);
      if (fd < 0)
        return tn_error_sys (err, errno, "open the destination");
      if (apply_meta_fd (x, fd, e, err) < 0)
        return -1;
      return remember_dir (x, "", e->mtime, err);
    }

  const char *base;
  cleanup_close int parent = open_parent (x, path, 1, &base, err);
  if (parent < 0)
    return -1;

  if (whiteout_name)
    return whiteout (x, parent, base, e, err);
  if (check_overwrite (x, parent, base, path, e->type == TN_TAR_DIR, err) < 0)
    return -1;

  switch (e->type)
    {
    case TN_TAR_FILE:
      return regular_file (x, t, e, path, err);
    case TN_TAR_DIR:
      {
        int kept = make_room (parent, base, 1, err);
        if (kept < 0)
          return -1;
        if (!kept && mkdirat (parent, base, 0700) < 0)
          return tn_error_sys (err, errno, "entry `%s`: mkdir", e->path);
        cleanup_close int fd = openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return tn_error_sys (err, errno, "entry `%s`: open directory", e->path);
        if (apply_meta_fd (x, fd, e, err) < 0)
          return -1;
        return remember_dir (x, path, e->mtime, err);
      }
    case TN_TAR_SYMLINK:
      if (make_room (parent, base, 0, err) < 0)
        return -1;
      /* The link's text is stored as is: it is only ever followed in-root, by us or inside the
       * container's mount namespace. */
      if (symlinkat (e->linkpath, parent, base) < 0)
        return tn_error_sys (err, errno, "entry `%s`: symlink", e->path);
      return apply_meta_at (x, parent, base, e, 0, err);
    case TN_TAR_HARDLINK:
      return hardlink (x, parent, base, e, err);
    case TN_TAR_CHAR:
    case TN_TAR_BLOCK:
    case TN_TAR_FIFO:
      {
        mode_t kind = e->type == TN_TAR_CHAR ? S_IFCHR : e->type == TN_TAR_BLOCK ? S_IFBLK : S_IFIFO;
        if (make_room (parent, base, 0, err) < 0)
          return -1;
        if (mknodat (parent, base, kind | (e->mode & 0777), makedev (e->devmajor, e->devminor)) < 0)
          return tn_error_sys (err, errno, "entry `%s`: mknod", e->path);
        return apply_meta_at (x, parent, base, e, 1, err);
      }
    }
  return tn_error_new (err, "entry `%s`: unknown type", e->path);
}

int
tn_extract_stream (struct tn_extract *x, struct tn_input *in, struct tn_error **err)
{
  struct tn_tar t = { .in = in };
  struct tn_tar_entry e = { 0 };
  int rc = -1;
  for (;;)
    {
      int r = tn_tar_next (&t, &e, err);
      if (r < 0)
        goto out;
      if (r == 0)
        break;
      if (tn_extract_entry (x, &t, &e, err) < 0)
        goto out;
    }
  rc = tn_input_drain (in, err) < 0 ? -1 : tn_extract_finish (x, err);
out:
  tn_tar_entry_clear (&e);
  return rc;
}

int
tn_extract_finish (struct tn_extract *x, struct tn_error **err)
{
  for (size_t i = x->ndirs; i-- > 0;)
    {
      struct dir_time *d = &x->dirs[i];
      struct timespec ts[2] = { d->mtime, d->mtime };
      if (d->path[0] == '\0')
        {
          char procpath[64];
          snprintf (procpath, sizeof procpath, "/proc/self/fd/%d", x->root);
          if (utimensat (AT_FDCWD, procpath, ts, 0) < 0)
            return tn_error_sys (err, errno, "set the times of the destination");
          continue;
        }
      const char *base;
      cleanup_close int parent = open_parent (x, d->path, 0, &base, err);
      if (parent < 0)
        {
          /* Removed by a later entry (replaced by a file, or whited out): nothing to set. */
          if (errno == ENOENT || errno == ENOTDIR)
            {
              tn_error_free (err);
              continue;
            }
          return -1;
        }
      struct stat st;
      if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
        continue;
      if (utimensat (parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return tn_error_sys (err, errno, "directory `%s`: set times", d->path);
    }
  return 0;
}

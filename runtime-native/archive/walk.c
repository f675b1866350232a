#include "walk.h"
#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <unistd.h>

#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define CAPABILITY_XATTR "security.capability"
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"
#define COPY_CHUNK (256 * 1024)
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

struct seen {
  dev_t dev;
  ino_t ino;
  char *name;
};

void
walk_init (struct walk *k, struct tarw *w, const struct walk_opts *opts)
{
  memset (k, 0, sizeof *k);
  k->w = w;
  k->opts = opts;
}

void
walk_free (struct walk *k)
{
  for (size_t i = 0; i < k->nseen; i++)
    free (k->seen[i].name);
  free (k->seen);
}

static bool
is_pseudo_fs (int fd)
{
  struct statfs sf;
  if (fstatfs (fd, &sf) < 0)
    return false;
  switch ((unsigned long) sf.f_type)
    {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case MQUEUE_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
      return true;
    default:
      return false;
    }
}

static bool
elided (struct walk *k, const char *rel)
{
  if (k->opts->elided == NULL)
    return false;
  for (char **p = k->opts->elided; *p; p++)
    if (strcmp (*p, rel) == 0)
      return true;
  return false;
}

static const char *
seen_name (struct walk *k, const struct stat *st)
{
  for (size_t i = 0; i < k->nseen; i++)
    if (k->seen[i].dev == st->st_dev && k->seen[i].ino == st->st_ino)
      return k->seen[i].name;
  return NULL;
}

static int
remember (struct walk *k, const struct stat *st, const char *name, struct tn_error **err)
{
  if (k->nseen == k->capseen)
    {
      size_t cap = k->capseen ? k->capseen * 2 : 32;
      struct seen *bigger = realloc (k->seen, cap * sizeof *bigger);
      if (bigger == NULL)
        return tn_error_sys (err, ENOMEM, "remember hardlinks");
      k->seen = bigger;
      k->capseen = cap;
    }
  k->seen[k->nseen].dev = st->st_dev;
  k->seen[k->nseen].ino = st->st_ino;
  k->seen[k->nseen].name = strdup (name);
  if (k->seen[k->nseen].name == NULL)
    return tn_error_sys (err, ENOMEM, "remember hardlinks");
  k->nseen++;
  return 0;
}

static void
fill_header (struct tarw_hdr *h, const char *tarname, const struct stat *st)
{
  memset (h, 0, sizeof *h);
  h->name = tarname;
  h->mode = st->st_mode & 07777;
  h->uid = st->st_uid;
  h->gid = st->st_gid;
  h->mtime = st->st_mtim.tv_sec;
}

/* Streams exactly `size` bytes of fd: a file that shrank meanwhile is padded with zeros, one that
 * grew is cut, so the archive stays well-formed. */
static int
copy_data (struct walk *k, int fd, int64_t size, const char *tarname, struct tn_error **err)
{
  static uint8_t buf[COPY_CHUNK];
  int64_t left = size;
  while (left > 0)
    {
      size_t want = left > COPY_CHUNK ? COPY_CHUNK : (size_t) left;
      ssize_t n = read (fd, buf, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return tn_error_sys (err, errno, "read `%s`", tarname);
      if (n == 0)
        {
          memset (buf, 0, want);
          n = (ssize_t) want;
        }
      if (tarw_data (k->w, buf, (size_t) n, err) < 0)
        return -1;
      left -= n;
    }
  return tarw_pad (k->w, size, err);
}

static int
regular (struct walk *k, int parent, const char *name, const char *tarname, const struct stat *st,
         struct tn_error **err)
{
  struct tarw_hdr h;
  fill_header (&h, tarname, st);
  if (st->st_nlink > 1)
    {
      const char *first = seen_name (k, st);
      if (first)
        {
          h.type = '1';
          h.linkname = first;
          return tarw_header (k->w, &h, err);
        }
    }
  cleanup_close int fd = openat (parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      /* Gone (or replaced by something unreadable) since it was listed: as if it never was. */
      if (errno == ENOENT || errno == ELOOP || errno == ENXIO)
        return 0;
      return tn_error_sys (err, errno, "open `%s`", tarname);
    }
  struct stat now;
  if (fstat (fd, &now) < 0)
    return tn_error_sys (err, errno, "stat `%s`", tarname);
  if (!S_ISREG (now.st_mode) || now.st_ino != st->st_ino || now.st_dev != st->st_dev)
    return 0;
  h.type = '0';
  h.size = now.st_size;
  char cap[256];
  ssize_t caplen = fgetxattr (fd, CAPABILITY_XATTR, cap, sizeof cap);
  if (caplen > 0)
    {
      h.xattrs[0] = (struct tarw_xattr) { CAPABILITY_XATTR, cap, (size_t) caplen };
      h.nxattrs = 1;
    }
  if (st->st_nlink > 1 && remember (k, st, tarname, err) < 0)
    return -1;
  if (tarw_header (k->w, &h, err) < 0)
    return -1;
  return copy_data (k, fd, now.st_size, tarname, err);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
walk_children (struct walk *k, int dirfd, const char *tarprefix, const char *rel, struct tn_error **err)
{
  int dup_fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return tn_error_sys (err, errno, "read directory `%s`", tarprefix);
  DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return tn_error_sys (err, errno, "read directory `%s`", tarprefix);
    }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n == cap)
        {
          cap = cap ? cap * 2 : 64;
          char **bigger = realloc (names, cap * sizeof *bigger);
          if (bigger == NULL)
            {
              rc = tn_error_sys (err, ENOMEM, "read directory `%s`", tarprefix);
              break;
            }
          names = bigger;
        }
      if ((names[n] = strdup (de->d_name)) == NULL)
        {
          rc = tn_error_sys (err, ENOMEM, "read directory `%s`", tarprefix);
          break;
        }
      n++;
    }
  closedir (d);
  if (rc == 0)
    qsort (names, n, sizeof *names, cmp_names);
  for (size_t i = 0; rc == 0 && i < n; i++)
    {
      cleanup_free char *child_tar = NULL;
      cleanup_free char *child_rel = NULL;
      if (asprintf (&child_tar, "%s%s%s", tarprefix, tarprefix[0] ? "/" : "", names[i]) < 0
          || asprintf (&child_rel, "%s/%s", rel, names[i]) < 0)
        rc = tn_error_sys (err, ENOMEM, "walk `%s`", tarprefix);
      else
        rc = walk_entry (k, dirfd, names[i], child_tar, child_rel, err);
    }
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return rc;
}

int
walk_entry (struct walk *k, int parent, const char *name, const char *tarname, const char *rel,
            struct tn_error **err)
{
  if (rel[0] && elided (k, rel))
    return 0;
  struct stat st;
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return tn_error_sys (err, errno, "stat `%s`", tarname);
    }
  struct tarw_hdr h;
  fill_header (&h, tarname, &st);
  if (S_ISREG (st.st_mode))
    return regular (k, parent, name, tarname, &st, err);
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (parent, name, target, PATH_MAX);
      if (n < 0)
        return errno == ENOENT || errno == EINVAL ? 0 : tn_error_sys (err, errno, "read link `%s`", tarname);
      target[n] = '\0';
      h.type = '2';
      h.linkname = target;
      return tarw_header (k->w, &h, err);
    }
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISFIFO (st.st_mode))
    {
      if (k->opts->overlay_whiteouts && S_ISCHR (st.st_mode) && major (st.st_rdev) == 0 && minor (st.st_rdev) == 0)
        {
          /* An overlay whiteout: the OCI form is an empty `.wh.<name>` file (mode 0600, as Docker). */
          cleanup_free char *wh = NULL;
          const char *slash = strrchr (tarname, '/');
          int dirlen = slash ? (int) (slash - tarname + 1) : 0;
          if (asprintf (&wh, "%.*s" WHITEOUT_PREFIX "%s", dirlen, tarname, slash ? slash + 1 : tarname) < 0)
            return tn_error_sys (err, ENOMEM, "whiteout `%s`", tarname);
          h.name = wh;
          h.type = '0';
          h.mode = 0600;
          h.size = 0;
          return tarw_header (k->w, &h, err);
        }
      h.type = S_ISCHR (st.st_mode) ? '3' : S_ISBLK (st.st_mode) ? '4' : '6';
      h.devmajor = major (st.st_rdev);
      h.devminor = minor (st.st_rdev);
      return tarw_header (k->w, &h, err);
    }
  if (!S_ISDIR (st.st_mode))
    return 0; /* sockets: tar has no form for them (Docker leaves them out too) */

  cleanup_free char *dirname = NULL;
  if (asprintf (&dirname, "%s/", tarname) < 0)
    return tn_error_sys (err, ENOMEM, "walk `%s`", tarname);
  h.type = '5';
  h.name = dirname;
  cleanup_close int dfd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    {
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
        return 0;
      return tn_error_sys (err, errno, "open directory `%s`", tarname);
    }
  bool opaque = false;
  if (k->opts->overlay_whiteouts)
    {
      char v[4];
      ssize_t n = fgetxattr (dfd, OVERLAY_OPAQUE_XATTR, v, sizeof v);
      opaque = n == 1 && v[0] == 'y';
    }
  if (tarw_header (k->w, &h, err) < 0)
    return -1;
  if (opaque)
    {
      cleanup_free char *marker = NULL;
      if (asprintf (&marker, "%s/" OPAQUE_MARKER, tarname) < 0)
        return tn_error_sys (err, ENOMEM, "walk `%s`", tarname);
      struct tarw_hdr o;
      fill_header (&o, marker, &st);
      o.type = '0';
      o.mode = st.st_mode & 0777;
      if (tarw_header (k->w, &o, err) < 0)
        return -1;
    }
  if (k->opts->skip_pseudo && is_pseudo_fs (dfd))
    return 0;
  return walk_children (k, dfd, tarname, rel, err);
}

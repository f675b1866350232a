/* Compiled seccomp filters, cached by what they were compiled from.
 *
 * libseccomp takes ~12 ms to compile Docker's default profile (2.5.x, 2 cores) — more than the
 * rest of `create` together — while nearly every container asks for the very same filter. So the
 * BPF program is kept in <root>/seccomp/<sha256>.bpf, keyed by the SHA-256 of everything that
 * decides it: the linux.seccomp section as the configuration writes it (a canonical hash of its
 * JSON, so a hit needs no parsing at all), the libseccomp version and this runtime's build.
 * Loading a cached program is a read of a few KiB.
 *
 * The directory is the runtime root's (root's own, 0700); a file is trusted only when it is a
 * regular file owned by us, of a sane size, with our header. It is written to a temporary name and
 * renamed, so a concurrent `create` sees a whole file or none. A cache that cannot be read or
 * written is not an error: the filter is compiled as before. */
#include "seccomp_cache.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "json.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_DIR "seccomp"
#define CACHE_MAGIC "TNSECCOMP1"
/* Past this many entries (custom profiles) the directory is emptied before a new one is written. */
#define CACHE_MAX_ENTRIES 256

struct header
{
  char magic[10];
  unsigned short len;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* */
};

static void
feed (struct tn_sha256 *h, const void *p, size_t n)
{
  tn_sha256_update (h, p, n);
}

static void
feed_u64 (struct tn_sha256 *h, uint64_t v)
{
  feed (h, &v, sizeof v);
}

static void
feed_str (struct tn_sha256 *h, const char *s)
{
  size_t n = s ? strlen (s) : 0;
  feed_u64 (h, n);
  if (n)
    feed (h, s, n);
}

/* The program in dirfd/name with the flags its header keeps; false when there is none or it is
 * not a whole file of ours. */
static bool
prog_read (int dirfd, const char *name, struct tn_seccomp_prog *out)
{
  cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st;
  struct header hd;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    return false;
  if (st.st_size < (off_t) sizeof hd || st.st_size > (off_t) (sizeof hd + BPF_MAXINSNS * sizeof (struct sock_filter)))
    return false;
  if (pread (fd, &hd, sizeof hd, 0) != (ssize_t) sizeof hd || memcmp (hd.magic, CACHE_MAGIC, sizeof hd.magic) != 0 || hd.len == 0
      || hd.len > BPF_MAXINSNS || (off_t) (sizeof hd + hd.len * sizeof (struct sock_filter)) != st.st_size)
    return false;
  size_t bytes = hd.len * sizeof (struct sock_filter);
  void *filter = malloc (bytes);
  if (filter == NULL)
    return false;
  if (pread (fd, filter, bytes, sizeof hd) != (ssize_t) bytes)
    {
      free (filter);
      return false;
    }
  out->filter = filter;
  out->len = hd.len;
  out->flags = hd.flags;
  return true;
}

/* Writes the program and its flags to dirfd/name through a temporary name, so that a reader sees a
 * whole file or none. */
static int
prog_write (int dirfd, const char *name, const struct tn_seccomp_prog *p)
{
  char tmp[128];
  snprintf (tmp, sizeof tmp, ".%s.%d", name, (int) getpid ());
  cleanup_close int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  struct header hd;
  memset (&hd, 0, sizeof hd);
  memcpy (hd.magic, CACHE_MAGIC, sizeof hd.magic);
  hd.len = p->len;
  hd.flags = p->flags;
  size_t bytes = p->len * sizeof (struct sock_filter);
  if (tn_write_all (fd, &hd, sizeof hd) < 0 || tn_write_all (fd, p->filter, bytes) < 0 || renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      errno = saved;
      return -1;
    }
  return 0;
}

static void
cache_prune (int dirfd)
{
  cleanup_close int fd = dup (dirfd);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    return;
  fd = -1; /* owned by d now */
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  if (n >= CACHE_MAX_ENTRIES)
    {
      rewinddir (d);
      while ((e = readdir (d)) != NULL)
        if (e->d_name[0] != '.')
          unlinkat (dirfd, e->d_name, 0);
    }
  closedir (d);
}

/* <root>/seccomp, made when missing; -1 when there is no root or it cannot be used (no cache). */
static int
cache_dir (const char *root)
{
  cleanup_close int rootfd = root ? open (root, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (rootfd < 0)
    return -1;
  int dirfd = openat (rootfd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0 && errno == ENOENT && mkdirat (rootfd, CACHE_DIR, 0700) == 0)
    dirfd = openat (rootfd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return dirfd;
}

/* The JSON value, canonically: its type, then its content (an object's members in order). */
static void
feed_json (struct tn_sha256 *h, const struct tn_json *v)
{
  feed_u64 (h, v->type);
  switch (v->type)
    {
    case TN_JSON_BOOL: feed_u64 (h, v->boolean); break;
    case TN_JSON_NUMBER: feed_str (h, v->text); break;
    case TN_JSON_STRING:
      feed_u64 (h, v->len);
      feed (h, v->text, v->len);
      break;
    case TN_JSON_ARRAY:
    case TN_JSON_OBJECT:
      feed_u64 (h, v->n);
      for (size_t i = 0; i < v->n; i++)
        {
          if (v->type == TN_JSON_OBJECT)
            feed_str (h, v->keys[i]);
          feed_json (h, v->items[i]);
        }
      break;
    case TN_JSON_NULL: break;
    }
}

int
tn_seccomp_compile_json (const char *root, const struct tn_json *section, const char *label, struct tn_seccomp_prog *out, struct tn_error **err)
{
  struct tn_sha256 h;
  tn_sha256_init (&h);
  feed_str (&h, CACHE_MAGIC);
  feed_str (&h, tn_seccomp_version ());
  feed_str (&h, tn_seccomp_build_tag ());
  feed_str (&h, tn_spec_build_tag ());
  feed_json (&h, section);
  uint8_t digest[32];
  char key[65], name[80];
  tn_sha256_final (&h, digest);
  tn_sha256_hex (digest, key);
  snprintf (name, sizeof name, "%s.bpf", key);
  cleanup_close int dirfd = cache_dir (root);
  /* the key covers the whole section, flags included: a hit is this very profile, compiled and
   * therefore valid before */
  if (dirfd >= 0 && prog_read (dirfd, name, out))
    {
      tn_log_debug ("linux.seccomp: compiled filter %s from the cache", key);
      return 0;
    }
  struct tn_seccomp *sc = NULL;
  int r = tn_seccomp_parse (section, &sc, err) < 0 ? -1 : tn_seccomp_compile (sc, out, err);
  tn_seccomp_free (sc);
  if (r < 0)
    return tn_error_wrap (err, "%s", label);
  if (dirfd >= 0)
    {
      cache_prune (dirfd);
      prog_write (dirfd, name, out);
    }
  return 0;
}

int
tn_seccomp_prog_save (const char *dir, const char *name, const struct tn_seccomp_prog *p, struct tn_error **err)
{
  cleanup_close int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0 || prog_write (dirfd, name, p) < 0)
    return tn_error_sys (err, errno, "`%s/%s`", dir, name);
  return 0;
}

int
tn_seccomp_prog_load (const char *dir, const char *name, struct tn_seccomp_prog *out, struct tn_error **err)
{
  cleanup_close int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return tn_error_sys (err, errno, "`%s`", dir);
  if (faccessat (dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : tn_error_sys (err, errno, "`%s/%s`", dir, name);
  if (!prog_read (dirfd, name, out))
    return tn_error_new (err, "`%s/%s`: not a seccomp program this runtime wrote", dir, name);
  return 1;
}

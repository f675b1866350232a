#include "tarw.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
/* Largest values the ustar numeric fields hold in octal: 11 digits for size and time, 7 for ids. */
#define USTAR_MAX_SIZE 077777777777LL
#define USTAR_MAX_ID 07777777

void
tarw_init (struct tarw *w, int fd)
{
  w->fd = fd;
  w->used = 0;
  w->written = 0;
}

int
tarw_flush (struct tarw *w, struct tn_error **err)
{
  if (w->used == 0)
    return 0;
  if (tn_write_all (w->fd, w->buf, w->used) < 0)
    return tn_error_sys (err, errno, "write the archive");
  w->written += w->used;
  w->used = 0;
  return 0;
}

int
tarw_data (struct tarw *w, const void *data, size_t len, struct tn_error **err)
{
  const uint8_t *p = data;
  while (len > 0)
    {
      if (w->used == sizeof w->buf && tarw_flush (w, err) < 0)
        return -1;
      size_t n = sizeof w->buf - w->used;
      if (n > len)
        n = len;
      memcpy (w->buf + w->used, p, n);
      w->used += n;
      p += n;
      len -= n;
    }
  return 0;
}

static int
zeros (struct tarw *w, size_t n, struct tn_error **err)
{
  static const uint8_t zero[BLOCK * 2];
  while (n > 0)
    {
      size_t k = n > sizeof zero ? sizeof zero : n;
      if (tarw_data (w, zero, k, err) < 0)
        return -1;
      n -= k;
    }
  return 0;
}

int
tarw_pad (struct tarw *w, int64_t size, struct tn_error **err)
{
  return zeros (w, (size_t) ((BLOCK - size % BLOCK) % BLOCK), err);
}

static void
octal (uint8_t *field, size_t width, uint64_t value)
{
  /* width includes the terminating NUL, as Go's writer lays numbers out. */
  char tmp[32];
  snprintf (tmp, sizeof tmp, "%0*llo", (int) (width - 1), (unsigned long long) value);
  memcpy (field, tmp, width - 1);
  field[width - 1] = '\0';
}

/* "<len> <key>=<value>\n", len counting the whole record including its own digits. */
static int
pax_record (char **buf, size_t *len, const char *key, const void *value, size_t vlen)
{
  size_t rest = 1 + strlen (key) + 1 + vlen + 1;
  size_t total = rest + 1;
  for (size_t digits = 1;; digits++)
    {
      total = rest + digits;
      char d[24];
      if ((size_t) snprintf (d, sizeof d, "%zu", total) == digits)
        break;
    }
  char *grown = realloc (*buf, *len + total);
  if (grown == NULL)
    return -1;
  int head = sprintf (grown + *len, "%zu %s=", total, key);
  memcpy (grown + *len + head, value, vlen);
  grown[*len + total - 1] = '\n';
  *buf = grown;
  *len += total;
  return 0;
}

static int
block (struct tarw *w, const char *name, const char *linkname, char type, mode_t mode, uid_t uid, gid_t gid,
       int64_t size, int64_t mtime, unsigned devmajor, unsigned devminor, struct tn_error **err)
{
  uint8_t b[BLOCK];
  memset (b, 0, sizeof b);
  strncpy ((char *) b, name, 100);
  octal (b + 100, 8, mode & 07777);
  octal (b + 108, 8, uid > USTAR_MAX_ID ? 0 : uid);
  octal (b + 116, 8, gid > USTAR_MAX_ID ? 0 : gid);
  octal (b + 124, 12, size > USTAR_MAX_SIZE ? 0 : (uint64_t) size);
  octal (b + 136, 12, mtime < 0 ? 0 : mtime > USTAR_MAX_SIZE ? USTAR_MAX_SIZE : (uint64_t) mtime);
  memset (b + 148, ' ', 8);
  b[156] = (uint8_t) type;
  if (linkname)
    strncpy ((char *) b + 157, linkname, 100);
  memcpy (b + 257, "ustar\0" "00", 8);
  if (type == '3' || type == '4')
    {
      octal (b + 329, 8, devmajor);
      octal (b + 337, 8, devminor);
    }
  unsigned sum = 0;
  for (int i = 0; i < BLOCK; i++)
    sum += b[i];
  octal (b + 148, 7, sum);
  b[155] = ' ';
  return tarw_data (w, b, sizeof b, err);
}

int
tarw_header (struct tarw *w, const struct tarw_hdr *h, struct tn_error **err)
{
  char *pax = NULL;
  size_t paxlen = 0;
  int rc = 0;
  char num[32];
#define RECORD(k, v, l)                                                  \
  do                                                                     \
    if (pax_record (&pax, &paxlen, k, v, l) < 0)                         \
      {                                                                  \
        free (pax);                                                      \
        return tn_error_sys (err, ENOMEM, "tar header of `%s`", h->name); \
      }                                                                  \
  while (0)
  if (strlen (h->name) > 100)
    RECORD ("path", h->name, strlen (h->name));
  if (h->linkname && strlen (h->linkname) > 100)
    RECORD ("linkpath", h->linkname, strlen (h->linkname));
  if (h->size > USTAR_MAX_SIZE)
    {
      snprintf (num, sizeof num, "%lld", (long long) h->size);
      RECORD ("size", num, strlen (num));
    }
  if (h->uid > USTAR_MAX_ID)
    {
      snprintf (num, sizeof num, "%u", (unsigned) h->uid);
      RECORD ("uid", num, strlen (num));
    }
  if (h->gid > USTAR_MAX_ID)
    {
      snprintf (num, sizeof num, "%u", (unsigned) h->gid);
      RECORD ("gid", num, strlen (num));
    }
  for (int i = 0; i < h->nxattrs; i++)
    {
      char key[300];
      snprintf (key, sizeof key, "SCHILY.xattr.%s", h->xattrs[i].name);
      RECORD (key, h->xattrs[i].value, h->xattrs[i].len);
    }
#undef RECORD
  if (pax)
    {
      /* The extended header's own name, as Go's writer makes it: PaxHeaders.0/<base>. */
      const char *slash = strrchr (h->name, '/');
      const char *base = slash && slash[1] ? slash + 1 : h->name;
      char xname[101];
      snprintf (xname, sizeof xname, "PaxHeaders.0/%s", base);
      rc = block (w, xname, NULL, 'x', 0644, 0, 0, (int64_t) paxlen, h->mtime, 0, 0, err);
      if (rc == 0)
        rc = tarw_data (w, pax, paxlen, err);
      if (rc == 0)
        rc = tarw_pad (w, (int64_t) paxlen, err);
      free (pax);
      if (rc < 0)
        return -1;
    }
  return block (w, h->name, h->linkname, h->type, h->mode, h->uid, h->gid, h->type == '0' ? h->size : 0, h->mtime,
                h->devmajor, h->devminor, err);
}

int
tarw_finish (struct tarw *w, struct tn_error **err)
{
  if (zeros (w, BLOCK * 2, err) < 0)
    return -1;
  return tarw_flush (w, err);
}

#include "tar.h"
#include "cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

void
tn_tar_entry_clear (struct tn_tar_entry *e)
{
  free (e->path);
  free (e->linkpath);
  for (int i = 0; i < e->nxattrs; i++)
    {
      free (e->xattrs[i].name);
      free (e->xattrs[i].value);
    }
  memset (e, 0, sizeof *e);
}

static int
skip (struct tn_tar *t, int64_t n, struct tn_error **err)
{
  while (n > 0)
    {
      const uint8_t *p;
      long got = tn_input_peek (t->in, &p, n > (1 << 30) ? (1 << 30) : (size_t) n, err);
      if (got < 0)
        return -1;
      if (got == 0)
        return tn_error_new (err, "unexpected end of archive (truncated tar)");
      tn_input_consume (t->in, (size_t) got);
      n -= got;
    }
  return 0;
}

/* An octal field (NUL- or space-terminated), or GNU base-256 when the high bit is set. */
static int
parse_number (const uint8_t *f, size_t len, int64_t *out)
{
  if (f[0] & 0x80)
    {
      if (f[0] & 0x40)
        return -1; /* negative */
      uint64_t v = f[0] & 0x3f;
      for (size_t i = 1; i < len; i++)
        {
          if (v >> 55)
            return -1; /* would overflow */
          v = v << 8 | f[i];
        }
      if (v > INT64_MAX)
        return -1;
      *out = (int64_t) v;
      return 0;
    }
  size_t i = 0;
  while (i < len && f[i] == ' ')
    i++;
  uint64_t v = 0;
  int digits = 0;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++)
    {
      if (v >> 60)
        return -1;
      v = v * 8 + (uint64_t) (f[i] - '0');
    }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != '\0')
      return -1;
  (void) digits;
  *out = (int64_t) v;
  return 0;
}

static char *
field_string (const uint8_t *f, size_t len)
{
  size_t n = strnlen ((const char *) f, len);
  char *s = malloc (n + 1);
  if (s)
    {
      memcpy (s, f, n);
      s[n] = '\0';
    }
  return s;
}

static int
read_meta (struct tn_tar *t, int64_t size, char **out, struct tn_error **err)
{
  if (size < 0 || size > TN_TAR_MAX_META)
    return tn_error_new (err, "invalid tar header: metadata record of %lld bytes", (long long) size);
  char *buf = malloc ((size_t) size + 1);
  if (buf == NULL)
    return tn_error_sys (err, ENOMEM, "read tar metadata");
  long got = tn_input_read (t->in, buf, (size_t) size, err);
  if (got < 0 || got < size)
    {
      free (buf);
      return got < 0 ? -1 : tn_error_new (err, "unexpected end of archive (truncated tar)");
    }
  buf[size] = '\0';
  int64_t pad = (BLOCK - size % BLOCK) % BLOCK;
  if (skip (t, pad, err) < 0)
    {
      free (buf);
      return -1;
    }
  *out = buf;
  return 0;
}

struct pax {
  char *path, *linkpath;
  int have_size, have_uid, have_gid, have_mtime;
  int64_t size, uid, gid;
  struct timespec mtime;
  struct tn_xattr xattrs[TN_TAR_MAX_XATTRS];
  int nxattrs;
};

static void
pax_clear (struct pax *p)
{
  free (p->path);
  free (p->linkpath);
  for (int i = 0; i < p->nxattrs; i++)
    {
      free (p->xattrs[i].name);
      free (p->xattrs[i].value);
    }
  memset (p, 0, sizeof *p);
}

static int
parse_decimal (const char *s, size_t len, int64_t *out)
{
  if (len == 0 || len > 18)
    return -1;
  int64_t v = 0;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return 0;
}

/* "1700000000.123456789" (a leading '-' is refused: no layer predates 1970 on purpose). */
static int
parse_pax_time (const char *s, size_t len, struct timespec *ts)
{
  const char *dot = memchr (s, '.', len);
  size_t ilen = dot ? (size_t) (dot - s) : len;
  int64_t sec;
  if (parse_decimal (s, ilen, &sec) < 0)
    return -1;
  long nsec = 0;
  if (dot)
    {
      size_t flen = len - ilen - 1;
      long scale = 100000000;
      for (size_t i = 0; i < flen; i++)
        {
          char c = dot[1 + i];
          if (c < '0' || c > '9')
            return -1;
          if (scale > 0)
            {
              nsec += (c - '0') * scale;
              scale /= 10;
            }
        }
    }
  ts->tv_sec = sec;
  ts->tv_nsec = nsec;
  return 0;
}

/* Records are "<len> <key>=<value>\n", len counting the whole record. */
static int
parse_pax (const char *buf, size_t size, struct pax *p, struct tn_error **err)
{
  size_t pos = 0;
  while (pos < size)
    {
      const char *rec = buf + pos;
      const char *sp = memchr (rec, ' ', size - pos);
      int64_t rlen;
      if (sp == NULL || parse_decimal (rec, (size_t) (sp - rec), &rlen) < 0 || rlen <= sp - rec + 1
          || (size_t) rlen > size - pos || rec[rlen - 1] != '\n')
        return tn_error_new (err, "invalid PAX header record");
      const char *kv = sp + 1;
      size_t kvlen = (size_t) (rec + rlen - 1 - kv);
      const char *eq = memchr (kv, '=', kvlen);
      if (eq == NULL)
        return tn_error_new (err, "invalid PAX header record");
      size_t klen = (size_t) (eq - kv);
      const char *val = eq + 1;
      size_t vlen = kvlen - klen - 1;
#define KEY(s) (klen == sizeof (s) - 1 && memcmp (kv, s, klen) == 0)
      if (KEY ("path"))
        {
          free (p->path);
          p->path = strndup (val, vlen);
        }
      else if (KEY ("linkpath"))
        {
          free (p->linkpath);
          p->linkpath = strndup (val, vlen);
        }
      else if (KEY ("size"))
        {
          if (parse_decimal (val, vlen, &p->size) < 0)
            return tn_error_new (err, "invalid PAX size `%.*s`", (int) vlen, val);
          p->have_size = 1;
        }
      else if (KEY ("uid") || KEY ("gid"))
        {
          int64_t v;
          if (parse_decimal (val, vlen, &v) < 0 || v > UINT32_MAX - 1)
            return tn_error_new (err, "invalid PAX %.*s `%.*s`", (int) klen, kv, (int) vlen, val);
          if (kv[0] == 'u')
            p->uid = v, p->have_uid = 1;
          else
            p->gid = v, p->have_gid = 1;
        }
      else if (KEY ("mtime"))
        {
          if (parse_pax_time (val, vlen, &p->mtime) < 0)
            return tn_error_new (err, "invalid PAX mtime `%.*s`", (int) vlen, val);
          p->have_mtime = 1;
        }
      else if (klen > 13 && memcmp (kv, "SCHILY.xattr.", 13) == 0)
        {
          if (p->nxattrs == TN_TAR_MAX_XATTRS)
            return tn_error_new (err, "too many extended attributes on one entry");
          struct tn_xattr *x = &p->xattrs[p->nxattrs++];
          x->name = strndup (kv + 13, klen - 13);
          x->value = malloc (vlen ? vlen : 1);
          if (x->value)
            memcpy (x->value, val, vlen);
          x->len = vlen;
        }
      else if (KEY ("GNU.sparse.major") || KEY ("GNU.sparse.name") || KEY ("GNU.sparse.size"))
        return tn_error_new (err, "sparse files in layers are not supported");
      /* atime, ctime, uname, gname, comment, charset: nothing to apply. */
#undef KEY
      pos += (size_t) rlen;
    }
  return 0;
}

static int
is_zero_block (const uint8_t *b)
{
  for (int i = 0; i < BLOCK; i++)
    if (b[i])
      return 0;
  return 1;
}

int
tn_tar_next (struct tn_tar *t, struct tn_tar_entry *e, struct tn_error **err)
{
  tn_tar_entry_clear (e);
  if (skip (t, t->left + t->pad, err) < 0)
    return -1;
  t->left = t->pad = 0;

  struct pax pax = { 0 };
  cleanup_free char *longname = NULL;
  cleanup_free char *longlink = NULL;
  for (;;)
    {
      uint8_t h[BLOCK];
      long got = tn_input_read (t->in, h, BLOCK, err);
      if (got < 0)
        goto fail;
      if (got == 0 && pax.path == NULL && longname == NULL && longlink == NULL)
        return 0; /* the stream ended at an entry boundary without an end marker: as Go's tar reader */
      if (got < BLOCK)
        {
          tn_error_new (err, "unexpected end of archive (truncated tar)");
          goto fail;
        }
      if (is_zero_block (h))
        {
          pax_clear (&pax);
          return 0; /* end-of-archive marker; the caller drains the rest */
        }

      int64_t chk;
      if (parse_number (h + 148, 8, &chk) < 0)
        {
          tn_error_new (err, "invalid tar header (not a tar archive?)");
          goto fail;
        }
      int64_t usum = 0, ssum = 0;
      for (int i = 0; i < BLOCK; i++)
        {
          uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
          usum += c;
          ssum += (int8_t) c;
        }
      if (chk != usum && chk != ssum)
        {
          tn_error_new (err, "invalid tar header checksum (not a tar archive, or corrupt)");
          goto fail;
        }

      int64_t size, mode, uid, gid, mtime, dmaj, dmin;
      if (parse_number (h + 124, 12, &size) < 0 || parse_number (h + 100, 8, &mode) < 0
          || parse_number (h + 108, 8, &uid) < 0 || parse_number (h + 116, 8, &gid) < 0
          || parse_number (h + 136, 12, &mtime) < 0 || parse_number (h + 329, 8, &dmaj) < 0
          || parse_number (h + 337, 8, &dmin) < 0)
        {
          tn_error_new (err, "invalid number in tar header");
          goto fail;
        }
      if (pax.have_size)
        size = pax.size;
      if (size > TN_TAR_MAX_SIZE)
        {
          tn_error_new (err, "invalid tar header: entry size %lld is absurd", (long long) size);
          goto fail;
        }
      char type = (char) h[156];

      if (type == 'x' || type == 'g' || type == 'L' || type == 'K')
        {
          cleanup_free char *meta = NULL;
          if (read_meta (t, size, &meta, err) < 0)
            goto fail;
          if (type == 'x')
            {
              if (parse_pax (meta, (size_t) size, &pax, err) < 0)
                goto fail;
            }
          else if (type == 'L')
            {
              free (longname);
              longname = TN_STEAL (meta);
            }
          else if (type == 'K')
            {
              free (longlink);
              longlink = TN_STEAL (meta);
            }
          /* 'g' (global PAX) applies defaults nobody relies on in layers: read and ignored. */
          continue;
        }

      int posix = memcmp (h + 257, "ustar\0", 6) == 0;
      char *name;
      if (pax.path)
        name = strdup (pax.path);
      else if (longname)
        name = strdup (longname);
      else if (posix && h[345] != '\0')
        {
          cleanup_free char *prefix = field_string (h + 345, 155);
          cleanup_free char *base = field_string (h, 100);
          name = NULL;
          if (prefix && base && asprintf (&name, "%s/%s", prefix, base) < 0)
            name = NULL;
        }
      else
        name = field_string (h, 100);
      char *link = pax.linkpath ? strdup (pax.linkpath) : longlink ? strdup (longlink) : field_string (h + 157, 100);
      if (name == NULL || link == NULL)
        {
          free (name);
          free (link);
          tn_error_sys (err, ENOMEM, "read tar header");
          goto fail;
        }
      e->path = name;
      e->linkpath = link;
      e->mode = (mode_t) (mode & 07777);
      e->uid = (uid_t) (pax.have_uid ? pax.uid : uid);
      e->gid = (gid_t) (pax.have_gid ? pax.gid : gid);
      e->size = size;
      if (pax.have_mtime)
        e->mtime = pax.mtime;
      else
        e->mtime.tv_sec = mtime;
      e->devmajor = (unsigned) dmaj;
      e->devminor = (unsigned) dmin;
      memcpy (e->xattrs, pax.xattrs, sizeof pax.xattrs);
      e->nxattrs = pax.nxattrs;
      pax.nxattrs = 0;
      pax_clear (&pax);

      switch (type)
        {
        case '0': case '\0': case '7':
          e->type = TN_TAR_FILE;
          /* Pre-POSIX archives mark directories by a trailing slash only. */
          if (type == '\0' && strlen (name) > 0 && name[strlen (name) - 1] == '/')
            e->type = TN_TAR_DIR;
          break;
        case '1': e->type = TN_TAR_HARDLINK; break;
        case '2': e->type = TN_TAR_SYMLINK; break;
        case '3': e->type = TN_TAR_CHAR; break;
        case '4': e->type = TN_TAR_BLOCK; break;
        case '5': e->type = TN_TAR_DIR; break;
        case '6': e->type = TN_TAR_FIFO; break;
        case 'S':
          tn_error_new (err, "entry `%s`: sparse files in layers are not supported", name);
          return -1;
        default:
          tn_error_new (err, "entry `%s`: unsupported tar entry type `%c`", name, type >= 32 && type < 127 ? type : '?');
          return -1;
        }
      /* Only regular files carry data; other types' size fields are skipped like data. */
      t->left = size;
      t->pad = (BLOCK - size % BLOCK) % BLOCK;
      if (e->type != TN_TAR_FILE)
        e->size = 0;
      return 1;
    }
fail:
  pax_clear (&pax);
  return -1;
}

#include "json.h"
#include "cleanup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

struct parser
{
  const char *p, *start, *end;
  int depth;
  struct tn_error **err;
};

static int
fail (struct parser *ps, const char *at, const char *fmt, ...)
{
  int line = 1, col = 1;
  for (const char *c = ps->start; c < at && c < ps->end; c++)
    {
      if (*c == '\n')
        {
          line++;
          col = 1;
        }
      else
        col++;
    }
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  tn_error_new (ps->err, "line %d column %d: %s", line, col, msg ? msg : "invalid JSON");
  free (msg);
  return -1;
}

static void
skip_ws (struct parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int parse_value (struct parser *ps, struct tn_json **out);

static struct tn_json *
new_value (enum tn_json_type t)
{
  struct tn_json *v = calloc (1, sizeof *v);
  if (v)
    v->type = t;
  return v;
}

void
tn_json_free (struct tn_json *v)
{
  if (v == NULL)
    return;
  free (v->text);
  for (size_t i = 0; i < v->n; i++)
    {
      if (v->keys)
        free (v->keys[i]);
      if (v->items)
        tn_json_free (v->items[i]);
    }
  free (v->keys);
  free (v->items);
  free (v);
}

static int
hex4 (struct parser *ps, unsigned *out)
{
  if (ps->end - ps->p < 4)
    return fail (ps, ps->p, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++)
    {
      char c = ps->p[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned) (c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned) (c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (unsigned) (c - 'A' + 10);
      else
        return fail (ps, ps->p + i, "invalid \\u escape");
    }
  ps->p += 4;
  *out = v;
  return 0;
}

static void
put_utf8 (struct tn_buf *b, unsigned cp)
{
  char tmp[4];
  size_t n;
  if (cp < 0x80)
    {
      tmp[0] = (char) cp;
      n = 1;
    }
  else if (cp < 0x800)
    {
      tmp[0] = (char) (0xC0 | (cp >> 6));
      tmp[1] = (char) (0x80 | (cp & 0x3F));
      n = 2;
    }
  else if (cp < 0x10000)
    {
      tmp[0] = (char) (0xE0 | (cp >> 12));
      tmp[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
      tmp[2] = (char) (0x80 | (cp & 0x3F));
      n = 3;
    }
  else
    {
      tmp[0] = (char) (0xF0 | (cp >> 18));
      tmp[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
      tmp[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
      tmp[3] = (char) (0x80 | (cp & 0x3F));
      n = 4;
    }
  tn_buf_add (b, tmp, n);
}

/* Length of the valid UTF-8 sequence at p (0 when invalid). */
static size_t
utf8_len (const unsigned char *p, const unsigned char *end)
{
  unsigned c = p[0];
  size_t n;
  unsigned min;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0)
    n = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    n = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    n = 4, min = 0x10000;
  else
    return 0;
  if ((size_t) (end - p) < n)
    return 0;
  unsigned cp = c & (0xFF >> (n + 1));
  for (size_t i = 1; i < n; i++)
    {
      if ((p[i] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

static int
parse_string_raw (struct parser *ps, char **out, size_t *outlen)
{
  /* ps->p is at the opening quote */
  ps->p++;
  /* nearly every string of a config is printable ASCII without escapes: one allocation, one copy */
  const char *q = ps->p;
  while (q < ps->end && (unsigned char) *q >= 0x20 && (unsigned char) *q < 0x80 && *q != '"' && *q != '\\')
    q++;
  if (q < ps->end && *q == '"')
    {
      size_t n = (size_t) (q - ps->p);
      char *copy = malloc (n + 1);
      if (copy == NULL)
        return fail (ps, ps->p, "out of memory");
      memcpy (copy, ps->p, n);
      copy[n] = '\0';
      ps->p = q + 1;
      *out = copy;
      *outlen = n;
      return 0;
    }
  struct tn_buf b = { 0 };
  for (;;)
    {
      if (ps->p >= ps->end)
        {
          tn_buf_free (&b);
          return fail (ps, ps->p, "unterminated string");
        }
      unsigned char c = (unsigned char) *ps->p;
      if (c == '"')
        {
          ps->p++;
          break;
        }
      if (c < 0x20)
        {
          tn_buf_free (&b);
          return fail (ps, ps->p, "control character in string");
        }
      if (c == '\\')
        {
          ps->p++;
          if (ps->p >= ps->end)
            {
              tn_buf_free (&b);
              return fail (ps, ps->p, "unterminated string");
            }
          char e = *ps->p++;
          switch (e)
            {
            case '"': tn_buf_add (&b, "\"", 1); break;
            case '\\': tn_buf_add (&b, "\\", 1); break;
            case '/': tn_buf_add (&b, "/", 1); break;
            case 'b': tn_buf_add (&b, "\b", 1); break;
            case 'f': tn_buf_add (&b, "\f", 1); break;
            case 'n': tn_buf_add (&b, "\n", 1); break;
            case 'r': tn_buf_add (&b, "\r", 1); break;
            case 't': tn_buf_add (&b, "\t", 1); break;
            case 'u':
              {
                unsigned cp;
                if (hex4 (ps, &cp) < 0)
                  {
                    tn_buf_free (&b);
                    return -1;
                  }
                if (cp >= 0xD800 && cp <= 0xDBFF)
                  {
                    unsigned lo;
                    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                      {
                        tn_buf_free (&b);
                        return fail (ps, ps->p, "lone surrogate in \\u escape");
                      }
                    ps->p += 2;
                    if (hex4 (ps, &lo) < 0)
                      {
                        tn_buf_free (&b);
                        return -1;
                      }
                    if (lo < 0xDC00 || lo > 0xDFFF)
                      {
                        tn_buf_free (&b);
                        return fail (ps, ps->p, "lone surrogate in \\u escape");
                      }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                  }
                else if (cp >= 0xDC00 && cp <= 0xDFFF)
                  {
                    tn_buf_free (&b);
                    return fail (ps, ps->p, "lone surrogate in \\u escape");
                  }
                if (cp == 0)
                  {
                    tn_buf_free (&b);
                    return fail (ps, ps->p, "NUL character in string");
                  }
                put_utf8 (&b, cp);
                break;
              }
            default:
              tn_buf_free (&b);
              return fail (ps, ps->p - 1, "invalid escape '\\%c'", e);
            }
          continue;
        }
      size_t n = utf8_len ((const unsigned char *) ps->p, (const unsigned char *) ps->end);
      if (n == 0)
        {
          tn_buf_free (&b);
          return fail (ps, ps->p, "invalid UTF-8 in string");
        }
      tn_buf_add (&b, ps->p, n);
      ps->p += n;
    }
  if (b.failed)
    {
      tn_buf_free (&b);
      return fail (ps, ps->p, "out of memory");
    }
  *outlen = b.len;
  if (b.data == NULL)
    {
      b.data = strdup ("");
      if (b.data == NULL)
        return fail (ps, ps->p, "out of memory");
    }
  *out = b.data;
  return 0;
}

static int
parse_number (struct parser *ps, struct tn_json **out)
{
  const char *s = ps->p;
  if (ps->p < ps->end && *ps->p == '-')
    ps->p++;
  if (ps->p >= ps->end)
    return fail (ps, ps->p, "invalid number");
  if (*ps->p == '0')
    {
      ps->p++;
      if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        return fail (ps, s, "leading zero in number");
    }
  else if (*ps->p >= '1' && *ps->p <= '9')
    {
      while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    }
  else
    return fail (ps, ps->p, "invalid number");
  if (ps->p < ps->end && *ps->p == '.')
    {
      ps->p++;
      if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return fail (ps, ps->p, "invalid number");
      while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
    {
      ps->p++;
      if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
        ps->p++;
      if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return fail (ps, ps->p, "invalid number");
      while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    }
  struct tn_json *v = new_value (TN_JSON_NUMBER);
  if (v == NULL || (v->text = strndup (s, (size_t) (ps->p - s))) == NULL)
    {
      free (v);
      return fail (ps, s, "out of memory");
    }
  *out = v;
  return 0;
}

static int
push_item (struct tn_json *v, char *key, struct tn_json *item, size_t *cap)
{
  if (v->n == *cap)
    {
      size_t ncap = *cap ? *cap * 2 : 4;
      struct tn_json **items = realloc (v->items, ncap * sizeof *items);
      if (items == NULL)
        return -1;
      v->items = items;
      if (v->type == TN_JSON_OBJECT)
        {
          char **keys = realloc (v->keys, ncap * sizeof *keys);
          if (keys == NULL)
            return -1;
          v->keys = keys;
        }
      *cap = ncap;
    }
  if (v->type == TN_JSON_OBJECT)
    v->keys[v->n] = key;
  v->items[v->n] = item;
  v->n++;
  return 0;
}

static int
parse_container (struct parser *ps, struct tn_json **out, bool object)
{
  if (++ps->depth > JSON_MAX_DEPTH)
    return fail (ps, ps->p, "nesting too deep");
  ps->p++;
  struct tn_json *v = new_value (object ? TN_JSON_OBJECT : TN_JSON_ARRAY);
  if (v == NULL)
    return fail (ps, ps->p, "out of memory");
  size_t cap = 0;
  skip_ws (ps);
  char close = object ? '}' : ']';
  if (ps->p < ps->end && *ps->p == close)
    {
      ps->p++;
      ps->depth--;
      *out = v;
      return 0;
    }
  for (;;)
    {
      char *key = NULL;
      struct tn_json *item = NULL;
      skip_ws (ps);
      if (object)
        {
          if (ps->p >= ps->end || *ps->p != '"')
            {
              tn_json_free (v);
              return fail (ps, ps->p, "expected a string key%s", ps->p >= ps->end ? " before end of input" : "");
            }
          size_t klen;
          if (parse_string_raw (ps, &key, &klen) < 0)
            {
              tn_json_free (v);
              return -1;
            }
          skip_ws (ps);
          if (ps->p >= ps->end || *ps->p != ':')
            {
              free (key);
              tn_json_free (v);
              return fail (ps, ps->p, "expected ':' after object key");
            }
          ps->p++;
        }
      if (parse_value (ps, &item) < 0)
        {
          free (key);
          tn_json_free (v);
          return -1;
        }
      if (push_item (v, key, item, &cap) < 0)
        {
          free (key);
          tn_json_free (item);
          tn_json_free (v);
          return fail (ps, ps->p, "out of memory");
        }
      skip_ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          skip_ws (ps);
          if (ps->p < ps->end && *ps->p == close)
            {
              tn_json_free (v);
              return fail (ps, ps->p, "trailing comma");
            }
          continue;
        }
      if (ps->p < ps->end && *ps->p == close)
        {
          ps->p++;
          break;
        }
      tn_json_free (v);
      return fail (ps, ps->p, "expected ',' or '%c'%s", close, ps->p >= ps->end ? " before end of input" : "");
    }
  ps->depth--;
  *out = v;
  return 0;
}

static int
parse_literal (struct parser *ps, const char *word, struct tn_json **out, enum tn_json_type t, bool b)
{
  size_t n = strlen (word);
  if ((size_t) (ps->end - ps->p) < n || memcmp (ps->p, word, n) != 0)
    return fail (ps, ps->p, "invalid literal");
  ps->p += n;
  struct tn_json *v = new_value (t);
  if (v == NULL)
    return fail (ps, ps->p, "out of memory");
  v->boolean = b;
  *out = v;
  return 0;
}

static int
parse_value (struct parser *ps, struct tn_json **out)
{
  skip_ws (ps);
  if (ps->p >= ps->end)
    return fail (ps, ps->p, "unexpected end of input");
  switch (*ps->p)
    {
    case '{':
      return parse_container (ps, out, true);
    case '[':
      return parse_container (ps, out, false);
    case '"':
      {
        struct tn_json *v = new_value (TN_JSON_STRING);
        if (v == NULL)
          return fail (ps, ps->p, "out of memory");
        if (parse_string_raw (ps, &v->text, &v->len) < 0)
          {
            free (v);
            return -1;
          }
        *out = v;
        return 0;
      }
    case 't':
      return parse_literal (ps, "true", out, TN_JSON_BOOL, true);
    case 'f':
      return parse_literal (ps, "false", out, TN_JSON_BOOL, false);
    case 'n':
      return parse_literal (ps, "null", out, TN_JSON_NULL, false);
    default:
      if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
        return parse_number (ps, out);
      if ((unsigned char) *ps->p >= 0x20 && (unsigned char) *ps->p < 0x7f)
        return fail (ps, ps->p, "unexpected character '%c'", *ps->p);
      return fail (ps, ps->p, "unexpected byte 0x%02x", (unsigned char) *ps->p);
    }
}

int
tn_json_parse (const char *data, size_t len, struct tn_json **out, struct tn_error **err)
{
  struct parser ps = { .p = data, .start = data, .end = data + len, .err = err };
  struct tn_json *v = NULL;
  /* a UTF-8 byte order mark is tolerated, as most JSON readers do */
  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    ps.p += 3;
  if (parse_value (&ps, &v) < 0)
    return -1;
  skip_ws (&ps);
  if (ps.p != ps.end)
    {
      tn_json_free (v);
      return fail (&ps, ps.p, "unexpected data after the JSON value");
    }
  *out = v;
  return 0;
}

struct tn_json *
tn_json_get (const struct tn_json *obj, const char *key)
{
  if (obj == NULL || obj->type != TN_JSON_OBJECT)
    return NULL;
  for (size_t i = obj->n; i > 0; i--)
    if (strcmp (obj->keys[i - 1], key) == 0)
      return obj->items[i - 1];
  return NULL;
}

const char *
tn_json_type_name (enum tn_json_type t)
{
  switch (t)
    {
    case TN_JSON_NULL: return "null";
    case TN_JSON_BOOL: return "boolean";
    case TN_JSON_NUMBER: return "number";
    case TN_JSON_STRING: return "string";
    case TN_JSON_ARRAY: return "array";
    case TN_JSON_OBJECT: return "object";
    }
  return "value";
}

/* Integers may be written with a fraction or exponent as long as the value is integral
 * (e.g. 1e3, 10.0), as Go accepts them for integer fields only when exact. Here we accept plain
 * integers and exponent forms that stay integral. */
static int
number_to_u64 (const char *text, bool *neg, uint64_t *mag)
{
  const char *p = text;
  *neg = false;
  if (*p == '-')
    {
      *neg = true;
      p++;
    }
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      unsigned d = (unsigned) (*p - '0');
      if (v > (UINT64_MAX - d) / 10)
        {
          errno = ERANGE;
          return -1;
        }
      v = v * 10 + d;
    }
  int frac_digits = 0;
  if (*p == '.')
    {
      p++;
      for (; *p >= '0' && *p <= '9'; p++)
        {
          unsigned d = (unsigned) (*p - '0');
          if (v > (UINT64_MAX - d) / 10)
            {
              errno = ERANGE;
              return -1;
            }
          v = v * 10 + d;
          frac_digits++;
        }
    }
  long exp = 0;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      exp = strtol (p, NULL, 10);
      if (exp > 40 || exp < -40)
        {
          errno = ERANGE;
          return -1;
        }
    }
  exp -= frac_digits;
  for (; exp > 0; exp--)
    {
      if (v > UINT64_MAX / 10)
        {
          errno = ERANGE;
          return -1;
        }
      v *= 10;
    }
  for (; exp < 0; exp++)
    {
      if (v % 10 != 0)
        {
          errno = EINVAL; /* not an integer */
          return -1;
        }
      v /= 10;
    }
  *mag = v;
  return 0;
}

int
tn_json_to_int64 (const struct tn_json *v, int64_t *out)
{
  if (v == NULL || v->type != TN_JSON_NUMBER)
    {
      errno = EINVAL;
      return -1;
    }
  bool neg;
  uint64_t mag;
  if (number_to_u64 (v->text, &neg, &mag) < 0)
    return -1;
  if (neg)
    {
      if (mag > (uint64_t) INT64_MAX + 1)
        {
          errno = ERANGE;
          return -1;
        }
      *out = mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag;
    }
  else
    {
      if (mag > (uint64_t) INT64_MAX)
        {
          errno = ERANGE;
          return -1;
        }
      *out = (int64_t) mag;
    }
  return 0;
}

int
tn_json_to_uint64 (const struct tn_json *v, uint64_t *out)
{
  if (v == NULL || v->type != TN_JSON_NUMBER)
    {
      errno = EINVAL;
      return -1;
    }
  bool neg;
  uint64_t mag;
  if (number_to_u64 (v->text, &neg, &mag) < 0)
    return -1;
  if (neg && mag != 0)
    {
      errno = ERANGE;
      return -1;
    }
  *out = mag;
  return 0;
}

/* ---- buffer ---- */

void
tn_buf_add (struct tn_buf *b, const char *s, size_t n)
{
  if (b->failed)
    return;
  if (b->len + n + 1 > b->cap)
    {
      size_t ncap = b->cap ? b->cap : 256;
      while (ncap < b->len + n + 1)
        ncap *= 2;
      char *d = realloc (b->data, ncap);
      if (d == NULL)
        {
          b->failed = true;
          return;
        }
      b->data = d;
      b->cap = ncap;
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void
tn_buf_puts (struct tn_buf *b, const char *s)
{
  tn_buf_add (b, s, strlen (s));
}

void
tn_buf_printf (struct tn_buf *b, const char *fmt, ...)
{
  char small[256];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (small, sizeof small, fmt, ap);
  va_end (ap);
  if (n < 0)
    {
      b->failed = true;
      return;
    }
  if ((size_t) n < sizeof small)
    {
      tn_buf_add (b, small, (size_t) n);
      return;
    }
  char *big = NULL;
  va_start (ap, fmt);
  n = vasprintf (&big, fmt, ap);
  va_end (ap);
  if (n < 0)
    {
      b->failed = true;
      return;
    }
  tn_buf_add (b, big, (size_t) n);
  free (big);
}

char *
tn_buf_steal (struct tn_buf *b)
{
  if (b->failed)
    {
      tn_buf_free (b);
      return NULL;
    }
  if (b->data == NULL)
    return strdup ("");
  char *d = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void
tn_buf_free (struct tn_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- writer ---- */

void
tn_json_quote (struct tn_buf *b, const char *s)
{
  tn_buf_add (b, "\"", 1);
  const char *run = s;
  for (const char *p = s; *p; p++)
    {
      unsigned char c = (unsigned char) *p;
      const char *esc = NULL;
      char tmp[8];
      switch (c)
        {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
          if (c < 0x20)
            {
              snprintf (tmp, sizeof tmp, "\\u%04x", c);
              esc = tmp;
            }
        }
      if (esc)
        {
          tn_buf_add (b, run, (size_t) (p - run));
          tn_buf_puts (b, esc);
          run = p + 1;
        }
    }
  tn_buf_puts (b, run);
  tn_buf_add (b, "\"", 1);
}

void
tn_jw_init (struct tn_jw *w, int indent)
{
  memset (w, 0, sizeof *w);
  w->indent = indent;
  w->first[0] = true;
}

static void
newline (struct tn_jw *w)
{
  if (w->indent <= 0)
    return;
  tn_buf_add (&w->buf, "\n", 1);
  for (int i = 0; i < w->depth * w->indent; i++)
    tn_buf_add (&w->buf, " ", 1);
}

/* Before any value or key: the separator that belongs in front of it. */
static void
before_item (struct tn_jw *w)
{
  if (w->after_key)
    {
      w->after_key = false;
      return;
    }
  if (w->depth == 0)
    return;
  if (!w->first[w->depth])
    tn_buf_add (&w->buf, ",", 1);
  w->first[w->depth] = false;
  newline (w);
}

static void
open_scope (struct tn_jw *w, const char *c)
{
  before_item (w);
  tn_buf_puts (&w->buf, c);
  if (w->depth + 1 < (int) (sizeof w->first / sizeof w->first[0]))
    w->depth++;
  w->first[w->depth] = true;
}

static void
close_scope (struct tn_jw *w, const char *c)
{
  bool empty = w->first[w->depth];
  if (w->depth > 0)
    w->depth--;
  if (!empty)
    newline (w);
  tn_buf_puts (&w->buf, c);
}

void tn_jw_begin_object (struct tn_jw *w) { open_scope (w, "{"); }
void tn_jw_end_object (struct tn_jw *w) { close_scope (w, "}"); }
void tn_jw_begin_array (struct tn_jw *w) { open_scope (w, "["); }
void tn_jw_end_array (struct tn_jw *w) { close_scope (w, "]"); }

void
tn_jw_key (struct tn_jw *w, const char *key)
{
  before_item (w);
  tn_json_quote (&w->buf, key);
  tn_buf_puts (&w->buf, w->indent > 0 ? ": " : ":");
  w->after_key = true;
}

void
tn_jw_string (struct tn_jw *w, const char *s)
{
  before_item (w);
  tn_json_quote (&w->buf, s ? s : "");
}

void
tn_jw_int (struct tn_jw *w, int64_t v)
{
  before_item (w);
  tn_buf_printf (&w->buf, "%" PRId64, v);
}

void
tn_jw_uint (struct tn_jw *w, uint64_t v)
{
  before_item (w);
  tn_buf_printf (&w->buf, "%" PRIu64, v);
}

void
tn_jw_bool (struct tn_jw *w, bool v)
{
  before_item (w);
  tn_buf_puts (&w->buf, v ? "true" : "false");
}

void
tn_jw_null (struct tn_jw *w)
{
  before_item (w);
  tn_buf_puts (&w->buf, "null");
}

void
tn_jw_value (struct tn_jw *w, const struct tn_json *v)
{
  switch (v->type)
    {
    case TN_JSON_NULL: tn_jw_null (w); break;
    case TN_JSON_BOOL: tn_jw_bool (w, v->boolean); break;
    case TN_JSON_NUMBER:
      before_item (w);
      tn_buf_puts (&w->buf, v->text);
      break;
    case TN_JSON_STRING: tn_jw_string (w, v->text); break;
    case TN_JSON_ARRAY:
      tn_jw_begin_array (w);
      for (size_t i = 0; i < v->n; i++)
        tn_jw_value (w, v->items[i]);
      tn_jw_end_array (w);
      break;
    case TN_JSON_OBJECT:
      tn_jw_begin_object (w);
      for (size_t i = 0; i < v->n; i++)
        {
          tn_jw_key (w, v->keys[i]);
          tn_jw_value (w, v->items[i]);
        }
      tn_jw_end_object (w);
      break;
    }
}

void
tn_jw_kv_string (struct tn_jw *w, const char *key, const char *s)
{
  tn_jw_key (w, key);
  tn_jw_string (w, s);
}

void
tn_jw_kv_int (struct tn_jw *w, const char *key, int64_t v)
{
  tn_jw_key (w, key);
  tn_jw_int (w, v);
}

void
tn_jw_kv_bool (struct tn_jw *w, const char *key, bool v)
{
  tn_jw_key (w, key);
  tn_jw_bool (w, v);
}

char *
tn_jw_finish (struct tn_jw *w)
{
  if (w->indent > 0)
    tn_buf_add (&w->buf, "\n", 1);
  return tn_buf_steal (&w->buf);
}

/* Just enough JSON reading for the monitor: find a key in an object, skip any value, decode a
 * string. Used on config.json (root.path) and on the runtime's --log lines (level, msg). */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

const char *
json_ws (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static const char *
skip_string (const char *p, const char *end)
{
  if (p >= end || *p != '"')
    return NULL;
  for (p++; p < end; p++)
    {
      if (*p == '\\')
        {
          p++;
          continue;
        }
      if (*p == '"')
        return p + 1;
    }
  return NULL;
}

static const char *
skip_depth (const char *p, const char *end, int depth)
{
  p = json_ws (p, end);
  if (p >= end || depth > JSON_MAX_DEPTH)
    return NULL;
  if (*p == '"')
    return skip_string (p, end);
  if (*p == '{' || *p == '[')
    {
      char close = *p == '{' ? '}' : ']';
      bool object = *p == '{';
      p = json_ws (p + 1, end);
      if (p < end && *p == close)
        return p + 1;
      for (;;)
        {
          if (object)
            {
              p = skip_string (json_ws (p, end), end);
              if (p == NULL)
                return NULL;
              p = json_ws (p, end);
              if (p >= end || *p != ':')
                return NULL;
              p++;
            }
          p = skip_depth (p, end, depth + 1);
          if (p == NULL)
            return NULL;
          p = json_ws (p, end);
          if (p >= end)
            return NULL;
          if (*p == close)
            return p + 1;
          if (*p != ',')
            return NULL;
          p++;
        }
    }
  /* number, true, false, null */
  const char *start = p;
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
    p++;
  return p > start ? p : NULL;
}

const char *
json_skip (const char *p, const char *end)
{
  return skip_depth (p, end, 0);
}

const char *
json_get (const char *p, const char *end, const char *key)
{
  p = json_ws (p, end);
  if (p >= end || *p != '{')
    return NULL;
  p = json_ws (p + 1, end);
  if (p < end && *p == '}')
    return NULL;
  size_t klen = strlen (key);
  for (;;)
    {
      p = json_ws (p, end);
      const char *kend = skip_string (p, end);
      if (kend == NULL)
        return NULL;
      /* Keys the monitor looks for have no escapes, so a byte comparison is enough. */
      bool match = (size_t) (kend - p - 2) == klen && memcmp (p + 1, key, klen) == 0;
      p = json_ws (kend, end);
      if (p >= end || *p != ':')
        return NULL;
      p = json_ws (p + 1, end);
      if (match)
        return p;
      p = json_skip (p, end);
      if (p == NULL)
        return NULL;
      p = json_ws (p, end);
      if (p >= end || *p != ',')
        return NULL;
      p++;
    }
}

static int
hex4 (const char *p, const char *end)
{
  if (end - p < 4)
    return -1;
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      char c = p[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return -1;
    }
  return v;
}

static char *
put_utf8 (char *o, unsigned cp)
{
  if (cp < 0x80)
    *o++ = (char) cp;
  else if (cp < 0x800)
    {
      *o++ = (char) (0xC0 | (cp >> 6));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  else if (cp < 0x10000)
    {
      *o++ = (char) (0xE0 | (cp >> 12));
      *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  else
    {
      *o++ = (char) (0xF0 | (cp >> 18));
      *o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
      *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
      *o++ = (char) (0x80 | (cp & 0x3F));
    }
  return o;
}

char *
json_string (const char *p, const char *end)
{
  const char *q = skip_string (p, end);
  if (q == NULL)
    return NULL;
  /* Decoding never grows the text (\uXXXX is 6 bytes for at most 4 of UTF-8). */
  char *out = malloc ((size_t) (q - p));
  if (out == NULL)
    return NULL;
  char *o = out;
  for (p++; p < q - 1; p++)
    {
      if (*p != '\\')
        {
          *o++ = *p;
          continue;
        }
      p++;
      switch (*p)
        {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u':
          {
            int cp = hex4 (p + 1, q);
            if (cp < 0)
              {
                *o++ = '?';
                break;
              }
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 6 < q && p[1] == '\\' && p[2] == 'u')
              {
                int lo = hex4 (p + 3, q);
                if (lo >= 0xDC00 && lo <= 0xDFFF)
                  {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                  }
              }
            if (cp >= 0xD800 && cp <= 0xDFFF)
              cp = 0xFFFD;
            o = put_utf8 (o, (unsigned) cp);
            break;
          }
        default: *o++ = *p; break;
        }
    }
  *o = '\0';
  return out;
}

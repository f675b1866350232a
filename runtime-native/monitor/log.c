/* The container's log in Docker's json-file format:
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-28T13:31:00.123456789Z"}
 * one object per line. The string escaping is Docker's (its jsonlog writer): `"` and `\` escaped,
 * \n and \r as such, other control characters and < > & as \u00XX, U+2028/U+2029 as \u2028/\u2029,
 * every byte that does not start a valid UTF-8 sequence as \ufffd. The time is UTC with nine
 * fraction digits, always. Rotation: when the next entry would take the file past max_size, FILE
 * becomes FILE.1 (FILE.1 becomes FILE.2 …), keeping max_files files in all. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODE 0640
#define ENTRY_OVERHEAD 96   /* {"log":,"stream":"stdout","time":"…"}\n around the escaped text */

static int log_fd = -1;
static const char *log_path;
static off_t log_size;
static long long log_max_size;
static int log_max_files;

/* The unterminated line of each stream, allocated only while one is pending. */
static struct {
  char *buf;
  size_t len;
} partial[2];

static char entry_buf[8192];

size_t
format_rfc3339nano (uint64_t ns, char *buf)
{
  time_t secs = (time_t) (ns / 1000000000ull);
  struct tm tm;
  gmtime_r (&secs, &tm);
  int n = snprintf (buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned) (ns % 1000000000ull));
  return n > 0 ? (size_t) n : 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when it is not one. */
static size_t
utf8_seq (const uint8_t *s, size_t n)
{
  uint8_t b = s[0];
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF)
    len = 2;
  else if (b >= 0xE0 && b <= 0xEF)
    {
      len = 3;
      if (b == 0xE0)
        lo = 0xA0;
      else if (b == 0xED)
        hi = 0x9F;   /* no surrogates */
    }
  else if (b >= 0xF0 && b <= 0xF4)
    {
      len = 4;
      if (b == 0xF0)
        lo = 0x90;
      else if (b == 0xF4)
        hi = 0x8F;   /* nothing above U+10FFFF */
    }
  else
    return 0;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

/* Escapes s into out (room for 6 * n bytes) without the quotes; returns the length. */
static size_t
escape (const uint8_t *s, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  char *o = out;
  size_t i = 0;
  while (i < n)
    {
      uint8_t b = s[i];
      if (b < 0x80)
        {
          if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&')
            *o++ = (char) b;
          else if (b == '\\' || b == '"')
            {
              *o++ = '\\';
              *o++ = (char) b;
            }
          else if (b == '\n')
            {
              *o++ = '\\';
              *o++ = 'n';
            }
          else if (b == '\r')
            {
              *o++ = '\\';
              *o++ = 'r';
            }
          else
            {
              memcpy (o, "\\u00", 4);
              o[4] = hex[b >> 4];
              o[5] = hex[b & 0xF];
              o += 6;
            }
          i++;
          continue;
        }
      size_t len = utf8_seq (s + i, n - i);
      if (len == 0)
        {
          memcpy (o, "\\ufffd", 6);
          o += 6;
          i++;
          continue;
        }
      if (len == 3 && b == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
        {
          memcpy (o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
          o += 6;
        }
      else
        {
          memcpy (o, s + i, len);
          o += len;
        }
      i += len;
    }
  return (size_t) (o - out);
}

static int
open_log (int extra_flags)
{
  int fd = open (log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, LOG_MODE);
  if (fd < 0)
    return -1;
  struct stat st;
  log_size = fstat (fd, &st) == 0 ? st.st_size : 0;
  return fd;
}

static void
rotate (void)
{
  if (log_fd >= 0)
    close (log_fd);
  log_fd = -1;
  if (log_max_files > 1)
    {
      size_t plen = strlen (log_path);
      char *from = malloc (plen + 16), *to = malloc (plen + 16);
      if (from && to)
        {
          for (int i = log_max_files - 1; i >= 1; i--)
            {
              snprintf (to, plen + 16, "%s.%d", log_path, i);
              if (i == 1)
                snprintf (from, plen + 16, "%s", log_path);
              else
                snprintf (from, plen + 16, "%s.%d", log_path, i - 1);
              rename (from, to);
            }
        }
      free (from);
      free (to);
    }
  log_fd = open_log (O_TRUNC);
}

static void
write_entry (int stream, const uint8_t *data, size_t len, uint64_t when_ns)
{
  if (log_fd < 0 && log_path == NULL)
    return;
  size_t need = len * 6 + ENTRY_OVERHEAD;
  char *buf = need <= sizeof entry_buf ? entry_buf : malloc (need);
  if (buf == NULL)
    return;
  char *o = buf;
  memcpy (o, "{\"log\":\"", 8);
  o += 8;
  o += escape (data, len, o);
  const char *mid = stream == STREAM_STDERR ? "\",\"stream\":\"stderr\",\"time\":\"" : "\",\"stream\":\"stdout\",\"time\":\"";
  size_t mlen = strlen (mid);
  memcpy (o, mid, mlen);
  o += mlen;
  o += format_rfc3339nano (when_ns, o);
  memcpy (o, "\"}\n", 3);
  o += 3;
  size_t total = (size_t) (o - buf);

  if (log_max_size > 0 && log_size > 0 && (long long) log_size + (long long) total > log_max_size)
    rotate ();
  if (log_fd < 0)
    log_fd = open_log (0);   /* a failed rotation or open: try again on each entry */
  if (log_fd >= 0)
    {
      const char *p = buf;
      size_t left = total;
      while (left > 0)
        {
          ssize_t n = write (log_fd, p, left);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;   /* a full disk drops the entry; the container never waits on the log */
          p += n;
          left -= (size_t) n;
          log_size += n;
        }
    }
  if (buf != entry_buf)
    free (buf);
}

int
log_open (const char *path, long long max_size, int max_files, struct tn_error **err)
{
  log_path = path;
  log_max_size = max_size;
  log_max_files = max_files < 1 ? 1 : max_files;
  log_fd = open_log (0);
  if (log_fd < 0)
    return tn_error_sys (err, errno, "open log `%s`", path);
  return 0;
}

void
log_close (void)
{
  if (log_fd >= 0)
    close (log_fd);
  log_fd = -1;
  log_path = NULL;
}

void
log_flush_stream (int stream, uint64_t when_ns)
{
  if (partial[stream].len > 0)
    write_entry (stream, (const uint8_t *) partial[stream].buf, partial[stream].len, when_ns);
  free (partial[stream].buf);
  partial[stream].buf = NULL;
  partial[stream].len = 0;
}

static void
partial_append (int stream, const char *data, size_t len)
{
  if (partial[stream].buf == NULL)
    {
      partial[stream].buf = malloc (MON_LOG_LINE_MAX);
      if (partial[stream].buf == NULL)
        return;
    }
  memcpy (partial[stream].buf + partial[stream].len, data, len);
  partial[stream].len += len;
}

void
log_output (int stream, const char *data, size_t len, uint64_t when_ns)
{
  if (log_path == NULL)
    return;
  while (len > 0)
    {
      size_t room = MON_LOG_LINE_MAX - partial[stream].len;
      size_t scan = len < room ? len : room;
      const char *nl = memchr (data, '\n', scan);
      size_t take;
      if (nl != NULL)
        take = (size_t) (nl - data) + 1;        /* a whole line */
      else if (len >= room)
        take = room;                            /* MON_LOG_LINE_MAX without a newline */
      else
        {
          partial_append (stream, data, len);   /* wait for the rest of the line */
          return;
        }
      if (partial[stream].len == 0)
        write_entry (stream, (const uint8_t *) data, take, when_ns);
      else
        {
          partial_append (stream, data, take);
          log_flush_stream (stream, when_ns);
        }
      data += take;
      len -= take;
    }
}

#include "log.h"
#include "json.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static bool log_json;
static bool log_debug;
static bool child_mode;
static bool quiet_warnings;

void
tn_log_quiet_warnings (bool quiet)
{
  quiet_warnings = quiet;
}

int
tn_log_init (const char *path, bool json, bool debug)
{
  log_json = json;
  log_debug = debug;
  if (path && path[0])
    {
      log_fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (log_fd < 0)
        return -1;
    }
  return 0;
}

bool
tn_log_debug_enabled (void)
{
  return log_debug;
}

void
tn_log_child_mode (void)
{
  child_mode = true;
}

static void
timestamp (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  size_t n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static void
emit (const char *level, bool to_stderr, const char *fmt, va_list ap)
{
  int saved = errno;
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    {
      errno = saved;
      return;
    }
  /* one line: fold any newline a nested message may carry */
  for (char *c = msg; *c; c++)
    if (*c == '\n' || *c == '\r')
      *c = ' ';
  if (log_fd >= 0)
    {
      char ts[64];
      struct tn_buf b = { 0 };
      timestamp (ts, sizeof ts);
      if (log_json)
        {
          tn_buf_puts (&b, "{\"level\":\"");
          tn_buf_puts (&b, level);
          tn_buf_puts (&b, "\",\"msg\":");
          tn_json_quote (&b, msg);
          tn_buf_puts (&b, ",\"time\":\"");
          tn_buf_puts (&b, ts);
          tn_buf_puts (&b, "\"}\n");
        }
      else
        {
          tn_buf_printf (&b, "time=\"%s\" level=%s msg=", ts, level);
          tn_json_quote (&b, msg);
          tn_buf_puts (&b, "\n");
        }
      if (!b.failed)
        tn_write_all (log_fd, b.data, b.len);
      tn_buf_free (&b);
    }
  if (to_stderr && !child_mode)
    {
      struct tn_buf b = { 0 };
      if (strcmp (level, "error") == 0)
        tn_buf_printf (&b, "tersane-runtime: %s\n", msg);
      else
        tn_buf_printf (&b, "tersane-runtime: %s: %s\n", level, msg);
      if (!b.failed)
        tn_write_all (STDERR_FILENO, b.data, b.len);
      tn_buf_free (&b);
    }
  free (msg);
  errno = saved;
}

void
tn_log_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  emit ("error", true, fmt, ap);
  va_end (ap);
}

void
tn_log_warn (const char *fmt, ...)
{
  if (quiet_warnings)
    return;
  va_list ap;
  va_start (ap, fmt);
  emit ("warning", log_fd < 0, fmt, ap);
  va_end (ap);
}

void
tn_log_debug (const char *fmt, ...)
{
  if (!log_debug)
    return;
  va_list ap;
  va_start (ap, fmt);
  emit ("debug", log_fd < 0, fmt, ap);
  va_end (ap);
}

static long long phase_start_us = -1;

static long long
mono_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void
tn_log_phase_init (void)
{
  const char *v = getenv ("TERSANE_RUNTIME_TIMING");
  if (v && v[0] == '1')
    phase_start_us = mono_us ();
}

void
tn_log_phase (const char *what)
{
  if (phase_start_us < 0)
    return;
  char buf[128];
  int n = snprintf (buf, sizeof buf, "[%d] %7lld us %s\n", (int) getpid (), mono_us () - phase_start_us, what);
  if (n > 0)
    tn_write_all (STDERR_FILENO, buf, (size_t) n);
}

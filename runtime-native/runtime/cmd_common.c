#include "commands.h"
#include "log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int
tn_cmd_fail (struct tn_error *e)
{
  tn_log_error ("%s", tn_error_text (e));
  tn_error_free (&e);
  return 1;
}

int
tn_cmd_usage (const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  tn_log_error ("%s: %s", cmd, msg ? msg : "invalid arguments");
  free (msg);
  return 1;
}

int
tn_cmd_want_args (const char *cmd, int argc, char **argv, int first, int n, const char *what)
{
  (void) argv;
  if (argc - first < n)
    return tn_cmd_usage (cmd, "%s is required", what);
  if (argc - first > n)
    return tn_cmd_usage (cmd, "unexpected argument \"%s\"", argv[first + n]);
  return 0;
}

int
tn_cmd_parse_count (const char *cmd, const char *opt, const char *value, int *out)
{
  char *end;
  long v = strtol (value, &end, 10);
  if (end == value || *end || v < 0 || v > 65536)
    return tn_cmd_usage (cmd, "%s: \"%s\" is not a valid number", opt, value);
  *out = (int) v;
  return 0;
}

int
tn_cmd_only_id (const char *cmd, int argc, char **argv, const char **id)
{
  static const struct option opts[] = { { NULL, 0, NULL, 0 } };
  opterr = 0;
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return tn_cmd_usage (cmd, "unknown option \"%s\"", argv[optind - 1]);
  if (tn_cmd_want_args (cmd, argc, argv, optind, 1, "a container id"))
    return 1;
  *id = argv[optind];
  return 0;
}


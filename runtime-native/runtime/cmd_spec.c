/* spec [--bundle DIR] [--rootless]: writes a default config.json into the bundle. */
#include "commands.h"
#include "cleanup.h"
#include "fsutil.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
tn_cmd_spec (struct tn_global *g, int argc, char **argv)
{
  (void) g;
  static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' }, { "rootless", no_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
  const char *bundle = ".";
  bool rootless = false;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "b:", opts, NULL)) != -1)
    {
      if (c == 'b')
        bundle = optarg;
      else if (c == 'r')
        rootless = true;
      else
        return tn_cmd_usage ("spec", "unknown option \"%s\"", argv[optind - 1]);
    }
  if (tn_cmd_want_args ("spec", argc, argv, optind, 0, ""))
    return 1;
  char path[4096];
  snprintf (path, sizeof path, "%s/config.json", bundle);
  struct tn_error *e = NULL;
  cleanup_free char *json = tn_spec_default (rootless);
  if (json == NULL)
    {
      tn_error_sys (&e, ENOMEM, "spec");
      return tn_cmd_fail (e);
    }
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      if (errno == EEXIST)
        tn_error_new (&e, "File %s exists. Remove it first", path);
      else
        tn_error_sys (&e, errno, "create `%s`", path);
      return tn_cmd_fail (e);
    }
  if (tn_write_all (fd, json, strlen (json)) < 0)
    {
      tn_error_sys (&e, errno, "write `%s`", path);
      return tn_cmd_fail (e);
    }
  return 0;
}

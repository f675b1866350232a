/* delete [--force] <id>: removes a stopped container (--force: kills it first). */
#include "commands.h"

#include <getopt.h>

int
tn_cmd_delete (struct tn_global *g, int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    {
      if (c == 'f')
        force = true;
      else
        return tn_cmd_usage ("delete", "unknown option \"%s\"", argv[optind - 1]);
    }
  if (tn_cmd_want_args ("delete", argc, argv, optind, 1, "a container id"))
    return 1;
  struct tn_error *e = NULL;
  if (tn_container_delete (g, argv[optind], force, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

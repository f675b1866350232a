/* start <id>: runs the user's program of a created container (opens its exec.fifo). */
#include "commands.h"

int
tn_cmd_start (struct tn_global *g, int argc, char **argv)
{
  const char *id;
  if (tn_cmd_only_id ("start", argc, argv, &id))
    return 1;
  struct tn_error *e = NULL;
  if (tn_container_start (g, id, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

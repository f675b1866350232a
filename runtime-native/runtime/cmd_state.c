/* state <id>: the runtime-spec state of a container, as indented JSON. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>

int
tn_cmd_state (struct tn_global *g, int argc, char **argv)
{
  const char *id;
  if (tn_cmd_only_id ("state", argc, argv, &id))
    return 1;
  struct tn_error *e = NULL;
  char *json = NULL;
  if (tn_container_state (g, id, &json, &e) < 0)
    return tn_cmd_fail (e);
  fputs (json, stdout);
  free (json);
  return 0;
}

/* pause <id>, resume <id>: freeze and thaw every process of the container (v1 freezer,
 * v2 cgroup.freeze). */
#include "commands.h"

int
tn_cmd_pause (struct tn_global *g, int argc, char **argv)
{
  const char *id;
  if (tn_cmd_only_id ("pause", argc, argv, &id))
    return 1;
  struct tn_error *e = NULL;
  if (tn_container_pause (g, id, true, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

int
tn_cmd_resume (struct tn_global *g, int argc, char **argv)
{
  const char *id;
  if (tn_cmd_only_id ("resume", argc, argv, &id))
    return 1;
  struct tn_error *e = NULL;
  if (tn_container_pause (g, id, false, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

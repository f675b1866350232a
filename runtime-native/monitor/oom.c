/* Was the container OOM-killed? At exit the monitor compares the cgroup's OOM-kill counter with its
 * value right after create: cgroup v1 `memory.oom_control` or v2 `memory.events`, both carry an
 * `oom_kill N` line. The cgroup is the init's, as /proc/<pid>/cgroup names it. */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#define CGROUP2_MAGIC 0x63677270   /* statfs f_type of a cgroup2 mount */

static char *counter_file;
static long long baseline = -1;

static long long
read_counter (void)
{
  if (counter_file == NULL)
    return -1;
  cleanup_free char *text = NULL;
  struct tn_error *err = NULL;
  if (tn_read_file (counter_file, &text, NULL, &err) < 0)
    {
      tn_error_free (&err);
      return -1;
    }
  for (char *line = text; line && *line;)
    {
      if (strncmp (line, "oom_kill ", 9) == 0)
        return strtoll (line + 9, NULL, 10);
      line = strchr (line, '\n');
      if (line)
        line++;
    }
  return -1;
}

void
oom_watch_start (pid_t pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/cgroup", (int) pid);
  cleanup_free char *text = NULL;
  struct tn_error *err = NULL;
  if (tn_read_file (path, &text, NULL, &err) < 0)
    {
      tn_error_free (&err);
      return;
    }
  struct statfs sfs;
  bool unified = statfs ("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_MAGIC;
  const char *v1 = NULL, *v2 = NULL;
  for (char *line = text; line && *line;)
    {
      char *nl = strchr (line, '\n');
      if (nl)
        *nl = '\0';
      /* id:controllers:path */
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2)
        {
          *c2 = '\0';
          const char *ctrls = c1 + 1;
          if (*ctrls == '\0')
            v2 = c2 + 1;
          else
            for (const char *p = ctrls; p;)
              {
                if (strncmp (p, "memory", 6) == 0 && (p[6] == ',' || p[6] == '\0'))
                  v1 = c2 + 1;
                p = strchr (p, ',');
                if (p)
                  p++;
              }
        }
      line = nl ? nl + 1 : NULL;
    }
  int r = -1;
  if (unified && v2)
    r = asprintf (&counter_file, "/sys/fs/cgroup%s/memory.events", v2);
  else if (v1)
    r = asprintf (&counter_file, "/sys/fs/cgroup/memory%s/memory.oom_control", v1);
  else if (v2)
    r = asprintf (&counter_file, "/sys/fs/cgroup/unified%s/memory.events", v2);
  if (r < 0)
    counter_file = NULL;
  baseline = read_counter ();
}

bool
oom_killed (void)
{
  long long now = read_counter ();
  if (now < 0)
    return false;
  return now > (baseline < 0 ? 0 : baseline);
}

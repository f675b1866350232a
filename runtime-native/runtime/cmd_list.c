/* list [--format table|json] [-q]: the containers under --root. */
#include "commands.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "state.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
tn_cmd_list (struct tn_global *g, int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' }, { NULL, 0, NULL, 0 } };
  const char *format = "table";
  bool quiet = false;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "f:q", opts, NULL)) != -1)
    {
      if (c == 'f')
        format = optarg;
      else if (c == 'q')
        quiet = true;
      else
        return tn_cmd_usage ("list", "unknown option \"%s\"", argv[optind - 1]);
    }
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return tn_cmd_usage ("list", "--format: \"%s\" is neither table nor json", format);
  if (tn_cmd_want_args ("list", argc, argv, optind, 0, ""))
    return 1;

  struct tn_state **states = NULL;
  size_t n = 0;
  DIR *d = opendir (g->root);
  if (d)
    {
      struct dirent *e;
      while ((e = readdir (d)) != NULL)
        {
          if (e->d_name[0] == '.')
            continue;
          struct tn_state *st = NULL;
          struct tn_error *err = NULL;
          if (tn_state_load (g, e->d_name, &st, &err) < 0)
            {
              tn_error_free (&err);
              continue; /* being created, or not a container */
            }
          struct tn_state **ns = realloc (states, (n + 1) * sizeof *ns);
          if (ns == NULL)
            break;
          states = ns;
          states[n++] = st;
        }
      closedir (d);
    }

  if (quiet)
    {
      for (size_t i = 0; i < n; i++)
        printf ("%s\n", states[i]->id);
    }
  else if (strcmp (format, "json") == 0)
    {
      struct tn_jw w;
      tn_jw_init (&w, 0);
      tn_jw_begin_array (&w);
      for (size_t i = 0; i < n; i++)
        {
          struct tn_state *st = states[i];
          enum tn_status s = tn_state_status (st);
          tn_jw_begin_object (&w);
          tn_jw_kv_string (&w, "ociVersion", TN_OCI_VERSION);
          tn_jw_kv_string (&w, "id", st->id);
          tn_jw_kv_int (&w, "pid", s == TN_STATUS_STOPPED ? 0 : st->pid);
          tn_jw_kv_string (&w, "status", tn_status_name (s));
          tn_jw_kv_string (&w, "bundle", st->bundle);
          tn_jw_kv_string (&w, "rootfs", st->rootfs);
          tn_jw_kv_string (&w, "created", st->created);
          char owner[32];
          if (st->owner == 0)
            snprintf (owner, sizeof owner, "root");
          else
            snprintf (owner, sizeof owner, "#%u", (unsigned) st->owner);
          tn_jw_kv_string (&w, "owner", owner);
          if (st->spec->n_annotations)
            {
              tn_jw_key (&w, "annotations");
              tn_jw_begin_object (&w);
              for (size_t k = 0; k < st->spec->n_annotations; k++)
                tn_jw_kv_string (&w, st->spec->annotations[k].key, st->spec->annotations[k].value);
              tn_jw_end_object (&w);
            }
          tn_jw_end_object (&w);
        }
      tn_jw_end_array (&w);
      cleanup_free char *out = tn_jw_finish (&w);
      if (out)
        printf ("%s\n", out);
    }
  else
    {
      /* columns as wide as their widest cell, like runc's tabwriter */
      size_t wid = 2, wpid = 3, wstat = 6, wbundle = 6, wcreated = 7;
      char pidbuf[32];
      for (size_t i = 0; i < n; i++)
        {
          struct tn_state *st = states[i];
          size_t l;
          if ((l = strlen (st->id)) > wid)
            wid = l;
          if ((l = (size_t) snprintf (pidbuf, sizeof pidbuf, "%d", st->pid)) > wpid)
            wpid = l;
          if ((l = strlen (st->bundle)) > wbundle)
            wbundle = l;
          if ((l = strlen (st->created)) > wcreated)
            wcreated = l;
        }
      wstat = 7;
      printf ("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n", (int) wid, "ID", (int) wpid, "PID", (int) wstat, "STATUS", (int) wbundle, "BUNDLE", (int) wcreated, "CREATED", "OWNER");
      for (size_t i = 0; i < n; i++)
        {
          struct tn_state *st = states[i];
          enum tn_status s = tn_state_status (st);
          snprintf (pidbuf, sizeof pidbuf, "%d", s == TN_STATUS_STOPPED ? 0 : st->pid);
          char owner[32];
          if (st->owner == 0)
            snprintf (owner, sizeof owner, "root");
          else
            snprintf (owner, sizeof owner, "#%u", (unsigned) st->owner);
          printf ("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n", (int) wid, st->id, (int) wpid, pidbuf, (int) wstat, tn_status_name (s), (int) wbundle, st->bundle, (int) wcreated, st->created, owner);
        }
    }
  for (size_t i = 0; i < n; i++)
    tn_state_free (states[i]);
  free (states);
  return 0;
}

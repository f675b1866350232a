/* ps [--format table|json] <id> [ps options]: the container's processes; table runs ps(1) (with
 * -ef unless options are given) and keeps the header and the container's lines, as runc does. */
#include "commands.h"
#include "cleanup.h"
#include "json.h"
#include "fsutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
tn_cmd_ps (struct tn_global *g, int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  const char *format = "table";
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "+f:", opts, NULL)) != -1)
    {
      if (c == 'f')
        format = optarg;
      else
        return tn_cmd_usage ("ps", "unknown option \"%s\"", argv[optind - 1]);
    }
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return tn_cmd_usage ("ps", "--format: \"%s\" is neither table nor json", format);
  if (optind >= argc)
    return tn_cmd_usage ("ps", "a container id is required");
  const char *id = argv[optind++];
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  struct tn_error *e = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;
  if (tn_container_pids (g, id, &pids, &n, &e) < 0)
    return tn_cmd_fail (e);
  if (strcmp (format, "json") == 0)
    {
      struct tn_jw w;
      tn_jw_init (&w, 0);
      tn_jw_begin_array (&w);
      for (size_t i = 0; i < n; i++)
        tn_jw_int (&w, pids[i]);
      tn_jw_end_array (&w);
      cleanup_free char *out = tn_jw_finish (&w);
      if (out)
        printf ("%s\n", out);
      return 0;
    }

  int fds[2];
  if (pipe (fds) < 0)
    {
      tn_error_sys (&e, errno, "pipe");
      return tn_cmd_fail (e);
    }
  pid_t child = fork ();
  if (child == 0)
    {
      dup2 (fds[1], 1);
      close (fds[0]);
      close (fds[1]);
      int nargs = argc - optind;
      char **args = calloc ((size_t) nargs + 2, sizeof *args);
      if (args == NULL)
        _exit (127);
      args[0] = (char *) "ps";
      if (nargs == 0)
        args[1] = (char *) "-ef";
      for (int i = 0; i < nargs; i++)
        args[1 + i] = argv[optind + i];
      execvp ("ps", args);
      _exit (127);
    }
  close (fds[1]);
  cleanup_file FILE *f = fdopen (fds[0], "r");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  int pid_col = -1;
  bool first = true;
  while (f && getline (&line, &cap, f) > 0)
    {
      if (first)
        {
          first = false;
          /* which column is PID */
          cleanup_free char *copy = strdup (line);
          int col = 0;
          for (char *save = NULL, *t = copy ? strtok_r (copy, " \t\n", &save) : NULL; t; t = strtok_r (NULL, " \t\n", &save), col++)
            if (strcmp (t, "PID") == 0)
              pid_col = col;
          fputs (line, stdout);
          continue;
        }
      cleanup_free char *copy = strdup (line);
      int col = 0;
      long pid = -1;
      for (char *save = NULL, *t = copy ? strtok_r (copy, " \t\n", &save) : NULL; t; t = strtok_r (NULL, " \t\n", &save), col++)
        if (col == pid_col)
          pid = strtol (t, NULL, 10);
      for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
          {
            fputs (line, stdout);
            break;
          }
    }
  int status = 0;
  waitpid (child, &status, 0);
  if (pid_col < 0)
    {
      tn_error_new (&e, "ps: no PID column in the output of ps");
      return tn_cmd_fail (e);
    }
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : 1;
}

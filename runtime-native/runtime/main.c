/* tersane-runtime: an OCI runtime-spec runtime with runc's command line.
 *
 *   tersane-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND …
 *
 * Global options come before the command; each command is a thin file (cmd_*.c) found in the
 * table below. */
#include "commands.h"
#include "log.h"
#include "sealed.h"
#include "seccomp_filter.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

static const struct tn_command commands[] = {
  { "create", "create <id> --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N]", tn_cmd_create },
  { "start", "start <id>", tn_cmd_start },
  { "run", "run <id> --bundle DIR [-d] [--pid-file F] [--console-socket S] [--keep]", tn_cmd_run },
  { "state", "state <id>", tn_cmd_state },
  { "kill", "kill [--all] <id> [SIGNAL]", tn_cmd_kill },
  { "delete", "delete [--force] <id>", tn_cmd_delete },
  { "exec", "exec [options] <id> <command> [args…] | exec --process FILE <id>", tn_cmd_exec },
  { "pause", "pause <id>", tn_cmd_pause },
  { "resume", "resume <id>", tn_cmd_resume },
  { "ps", "ps [--format table|json] <id> [ps options]", tn_cmd_ps },
  { "list", "list [--format table|json] [-q]", tn_cmd_list },
  { "spec", "spec [--bundle DIR] [--rootless]", tn_cmd_spec },
  { "features", "features", tn_cmd_features },
};

static void
usage (FILE *out)
{
  fprintf (out, "usage: tersane-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %s\n", commands[i].usage);
}

static void
version (void)
{
  printf ("tersane-runtime version %s\nspec: %s\nlibseccomp: %s\n", TN_RUNTIME_VERSION, TN_OCI_VERSION, tn_seccomp_version ());
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; advances *i past the value. */
static const char *
option_value (int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen (name);
  if (strncmp (argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc)
    return "";
  return argv[++*i];
}

int
main (int argc, char **argv)
{
  /* a hook or a closed pipe must not kill the runtime; the container's program gets its own
   * default dispositions back before it starts */
  signal (SIGPIPE, SIG_IGN);
  tn_log_phase_init ();
  /* a container without a pid namespace can see this process: it must not be able to open
   * /proc/<pid>/exe (the runtime binary) through it, now or after we exit (CVE-2019-5736) */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  struct tn_global g = { .root = TN_DEFAULT_ROOT };
  const char *log_path = NULL, *log_format = "text";
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *v;
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if ((v = option_value (argc, argv, &i, "--root")))
        g.root = v;
      else if ((v = option_value (argc, argv, &i, "--log")))
        log_path = v;
      else if ((v = option_value (argc, argv, &i, "--log-format")))
        log_format = v;
      else if ((v = option_value (argc, argv, &i, "--criu")))
        ;
      else if ((v = option_value (argc, argv, &i, "--rootless")))
        ;
      else if (strcmp (argv[i], "--debug") == 0)
        g.debug = true;
      else if (strcmp (argv[i], "--systemd-cgroup") == 0)
        {
          fprintf (stderr, "tersane-runtime: --systemd-cgroup is not supported: this runtime manages cgroups itself (cgroupfs)\n");
          return 1;
        }
      else if (strcmp (argv[i], "--version") == 0 || strcmp (argv[i], "-v") == 0)
        {
          version ();
          return 0;
        }
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          usage (stdout);
          return 0;
        }
      else
        {
          fprintf (stderr, "tersane-runtime: unknown global option \"%s\"\n", argv[i]);
          return 1;
        }
    }
  if (strcmp (log_format, "json") != 0 && strcmp (log_format, "text") != 0)
    {
      fprintf (stderr, "tersane-runtime: --log-format: \"%s\" is neither text nor json\n", log_format);
      return 1;
    }
  if (g.root[0] == '\0')
    {
      fprintf (stderr, "tersane-runtime: --root: a directory is required\n");
      return 1;
    }
  g.log = log_path;
  g.log_json = strcmp (log_format, "json") == 0;
  if (tn_log_init (log_path, g.log_json, g.debug) < 0)
    {
      fprintf (stderr, "tersane-runtime: --log: cannot open \"%s\"\n", log_path);
      return 1;
    }
  if (i >= argc)
    {
      usage (stderr);
      return 1;
    }
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp (commands[k].name, argv[i]) == 0)
      {
        /* the commands that make processes in a container run from a copy nobody can write (sealed.c) */
        if (strcmp (argv[i], "create") == 0 || strcmp (argv[i], "run") == 0 || strcmp (argv[i], "exec") == 0)
          {
            struct tn_error *e = NULL;
            if (tn_exec_protected (argv, &e) < 0)
              {
                tn_log_error ("%s", tn_error_text (e));
                return 1;
              }
          }
        return commands[k].run (&g, argc - i, argv + i);
      }
  if (strcmp (argv[i], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  tn_log_error ("unknown command \"%s\"", argv[i]);
  return 1;
}

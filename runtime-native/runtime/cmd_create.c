/* create <id> --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring]
 * [--preserve-fds N]; and run, which adds --detach/-d and --keep. */
#include "commands.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int
parse (const char *cmd, bool run, int argc, char **argv, struct tn_create_opts *o, const char **id)
{
  static const struct option opts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "pid-file", required_argument, NULL, 'P' },
    { "console-socket", required_argument, NULL, 'c' },
    { "no-pivot", no_argument, NULL, 'n' },
    { "no-new-keyring", no_argument, NULL, 'k' },
    { "preserve-fds", required_argument, NULL, 'f' },
    { "detach", no_argument, NULL, 'd' },
    { "keep", no_argument, NULL, 'K' },
    { "no-subreaper", no_argument, NULL, 'S' },
    { NULL, 0, NULL, 0 },
  };
  memset (o, 0, sizeof *o);
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, run ? "b:d" : "b:", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 'b': o->bundle = optarg; break;
        case 'P': o->pid_file = optarg; break;
        case 'c': o->console_socket = optarg; break;
        case 'n': o->no_pivot = true; break;
        case 'k': o->no_new_keyring = true; break;
        case 'f':
          if (tn_cmd_parse_count (cmd, "--preserve-fds", optarg, &o->preserve_fds) < 0)
            return -1;
          break;
        case 'd':
        case 'K':
        case 'S':
          if (!run)
            {
              tn_cmd_usage (cmd, "unknown option \"%s\"", argv[optind - 1]);
              return -1;
            }
          if (c == 'd')
            o->detach = true;
          else if (c == 'K')
            o->keep = true;
          break;
        default:
          tn_cmd_usage (cmd, "unknown option \"%s\"", argv[optind - 1]);
          return -1;
        }
    }
  if (tn_cmd_want_args (cmd, argc, argv, optind, 1, "a container id"))
    return -1;
  *id = argv[optind];
  return 0;
}

int
tn_cmd_create (struct tn_global *g, int argc, char **argv)
{
  struct tn_create_opts o;
  const char *id;
  if (parse ("create", false, argc, argv, &o, &id) < 0)
    return 1;
  struct tn_error *e = NULL;
  if (tn_container_create (g, id, &o, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

int
tn_cmd_run (struct tn_global *g, int argc, char **argv)
{
  struct tn_create_opts o;
  const char *id;
  if (parse ("run", true, argc, argv, &o, &id) < 0)
    return 1;
  struct tn_error *e = NULL;
  int status = 0;
  if (tn_container_run (g, id, &o, &status, &e) < 0)
    return tn_cmd_fail (e);
  return status;
}

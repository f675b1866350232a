/* exec [options] <id> <command> [args…]: options stop at the id; --process FILE or the per-flag
 * form (--env, --cwd, --user, --cap, --no-new-privs, --additional-gids, --tty). */
#include "commands.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int
push (char ***list, size_t *n, char *v)
{
  char **l = realloc (*list, (*n + 2) * sizeof *l);
  if (l == NULL)
    return -1;
  l[(*n)++] = v;
  l[*n] = NULL;
  *list = l;
  return 0;
}

int
tn_cmd_exec (struct tn_global *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "console-socket", required_argument, NULL, 'C' }, { "cwd", required_argument, NULL, 'w' },
    { "env", required_argument, NULL, 'e' }, { "tty", no_argument, NULL, 't' },
    { "user", required_argument, NULL, 'u' }, { "additional-gids", required_argument, NULL, 'g' },
    { "process", required_argument, NULL, 'p' }, { "detach", no_argument, NULL, 'd' },
    { "pid-file", required_argument, NULL, 'P' }, { "process-label", required_argument, NULL, 'L' },
    { "apparmor", required_argument, NULL, 'A' }, { "no-new-privs", no_argument, NULL, 'N' },
    { "cap", required_argument, NULL, 'c' }, { "preserve-fds", required_argument, NULL, 'f' },
    { "ignore-paused", no_argument, NULL, 'I' }, { "cgroup", required_argument, NULL, 'G' },
    { NULL, 0, NULL, 0 },
  };
  struct tn_exec_opts o;
  memset (&o, 0, sizeof o);
  char *gids = NULL;
  size_t gids_len = 0;
  opterr = 0;
  int c;
  /* "+": stop at the first non-option, the id; what follows is the command */
  while ((c = getopt_long (argc, argv, "+e:tu:g:p:dc:", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 'C': o.console_socket = optarg; break;
        case 'w': o.cwd = optarg; break;
        case 'e':
          if (push (&o.env, &o.n_env, optarg) < 0)
            return 1;
          break;
        case 't': o.tty = true; o.tty_set = true; break;
        case 'u': o.user = optarg; break;
        case 'g':
          {
            size_t n = strlen (optarg);
            char *ng = realloc (gids, gids_len + n + 2);
            if (ng == NULL)
              return 1;
            gids = ng;
            if (gids_len)
              gids[gids_len++] = ',';
            memcpy (gids + gids_len, optarg, n + 1);
            gids_len += n;
            break;
          }
        case 'p': o.process_file = optarg; break;
        case 'd': o.detach = true; break;
        case 'P': o.pid_file = optarg; break;
        case 'L': case 'A': break; /* SELinux and AppArmor are not available here */
        case 'N': o.no_new_privs = true; break;
        case 'c':
          if (push (&o.caps, &o.n_caps, optarg) < 0)
            return 1;
          break;
        case 'f':
          if (tn_cmd_parse_count ("exec", "--preserve-fds", optarg, &o.preserve_fds) < 0)
            return 1;
          break;
        case 'I': o.ignore_paused = true; break;
        case 'G': return tn_cmd_usage ("exec", "--cgroup is not supported");
        default:
          return tn_cmd_usage ("exec", "unknown option \"%s\"", argv[optind - 1]);
        }
    }
  o.additional_gids = gids;
  if (optind >= argc)
    return tn_cmd_usage ("exec", "a container id is required");
  const char *id = argv[optind++];
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  o.args = argv + optind;
  o.n_args = (size_t) (argc - optind);
  if (o.process_file && o.n_args)
    return tn_cmd_usage ("exec", "a command cannot be given with --process");
  struct tn_error *e = NULL;
  int status = 0;
  int r = tn_container_exec (g, id, &o, &status, &e);
  free (o.env);
  free (o.caps);
  free (gids);
  if (r < 0)
    return tn_cmd_fail (e);
  return status;
}

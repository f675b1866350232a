/* kill [--all] <id> [SIGNAL]: SIGNAL by name, with or without SIG, or by number; SIGTERM by
 * default. */
#include "commands.h"
#include "signals.h"

#include <getopt.h>
#include <signal.h>

int
tn_cmd_kill (struct tn_global *g, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  bool all = false;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "a", opts, NULL)) != -1)
    {
      if (c == 'a')
        all = true;
      else
        return tn_cmd_usage ("kill", "unknown option \"%s\"", argv[optind - 1]);
    }
  int n = argc - optind;
  if (n < 1)
    return tn_cmd_usage ("kill", "a container id is required");
  if (n > 2)
    return tn_cmd_usage ("kill", "unexpected argument \"%s\"", argv[optind + 2]);
  int sig = SIGTERM;
  if (n == 2 && (sig = tn_signal_parse (argv[optind + 1])) < 0)
    return tn_cmd_usage ("kill", "unknown signal \"%s\"", argv[optind + 1]);
  struct tn_error *e = NULL;
  if (tn_container_kill (g, argv[optind], sig, all, &e) < 0)
    return tn_cmd_fail (e);
  return 0;
}

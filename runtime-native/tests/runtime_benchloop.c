/* Benchmark tool (not a unit test): runs two commands alternately N times and prints the wall
 * time of each run in milliseconds, one "a <ms>" / "b <ms>" line per run, so that the runtime
 * benchmark measures the commands and not the cost of starting a process from Node.
 *
 *   runtime_benchloop N WARMUP ARGV-A… -- ARGV-B…
 *
 * "{}" in an argument is replaced by the run's number. A command that fails ends the tool with
 * status 1. The commands' stdout goes to /dev/null; their stderr is inherited. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
run (char **tmpl, int n, int i)
{
  char *argv[256];
  char bufs[256][512];
  for (int k = 0; k < n && k < 255; k++)
    {
      const char *p = strstr (tmpl[k], "{}");
      if (p)
        {
          snprintf (bufs[k], sizeof bufs[k], "%.*s%d%s", (int) (p - tmpl[k]), tmpl[k], i, p + 2);
          argv[k] = bufs[k];
        }
      else
        argv[k] = tmpl[k];
    }
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  pid_t pid;
  if (posix_spawn (&pid, argv[0], &fa, NULL, argv, environ) != 0)
    {
      perror (argv[0]);
      exit (1);
    }
  int status;
  waitpid (pid, &status, 0);
  clock_gettime (CLOCK_MONOTONIC, &b);
  posix_spawn_file_actions_destroy (&fa);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      fprintf (stderr, "%s: exit status %d\n", argv[0], WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
      exit (1);
    }
  return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

int
main (int argc, char **argv)
{
  if (argc < 6)
    {
      fprintf (stderr, "usage: %s N WARMUP ARGV-A… -- ARGV-B…\n", argv[0]);
      return 2;
    }
  int n = atoi (argv[1]), warmup = atoi (argv[2]);
  int sep = -1;
  for (int i = 3; i < argc; i++)
    if (strcmp (argv[i], "--") == 0)
      sep = i;
  if (sep < 4 || sep == argc - 1)
    {
      fprintf (stderr, "%s: two commands separated by --\n", argv[0]);
      return 2;
    }
  char **a = argv + 3, **b = argv + sep + 1;
  int na = sep - 3, nb = argc - sep - 1;
  for (int i = 0; i < warmup + n; i++)
    {
      double ta = run (a, na, i);
      double tb = run (b, nb, i);
      if (i >= warmup)
        printf ("a %.3f\nb %.3f\n", ta, tb);
    }
  return 0;
}

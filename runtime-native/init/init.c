/* tersane-init: the small init `docker run --init` puts in front of a container's command.
 *
 *   tersane-init [--] COMMAND [ARG…]
 *
 * Runs COMMAND as its child (in a process group of its own, the terminal's foreground group when
 * stdin is a terminal), forwards every signal it receives to that child, reaps every zombie that
 * ends up with it (as PID 1 of the container, or as a child subreaper otherwise), and exits with the
 * child's status: its exit code, or 128+N when signal N killed it. A COMMAND that cannot be run
 * exits 127 (not found) or 126 (not executable), as a shell would.
 *
 * All signals are blocked and taken with sigtimedwait(2): a blocked signal is never dropped, even
 * for a PID 1 without handlers, so a SIGTERM from `docker stop` reaches the command. The signals
 * that report the init's own faults stay unblocked. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PROG "tersane-init"
/* How long one wait for a signal lasts before zombies are looked for again (a SIGCHLD coalesced
 * with another is never missed for longer than this). */
#define WAIT_SLICE_S 1

static const int fault_signals[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

static int
status_of (int wstatus)
{
  if (WIFEXITED (wstatus))
    return WEXITSTATUS (wstatus);
  if (WIFSIGNALED (wstatus))
    return 128 + WTERMSIG (wstatus);
  return 1;
}

/* In the child: its own process group, the terminal's foreground if there is one, the signal mask
 * and dispositions it would have had without us, then COMMAND. Returns only on failure. */
static int
run_child (char **argv, const sigset_t *parent_mask)
{
  setpgid (0, 0);
  if (isatty (STDIN_FILENO))
    {
      /* Becoming the foreground group from the background would stop us with SIGTTOU. */
      signal (SIGTTOU, SIG_IGN);
      tcsetpgrp (STDIN_FILENO, getpgrp ());
      signal (SIGTTOU, SIG_DFL);
    }
  sigprocmask (SIG_SETMASK, parent_mask, NULL);
  execvp (argv[0], argv);
  int e = errno;
  fprintf (stderr, PROG ": exec %s failed: %s\n", argv[0], strerror (e));
  return e == ENOENT ? 127 : 126;
}

/* Reaps every exited child; returns true once `child` was among them (its status in *status). */
static int
reap (pid_t child, int *status, int *child_done)
{
  for (;;)
    {
      int ws;
      pid_t pid = waitpid (-1, &ws, WNOHANG);
      if (pid <= 0)
        return pid < 0 && errno != ECHILD ? -1 : 0;
      if (pid == child)
        {
          *status = status_of (ws);
          *child_done = 1;
        }
    }
}

int
main (int argc, char **argv)
{
  int first = 1;
  if (first < argc && strcmp (argv[first], "--") == 0)
    first++;
  if (first >= argc)
    {
      fprintf (stderr, "usage: " PROG " [--] COMMAND [ARG...]\n");
      return 2;
    }

  sigset_t all, parent_mask;
  sigfillset (&all);
  for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
    sigdelset (&all, fault_signals[i]);
  if (sigprocmask (SIG_BLOCK, &all, &parent_mask) < 0)
    {
      fprintf (stderr, PROG ": sigprocmask: %s\n", strerror (errno));
      return 1;
    }
  /* Not PID 1 (e.g. --pid host): orphans of the command still come to us to be reaped. */
  if (getpid () != 1 && prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    fprintf (stderr, PROG ": cannot become a subreaper: %s\n", strerror (errno));

  pid_t child = fork ();
  if (child < 0)
    {
      fprintf (stderr, PROG ": fork: %s\n", strerror (errno));
      return 1;
    }
  if (child == 0)
    _exit (run_child (argv + first, &parent_mask));

  int status = 0, child_done = 0;
  while (!child_done)
    {
      siginfo_t info;
      struct timespec slice = { .tv_sec = WAIT_SLICE_S };
      int sig = sigtimedwait (&all, &info, &slice);
      if (sig > 0 && sig != SIGCHLD)
        {
          /* The child may be gone already (then ESRCH): its status comes with the next reap. */
          if (kill (child, sig) < 0 && errno != ESRCH)
            fprintf (stderr, PROG ": forwarding signal %d: %s\n", sig, strerror (errno));
        }
      if (reap (child, &status, &child_done) < 0)
        {
          fprintf (stderr, PROG ": waitpid: %s\n", strerror (errno));
          return 1;
        }
    }
  return status;
}

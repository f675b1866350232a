/* The split between the caller and the monitor.
 *
 * The process the caller starts forks twice: the middle child makes a new session and exits at
 * once, so the monitor is in a session of its own (no controlling terminal, not a session leader,
 * so it can never acquire one) and is re-parented away from the caller. The caller's process waits
 * on a pipe for the monitor's one report (ok + JSON, or an error line), prints it and exits; killing
 * it at any moment leaves the monitor untouched. */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_FD 3
#define REPORT_MAX 8192

static int report_fd = -1;

static void
caller_wait (int rd, pid_t middle)
{
  while (waitpid (middle, NULL, 0) < 0 && errno == EINTR)
    ;
  char buf[REPORT_MAX];
  size_t used = 0;
  for (;;)
    {
      ssize_t n = read (rd, buf + used, sizeof buf - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += (size_t) n;
      if (used == sizeof buf - 1)
        break;
    }
  buf[used] = '\0';
  if (used == 0 || (buf[0] != 'O' && buf[0] != 'E'))
    {
      fprintf (stderr, "tersane-monitor: the monitor exited before reporting\n");
      _exit (1);
    }
  char *text = buf + 1;
  size_t len = strlen (text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  /* The error is one line, whatever the runtime printed. */
  for (char *p = text; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  if (buf[0] == 'O')
    {
      printf ("%s\n", text);
      fflush (stdout);
      _exit (0);
    }
  fprintf (stderr, "tersane-monitor: %s\n", text);
  _exit (1);
}

#ifndef SYS_close_range
#define SYS_close_range 436   /* the same number on every architecture */
#endif

void
close_from (int first)
{
  if (syscall (SYS_close_range, (unsigned) first, ~0u, 0u) == 0)
    return;
  for (int fd = first; fd < 1024; fd++)
    close (fd);
}

int
detach_fork (struct tn_error **err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return tn_error_sys (err, errno, "pipe");
  fflush (NULL);
  pid_t middle = fork ();
  if (middle < 0)
    return tn_error_sys (err, errno, "fork");
  if (middle > 0)
    {
      close (p[1]);
      caller_wait (p[0], middle);
    }
  close (p[0]);
  if (setsid () < 0)
    _exit (1);
  pid_t mon_pid = fork ();
  if (mon_pid < 0)
    {
      dprintf (p[1], "Efork: %s", strerror (errno));
      _exit (1);
    }
  if (mon_pid > 0)
    _exit (0);
  report_fd = p[1];
  return 0;
}

void
detach_sanitize (void)
{
  /* The report pipe goes to fd 3, /dev/null to 0-2, everything else of the caller's is closed. */
  int fd = fcntl (report_fd, F_DUPFD_CLOEXEC, REPORT_FD + 1);
  if (fd >= 0)
    {
      close (report_fd);
      report_fd = fd;
    }
  int null = open ("/dev/null", O_RDWR);
  if (null >= 0)
    {
      for (int i = 0; i < 3; i++)
        if (null != i)
          dup2 (null, i);
      if (null > 2)
        close (null);
    }
  if (report_fd != REPORT_FD && dup3 (report_fd, REPORT_FD, O_CLOEXEC) == REPORT_FD)
    report_fd = REPORT_FD;
  close_from (REPORT_FD + 1);

  if (chdir ("/") < 0)
    { /* "/" always exists */ }
  umask (022);

  /* Dispositions and the mask come from the caller: a caller ignoring SIGCHLD would have the kernel
   * reap the container behind the monitor's back. Reset everything, then ignore what must be. */
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction (s, &sa, NULL);
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);

  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

void
detach_report (bool ok, const char *text)
{
  if (report_fd < 0)
    return;
  char tag = ok ? 'O' : 'E';
  tn_write_all (report_fd, &tag, 1);
  tn_write_all (report_fd, text, strlen (text));
  close (report_fd);
  report_fd = -1;
}

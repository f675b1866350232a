/* tersane-spawner: starts one program, again and again, for a long-lived parent that would
 * otherwise fork itself for every start (the shim, a Node process: forking it copies the page
 * tables of tens of MiB, milliseconds of its event loop per container).
 *
 *   tersane-spawner [--timeout SECONDS] PROGRAM
 *
 * A request is a line on stdin:  ID<TAB>N<TAB>NAME=VALUE (N of them)<TAB>ARG<TAB>ARG…
 * PROGRAM runs with exactly that environment and those arguments, stdin on /dev/null. Once it has
 * exited, the answer is the line  ID<TAB>STATUS<TAB>OUT<TAB>ERR  where STATUS is its exit code (or
 * 128+signal), OUT and ERR the last line it wrote on stdout and on stderr, with tab, newline and
 * backslash escaped as \t, \n and \\. Requests run side by side: each in a child of its own, which
 * writes its answer in one write(2) (answers are bounded to fit in PIPE_BUF, so they never
 * interleave). A program still running after the timeout is killed (SIGKILL: status 137). End of
 * input ends the server; a request under way still answers. */
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FIELDS 256
/* What is kept of each stream: its last line, escaped, within PIPE_BUF with the other. */
#define KEEP 1800

struct tail
{
  char buf[KEEP];
  size_t len;
};

/* Keeps the last KEEP bytes seen. */
static void
tail_add (struct tail *t, const char *data, size_t n)
{
  if (n >= KEEP)
    {
      memcpy (t->buf, data + n - KEEP, KEEP);
      t->len = KEEP;
      return;
    }
  if (t->len + n > KEEP)
    {
      size_t drop = t->len + n - KEEP;
      memmove (t->buf, t->buf + drop, t->len - drop);
      t->len -= drop;
    }
  memcpy (t->buf + t->len, data, n);
  t->len += n;
}

static void
tail_puts (struct tail *t, const char *text)
{
  tail_add (t, text, strlen (text));
}

/* The last non-empty line of `t`, escaped into `out` (at most `cap` - 1 bytes). */
static void
last_line (const struct tail *t, char *out, size_t cap)
{
  size_t end = t->len;
  while (end > 0 && (t->buf[end - 1] == '\n' || t->buf[end - 1] == '\r'))
    end--;
  size_t start = end;
  while (start > 0 && t->buf[start - 1] != '\n')
    start--;
  size_t o = 0;
  for (size_t i = start; i < end && o + 2 < cap; i++)
    {
      char c = t->buf[i];
      if (c == '\t' || c == '\n' || c == '\\')
        {
          out[o++] = '\\';
          out[o++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
        }
      else
        out[o++] = c;
    }
  out[o] = '\0';
}

static void
drain (int fd, struct tail *t, bool *open)
{
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n > 0)
    tail_add (t, buf, (size_t) n);
  else if (n == 0 || (errno != EINTR && errno != EAGAIN))
    *open = false;
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one request to its end and writes its answer; the body of a request's own child. */
static void
handle (const char *program, long timeout_ms, char **field, int n)
{
  char *id = field[0];
  char *end;
  long nenv = n >= 2 ? strtol (field[1], &end, 10) : -1;
  char status[32];
  char out[KEEP], err[KEEP] = "";
  out[0] = '\0';
  if (n < 3 || *end != '\0' || nenv < 0 || nenv > n - 3)
    {
      snprintf (status, sizeof status, "127");
      snprintf (err, sizeof err, "tersane-spawner: a request is ID<TAB>N<TAB>N×NAME=VALUE<TAB>ARG…");
    }
  else
    {
      char **envp = calloc ((size_t) nenv + 1, sizeof *envp);
      char **argv = calloc ((size_t) (n - 2 - nenv) + 2, sizeof *argv);
      int out_pipe[2], err_pipe[2];
      if (envp == NULL || argv == NULL || pipe2 (out_pipe, O_CLOEXEC) < 0 || pipe2 (err_pipe, O_CLOEXEC) < 0)
        _exit (1);
      memcpy (envp, field + 2, (size_t) nenv * sizeof *envp);
      argv[0] = (char *) program;
      memcpy (argv + 1, field + 2 + nenv, (size_t) (n - 2 - nenv) * sizeof *argv);
      pid_t pid = fork ();
      if (pid == 0)
        {
          int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
          if (null < 0 || dup2 (null, 0) < 0 || dup2 (out_pipe[1], 1) < 0 || dup2 (err_pipe[1], 2) < 0)
            _exit (127);
          /* nothing of the server's beyond the three streams reaches the program */
          if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0)
            for (int fd = 3; fd < 1024; fd++)
              close (fd);
          execve (program, argv, envp);
          dprintf (2, "tersane-spawner: cannot run %s: %s\n", program, strerror (errno));
          _exit (127);
        }
      close (out_pipe[1]);
      close (err_pipe[1]);
      struct tail to = { .len = 0 }, te = { .len = 0 };
      bool out_open = true, err_open = true;
      if (pid < 0)
        {
          tail_puts (&te, "tersane-spawner: fork failed");
          out_open = err_open = false;
        }
      long long deadline = now_ms () + timeout_ms;
      while (out_open || err_open)
        {
          struct pollfd p[2] = { { out_open ? out_pipe[0] : -1, POLLIN, 0 }, { err_open ? err_pipe[0] : -1, POLLIN, 0 } };
          long long left = deadline - now_ms ();
          if (left <= 0)
            {
              /* its own children may hold the pipes open: stop waiting for them too */
              kill (pid, SIGKILL);
              tail_puts (&te, "\ntersane-spawner: killed after the timeout");
              break;
            }
          if (poll (p, 2, (int) (left < INT_MAX ? left : INT_MAX)) < 0 && errno != EINTR)
            break;
          if (p[0].revents)
            drain (out_pipe[0], &to, &out_open);
          if (p[1].revents)
            drain (err_pipe[0], &te, &err_open);
        }
      int ws = 0;
      if (pid > 0)
        while (waitpid (pid, &ws, 0) < 0 && errno == EINTR)
          ;
      snprintf (status, sizeof status, "%d", pid < 0 ? 127 : WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws));
      last_line (&to, out, sizeof out);
      last_line (&te, err, sizeof err);
    }
  char answer[PIPE_BUF];
  int len = snprintf (answer, sizeof answer, "%s\t%s\t%s\t%s\n", id, status, out, err);
  if (len >= (int) sizeof answer)
    {
      /* too long for one atomic write: the error text gives way */
      len = snprintf (answer, sizeof answer, "%s\t%s\t%s\t(error output too long)\n", id, status, out);
      if (len >= (int) sizeof answer)
        len = snprintf (answer, sizeof answer, "%s\t%s\t\t(output too long)\n", id, status);
    }
  while (write (1, answer, (size_t) len) < 0 && errno == EINTR)
    ;
}

struct server
{
  const char *program;
  long timeout_ms;
};

/* Forks the request's own child, which runs it and answers; the server reads on. */
static void
serve_request (char *line, void *arg)
{
  const struct server *sv = arg;
  pid_t pid = fork ();
  if (pid < 0)
    {
      fprintf (stderr, "tersane-spawner: fork: %s\n", strerror (errno));
      return;
    }
  if (pid > 0)
    return;
  /* the request's own child: waits for its program, so SIGCHLD is its own again */
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigaction (SIGCHLD, &dfl, NULL);
  char *field[MAX_FIELDS];
  int n = tn_split_tabs (line, field, MAX_FIELDS);
  handle (sv->program, sv->timeout_ms, field, n);
  _exit (0);
}

int
main (int argc, char **argv)
{
  /* The parent gone, nobody reads the answers: the server goes too (requests under way finish). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  long timeout_ms = 60 * 1000;
  int a = 1;
  if (argc == 4 && strcmp (argv[1], "--timeout") == 0)
    {
      char *end;
      long seconds = strtol (argv[2], &end, 10);
      if (*end != '\0' || seconds <= 0 || seconds > 24 * 3600)
        {
          fprintf (stderr, "tersane-spawner: invalid --timeout `%s`\n", argv[2]);
          return 2;
        }
      timeout_ms = seconds * 1000;
      a = 3;
    }
  if (argc != a + 1 || argv[a][0] != '/')
    {
      fprintf (stderr, "usage: tersane-spawner [--timeout SECONDS] /ABSOLUTE/PROGRAM\n");
      return 2;
    }
  const char *program = argv[a];
  /* Request children are not waited for. */
  struct sigaction ign = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
  sigaction (SIGCHLD, &ign, NULL);
  struct server sv = { program, timeout_ms };
  tn_each_line (serve_request, &sv);
  return 0;
}

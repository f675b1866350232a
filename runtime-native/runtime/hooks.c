#include "hooks.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_MAX 4096

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int
run_one (const struct tn_hook *h, const char *state_json, struct tn_error **err)
{
  int in[2], out[2];
  if (pipe2 (in, O_CLOEXEC) < 0)
    return tn_error_sys (err, errno, "pipe");
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return tn_error_sys (err, errno, "pipe");
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      int saved = errno;
      close (in[0]), close (in[1]), close (out[0]), close (out[1]);
      return tn_error_sys (err, saved, "fork");
    }
  if (pid == 0)
    {
      /* the hook starts with clean signal handling and only its three standard streams */
      sigset_t all;
      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      signal (SIGPIPE, SIG_DFL);
      if (dup2 (in[0], 0) < 0 || dup2 (out[1], 1) < 0 || dup2 (out[1], 2) < 0)
        _exit (127);
      syscall (SYS_close_range, 3, ~0U, 0);
      execve (h->path, h->args, h->env);
      dprintf (2, "exec %s: %s", h->path, strerror (errno));
      _exit (127);
    }
  close (in[0]);
  close (out[1]);
  cleanup_close int wfd = in[1];
  cleanup_close int rfd = out[0];
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  /* the state is small enough for the pipe buffer; a hook that does not read it is fine, and one
   * that has already exited makes the write fail with EPIPE, not a SIGPIPE (which would end the
   * container's init, whose handler exits on it, before it could tell why) */
  if (state_json)
    {
      struct sigaction ignore = { .sa_handler = SIG_IGN }, saved;
      sigaction (SIGPIPE, &ignore, &saved);
      tn_write_all (wfd, state_json, strlen (state_json));
      sigaction (SIGPIPE, &saved, NULL);
    }
  close (TN_STEAL_FD (wfd));

  char output[OUTPUT_MAX + 1];
  size_t used = 0;
  long long deadline = h->timeout > 0 ? now_ms () + h->timeout * 1000LL : -1;
  bool timed_out = false;
  fcntl (rfd, F_SETFL, O_NONBLOCK);
  for (;;)
    {
      struct pollfd fds[2];
      int nf = 0, ri = -1, pi = -1;
      if (rfd >= 0)
        {
          ri = nf;
          fds[nf++] = (struct pollfd) { rfd, POLLIN, 0 };
        }
      if (pidfd >= 0)
        {
          pi = nf;
          fds[nf++] = (struct pollfd) { pidfd, POLLIN, 0 };
        }
      if (nf == 0)
        break; /* no pidfd and the output is closed: waitpid below */
      int timeout = -1;
      if (deadline >= 0)
        {
          long long left = deadline - now_ms ();
          timeout = left > 0 ? (int) left : 0;
        }
      int r = poll (fds, (nfds_t) nf, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          timed_out = r == 0;
          kill (pid, SIGKILL);
          break;
        }
      if (ri >= 0 && fds[ri].revents)
        {
          char buf[1024];
          ssize_t n = read (rfd, buf, sizeof buf);
          if (n > 0)
            {
              size_t take = (size_t) n > OUTPUT_MAX - used ? OUTPUT_MAX - used : (size_t) n;
              memcpy (output + used, buf, take);
              used += take;
            }
          else if (n == 0 || errno != EAGAIN)
            close (TN_STEAL_FD (rfd));
        }
      if (pi >= 0 && fds[pi].revents)
        break; /* the hook exited */
    }
  /* whatever output is still buffered */
  if (rfd >= 0)
    {
      char buf[1024];
      ssize_t n;
      while ((n = read (rfd, buf, sizeof buf)) > 0 && used < OUTPUT_MAX)
        {
          size_t take = (size_t) n > OUTPUT_MAX - used ? OUTPUT_MAX - used : (size_t) n;
          memcpy (output + used, buf, take);
          used += take;
        }
    }
  output[used] = '\0';
  while (used > 0 && (output[used - 1] == '\n' || output[used - 1] == ' '))
    output[--used] = '\0';
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (timed_out)
    return tn_error_new (err, "%s: timed out after %d s%s%s", h->path, h->timeout, used ? ", output: " : "", output);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFSIGNALED (status))
    return tn_error_new (err, "%s: killed by signal %d%s%s", h->path, WTERMSIG (status), used ? ", output: " : "", output);
  return tn_error_new (err, "%s: exit status %d%s%s", h->path, WEXITSTATUS (status), used ? ", output: " : "", output);
}

int
tn_hooks_run (const struct tn_hook *hooks, size_t n, enum tn_hook_kind kind, const char *state_json, bool warn_only, struct tn_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct tn_error *e = NULL;
      if (run_one (&hooks[i], state_json, &e) == 0)
        continue;
      if (warn_only)
        {
          tn_log_warn ("%s hook #%zu failed: %s", tn_hook_name (kind), i, tn_error_text (e));
          tn_error_free (&e);
          continue;
        }
      if (err && *err == NULL)
        *err = e;
      else
        tn_error_free (&e);
      return tn_error_wrap (err, "%s hook #%zu", tn_hook_name (kind), i);
    }
  return 0;
}

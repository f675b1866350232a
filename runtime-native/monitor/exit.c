/* The container's end. The monitor is a child subreaper, so the init (re-parented to it when the
 * runtime's `create` exits) and any orphan of the container's are reaped here.
 *
 * When the init exits: note status and time, read the OOM counter, let the output drain to EOF
 * (at most MON_DRAIN_TIMEOUT_MS: a leaked writer may hold a pipe open), write STATE/exit atomically
 * and durably, send EXIT to every client, then clean up: `runtime delete --force`, unmount the
 * rootfs, mark STATE/cleaned; give clients MON_FLUSH_TIMEOUT_MS to take what is queued, and leave
 * the loop. The exit is told before the clean-up so that whoever waits for it (a `docker run`, a
 * restart policy) reacts while the clean-up runs; the task's deletion is what waits for `cleaned`. */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum phase { PH_RUNNING, PH_DRAINING, PH_DELETING, PH_FLUSHING, PH_DONE };

static struct ctr_process *initp;
static enum phase phase = PH_RUNNING;
static bool was_oom;
static char exit_json[256];

void
exit_setup (struct ctr_process *init)
{
  initp = init;
  loop_on_signal (exit_on_signal);
}

bool
exit_started (void)
{
  return initp && initp->exited;
}

static void
finish (void)
{
  if (phase == PH_DONE)
    return;
  phase = PH_DONE;
  loop_timer (0, NULL);
  /* Exec processes died with the container (its pid namespace, or `delete --force`); any whose
   * end was not learnt by now is reported as unknown rather than left waiting. */
  exec_abandon_all ();
  log_close ();
  ctl_close_all ();
  loop_stop ();
}

void
exit_poll (void)
{
  if (phase == PH_FLUSHING && ctl_flushed () && exec_all_done ())
    finish ();
}

void
exit_record_json (const struct ctr_process *p, int unknown_code, const char *extra, char *buf, size_t size)
{
  int code = unknown_code, sig = 0;
  if (p->exited)
    {
      int st = p->wait_status;
      if (WIFSIGNALED (st))
        {
          sig = WTERMSIG (st);
          code = 128 + sig;
        }
      else if (WIFEXITED (st))
        code = WEXITSTATUS (st);
    }
  char when[40];
  format_rfc3339nano (p->exited ? p->exited_at_ns : now_realtime_ns (), when);
  snprintf (buf, size, "{\"exit_code\":%d,\"signal\":%d,\"exited_at\":\"%s\",\"pid\":%d%s}", code, sig, when, (int) p->pid,
            extra);
}

static void
build_record (void)
{
  exit_record_json (initp, 0, was_oom ? ",\"oom_killed\":true" : ",\"oom_killed\":false", exit_json, sizeof exit_json);
}

static void
write_exit_file (void)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/exit", mon.opts.state_dir) < 0)
    return;
  struct tn_error *err = NULL;
  size_t len = strlen (exit_json);
  /* The file holds the record and a newline, like every JSON line the monitor writes. */
  exit_json[len] = '\n';
  tn_write_file_atomic (path, exit_json, len + 1, 1, &err);
  exit_json[len] = '\0';
  tn_error_free (&err);
  /* The rename is durable only once the directory is. */
  cleanup_close int dfd = open (mon.opts.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fsync (dfd);
}

/* Not synced: it tells the shim the clean-up is done, and a crash takes the mounts and cgroups it
 * speaks of with it. */
static void
write_cleaned_marker (void)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/cleaned", mon.opts.state_dir) < 0)
    return;
  int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
}

static void
on_deleted (struct runtime_op *op, bool ok, const char *msg)
{
  /* A failed delete leaves the runtime's state behind; there is nobody to tell: the exit is
   * recorded already. */
  loop_timer (0, NULL);
  rootfs_unmount ();
  write_cleaned_marker ();
  phase = PH_FLUSHING;
  loop_timer (MON_FLUSH_TIMEOUT_MS, finish);
}

/* A runtime command that hangs (a stuck hook, a wedged runtime) must not keep the exit unrecorded:
 * kill whatever runs, so the queue moves on to `delete` or past it. */
static void
on_delete_timeout (void)
{
  if (phase != PH_DELETING)
    return;
  runtime_kill_running ();
  loop_timer (MON_DELETE_TIMEOUT_MS, on_delete_timeout);
}

static void
begin_delete (void)
{
  if (phase != PH_DRAINING)
    return;
  phase = PH_DELETING;
  loop_timer (MON_DELETE_TIMEOUT_MS, on_delete_timeout);
  stdin_close (initp);
  build_record ();
  write_exit_file ();
  ctl_broadcast_exit (exit_json);
  struct runtime_op *op = runtime_op_new ("delete", "--force", mon.opts.id, NULL);
  if (op == NULL)
    {
      on_deleted (NULL, false, "out of memory");
      return;
    }
  op->done = on_deleted;
  runtime_submit (op);
}

static void
on_drain_timeout (void)
{
  stdio_stop_output (initp);
  begin_delete ();
}

void
exit_output_closed (void)
{
  if (phase == PH_DRAINING)
    begin_delete ();
}

static void
on_init_exit (int status)
{
  initp->exited = true;
  initp->wait_status = status;
  initp->exited_at_ns = now_realtime_ns ();
  mon.status = CTR_STOPPED;
  was_oom = oom_killed ();
  phase = PH_DRAINING;
  if (stdio_drained (initp))
    begin_delete ();
  else
    loop_timer (MON_DRAIN_TIMEOUT_MS, on_drain_timeout);
}

void
exit_reap (void)
{
  for (;;)
    {
      int status;
      pid_t pid = waitpid (-1, &status, WNOHANG);
      if (pid <= 0)
        break;
      if (runtime_reaped (pid, status))
        continue;
      if (initp && pid == initp->pid && !initp->exited)
        on_init_exit (status);
      /* An exec process goes to its connection; anything else is an orphan of the container's (a
       * daemonised child): reaping it is all a subreaper owes it. */
      else
        exec_reaped (pid, status);
    }
}

void
exit_on_signal (int signo)
{
  if (signo == SIGCHLD)
    {
      exit_reap ();
      return;
    }
  /* SIGTERM / SIGINT to the monitor go to the container: the monitor itself only ever leaves
   * after its container, so the exit is still recorded. */
  if (initp && initp->pid > 0 && !initp->exited)
    kill (initp->pid, signo);
}

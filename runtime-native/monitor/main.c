/* tersane-monitor's entry: parse, detach from the caller, create the container through the runtime,
 * report to the caller, then serve the control socket until the container is gone. */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct monitor mon;

/* Files the monitor may leave in the state dir; removed when create fails. */
static const char *const state_files[] = { "sock", "console.sock", "pid", "monitor.pid", "runtime.log", "exit" };

static char *
state_path (const char *name)
{
  char *p = NULL;
  if (asprintf (&p, "%s/%s", mon.opts.state_dir, name) < 0)
    return NULL;
  return p;
}

/* ---- running one runtime command to completion before the loop serves anything ---- */

static struct runtime_op *sync_op;
static bool sync_finished, sync_ok, sync_timed_out;
static char *sync_msg;
static uint64_t sync_begin_ns, sync_end_ns;

static void
sync_on_signal (int signo)
{
  /* Only the runtime's own pid: the container's init may already be re-parented to the monitor
   * and must stay unreaped until the exit handler owns it. */
  if (signo != SIGCHLD || sync_op == NULL || sync_op->pid <= 0)
    return;
  int status;
  pid_t pid = waitpid (sync_op->pid, &status, WNOHANG);
  if (pid == sync_op->pid)
    runtime_reaped (pid, status);
}

static void
sync_done (struct runtime_op *op, bool ok, const char *msg)
{
  sync_ok = ok;
  free (sync_msg);
  sync_msg = strdup (msg ? msg : "");
  sync_begin_ns = op->begin_ns;
  sync_end_ns = op->end_ns;
  sync_finished = true;
  sync_op = NULL;
  loop_stop ();
}

static void
sync_timeout (void)
{
  if (sync_op && sync_op->pid > 0)
    {
      sync_timed_out = true;
      kill (sync_op->pid, SIGKILL);
    }
}

static bool
run_sync (struct runtime_op *op, unsigned timeout_ms)
{
  sync_finished = sync_ok = sync_timed_out = false;
  sync_op = op;
  op->done = sync_done;
  loop_on_signal (sync_on_signal);
  runtime_submit (op);
  if (!sync_finished)
    {
      if (timeout_ms)
        loop_timer (timeout_ms, sync_timeout);
      while (!sync_finished)
        loop_run ();
      loop_timer (0, NULL);
    }
  return sync_ok;
}

/* ---- set-up and its undo ---- */

static bool created;       /* the runtime got as far as writing the pid file */
static bool log_created;

static void
undo (void)
{
  if (created)
    {
      struct runtime_op *op = runtime_op_new ("delete", "--force", mon.opts.id, NULL);
      if (op)
        run_sync (op, MON_CREATE_TIMEOUT_MS);
    }
  rootfs_unmount ();
  if (log_created && mon.opts.log_path)
    {
      log_close ();
      unlink (mon.opts.log_path);
    }
  for (size_t i = 0; i < sizeof state_files / sizeof state_files[0]; i++)
    {
      cleanup_free char *p = state_path (state_files[i]);
      if (p)
        unlink (p);
    }
  rmdir (mon.opts.state_dir);
}

static int
read_pid_file (const char *path, pid_t *out, struct tn_error **err)
{
  cleanup_free char *text = NULL;
  if (tn_read_file (path, &text, NULL, err) < 0)
    return -1;
  char *end = NULL;
  long v = strtol (text, &end, 10);
  if (end == text || v <= 0)
    return tn_error_new (err, "`%s`: not a pid", path);
  *out = (pid_t) v;
  return 0;
}

static int
setup (struct tn_error **err)
{
  const struct mon_opts *o = &mon.opts;
  if (tn_mkdir_p (o->state_dir, 0700, err) < 0)
    return tn_error_wrap (err, "state dir");
  for (size_t i = 0; i < sizeof state_files / sizeof state_files[0]; i++)
    {
      cleanup_free char *p = state_path (state_files[i]);
      if (p)
        unlink (p);   /* left over from an earlier task in the same dir */
    }
  if (loop_init (err) < 0)
    return -1;
  runtime_init (o);
  if (rootfs_mount (o, err) < 0)
    return -1;
  if (o->log_path)
    {
      struct stat st;
      log_created = stat (o->log_path, &st) < 0;
      if (log_open (o->log_path, o->log_max_size, o->log_max_files, err) < 0)
        return -1;
    }

  struct stdio_setup io;
  cleanup_free char *console_path = state_path ("console.sock");
  if (console_path == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  if (stdio_prepare (&mon.init, o->terminal, o->stdin_open, console_path, &io, err) < 0)
    {
      stdio_setup_release (&io);
      return tn_error_wrap (err, "container stdio");
    }
  cleanup_free char *pid_file = state_path ("pid");
  if (pid_file == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  struct runtime_op *op;
  if (o->terminal)
    op = runtime_op_new ("create", "--bundle", o->bundle, "--pid-file", pid_file, "--console-socket",
                         io.console_path, o->id, NULL);
  else
    op = runtime_op_new ("create", "--bundle", o->bundle, "--pid-file", pid_file, o->id, NULL);
  if (op == NULL)
    {
      stdio_setup_release (&io);
      return tn_error_sys (err, ENOMEM, "runtime create");
    }
  memcpy (op->fds, io.child_fds, sizeof op->fds);
  /* With a known runtime root, a state dir for ID that appears during a failed create is ours to
   * delete; one that was there before belongs to another container and is never touched. */
  cleanup_free char *runtime_state = NULL;
  struct stat st;
  if (o->runtime_root && asprintf (&runtime_state, "%s/%s", o->runtime_root, o->id) < 0)
    runtime_state = NULL;
  bool state_existed = runtime_state && stat (runtime_state, &st) == 0;
  bool ok = run_sync (op, MON_CREATE_TIMEOUT_MS);
  mon.create_begin_ns = sync_begin_ns;
  mon.create_end_ns = sync_end_ns;
  created = stat (pid_file, &st) == 0 || (runtime_state && !state_existed && stat (runtime_state, &st) == 0);
  if (!ok)
    {
      char *msg = sync_msg;
      cleanup_free char *from_stderr = NULL;
      /* No logged error: without a terminal the runtime's stderr is the container's pipe. */
      if (strncmp (msg, "runtime create ", 15) == 0 && (from_stderr = stdio_peek_stderr (&mon.init)) != NULL)
        {
          size_t n = strlen (from_stderr);
          while (n > 0 && (from_stderr[n - 1] == '\n' || from_stderr[n - 1] == '\r'))
            from_stderr[--n] = '\0';
          char *last = strrchr (from_stderr, '\n');
          msg = last ? last + 1 : from_stderr;
        }
      if (sync_timed_out)
        tn_error_new (err, "create container `%s`: runtime create timed out after %u ms", o->id, MON_CREATE_TIMEOUT_MS);
      else
        tn_error_new (err, "create container `%s`: %s", o->id, msg);
      stdio_setup_release (&io);
      return -1;
    }
  if (read_pid_file (pid_file, &mon.init.pid, err) < 0)
    {
      stdio_setup_release (&io);
      return tn_error_wrap (err, "create container `%s`", o->id);
    }
  mon.init.is_init = true;
  if (stdio_attach_loop (&mon.init, &io, err) < 0)
    return tn_error_wrap (err, "create container `%s`", o->id);
  oom_watch_start (mon.init.pid);

  char text[32];
  snprintf (text, sizeof text, "%d\n", (int) getpid ());
  cleanup_free char *mpid = state_path ("monitor.pid");
  if (mpid == NULL || tn_write_file_atomic (mpid, text, strlen (text), 0, err) < 0)
    return tn_error_wrap (err, "monitor.pid");
  cleanup_free char *sock = state_path ("sock");
  if (sock == NULL || ctl_listen (sock, err) < 0)
    return -1;
  mon.status = CTR_CREATED;
  exit_setup (&mon.init);
  /* A SIGCHLD for an init that died already was consumed above: look again. */
  exit_reap ();
  /* from here on the host is touched only through the runtime, kill(2) and the final unmount */
  return privs_drop_after_create (err);
}

/* A state dir whose monitor still runs belongs to that monitor: never clobber its socket. */
static int
check_no_live_monitor (struct tn_error **err)
{
  cleanup_free char *path = state_path ("monitor.pid");
  pid_t pid = 0;
  struct tn_error *ignored = NULL;
  if (path == NULL || read_pid_file (path, &pid, &ignored) < 0)
    {
      tn_error_free (&ignored);
      return 0;
    }
  char stat_path[64];
  snprintf (stat_path, sizeof stat_path, "/proc/%d/stat", (int) pid);
  cleanup_free char *stat = NULL;
  if (tn_read_file (stat_path, &stat, NULL, &ignored) < 0)
    {
      tn_error_free (&ignored);
      return 0;
    }
  /* "pid (comm) state …": a live (not zombie) tersane-monitor. */
  char *close_paren = strrchr (stat, ')');
  bool live = close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
  if (live && strstr (stat, "(tersane-monitor)") != NULL && pid != getpid ())
    return tn_error_new (err, "state dir `%s`: monitor %d is running there", mon.opts.state_dir, (int) pid);
  return 0;
}

int
main (int argc, char **argv)
{
  struct tn_error *err = NULL;
  if (args_parse (argc, argv, &mon.opts, &err) < 0)
    {
      fprintf (stderr, "tersane-monitor: %s\n", tn_error_text (err));
      return 1;
    }
  if (check_no_live_monitor (&err) < 0 || detach_fork (&err) < 0)
    {
      fprintf (stderr, "tersane-monitor: %s\n", tn_error_text (err));
      return 1;
    }
  /* From here on this is the monitor. */
  detach_sanitize ();
#ifdef M_MMAP_THRESHOLD
  /* Large buffers (long log lines, a slow client's queue) go back to the kernel when freed, so a
   * burst of output does not stay in the resident set of an idle monitor. */
  mallopt (M_MMAP_THRESHOLD, 32 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024);
#endif

  if (setup (&err) < 0)
    {
      undo ();
      detach_report (false, tn_error_text (err));
      return 1;
    }
  char report[192];
  snprintf (report, sizeof report, "{\"pid\":%d,\"monitor_pid\":%d,\"create_begin_ns\":%llu,\"create_end_ns\":%llu}\n",
            (int) mon.init.pid, (int) getpid (), (unsigned long long) mon.create_begin_ns,
            (unsigned long long) mon.create_end_ns);
  detach_report (true, report);
  free (sync_msg);
  sync_msg = NULL;

  loop_run ();
  return 0;
}

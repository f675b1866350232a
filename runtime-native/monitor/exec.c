/* Exec processes: a process run in the running container by `runtime exec`, bound to the control
 * connection that asked for it (EXEC).
 *
 * EXEC's payload is u8 flags (EXEC_STDIN, EXEC_TERMINAL) then the OCI process JSON. The monitor
 * writes the JSON to STATE/exec-N.json, prepares the process's own stdio (pipes, or a console
 * socket STATE/eN.tty for a pty) and runs `RUNTIME exec --detach --pid-file STATE/exec-N.pid
 * --process STATE/exec-N.json [--console-socket STATE/eN.tty] ID`. The runtime exits once the
 * process runs; the process is re-parented to the monitor (a subreaper), which reaps it. The
 * connection gets RESULT {"pid":P}, then the process's STDOUT/STDERR frames; its STDIN,
 * CLOSE_STDIN, RESIZE and SIGNAL go to the process; once the process has exited and its output is
 * drained (at most MON_DRAIN_TIMEOUT_MS after the exit) it gets EXIT {"exit_code","signal",
 * "exited_at","pid"}. Exec output never reaches the container's log.
 *
 * A process can exit before its pid file has been read (it may even be reaped in the same batch as
 * the runtime): the statuses of children nobody claimed are kept in a small ring until then. */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* How many exits of unclaimed children are remembered (an exec's pid is claimed within one loop
 * batch of the runtime's exit; anything older is a stray orphan of the container's). */
#define UNCLAIMED_RING 32
/* Exit code reported for an exec whose end the monitor could not learn before leaving. */
#define EXEC_UNKNOWN_EXIT 255

struct exec_proc {
  struct ctr_process proc;
  struct exec_proc *next;
  unsigned n;                    /* sequence number: names its files */
  struct client *client;         /* the connection it is bound to; NULL once gone */
  struct stdio_setup io;         /* until the runtime's exec returned */
  bool io_pending;
  char *process_file, *pid_file;
  bool running;                  /* the runtime started it: a pid is known */
  bool reported;                 /* EXIT sent (or nobody left to send it to) */
  struct watch drain_timer;      /* output drain deadline after the exit */
};

static struct exec_proc *execs;
/* Retired execs: their watches are gone, their memory is freed between loop batches (an event of
 * the same batch may still point into them). */
static struct exec_proc *retired;
static unsigned exec_seq;

static struct {
  pid_t pid;
  int status;
  uint64_t when_ns;
} unclaimed[UNCLAIMED_RING];
static unsigned unclaimed_next;

static char *
state_file (const char *fmt, unsigned n)
{
  char name[48];
  snprintf (name, sizeof name, fmt, n);
  char *p = NULL;
  if (asprintf (&p, "%s/%s", mon.opts.state_dir, name) < 0)
    return NULL;
  return p;
}

static void
exec_unlink_files (struct exec_proc *e)
{
  if (e->process_file)
    unlink (e->process_file);
  if (e->pid_file)
    unlink (e->pid_file);
}

static void
exec_free (struct exec_proc *e)
{
  for (struct exec_proc **pp = &execs; *pp; pp = &(*pp)->next)
    if (*pp == e)
      {
        *pp = e->next;
        break;
      }
  if (e->io_pending)
    {
      stdio_setup_release (&e->io);
      e->io_pending = false;
    }
  stdio_close_all (&e->proc);
  if (e->drain_timer.fd >= 0)
    {
      loop_forget (&e->drain_timer);
      close (e->drain_timer.fd);
      e->drain_timer.fd = -1;
    }
  exec_unlink_files (e);
  e->next = retired;
  retired = e;
}

void
exec_collect (void)
{
  while (retired)
    {
      struct exec_proc *e = retired;
      retired = e->next;
      free (e->process_file);
      free (e->pid_file);
      free (e);
    }
}

/* The exit record, as the container's (PROTOCOL.md) without oom_killed. */
static void
exec_record (struct exec_proc *e, char *buf, size_t size)
{
  exit_record_json (&e->proc, EXEC_UNKNOWN_EXIT, "", buf, size);
}

/* Sends EXIT to the bound connection (if any) and forgets the exec. */
static void
exec_report (struct exec_proc *e)
{
  if (e->reported)
    return;
  e->reported = true;
  char json[192];
  exec_record (e, json, sizeof json);
  if (e->client)
    {
      ctl_send_exit (e->client, json);
      ctl_bind_exec (e->client, NULL);
      e->client = NULL;
    }
  exec_free (e);
}

static void
on_drain_deadline (struct watch *w, uint32_t events)
{
  struct exec_proc *e = (struct exec_proc *) ((char *) w - offsetof (struct exec_proc, drain_timer));
  /* A writer that outlived the process (a background child) holds the pipe: take what is there. */
  stdio_stop_output (&e->proc);
  exec_report (e);
}

static void
exec_exited (struct exec_proc *e, int status, uint64_t when_ns)
{
  e->proc.exited = true;
  e->proc.wait_status = status;
  e->proc.exited_at_ns = when_ns;
  if (stdio_drained (&e->proc))
    {
      exec_report (e);
      return;
    }
  e->drain_timer.fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (e->drain_timer.fd < 0)
    {
      stdio_stop_output (&e->proc);
      exec_report (e);
      return;
    }
  struct itimerspec its = { .it_value = { .tv_sec = MON_DRAIN_TIMEOUT_MS / 1000,
                                          .tv_nsec = (long) (MON_DRAIN_TIMEOUT_MS % 1000) * 1000000L } };
  timerfd_settime (e->drain_timer.fd, 0, &its, NULL);
  e->drain_timer.fn = on_drain_deadline;
  loop_watch (&e->drain_timer, EPOLLIN);
}

void
exec_output_closed (struct exec_proc *e)
{
  if (e->proc.exited)
    exec_report (e);
}

bool
exec_reaped (pid_t pid, int status)
{
  for (struct exec_proc *e = execs; e; e = e->next)
    if (e->running && e->proc.pid == pid && !e->proc.exited)
      {
        exec_exited (e, status, now_realtime_ns ());
        return true;
      }
  unclaimed[unclaimed_next].pid = pid;
  unclaimed[unclaimed_next].status = status;
  unclaimed[unclaimed_next].when_ns = now_realtime_ns ();
  unclaimed_next = (unclaimed_next + 1) % UNCLAIMED_RING;
  return false;
}

/* The exec's pid is known now: it may have been reaped already. */
static void
exec_claim (struct exec_proc *e)
{
  for (unsigned i = 0; i < UNCLAIMED_RING; i++)
    if (unclaimed[i].pid == e->proc.pid)
      {
        unclaimed[i].pid = 0;
        exec_exited (e, unclaimed[i].status, unclaimed[i].when_ns);
        return;
      }
}

static int
read_pid (const char *path, pid_t *out)
{
  cleanup_free char *text = NULL;
  struct tn_error *err = NULL;
  if (tn_read_file (path, &text, NULL, &err) < 0)
    {
      tn_error_free (&err);
      return -1;
    }
  long v = strtol (text, NULL, 10);
  if (v <= 0)
    return -1;
  *out = (pid_t) v;
  return 0;
}

static void
on_exec_started (struct runtime_op *op, bool ok, const char *msg)
{
  struct exec_proc *e = op->data;
  struct client *c = op->client;   /* NULL when the requester left meanwhile */
  e->client = c;
  if (!ok || read_pid (e->pid_file, &e->proc.pid) < 0)
    {
      /* Cleaned up before the answer: whoever reads it finds nothing of the exec left. */
      e->client = NULL;
      e->reported = true;
      exec_free (e);
      ctl_answer (c, false, ok ? "exec: the runtime wrote no pid file" : msg);
      return;
    }
  exec_unlink_files (e);
  e->running = true;
  struct tn_error *err = NULL;
  e->io_pending = false;
  if (stdio_attach_loop (&e->proc, &e->io, &err) < 0)
    {
      /* The process runs but its stdio cannot be had: it is killed, and reported as it ends. */
      ctl_answer (c, false, tn_error_text (err));
      tn_error_free (&err);
      kill (e->proc.pid, SIGKILL);
      e->client = NULL;
      stdio_close_all (&e->proc);
      exec_claim (e);
      return;
    }
  char json[48];
  snprintf (json, sizeof json, "{\"pid\":%d}", (int) e->proc.pid);
  ctl_answer (c, true, json);
  if (c == NULL)
    stdin_close (&e->proc);   /* the requester left while the runtime ran */
  else
    ctl_bind_exec (c, &e->proc);
  exec_claim (e);
}

void
exec_request (struct client *c, const uint8_t *payload, uint32_t len)
{
  if (len < 2)
    {
      ctl_answer (c, false, "EXEC: payload is u8 flags, then the process JSON");
      return;
    }
  if (mon.init.exited || exit_started () || mon.status != CTR_RUNNING)
    {
      ctl_answer (c, false, "the container is not running");
      return;
    }
  uint8_t flags = payload[0];
  struct exec_proc *e = calloc (1, sizeof *e);
  if (e == NULL)
    {
      ctl_answer (c, false, "out of memory");
      return;
    }
  e->n = ++exec_seq;
  e->proc.exec = e;
  e->drain_timer.fd = -1;
  e->io.console.fd = -1;
  e->proc.pty_master = -1;
  e->proc.out[0].w.fd = e->proc.out[1].w.fd = e->proc.in.w.fd = -1;
  e->next = execs;
  execs = e;

  struct tn_error *err = NULL;
  cleanup_free char *console = state_file ("e%u.tty", e->n);
  e->process_file = state_file ("exec-%u.json", e->n);
  e->pid_file = state_file ("exec-%u.pid", e->n);
  if (console == NULL || e->process_file == NULL || e->pid_file == NULL)
    {
      tn_error_sys (&err, ENOMEM, "exec");
      goto fail;
    }
  if (tn_write_file_atomic (e->process_file, (const char *) payload + 1, len - 1, 0, &err) < 0)
    {
      tn_error_wrap (&err, "exec: process");
      goto fail;
    }
  bool terminal = flags & EXEC_TERMINAL;
  e->io_pending = true;
  if (stdio_prepare (&e->proc, terminal, flags & EXEC_STDIN, console, &e->io, &err) < 0)
    {
      tn_error_wrap (&err, "exec: stdio");
      goto fail;
    }
  struct runtime_op *op;
  if (terminal)
    op = runtime_op_new ("exec", "--detach", "--pid-file", e->pid_file, "--process", e->process_file,
                         "--console-socket", e->io.console_path, mon.opts.id, NULL);
  else
    op = runtime_op_new ("exec", "--detach", "--pid-file", e->pid_file, "--process", e->process_file, mon.opts.id,
                         NULL);
  if (op == NULL)
    {
      tn_error_sys (&err, ENOMEM, "exec");
      goto fail;
    }
  /* The child ends go to the runtime, which hands them to the process; ours close once it ran. */
  memcpy (op->fds, e->io.child_fds, sizeof op->fds);
  op->done = on_exec_started;
  op->data = e;
  op->client = c;
  e->client = c;
  ctl_busy (c);
  runtime_submit (op);
  return;

fail:
  e->reported = true;
  exec_free (e);
  ctl_answer (c, false, tn_error_text (err));
  tn_error_free (&err);
}

void
exec_client_gone (struct exec_proc *e)
{
  if (e == NULL)
    return;
  e->client = NULL;
  if (e->running && !e->proc.exited)
    stdin_close (&e->proc);
}

bool
exec_all_done (void)
{
  return execs == NULL;
}

void
exec_abandon_all (void)
{
  while (execs)
    {
      struct exec_proc *e = execs;
      if (e->running)
        stdio_stop_output (&e->proc);
      if (!e->running && e->client)
        ctl_answer (e->client, false, "the container is not running");
      if (!e->running)
        {
          e->client = NULL;
          e->reported = true;
          exec_free (e);
          continue;
        }
      exec_report (e);
    }
}

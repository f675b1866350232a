/* The stdio of a container's process (its init, or an exec). Without a terminal: one pipe per
 * stream, the runtime hands the child ends to the process. With a terminal: the runtime sends the
 * pty master over a console socket, and the master carries stdout (both streams) and stdin. The
 * init's output goes to the log first, then to every attached client (an exec's only to the
 * connection it is bound to); stdin is a bounded queue written as the process reads. */
#include "monitor.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* One read buffer for every stream: output is handled to the end before the next read. */
static uint8_t io_buf[MON_IO_CHUNK];
#define READS_PER_EVENT 8

static int
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0)
    return -1;
  return fcntl (fd, F_SETFL, fl | O_NONBLOCK);
}

static void
out_close (struct out_stream *s)
{
  if (s->w.fd < 0)
    return;
  if (s->proc->is_init)
    log_flush_stream (s->stream, now_realtime_ns ());
  loop_forget (&s->w);
  close (s->w.fd);
  s->w.fd = -1;
}

/* Reads up to `rounds` chunks; returns true when the stream reached EOF (and is closed). */
static bool
out_read (struct out_stream *s, int rounds)
{
  while (rounds-- > 0 && s->w.fd >= 0)
    {
      ssize_t n = read (s->w.fd, io_buf, sizeof io_buf);
      if (n > 0)
        {
          if (s->proc->is_init)
            log_output (s->stream, (const char *) io_buf, (size_t) n, now_realtime_ns ());
          ctl_broadcast_output (s->proc, s->stream, io_buf, (size_t) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return false;
      /* 0: the last writer closed the pipe; EIO: every slave of the pty is closed. */
      out_close (s);
      return true;
    }
  return s->w.fd < 0;
}

static void
on_output (struct watch *w, uint32_t events)
{
  struct out_stream *s = (struct out_stream *) w;
  if (!out_read (s, READS_PER_EVENT) || !stdio_drained (s->proc))
    return;
  if (s->proc->is_init)
    exit_output_closed ();
  else if (s->proc->exec)
    exec_output_closed (s->proc->exec);
}

bool
stdio_drained (struct ctr_process *p)
{
  return p->out[0].w.fd < 0 && p->out[1].w.fd < 0;
}

void
stdio_stop_output (struct ctr_process *p)
{
  for (int i = 0; i < 2; i++)
    {
      /* What is already in the pipe is still the container's output: take it, then stop. */
      out_read (&p->out[i], 64);
      out_close (&p->out[i]);
    }
}

/* ---- stdin ---- */

static void
sink_free_queue (struct stdin_sink *in)
{
  while (in->head)
    {
      struct chunk *c = in->head;
      in->head = c->next;
      free (c);
    }
  in->tail = NULL;
  in->queued = 0;
}

static void
sink_shut (struct stdin_sink *in)
{
  bool was_full = in->queued >= MON_STDIN_QUEUE_MAX;
  sink_free_queue (in);
  if (in->w.fd >= 0)
    {
      loop_forget (&in->w);
      close (in->w.fd);
      in->w.fd = -1;
    }
  in->closed = true;
  if (was_full)
    ctl_resume_stdin_senders ();
}

static void
sink_finish_close (struct stdin_sink *in)
{
  struct ctr_process *p = in->proc;
  if (p->pty_master >= 0 && in->w.fd >= 0)
    {
      /* A terminal has no half-close: the line discipline turns VEOF at the start of a line into
       * end of file, so a pending partial line needs one VEOF to flush it and one more for EOF. */
      struct termios t;
      char eof[2];
      eof[0] = eof[1] = 4;
      if (tcgetattr (p->pty_master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
        eof[0] = eof[1] = (char) t.c_cc[VEOF];
      (void) !write (in->w.fd, eof, 1);
      (void) !write (in->w.fd, eof, 1);
    }
  sink_shut (in);
}

static void
sink_flush (struct stdin_sink *in)
{
  bool was_full = in->queued >= MON_STDIN_QUEUE_MAX;
  while (in->head)
    {
      struct chunk *c = in->head;
      ssize_t n = write (in->w.fd, c->data + c->off, c->len - c->off);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            break;
          /* EPIPE / EIO: nobody reads the container's stdin any more. */
          sink_shut (in);
          return;
        }
      c->off += (size_t) n;
      in->queued -= (size_t) n;
      if (c->off == c->len)
        {
          in->head = c->next;
          if (in->head == NULL)
            in->tail = NULL;
          free (c);
        }
    }
  if (in->head == NULL)
    {
      loop_forget (&in->w);
      if (in->closing)
        {
          sink_finish_close (in);
          return;
        }
    }
  else
    loop_watch (&in->w, EPOLLOUT);
  if (was_full && in->queued < MON_STDIN_QUEUE_MAX)
    ctl_resume_stdin_senders ();
}

static void
on_stdin_writable (struct watch *w, uint32_t events)
{
  struct stdin_sink *in = (struct stdin_sink *) w;
  if (in->head == NULL && (events & (EPOLLERR | EPOLLHUP)))
    {
      sink_shut (in);
      return;
    }
  sink_flush (in);
}

bool
stdin_write (struct ctr_process *p, const uint8_t *data, size_t len)
{
  struct stdin_sink *in = &p->in;
  if (in->closed || in->closing || in->w.fd < 0 || len == 0)
    return false;
  if (in->head == NULL)
    {
      ssize_t n = write (in->w.fd, data, len);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        {
          sink_shut (in);
          return false;
        }
      if (n > 0)
        {
          data += n;
          len -= (size_t) n;
        }
      if (len == 0)
        return false;
    }
  struct chunk *c = malloc (sizeof *c + len);
  if (c == NULL)
    return true;
  c->next = NULL;
  c->len = len;
  c->off = 0;
  memcpy (c->data, data, len);
  if (in->tail)
    in->tail->next = c;
  else
    in->head = c;
  in->tail = c;
  in->queued += len;
  loop_watch (&in->w, EPOLLOUT);
  return in->queued >= MON_STDIN_QUEUE_MAX;
}

void
stdin_close (struct ctr_process *p)
{
  struct stdin_sink *in = &p->in;
  if (in->closed || in->closing)
    return;
  in->closing = true;
  if (in->head == NULL)
    sink_finish_close (in);
}

int
stdio_resize (struct ctr_process *p, unsigned rows, unsigned cols, struct tn_error **err)
{
  if (p->pty_master < 0)
    return tn_error_new (err, "the container has no terminal");
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
  if (ioctl (p->pty_master, TIOCSWINSZ, &ws) < 0)
    return tn_error_sys (err, errno, "resize the terminal");
  return 0;
}

/* ---- set-up ---- */

/* Takes the pty master from a runtime connected to the console socket, if one is there. */
static void
on_console (struct watch *w, uint32_t events)
{
  struct stdio_setup *s = (struct stdio_setup *) ((char *) w - offsetof (struct stdio_setup, console));
  struct ctr_process *console_proc = s->proc;
  int conn = accept4 (w->fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return;
  /* The runtime sends the master right after connecting; don't let a silent peer hang us. */
  struct timeval tv = { .tv_sec = 5 };
  setsockopt (conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct tn_error *err = NULL;
  int fd = cmsg_recv_fd (conn, &err);
  close (conn);
  tn_error_free (&err);
  if (fd < 0)
    return;
  if (console_proc->pty_master >= 0)
    close (console_proc->pty_master);
  console_proc->pty_master = fd;
}

static void
proc_init_fds (struct ctr_process *p)
{
  p->pty_master = -1;
  for (int i = 0; i < 2; i++)
    {
      p->out[i].w.fd = -1;
      p->out[i].w.fn = on_output;
      p->out[i].stream = i;
      p->out[i].proc = p;
    }
  p->in.w.fd = -1;
  p->in.w.fn = on_stdin_writable;
  p->in.proc = p;
}

int
stdio_prepare (struct ctr_process *p, bool terminal, bool stdin_open, const char *console_path, struct stdio_setup *s,
               struct tn_error **err)
{
  proc_init_fds (p);
  s->child_fds[0] = s->child_fds[1] = s->child_fds[2] = -1;
  s->console.fd = -1;
  s->console.registered = false;
  s->console.fn = on_console;
  s->console_path = NULL;
  s->proc = p;

  if (terminal)
    {
      if ((s->console_path = strdup (console_path)) == NULL)
        return tn_error_sys (err, ENOMEM, "console socket");
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      strncpy (sa.sun_path, s->console_path, sizeof sa.sun_path - 1);
      unlink (s->console_path);
      s->console.fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (s->console.fd < 0)
        return tn_error_sys (err, errno, "console socket");
      if (bind (s->console.fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (s->console.fd, 1) < 0)
        return tn_error_sys (err, errno, "console socket `%s`", s->console_path);
      loop_watch (&s->console, EPOLLIN);
      /* The runtime's own stdio: nothing in, its output captured for error messages. */
      s->child_fds[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (s->child_fds[0] < 0)
        return tn_error_sys (err, errno, "open /dev/null");
      if (!stdin_open)
        p->in.closed = true;
      return 0;
    }

  int fds[2];
  if (stdin_open)
    {
      if (pipe2 (fds, O_CLOEXEC) < 0)
        return tn_error_sys (err, errno, "stdin pipe");
      s->child_fds[0] = fds[0];
      p->in.w.fd = fds[1];
      set_nonblock (fds[1]);
    }
  else
    {
      s->child_fds[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (s->child_fds[0] < 0)
        return tn_error_sys (err, errno, "open /dev/null");
      p->in.closed = true;
    }
  for (int i = 0; i < 2; i++)
    {
      if (pipe2 (fds, O_CLOEXEC) < 0)
        return tn_error_sys (err, errno, "%s pipe", i ? "stderr" : "stdout");
      s->child_fds[1 + i] = fds[1];
      p->out[i].w.fd = fds[0];
      set_nonblock (fds[0]);
    }
  return 0;
}

void
stdio_setup_release (struct stdio_setup *s)
{
  for (int i = 0; i < 3; i++)
    if (s->child_fds[i] >= 0)
      {
        close (s->child_fds[i]);
        s->child_fds[i] = -1;
      }
  if (s->console.fd >= 0)
    {
      loop_forget (&s->console);
      close (s->console.fd);
      s->console.fd = -1;
    }
  if (s->console_path)
    {
      unlink (s->console_path);
      free (s->console_path);
      s->console_path = NULL;
    }
}

int
stdio_attach_loop (struct ctr_process *p, struct stdio_setup *s, struct tn_error **err)
{
  bool terminal = s->console.fd >= 0;
  /* The runtime connected and sent the master before it exited; the loop may not have taken the
   * connection yet (the runtime's exit can come first in the same batch of events). */
  if (terminal && p->pty_master < 0)
    on_console (&s->console, EPOLLIN);
  stdio_setup_release (s);
  if (terminal)
    {
      if (p->pty_master < 0)
        return tn_error_new (err, "the runtime sent no terminal on the console socket");
      set_nonblock (p->pty_master);
      p->out[0].w.fd = fcntl (p->pty_master, F_DUPFD_CLOEXEC, 3);
      if (p->out[0].w.fd < 0)
        return tn_error_sys (err, errno, "dup the terminal");
      if (!p->in.closed)
        {
          p->in.w.fd = fcntl (p->pty_master, F_DUPFD_CLOEXEC, 3);
          if (p->in.w.fd < 0)
            return tn_error_sys (err, errno, "dup the terminal");
        }
    }
  for (int i = 0; i < 2; i++)
    loop_watch (&p->out[i].w, EPOLLIN);
  return 0;
}

char *
stdio_peek_stderr (struct ctr_process *p)
{
  /* Without a terminal the runtime's stderr is the container's: a failed create wrote there. */
  int fd = p->out[STREAM_STDERR].w.fd;
  if (fd < 0)
    return NULL;
  char buf[MON_ERRTAIL_MAX];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return strdup (buf);
}

void
stdio_close_all (struct ctr_process *p)
{
  for (int i = 0; i < 2; i++)
    if (p->out[i].w.fd >= 0)
      {
        loop_forget (&p->out[i].w);
        close (p->out[i].w.fd);
        p->out[i].w.fd = -1;
      }
  if (!p->in.closed || p->in.w.fd >= 0)
    sink_shut (&p->in);
  if (p->pty_master >= 0)
    {
      close (p->pty_master);
      p->pty_master = -1;
    }
}

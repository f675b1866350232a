/* The control socket STATE/sock: connections, framing (type u8 | length u32 BE | payload), requests.
 *
 * A connection is read one frame at a time, and not at all while it waits for the answer to a
 * request that needs the runtime (START, SIGNAL with all): answers come in request order. Output to
 * a connection is written at once when the socket takes it, otherwise queued; a connection whose
 * queue passes MON_CLIENT_QUEUE_MAX is dropped, so no client can hold up the container or the log. */
#include "monitor.h"
#include "cleanup.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_HDR 5
#define FRAMES_PER_EVENT 16

struct client {
  struct watch w;               /* first: the loop hands back a struct watch * */
  struct client *next;
  bool dead;
  bool busy;                    /* an answer from the runtime is pending */
  bool paused_stdin;            /* its last STDIN filled the queue */
  bool read_eof;
  struct ctr_process *attached;
  struct ctr_process *bound;    /* an exec process this connection runs (EXEC), else NULL */
  bool ran_exec;                /* it ran one: its process requests never fall back to the init */
  uint8_t flags;
  uint8_t hdr[FRAME_HDR];
  size_t hdr_got;
  uint8_t *payload;
  uint32_t plen, pgot;
  struct chunk *oq_head, *oq_tail;
  size_t oq_bytes;
};

static struct client *clients;
static int n_clients;
static struct watch listen_w = { .fd = -1 };
static char *sock_path;

static void
client_update (struct client *c)
{
  if (c->dead)
    return;
  uint32_t ev = 0;
  if (!c->busy && !c->paused_stdin && !c->read_eof)
    ev |= EPOLLIN;
  if (c->oq_head)
    ev |= EPOLLOUT;
  /* With nothing else wanted, EPOLLHUP alone: a peer that goes away is still noticed. */
  loop_watch (&c->w, ev ? ev : EPOLLHUP);
}

static void
client_kill (struct client *c)
{
  if (c->dead)
    return;
  c->dead = true;
  loop_forget (&c->w);
  runtime_forget_client (c);
  if (c->bound)
    {
      struct ctr_process *p = c->bound;
      c->bound = NULL;
      c->attached = NULL;
      exec_client_gone (p->exec);
    }
}

static void
client_flush (struct client *c)
{
  while (c->oq_head)
    {
      struct chunk *k = c->oq_head;
      ssize_t n = send (c->w.fd, k->data + k->off, k->len - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            break;
          client_kill (c);
          return;
        }
      k->off += (size_t) n;
      c->oq_bytes -= (size_t) n;
      if (k->off == k->len)
        {
          c->oq_head = k->next;
          if (c->oq_head == NULL)
            c->oq_tail = NULL;
          free (k);
        }
    }
  client_update (c);
}

/* Sends one frame whose payload is a followed by b. */
static void
client_send (struct client *c, uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
{
  if (c->dead)
    return;
  uint32_t len = (uint32_t) (alen + blen);
  uint8_t hdr[FRAME_HDR] = { type, (uint8_t) (len >> 24), (uint8_t) (len >> 16), (uint8_t) (len >> 8), (uint8_t) len };
  size_t total = FRAME_HDR + alen + blen;
  size_t sent = 0;
  if (c->oq_head == NULL)
    {
      struct iovec iov[3] = {
        { hdr, FRAME_HDR }, { (void *) a, alen }, { (void *) b, blen },
      };
      struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
      ssize_t n;
      do
        n = sendmsg (c->w.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n < 0 && errno != EAGAIN)
        {
          client_kill (c);
          return;
        }
      if (n > 0)
        sent = (size_t) n;
      if (sent == total)
        return;
    }
  if (c->oq_bytes + (total - sent) > MON_CLIENT_QUEUE_MAX)
    {
      client_kill (c);   /* it does not read: drop it rather than hold anything up */
      return;
    }
  struct chunk *k = malloc (sizeof *k + (total - sent));
  if (k == NULL)
    {
      client_kill (c);
      return;
    }
  k->next = NULL;
  k->off = 0;
  k->len = total - sent;
  /* Copy the unsent tail of hdr | a | b. */
  size_t skip = sent, o = 0;
  const struct { const void *p; size_t n; } parts[3] = { { hdr, FRAME_HDR }, { a, alen }, { b, blen } };
  for (int i = 0; i < 3; i++)
    {
      if (skip >= parts[i].n)
        {
          skip -= parts[i].n;
          continue;
        }
      memcpy (k->data + o, (const uint8_t *) parts[i].p + skip, parts[i].n - skip);
      o += parts[i].n - skip;
      skip = 0;
    }
  if (c->oq_tail)
    c->oq_tail->next = k;
  else
    c->oq_head = k;
  c->oq_tail = k;
  c->oq_bytes += k->len;
  client_update (c);
}

void
ctl_answer (struct client *c, bool ok, const char *text)
{
  if (c == NULL)
    return;
  uint8_t status = ok ? 0 : 1;
  client_send (c, MSG_RESULT, &status, 1, text, text ? strlen (text) : 0);
  c->busy = false;
  client_update (c);
}

static void
answer_error (struct client *c, struct tn_error **err)
{
  ctl_answer (c, false, tn_error_text (*err));
  tn_error_free (err);
}

/* ---- requests ---- */

static void
on_start_done (struct runtime_op *op, bool ok, const char *msg)
{
  mon.start_pending = false;
  if (!ok)
    {
      cleanup_free char *text = NULL;
      if (asprintf (&text, "start container `%s`: %s", mon.opts.id, msg) < 0)
        text = NULL;
      ctl_answer (op->client, false, text ? text : msg);
      return;
    }
  if (mon.status == CTR_CREATED)
    mon.status = CTR_RUNNING;
  char json[160];
  snprintf (json, sizeof json, "{\"pid\":%d,\"start_begin_ns\":%llu,\"start_end_ns\":%llu}", (int) mon.init.pid,
            (unsigned long long) op->begin_ns, (unsigned long long) op->end_ns);
  ctl_answer (op->client, true, json);
}

static void
on_kill_done (struct runtime_op *op, bool ok, const char *msg)
{
  ctl_answer (op->client, ok, ok ? "" : msg);
}

static void
on_resumed_after_kill (struct runtime_op *op, bool ok, const char *msg)
{
  if (ok)
    mon.paused = false;
}

/* A frozen cgroup holds even SIGKILL back (cgroup v1's freezer): thaw it so the kill lands. */
static void
thaw_after_kill (void)
{
  if (!mon.paused)
    return;
  struct runtime_op *op = runtime_op_new ("resume", mon.opts.id, NULL);
  if (op == NULL)
    return;
  op->done = on_resumed_after_kill;
  runtime_submit (op);
}

static void
on_pause_done (struct runtime_op *op, bool ok, const char *msg)
{
  bool pausing = strcmp (op->subcmd, "pause") == 0;
  if (ok)
    mon.paused = pausing;
  cleanup_free char *text = NULL;
  if (!ok && asprintf (&text, "%s container `%s`: %s", op->subcmd, mon.opts.id, msg) < 0)
    text = NULL;
  ctl_answer (op->client, ok, ok ? "" : (text ? text : msg));
}

static void
req_pause (struct client *c, bool pause)
{
  if (mon.init.exited || exit_started () || mon.status != CTR_RUNNING)
    return ctl_answer (c, false, "the container is not running");
  struct runtime_op *op = runtime_op_new (pause ? "pause" : "resume", mon.opts.id, NULL);
  if (op == NULL)
    return ctl_answer (c, false, "out of memory");
  op->done = on_pause_done;
  op->client = c;
  c->busy = true;
  runtime_submit (op);
}

static void
req_start (struct client *c)
{
  if (mon.init.exited || mon.status == CTR_STOPPED)
    return ctl_answer (c, false, "the container has exited");
  if (mon.status == CTR_RUNNING)
    return ctl_answer (c, false, "the container is already running");
  if (mon.start_pending)
    return ctl_answer (c, false, "the container is already being started");
  struct runtime_op *op = runtime_op_new ("start", mon.opts.id, NULL);
  if (op == NULL)
    return ctl_answer (c, false, "out of memory");
  op->done = on_start_done;
  op->client = c;
  c->busy = true;
  mon.start_pending = true;
  runtime_submit (op);
}

static void
req_signal (struct client *c, const uint8_t *p, uint32_t len)
{
  if (len < 2)
    return ctl_answer (c, false, "SIGNAL: payload is u8 signal, u8 all");
  int sig = p[0];
  if (sig < 1 || sig >= NSIG)
    return ctl_answer (c, false, "SIGNAL: no such signal");
  if (c->bound)
    {
      /* An exec process: only it (it is the monitor's child until reaped: its pid is its own). */
      if (c->bound->exited)
        return ctl_answer (c, false, "the process is not running");
      if (kill (c->bound->pid, sig) < 0)
        {
          char msg[96];
          snprintf (msg, sizeof msg, "signal %d to pid %d: %s", sig, (int) c->bound->pid, strerror (errno));
          return ctl_answer (c, false, msg);
        }
      if (sig == SIGKILL)
        thaw_after_kill ();
      return ctl_answer (c, true, "");
    }
  if (mon.init.exited || exit_started ())
    return ctl_answer (c, false, "the container is not running");
  if (p[1])
    {
      char num[8];
      snprintf (num, sizeof num, "%d", sig);
      struct runtime_op *op = runtime_op_new ("kill", "--all", mon.opts.id, num, NULL);
      if (op == NULL)
        return ctl_answer (c, false, "out of memory");
      op->done = on_kill_done;
      op->client = c;
      c->busy = true;
      runtime_submit (op);
      if (sig == SIGKILL)
        thaw_after_kill ();
      return;
    }
  /* The init is the monitor's child until reaped, so its pid cannot have been reused. */
  if (kill (mon.init.pid, sig) < 0)
    {
      char msg[96];
      snprintf (msg, sizeof msg, "signal %d to pid %d: %s", sig, (int) mon.init.pid, strerror (errno));
      return ctl_answer (c, false, msg);
    }
  if (sig == SIGKILL)
    thaw_after_kill ();
  ctl_answer (c, true, "");
}

static void
req_status (struct client *c)
{
  static const char *const names[] = { "created", "running", "stopped" };
  enum ctr_status st = mon.init.exited ? CTR_STOPPED : mon.status;
  const char *name = st == CTR_RUNNING && mon.paused ? "paused" : names[st];
  char json[96];
  snprintf (json, sizeof json, "{\"pid\":%d,\"status\":\"%s\"}", (int) mon.init.pid, name);
  ctl_answer (c, true, json);
}

static void
dispatch (struct client *c, uint8_t type, const uint8_t *p, uint32_t len)
{
  struct tn_error *err = NULL;
  /* STDIN, CLOSE_STDIN, RESIZE and SIGNAL go to the exec a connection runs, else to the init. */
  struct ctr_process *target = c->bound ? c->bound : &mon.init;
  if (c->ran_exec && c->bound == NULL)
    switch (type)
      {
      case REQ_STDIN:
      case REQ_CLOSE_STDIN:
        return;
      case REQ_RESIZE:
      case REQ_SIGNAL:
        return ctl_answer (c, false, "the process is not running");
      }
  switch (type)
    {
    case REQ_START:
      req_start (c);
      break;
    case REQ_EXEC:
      if (c->bound || c->attached)
        return ctl_answer (c, false, "EXEC: this connection is already attached or runs an exec");
      exec_request (c, p, len);
      break;
    case REQ_PAUSE:
    case REQ_RESUME:
      req_pause (c, type == REQ_PAUSE);
      break;
    case REQ_ATTACH:
      if (len < 1)
        return ctl_answer (c, false, "ATTACH: payload is u8 flags");
      if (c->bound)
        return ctl_answer (c, false, "ATTACH: this connection runs an exec");
      c->attached = &mon.init;
      c->flags = p[0] & (ATTACH_STDIN | ATTACH_STDOUT | ATTACH_STDERR);
      ctl_answer (c, true, "");
      break;
    case REQ_STDIN:
      if (stdin_write (target, p, len))
        c->paused_stdin = true;
      break;
    case REQ_CLOSE_STDIN:
      stdin_close (target);
      break;
    case REQ_RESIZE:
      if (len < 4)
        return ctl_answer (c, false, "RESIZE: payload is u16 rows, u16 cols");
      if (stdio_resize (target, (unsigned) (p[0] << 8 | p[1]), (unsigned) (p[2] << 8 | p[3]), &err) < 0)
        return answer_error (c, &err);
      ctl_answer (c, true, "");
      break;
    case REQ_SIGNAL:
      req_signal (c, p, len);
      break;
    case REQ_STATUS:
      req_status (c);
      break;
    default:
      {
        char msg[48];
        snprintf (msg, sizeof msg, "unknown request type 0x%02x", type);
        ctl_answer (c, false, msg);
      }
    }
}

static void
client_read (struct client *c)
{
  for (int frames = 0; frames < FRAMES_PER_EVENT;)
    {
      if (c->dead || c->busy || c->paused_stdin || c->read_eof)
        break;
      ssize_t n;
      if (c->hdr_got < FRAME_HDR)
        n = read (c->w.fd, c->hdr + c->hdr_got, FRAME_HDR - c->hdr_got);
      else
        n = read (c->w.fd, c->payload + c->pgot, c->plen - c->pgot);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN)
            client_kill (c);
          break;
        }
      if (n == 0)
        {
          /* Half-closed: it may still wait for answers and EXIT. */
          c->read_eof = true;
          break;
        }
      if (c->hdr_got < FRAME_HDR)
        {
          c->hdr_got += (size_t) n;
          if (c->hdr_got < FRAME_HDR)
            continue;
          c->plen = (uint32_t) c->hdr[1] << 24 | (uint32_t) c->hdr[2] << 16 | (uint32_t) c->hdr[3] << 8 | c->hdr[4];
          c->pgot = 0;
          if (c->plen > MON_FRAME_MAX)
            {
              client_kill (c);
              break;
            }
          if (c->plen > 0 && (c->payload = malloc (c->plen)) == NULL)
            {
              client_kill (c);
              break;
            }
        }
      else
        c->pgot += (uint32_t) n;
      if (c->pgot < c->plen)
        continue;
      uint8_t *payload = c->payload;
      c->payload = NULL;
      c->hdr_got = 0;
      dispatch (c, c->hdr[0], payload, c->plen);
      free (payload);
      frames++;
    }
  client_update (c);
}

static void
on_client (struct watch *w, uint32_t events)
{
  struct client *c = (struct client *) w;
  if (events & EPOLLOUT)
    client_flush (c);
  if (!c->dead && (events & EPOLLIN))
    client_read (c);
  if (!c->dead && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
    client_kill (c);
}

static void
on_accept (struct watch *w, uint32_t events)
{
  for (;;)
    {
      int fd = accept4 (w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      if (n_clients >= MON_MAX_CLIENTS)
        {
          close (fd);
          continue;
        }
      struct client *c = calloc (1, sizeof *c);
      if (c == NULL)
        {
          close (fd);
          continue;
        }
      c->w.fd = fd;
      c->w.fn = on_client;
      c->next = clients;
      clients = c;
      n_clients++;
      client_update (c);
    }
}

int
ctl_listen (const char *path, struct tn_error **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    return tn_error_new (err, "socket path `%s` is too long", path);
  strcpy (sa.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return tn_error_sys (err, errno, "socket");
  unlink (path);
  mode_t old = umask (0177);   /* the socket is born 0600 */
  int r = bind (fd, (struct sockaddr *) &sa, sizeof sa);
  umask (old);
  if (r < 0 || listen (fd, 64) < 0)
    {
      int saved = errno;
      close (fd);
      return tn_error_sys (err, saved, "listen on `%s`", path);
    }
  sock_path = strdup (path);
  listen_w.fd = fd;
  listen_w.fn = on_accept;
  loop_watch (&listen_w, EPOLLIN);
  return 0;
}

void
ctl_broadcast_output (struct ctr_process *proc, int stream, const uint8_t *data, size_t len)
{
  uint8_t want = stream == STREAM_STDERR ? ATTACH_STDERR : ATTACH_STDOUT;
  uint8_t type = stream == STREAM_STDERR ? MSG_STDERR : MSG_STDOUT;
  for (struct client *c = clients; c; c = c->next)
    if (!c->dead && c->attached == proc && (c->flags & want))
      client_send (c, type, data, len, NULL, 0);
}

void
ctl_broadcast_exit (const char *json)
{
  if (listen_w.fd >= 0)
    {
      loop_forget (&listen_w);
      close (listen_w.fd);
      listen_w.fd = -1;
      if (sock_path)
        unlink (sock_path);
    }
  for (struct client *c = clients; c; c = c->next)
    if (c->bound == NULL)
      client_send (c, MSG_EXIT, json, strlen (json), NULL, 0);
}

void
ctl_busy (struct client *c)
{
  if (c)
    {
      c->busy = true;
      client_update (c);
    }
}

void
ctl_bind_exec (struct client *c, struct ctr_process *p)
{
  if (c == NULL || c->dead)
    return;
  c->bound = p;
  c->attached = p;
  if (p)
    c->ran_exec = true;
  c->flags = p ? (ATTACH_STDIN | ATTACH_STDOUT | ATTACH_STDERR) : 0;
}

void
ctl_send_exit (struct client *c, const char *json)
{
  if (c)
    client_send (c, MSG_EXIT, json, strlen (json), NULL, 0);
}

bool
ctl_flushed (void)
{
  for (struct client *c = clients; c; c = c->next)
    if (!c->dead && c->oq_head)
      return false;
  return true;
}

void
ctl_resume_stdin_senders (void)
{
  for (struct client *c = clients; c; c = c->next)
    if (c->paused_stdin && !c->dead)
      {
        c->paused_stdin = false;
        client_update (c);
      }
}

void
ctl_collect (void)
{
  struct client **pp = &clients;
  while (*pp)
    {
      struct client *c = *pp;
      if (!c->dead)
        {
          pp = &c->next;
          continue;
        }
      *pp = c->next;
      n_clients--;
      close (c->w.fd);
      free (c->payload);
      while (c->oq_head)
        {
          struct chunk *k = c->oq_head;
          c->oq_head = k->next;
          free (k);
        }
      free (c);
    }
}

void
ctl_close_all (void)
{
  for (struct client *c = clients; c; c = c->next)
    client_kill (c);
  ctl_collect ();
}

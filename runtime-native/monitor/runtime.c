/* Running the OCI runtime: `RUNTIME [--root R] [ARGS…] --log STATE/runtime.log --log-format json
 * SUBCMD …`. Commands run one at a time in the order they were asked for (a runtime serialises them
 * on its own lock anyway, and `delete` must come after a pending `start`); the loop goes on while
 * one runs. What a command prints is captured, so a failure can be told in the runtime's words. */
#include "monitor.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNTIME_LOG_SCAN (64u << 10)   /* how much of the runtime's log is searched for its error */

static const struct mon_opts *ropts;
static char *log_file;
static struct runtime_op *queue_head, *queue_tail;
static struct runtime_op *running;
static struct runtime_op *dead_ops;

void
runtime_init (const struct mon_opts *o)
{
  ropts = o;
  if (asprintf (&log_file, "%s/runtime.log", o->state_dir) < 0)
    log_file = NULL;
}

struct runtime_op *
runtime_op_new (const char *subcmd, ...)
{
  struct runtime_op *op = calloc (1, sizeof *op);
  if (op == NULL)
    return NULL;
  size_t extra = 0;
  va_list ap;
  va_start (ap, subcmd);
  while (va_arg (ap, const char *) != NULL)
    extra++;
  va_end (ap);

  size_t n = 1 + 2 + ropts->n_runtime_args + 4 + 1 + extra + 1;
  op->argv = calloc (n, sizeof (char *));
  op->subcmd = strdup (subcmd);
  if (op->argv == NULL || op->subcmd == NULL)
    {
      runtime_op_free (op);
      return NULL;
    }
  size_t i = 0;
  bool ok = true;
#define PUSH(s) do { if ((op->argv[i++] = strdup (s)) == NULL) ok = false; } while (0)
  PUSH (ropts->runtime);
  if (ropts->runtime_root)
    {
      PUSH ("--root");
      PUSH (ropts->runtime_root);
    }
  for (size_t k = 0; k < ropts->n_runtime_args; k++)
    PUSH (ropts->runtime_args[k]);
  if (log_file)
    {
      PUSH ("--log");
      PUSH (log_file);
      PUSH ("--log-format");
      PUSH ("json");
    }
  PUSH (subcmd);
  va_start (ap, subcmd);
  for (const char *a; (a = va_arg (ap, const char *)) != NULL;)
    PUSH (a);
  va_end (ap);
#undef PUSH
  op->argv[i] = NULL;
  op->pid = -1;
  op->capture.fd = -1;
  op->fds[0] = op->fds[1] = op->fds[2] = -1;
  if (!ok)
    {
      runtime_op_free (op);
      return NULL;
    }
  return op;
}

void
runtime_op_free (struct runtime_op *op)
{
  if (op == NULL)
    return;
  if (op->argv)
    for (char **a = op->argv; *a; a++)
      free (*a);
  free (op->argv);
  free (op->subcmd);
  if (op->capture.fd >= 0)
    {
      loop_forget (&op->capture);
      close (op->capture.fd);
    }
  free (op);
}

static void
capture_read (struct runtime_op *op)
{
  char buf[MON_ERRTAIL_MAX];
  while (op->capture.fd >= 0)
    {
      ssize_t n = read (op->capture.fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          loop_forget (&op->capture);
          close (op->capture.fd);
          op->capture.fd = -1;
          return;
        }
      /* Keep the last MON_ERRTAIL_MAX - 1 bytes: the error is at the end. */
      size_t cap = sizeof op->tail - 1;
      if ((size_t) n >= cap)
        {
          memcpy (op->tail, buf + n - cap, cap);
          op->tail_len = cap;
        }
      else
        {
          if (op->tail_len + (size_t) n > cap)
            {
              size_t drop = op->tail_len + (size_t) n - cap;
              memmove (op->tail, op->tail + drop, op->tail_len - drop);
              op->tail_len -= drop;
            }
          memcpy (op->tail + op->tail_len, buf, (size_t) n);
          op->tail_len += (size_t) n;
        }
      op->tail[op->tail_len] = '\0';
    }
}

static void
on_capture (struct watch *w, uint32_t events)
{
  struct runtime_op *op = (struct runtime_op *) ((char *) w - offsetof (struct runtime_op, capture));
  capture_read (op);
}

static int
runtime_spawn (struct runtime_op *op, struct tn_error **err)
{
  cleanup_close int null = -1;
  cleanup_close int cap_w = -1;
  if (op->fds[0] < 0)
    {
      null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0)
        return tn_error_sys (err, errno, "open /dev/null");
    }
  if (op->fds[1] < 0 || op->fds[2] < 0)
    {
      int p[2];
      if (pipe2 (p, O_CLOEXEC) < 0)
        return tn_error_sys (err, errno, "pipe");
      op->capture.fd = p[0];
      op->capture.fn = on_capture;
      cap_w = p[1];
      fcntl (p[0], F_SETFL, O_NONBLOCK);
    }
  struct stat st;
  op->log_offset = (log_file && stat (log_file, &st) == 0) ? st.st_size : 0;
  op->begin_ns = now_realtime_ns ();

  pid_t pid = fork ();
  if (pid < 0)
    return tn_error_sys (err, errno, "fork");
  if (pid == 0)
    {
      int in = op->fds[0] >= 0 ? op->fds[0] : null;
      int out = op->fds[1] >= 0 ? op->fds[1] : cap_w;
      int er = op->fds[2] >= 0 ? op->fds[2] : cap_w;
      /* Every fd here is >= 3: the monitor's 0-2 are /dev/null. */
      if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (er, 2) < 0)
        _exit (127);
      close_from (3);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      signal (SIGPIPE, SIG_DFL);
      signal (SIGHUP, SIG_DFL);
      execv (op->argv[0], op->argv);
      dprintf (2, "exec `%s`: %s\n", op->argv[0], strerror (errno));
      _exit (127);
    }
  op->pid = pid;
  if (op->capture.fd >= 0)
    loop_watch (&op->capture, EPOLLIN);
  return 0;
}

static void
start_next (void)
{
  while (running == NULL && queue_head != NULL)
    {
      struct runtime_op *op = queue_head;
      queue_head = op->next;
      if (queue_head == NULL)
        queue_tail = NULL;
      op->next = NULL;
      struct tn_error *err = NULL;
      if (runtime_spawn (op, &err) < 0)
        {
          tn_error_wrap (&err, "runtime %s", op->subcmd);
          op->done (op, false, tn_error_text (err));
          tn_error_free (&err);
          op->next = dead_ops;
          dead_ops = op;
          continue;
        }
      running = op;
    }
}

void
runtime_submit (struct runtime_op *op)
{
  op->next = NULL;
  if (queue_tail)
    queue_tail->next = op;
  else
    queue_head = op;
  queue_tail = op;
  start_next ();
}

void
runtime_kill_running (void)
{
  if (running && running->pid > 0 && !running->exited)
    kill (running->pid, SIGKILL);
}

bool
runtime_reaped (pid_t pid, int status)
{
  struct runtime_op *op = running;
  if (op == NULL || op->pid != pid)
    return false;
  op->exited = true;
  op->wait_status = status;
  op->end_ns = now_realtime_ns ();
  /* Whatever it printed is in the pipe by now; a grandchild holding the pipe must not stall us. */
  capture_read (op);
  if (op->capture.fd >= 0)
    {
      loop_forget (&op->capture);
      close (op->capture.fd);
      op->capture.fd = -1;
    }
  bool ok = WIFEXITED (status) && WEXITSTATUS (status) == 0;
  char *msg = ok ? NULL : runtime_error_text (op);
  running = NULL;
  op->done (op, ok, msg ? msg : "");
  free (msg);
  op->next = dead_ops;
  dead_ops = op;
  start_next ();
  return true;
}

void
runtime_forget_client (struct client *c)
{
  if (running && running->client == c)
    running->client = NULL;
  for (struct runtime_op *op = queue_head; op; op = op->next)
    if (op->client == c)
      op->client = NULL;
}

void
runtime_collect (void)
{
  while (dead_ops)
    {
      struct runtime_op *op = dead_ops;
      dead_ops = op->next;
      runtime_op_free (op);
    }
}

/* The msg of the last {"level":"error",…} line the runtime logged since the op began. */
static char *
last_logged_error (off_t from)
{
  if (log_file == NULL)
    return NULL;
  cleanup_close int fd = open (log_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_size <= from)
    return NULL;
  off_t start = from;
  if (st.st_size - start > (off_t) RUNTIME_LOG_SCAN)
    start = st.st_size - (off_t) RUNTIME_LOG_SCAN;
  size_t len = (size_t) (st.st_size - start);
  cleanup_free char *buf = malloc (len + 1);
  if (buf == NULL)
    return NULL;
  ssize_t n = pread (fd, buf, len, start);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  char *found = NULL;
  for (char *line = buf; line && *line;)
    {
      char *nl = strchr (line, '\n');
      const char *end = nl ? nl : line + strlen (line);
      const char *level = json_get (line, end, "level");
      if (level && end - level >= 7 && memcmp (level, "\"error\"", 7) == 0)
        {
          const char *m = json_get (line, end, "msg");
          char *msg = m ? json_string (m, end) : NULL;
          if (msg && *msg)
            {
              free (found);
              found = msg;
            }
          else
            free (msg);
        }
      line = nl ? nl + 1 : NULL;
    }
  return found;
}

static char *
last_line (const char *text)
{
  const char *end = text + strlen (text);
  while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
    end--;
  const char *start = end;
  while (start > text && start[-1] != '\n')
    start--;
  if (end == start)
    return NULL;
  return strndup (start, (size_t) (end - start));
}

char *
runtime_error_text (struct runtime_op *op)
{
  char *msg = last_logged_error (op->log_offset);
  if (msg == NULL && op->tail_len > 0)
    msg = last_line (op->tail);
  if (msg != NULL)
    return msg;
  char *out = NULL;
  int r;
  if (op->exited && WIFSIGNALED (op->wait_status))
    r = asprintf (&out, "runtime %s killed by signal %d", op->subcmd, WTERMSIG (op->wait_status));
  else
    r = asprintf (&out, "runtime %s exited with status %d", op->subcmd,
                  op->exited ? WEXITSTATUS (op->wait_status) : -1);
  return r < 0 ? NULL : out;
}

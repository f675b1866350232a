/* tersane-monitor: the parent of one container for its whole life (see PROTOCOL.md).
 *
 * One process, no threads, one epoll loop. The pieces, one file each:
 *   main.c     entry: parse, detach, create, serve
 *   args.c     command line
 *   detach.c   the caller/monitor split and the one-line report back to the caller
 *   loop.c     epoll + signalfd + one timerfd
 *   stdio.c    the container's stdio: pipes or the pty, output fan-out, the stdin queue
 *   cmsg.c     receiving the pty master over the console socket (SCM_RIGHTS)
 *   log.c      Docker's json-file log with size rotation
 *   ctl.c      the control socket: connections, framing, requests
 *   runtime.c  running the OCI runtime: spawn, capture its error, one command at a time
 *   exit.c     reaping (subreaper), the exit record, clean-up, the exit file
 *   rootfs.c   mounting and unmounting the container's rootfs
 *   oom.c      the cgroup's OOM-kill counter
 *   exec.c     processes run in the running container (`runtime exec`), each bound to a connection
 *   json.c     the little JSON reading the monitor needs (config.json, the runtime's log)
 */
#ifndef TN_MONITOR_H
#define TN_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

/* Named bounds and timeouts. */
#define MON_FRAME_MAX          (1u << 20)   /* largest frame payload, both directions */
#define MON_CLIENT_QUEUE_MAX   (1u << 20)   /* output queued for one client before it is dropped */
#define MON_STDIN_QUEUE_MAX    (64u << 10)  /* stdin queued before senders are paused */
#define MON_LOG_LINE_MAX       (16u << 10)  /* a log entry is cut here when no newline came */
#define MON_IO_CHUNK           (8u << 10)   /* one read of container output */
#define MON_MAX_CLIENTS        128
#define MON_DRAIN_TIMEOUT_MS   1000         /* output drain after the init exited */
#define MON_FLUSH_TIMEOUT_MS   1000         /* delivering EXIT to slow clients before exiting */
#define MON_CREATE_TIMEOUT_MS  120000       /* runtime `create` */
#define MON_DELETE_TIMEOUT_MS  30000        /* runtime commands still running once the init exited */
#define MON_ERRTAIL_MAX        1024         /* captured runtime output kept for error messages */

/* ---- options (args.c) ---- */
struct mon_opts {
  char *id;
  char *bundle;      /* absolute */
  char *state_dir;   /* absolute */
  char *runtime;     /* a path (absolute once parsed) */
  char *runtime_root;
  char **runtime_args;
  size_t n_runtime_args;
  char *rootfs_type, *rootfs_source, *rootfs_options;
  char *log_path;    /* absolute or NULL */
  long long log_max_size;  /* 0: no rotation */
  int log_max_files;
  bool terminal;
  bool stdin_open;
};

int args_parse (int argc, char **argv, struct mon_opts *o, struct tn_error **err);

/* ---- event loop (loop.c) ---- */
struct watch;
typedef void (*watch_fn) (struct watch *w, uint32_t events);
struct watch {
  int fd;
  uint32_t events;   /* currently registered interest; 0 with registered=false when absent */
  bool registered;
  watch_fn fn;
};

int loop_init (struct tn_error **err);
/* Registers, changes or removes the interest of w (events 0 removes). Never fails for the caller:
 * an epoll error here means a bug, and it is ignored rather than taking the container down. */
void loop_watch (struct watch *w, uint32_t events);
void loop_forget (struct watch *w);
/* Arms (ms > 0) or disarms (ms == 0) the single timer; fn runs once when it fires. */
void loop_timer (unsigned ms, void (*fn) (void));
/* Runs until loop_stop(); between batches calls the deferred work (dead clients). */
void loop_run (void);
void loop_stop (void);
/* The signalfd handler is set by whoever owns the current phase. */
void loop_on_signal (void (*fn) (int signo));

/* ---- time ---- */
uint64_t now_realtime_ns (void);
/* "2006-01-02T15:04:05.000000000Z" into buf (at least 31 bytes); returns its length. */
size_t format_rfc3339nano (uint64_t ns, char *buf);
struct ctr_process;
/* A process's end as PROTOCOL.md's exit record: {"exit_code","signal","exited_at","pid"} plus
 * `extra` (e.g. ",\"oom_killed\":true") before the closing brace. exit_code is Docker's: the code,
 * or 128+signal; `unknown_code` when the process was never reaped. */
void exit_record_json (const struct ctr_process *p, int unknown_code, const char *extra, char *buf, size_t size);

/* ---- the container's log (log.c) ---- */
enum { STREAM_STDOUT = 0, STREAM_STDERR = 1 };
int log_open (const char *path, long long max_size, int max_files, struct tn_error **err);
/* Appends container output of one stream, cutting it into entries at newlines / MON_LOG_LINE_MAX. */
void log_output (int stream, const char *data, size_t len, uint64_t when_ns);
/* Writes what is left of an unterminated line of stream (at EOF). */
void log_flush_stream (int stream, uint64_t when_ns);
void log_close (void);

/* ---- a process of the container and its stdio (stdio.c) ----
 * The init process (mon.init), and any exec processes (exec.c), each with its own pipes or pty.
 * Only the init's output goes to the log. */
struct chunk {
  struct chunk *next;
  size_t len, off;
  uint8_t data[];
};

struct out_stream {
  struct watch w;
  int stream;   /* STREAM_STDOUT / STREAM_STDERR */
  struct ctr_process *proc;
};

struct stdin_sink {
  struct watch w;              /* write end of the stdin pipe, or a dup of the pty master */
  struct chunk *head, *tail;
  size_t queued;
  bool closing;                /* CLOSE_STDIN seen: close (or VEOF) once the queue is written */
  bool closed;                 /* nothing more is accepted */
  struct ctr_process *proc;
};

struct ctr_process {
  pid_t pid;
  bool is_init;
  struct exec_proc *exec;      /* the exec this process is, NULL for the init */
  struct out_stream out[2];    /* stdout (or the pty) and stderr; fd -1 when absent / at EOF */
  struct stdin_sink in;
  int pty_master;              /* -1 without a terminal */
  bool exited;
  int wait_status;
  uint64_t exited_at_ns;
};

/* Creates the pipes (or, for a terminal, prepares to receive the pty) before `create`. The fds
 * handed to the runtime are returned in child_fds[3]; the monitor keeps the other ends. */
struct stdio_setup {
  int child_fds[3];
  struct watch console;        /* terminal: the console socket's listening fd */
  char *console_path;
  struct ctr_process *proc;
};
/* terminal / stdin_open: what the process gets; console_path: where its console socket goes. */
int stdio_prepare (struct ctr_process *p, bool terminal, bool stdin_open, const char *console_path, struct stdio_setup *s,
                   struct tn_error **err);
/* After `create`: closes the child's ends, registers the monitor's ends with the loop. */
int stdio_attach_loop (struct ctr_process *p, struct stdio_setup *s, struct tn_error **err);
void stdio_setup_release (struct stdio_setup *s);
/* Queues bytes for the container's stdin; returns true when the queue is now full (pause sender). */
bool stdin_write (struct ctr_process *p, const uint8_t *data, size_t len);
void stdin_close (struct ctr_process *p);
int stdio_resize (struct ctr_process *p, unsigned rows, unsigned cols, struct tn_error **err);
/* True once every output stream reached EOF. */
bool stdio_drained (struct ctr_process *p);
/* Reads whatever is readable right now (used at the drain deadline) and stops watching output. */
void stdio_stop_output (struct ctr_process *p);
/* Whatever the container's stderr pipe holds (a failed create may have written there). */
char *stdio_peek_stderr (struct ctr_process *p);
/* Stops watching and closes every descriptor of p (an exec process that is done). */
void stdio_close_all (struct ctr_process *p);

/* ---- fd passing (cmsg.c) ---- */
int cmsg_recv_fd (int sock, struct tn_error **err);

/* ---- the control socket (ctl.c) ---- */
enum {
  REQ_START = 0x01, REQ_ATTACH = 0x02, REQ_STDIN = 0x03, REQ_CLOSE_STDIN = 0x04,
  REQ_RESIZE = 0x05, REQ_SIGNAL = 0x06, REQ_STATUS = 0x07, REQ_EXEC = 0x08, REQ_PAUSE = 0x09, REQ_RESUME = 0x0a,
  MSG_RESULT = 0x81, MSG_STDOUT = 0x82, MSG_STDERR = 0x83, MSG_EXIT = 0x84,
};
enum { ATTACH_STDIN = 1, ATTACH_STDOUT = 2, ATTACH_STDERR = 4 };
enum { EXEC_STDIN = 1, EXEC_TERMINAL = 2 };

struct client;
int ctl_listen (const char *path, struct tn_error **err);
/* Output of proc for every client attached to that stream. */
void ctl_broadcast_output (struct ctr_process *proc, int stream, const uint8_t *data, size_t len);
/* EXIT to every client not bound to an exec; the listening socket is closed. */
void ctl_broadcast_exit (const char *json);
/* Binds c to an exec process: its output comes to c, and c's STDIN / CLOSE_STDIN / RESIZE / SIGNAL
 * go to it. NULL unbinds. */
void ctl_bind_exec (struct client *c, struct ctr_process *p);
/* c waits for an answer that comes later (ctl_answer): nothing more is read from it until then. */
void ctl_busy (struct client *c);
/* Sends one EXIT frame to c (an exec's end). */
void ctl_send_exit (struct client *c, const char *json);
/* True when no client has anything queued. */
bool ctl_flushed (void);
/* Answers the request a client is waiting on (its pending async request), then lets it go on. */
void ctl_answer (struct client *c, bool ok, const char *text);
/* stdin room came back: paused senders may go on. */
void ctl_resume_stdin_senders (void);
/* Frees clients marked dead (called by the loop between batches). */
void ctl_collect (void);
void ctl_close_all (void);

/* ---- the runtime (runtime.c) ---- */
struct runtime_op;
typedef void (*runtime_done_fn) (struct runtime_op *op, bool ok, const char *msg);
struct runtime_op {
  struct runtime_op *next;
  char *subcmd;                 /* for messages: "start", "kill", "delete" */
  char **argv;
  pid_t pid;
  int fds[3];                   /* stdio for the child; -1 means a capture pipe / /dev/null */
  struct watch capture;
  char tail[MON_ERRTAIL_MAX];
  size_t tail_len;
  off_t log_offset;
  uint64_t begin_ns, end_ns;
  bool exited;
  int wait_status;
  runtime_done_fn done;
  struct client *client;        /* who waits for the answer; NULL when gone or nobody */
  void *data;                   /* the requester's own (an exec: its struct exec_proc) */
};
void runtime_init (const struct mon_opts *o);
/* A new op for `RUNTIME [globals] SUBCMD args… ` (NULL-terminated). */
struct runtime_op *runtime_op_new (const char *subcmd, ...) __attribute__ ((sentinel));
/* Queues op; ops run one at a time, in order. */
void runtime_submit (struct runtime_op *op);
/* Handles the exit of pid if it is a runtime op's; returns true if it was. */
bool runtime_reaped (pid_t pid, int status);
/* SIGKILLs the command running now, if any (it then completes as failed). */
void runtime_kill_running (void);
/* The runtime's own message for a failed op: the last error in its --log since the op began, else
 * the tail of what it printed, else its exit status. Heap string. */
char *runtime_error_text (struct runtime_op *op);
void runtime_forget_client (struct client *c);
/* Frees finished ops (called by the loop between batches). */
void runtime_collect (void);
void runtime_op_free (struct runtime_op *op);

/* ---- exit handling (exit.c) ---- */
void exit_setup (struct ctr_process *init);
void exit_on_signal (int signo);
/* Reaps every exited child (container init, runtime ops, re-parented orphans). */
void exit_reap (void);
/* Output of the init reached EOF on every stream: the drain may be over. */
void exit_output_closed (void);
bool exit_started (void);
/* Called by the loop between batches: finishes once EXIT reached every client. */
void exit_poll (void);

/* ---- exec processes (exec.c) ---- */
struct exec_proc;
/* EXEC on connection c: payload u8 flags (EXEC_STDIN, EXEC_TERMINAL), then the OCI process JSON.
 * Answered at once on a bad request, else once the runtime's exec returned. */
void exec_request (struct client *c, const uint8_t *payload, uint32_t len);
/* Frees retired execs (called by the loop between batches). */
void exec_collect (void);
/* The connection an exec is bound to went away: its stdin closes, its output goes nowhere. */
void exec_client_gone (struct exec_proc *e);
/* A child was reaped: true if it was an exec process (or is kept for one whose pid is not known yet). */
bool exec_reaped (pid_t pid, int status);
/* Output of an exec process reached EOF on every stream. */
void exec_output_closed (struct exec_proc *e);
/* True once every exec process has been reported (or there are none). */
bool exec_all_done (void);
/* The monitor is leaving: every exec not reported yet is reported (unknown end: 255) and freed. */
void exec_abandon_all (void);

/* ---- rootfs (rootfs.c) ---- */
int rootfs_mount (const struct mon_opts *o, struct tn_error **err);
void rootfs_unmount (void);
/* privs.c: keep only CAP_KILL and CAP_SYS_ADMIN (and stop being dumpable) once created. */
int privs_drop_after_create (struct tn_error **err);
/* idmap.c: an overlay rootfs whose layers are idmapped (uidmap=/gidmap= in its options). */
bool idmap_requested (const char *options);
int idmap_overlay_mount (const char *options, const char *target, struct tn_error **err);

/* ---- OOM (oom.c) ---- */
void oom_watch_start (pid_t pid);
bool oom_killed (void);

/* ---- JSON reading (json.c) ---- */
const char *json_ws (const char *p, const char *end);
const char *json_skip (const char *p, const char *end);
/* p at '{': the value of key, or NULL. */
const char *json_get (const char *p, const char *end, const char *key);
/* p at '"': the decoded string (heap), or NULL. */
char *json_string (const char *p, const char *end);

/* ---- the monitor's single state (main.c) ---- */
enum ctr_status { CTR_CREATED, CTR_RUNNING, CTR_STOPPED };
struct monitor {
  struct mon_opts opts;
  struct ctr_process init;
  enum ctr_status status;
  bool start_pending;
  bool paused;                 /* frozen by the runtime's `pause` */
  uint64_t create_begin_ns, create_end_ns;
};
extern struct monitor mon;

/* Closes every descriptor from `first` up: close_range(2) through syscall(2), since not every libc
 * the monitor may be built with has the wrapper. */
void close_from (int first);

/* detach.c */
/* In the caller: forks the monitor, waits for its report, prints it and exits. Returns only in the
 * monitor (0), with the report fd set up for detach_report(). */
int detach_fork (struct tn_error **err);
void detach_sanitize (void);
void detach_report (bool ok, const char *text);

#endif

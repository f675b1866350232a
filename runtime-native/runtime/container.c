/* Container lifecycle: create (clone the container process into its namespaces and cgroup,
 * let it prepare everything, record the state), start (open exec.fifo), run, state, kill,
 * delete, pause/resume, exec. The child side lives in init.c. */
#include "container.h"
#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "namespaces.h"
#include "seccomp_cache.h"
#include "seccomp_filter.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int
tn_container_validate_id (const char *id, struct tn_error **err)
{
  if (id == NULL || id[0] == '\0')
    return tn_error_new (err, "container id cannot be empty");
  size_t n = strlen (id);
  if (n > 1024 || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return tn_error_new (err, "invalid container id \"%s\"", id);
  for (const char *c = id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '+' || *c == '-' || *c == '.'))
      return tn_error_new (err, "invalid container id \"%s\": use letters, digits, '_', '+', '-' and '.'", id);
  return 0;
}

static int
pidfd_open (pid_t pid)
{
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

static int
write_pid_file (const char *path, pid_t pid, struct tn_error **err)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);
  if (tn_write_file_atomic (path, buf, (size_t) n, 0, err) < 0)
    return tn_error_wrap (err, "--pid-file");
  return 0;
}

/* Removes <state dir> and what is in it (state.json, exec.fifo, temporary files). */
static void
remove_state_dir (const char *dir)
{
  DIR *d = opendir (dir);
  if (d)
    {
      struct dirent *e;
      while ((e = readdir (d)) != NULL)
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
          unlinkat (dirfd (d), e->d_name, 0);
      closedir (d);
    }
  rmdir (dir);
}

/* Signals every thread group that can be forwarded to the container. */
static void
forwardable_signals (sigset_t *set)
{
  sigemptyset (set);
  for (int s = 1; s < NSIG; s++)
    {
      if (s == SIGKILL || s == SIGSTOP || s == SIGPIPE || s == SIGURG || s == 32 || s == 33)
        continue;
      sigaddset (set, s);
    }
}

/* ---- the parent side of create ---- */

struct creation
{
  struct tn_global *g;
  const char *id;
  const struct tn_create_opts *o;
  bool run_mode;
  bool foreground; /* run without -d */
  struct tn_state *st;
  struct tn_spec *spec;
  struct tn_seccomp_prog seccomp;
  bool has_seccomp;
  char *state_dir;
  bool state_dir_made;
  bool cgroup_made;
  bool pid_file_written;
  int console_fd;   /* given to the child */
  int console_peer; /* our end when we receive the pty ourselves (foreground run) */
  int sync_parent, sync_child;
  int state_dir_fd;
  pid_t pid;        /* the container process */
  pid_t stage1;
  int preserve_fds; /* --preserve-fds, or LISTEN_FDS when more */
};

static void
creation_undo (struct creation *c)
{
  if (c->pid > 0)
    {
      kill (c->pid, SIGKILL);
      while (waitpid (c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (c->stage1 > 0)
    {
      kill (c->stage1, SIGKILL);
      while (waitpid (c->stage1, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (c->cgroup_made)
    tn_cgroup_destroy (&c->st->cgroup, true, NULL);
  if (c->pid_file_written)
    unlink (c->o->pid_file);
  if (c->state_dir_made)
    remove_state_dir (c->state_dir);
}

static void
creation_free (struct creation *c)
{
  if (c->console_fd >= 0)
    close (c->console_fd);
  if (c->console_peer >= 0)
    close (c->console_peer);
  if (c->sync_parent >= 0)
    close (c->sync_parent);
  if (c->sync_child >= 0)
    close (c->sync_child);
  if (c->state_dir_fd >= 0)
    close (c->state_dir_fd);
  tn_seccomp_prog_free (&c->seccomp);
  free (c->state_dir);
  tn_state_free (c->st); /* frees the spec too */
}

/* Everything that can be checked before the kernel is touched. */
static int
prepare (struct creation *c, struct tn_error **err)
{
  const struct tn_create_opts *o = c->o;
  if (tn_container_validate_id (c->id, err) < 0)
    return -1;
  char bundle[PATH_MAX];
  if (realpath (o->bundle && o->bundle[0] ? o->bundle : ".", bundle) == NULL)
    return tn_error_sys (err, errno, "bundle `%s`", o->bundle ? o->bundle : ".");
  /* relative paths of the configuration (root.path, bind sources) are the bundle's */
  if (chdir (bundle) < 0)
    return tn_error_sys (err, errno, "bundle `%s`", bundle);
  /* linux.seccomp is parsed only if its compiled filter is not in the cache yet */
  if (tn_spec_load_deferred ("config.json", "config.json", &c->spec, err) < 0)
    return -1;
  c->st = calloc (1, sizeof *c->st);
  if (c->st == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  c->st->spec = c->spec;
  c->st->own_spec = true;
  c->st->id = strdup (c->id);
  c->st->bundle = strdup (bundle);
  c->st->owner = getuid ();
  struct tn_spec *s = c->spec;

  char rootfs[PATH_MAX];
  if (realpath (s->root_path, rootfs) == NULL)
    return tn_error_sys (err, errno, "config.json: root.path: `%s`", s->root_path);
  struct stat stt;
  if (stat (rootfs, &stt) < 0 || !S_ISDIR (stt.st_mode))
    return tn_error_new (err, "config.json: root.path: `%s` is not a directory", s->root_path);
  c->st->rootfs = strdup (rootfs);

  bool terminal = s->process && s->process->terminal;
  if (terminal && !o->console_socket && !c->foreground)
    return tn_error_new (err, "config.json: process.terminal: a terminal needs --console-socket when the runtime does not stay in the foreground");
  if (!terminal && o->console_socket)
    return tn_error_new (err, "--console-socket: config.json's process.terminal is false");

  /* socket activation (systemd's LISTEN_FDS for the runtime): the sockets go on to the container
   * with LISTEN_FDS in its environment, as runc passes them */
  c->preserve_fds = o->preserve_fds;
  const char *listen_fds = getenv ("LISTEN_FDS");
  const char *listen_pid = getenv ("LISTEN_PID");
  if (listen_fds && (listen_pid == NULL || atoi (listen_pid) == (int) getpid ()) && atoi (listen_fds) > 0 && s->process)
    {
      int n = atoi (listen_fds);
      if (n > c->preserve_fds)
        c->preserve_fds = n;
      struct tn_process *p = s->process;
      char **env = realloc (p->env, (p->n_env + 2) * sizeof *env);
      if (env == NULL)
        return tn_error_sys (err, ENOMEM, "LISTEN_FDS");
      p->env = env;
      if (asprintf (&env[p->n_env], "LISTEN_FDS=%d", n) < 0)
        return tn_error_sys (err, ENOMEM, "LISTEN_FDS");
      env[++p->n_env] = NULL;
    }
  for (int i = 0; i < c->preserve_fds; i++)
    if (fcntl (3 + i, F_GETFD) < 0)
      return tn_error_sys (err, errno, "--preserve-fds: descriptor %d", 3 + i);

  if (s->lx.seccomp_deferred)
    {
      if (tn_seccomp_compile_json (c->g->root, tn_spec_seccomp_section (s), "config.json", &c->seccomp, err) < 0)
        return -1;
      c->has_seccomp = true;
      c->st->seccomp = &c->seccomp;
    }
  if (tn_cgroup_resolve (&c->st->cgroup, s->lx.cgroups_path, c->id, err) < 0)
    return tn_error_wrap (err, "config.json");

  c->state_dir = tn_state_dir_path (c->g, c->id);
  c->st->dir = c->state_dir ? strdup (c->state_dir) : NULL;
  if (c->st->id == NULL || c->st->bundle == NULL || c->st->rootfs == NULL || c->state_dir == NULL || c->st->dir == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  return 0;
}

/* The state JSON hooks receive. */
static char *
hook_state (struct creation *c, enum tn_status status)
{
  return tn_state_json (c->st, status, false, 0);
}

/* A write to the child failed: it has most likely died with an error message waiting to be
 * read; report that rather than the broken pipe. */
static int
child_gone (struct creation *c, struct tn_error **err)
{
  int saved = errno;
  uint32_t type;
  int32_t value;
  char *payload = NULL;
  if (tn_sync_recv (c->sync_parent, &type, &value, &payload) == 0 && type == TN_MSG_ERROR)
    {
      tn_error_sys (err, value, "%s", payload ? payload : "container setup failed");
      free (payload);
      return -1;
    }
  free (payload);
  return tn_error_sys (err, saved, "write to the container process");
}

static int
send_child (struct creation *c, uint32_t type, int32_t value, const char *payload, struct tn_error **err)
{
  size_t len = payload ? strlen (payload) : 0;
  /* too large to go at all: the child is alive and waiting, not gone */
  bool too_large = len > TN_SYNC_MAX_MSG - 64;
  if (!too_large && tn_sync_send (c->sync_parent, type, value, payload, len) < 0)
    {
      if (errno != EMSGSIZE)
        return child_gone (c, err);
      too_large = true;
    }
  if (too_large)
    return tn_error_new (err, "config.json: the container's state is too large to pass on (%zu bytes, annotations included)", len);
  return 0;
}

/* Reads the child's messages until READY, serving hook requests. */
static int
serve_child (struct creation *c, struct tn_error **err)
{
  for (;;)
    {
      uint32_t type;
      int32_t value;
      char *payload = NULL;
      int r = tn_sync_recv (c->sync_parent, &type, &value, &payload);
      if (r < 0)
        return tn_error_sys (err, errno, "read from the container process");
      if (r == 1)
        return tn_error_new (err, "the container process exited during setup");
      cleanup_free char *p = payload;
      switch (type)
        {
        case TN_MSG_READY:
          return 0;
        case TN_MSG_ERROR:
          return tn_error_sys (err, value, "%s", p ? p : "container setup failed");
        case TN_MSG_HOOKS:
          {
            const struct tn_spec *s = c->spec;
            cleanup_free char *state = hook_state (c, TN_STATUS_CREATING);
            if (tn_hooks_run (s->hooks[TN_HOOK_PRESTART], s->n_hooks[TN_HOOK_PRESTART], TN_HOOK_PRESTART, state, false, err) < 0
                || tn_hooks_run (s->hooks[TN_HOOK_CREATE_RUNTIME], s->n_hooks[TN_HOOK_CREATE_RUNTIME], TN_HOOK_CREATE_RUNTIME, state, false, err) < 0)
              return tn_error_wrap (err, "config.json: hooks");
            if (send_child (c, TN_MSG_HOOKS_DONE, 0, NULL, err) < 0)
              return -1;
            break;
          }
        default:
          return tn_error_new (err, "unexpected message %u from the container process", type);
        }
    }
}

/* Joining a user or pid namespace, or making a time namespace, takes a first child that enters
 * the namespaces and forks the container process. */
static bool
needs_two_stages (const struct tn_spec *s)
{
  if ((s->lx.ns[TN_NS_USER].present && s->lx.ns[TN_NS_USER].path) || (s->lx.ns[TN_NS_PID].present && s->lx.ns[TN_NS_PID].path)
      || s->lx.ns[TN_NS_TIME].present)
    return true;
  /* a new user namespace with namespaces joined by path (a network namespace made beforehand):
   * those are joined first, by the host's root, so the first child makes the user namespace */
  if (s->lx.ns[TN_NS_USER].present && !s->lx.ns[TN_NS_USER].path)
    for (int t = 0; t < TN_NS_COUNT; t++)
      if (t != TN_NS_USER && s->lx.ns[t].present && s->lx.ns[t].path)
        return true;
  return false;
}

static int
start_child (struct creation *c, struct tn_error **err)
{
  struct tn_spec *s = c->spec;
  bool userns_new = s->lx.ns[TN_NS_USER].present && !s->lx.ns[TN_NS_USER].path;
  bool two_stage = needs_two_stages (s);
  struct tn_init init = {
    .spec = s, .rootfs = c->st->rootfs, .cgroup = &c->st->cgroup, .seccomp = c->has_seccomp ? &c->seccomp : NULL,
    .sync_fd = c->sync_child, .console_fd = c->console_fd, .state_dir_fd = c->state_dir_fd,
    .no_pivot = c->o->no_pivot, .no_new_keyring = c->o->no_new_keyring, .id = c->id, .preserve_fds = c->preserve_fds,
    .userns = s->lx.ns[TN_NS_USER].present, .userns_new = userns_new, .two_stage = false,
  };

  /* joining the cgroup: v2 children are born in it (CLONE_INTO_CGROUP); on v1 a child that is not
   * yet in a user namespace moves itself (cheap), otherwise the parent moves it */
  bool v1 = c->st->cgroup.mode == TN_CGROUP_V1;
  /* v1: the unified hierarchy's directory (of a hybrid host) now, to clone the child into it; the
   * rest while the child mounts */
  if (v1 && !c->cgroup_made && tn_cgroup_make_unified (&c->st->cgroup, err) < 0)
    return tn_error_wrap (err, "cgroup `%s`", c->st->cgroup.path);
  cleanup_close int cgroup_fd = tn_cgroup_open_fd (&c->st->cgroup);
  init.enter_cgroup_self = v1 && (two_stage || !userns_new);
  /* the cgroup namespace is unshared by the child once it is in its cgroup */
  int flags = two_stage ? 0 : tn_ns_new_flags (s) & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  bool into = false;
  if (s->process && !s->process->terminal)
    tn_stdio_give_to (s, s->process);
  tn_log_phase ("clone...");
  pid_t pid = tn_clone (flags, cgroup_fd, &into);
  if (pid < 0)
    return tn_error_sys (err, errno, "clone the container process (namespaces %#x)", flags);
  if (pid == 0)
    {
      close (c->sync_parent);
      if (c->console_peer >= 0)
        close (c->console_peer);
      if (two_stage)
        tn_init_stage1 (&init);
      tn_init_container (&init);
    }
  /* who moves the child: with clone3 it is born in its (unified) cgroup; v1 hierarchies are
   * joined by the child itself when it can, else by us */
  bool parent_enters = (cgroup_fd >= 0 && !into) || (v1 && !init.enter_cgroup_self);
  tn_log_phase ("cloned");
  close (TN_STEAL_FD (c->sync_child));
  if (c->console_fd >= 0)
    close (TN_STEAL_FD (c->console_fd));

  if (!two_stage)
    {
      c->pid = pid;
      if (userns_new)
        {
          if (tn_ns_write_idmaps (pid, s, err) < 0)
            return tn_error_wrap (err, "config.json");
          if (send_child (c, TN_MSG_USERNS_DONE, 0, NULL, err) < 0)
            return -1;
        }
    }
  else
    {
      c->stage1 = pid;
      for (;;)
        {
          uint32_t type;
          int32_t value;
          cleanup_free char *payload = NULL;
          int r = tn_sync_recv (c->sync_parent, &type, &value, &payload);
          if (r != 0)
            return r < 0 ? tn_error_sys (err, errno, "read from the container process") : tn_error_new (err, "the container process exited during setup");
          if (type == TN_MSG_ERROR)
            return tn_error_sys (err, value, "%s", payload ? payload : "setup failed");
          if (type == TN_MSG_USERNS)
            {
              if (tn_ns_write_idmaps (pid, s, err) < 0)
                return tn_error_wrap (err, "config.json");
              tn_sync_send (c->sync_parent, TN_MSG_USERNS_DONE, 0, NULL, 0);
              continue;
            }
          if (type == TN_MSG_PID)
            {
              c->pid = value;
              break;
            }
          return tn_error_new (err, "unexpected message %u from the container process", type);
        }
      while (waitpid (c->stage1, NULL, 0) < 0 && errno == EINTR)
        ;
      c->stage1 = 0;
    }

  if (s->process && s->process->has_oom_score_adj)
    {
      char path[64], v[16];
      snprintf (path, sizeof path, "/proc/%d/oom_score_adj", (int) c->pid);
      snprintf (v, sizeof v, "%d", s->process->oom_score_adj);
      if (tn_write_file_at (AT_FDCWD, path, v, err) < 0)
        return tn_error_wrap (err, "config.json: process.oomScoreAdj");
    }
  /* cgroup v1: the directories now, while the child is busy with its first mounts; the resources
   * once it has them */
  bool apply_now = !c->cgroup_made;
  if (apply_now)
    {
      if (tn_cgroup_make (&c->st->cgroup, err) < 0)
        return tn_error_wrap (err, "cgroup `%s`", c->st->cgroup.path);
      c->cgroup_made = true;
    }
  if (parent_enters && tn_cgroup_enter (&c->st->cgroup, c->pid, into, err) < 0)
    return -1;
  if (send_child (c, TN_MSG_DIRS, 0, NULL, err) < 0)
    return -1;
  tn_log_phase ("dirs sent");
  if (apply_now)
    {
      if (tn_cgroup_create (&c->st->cgroup, s, err) < 0)
        return tn_error_wrap (err, "cgroup `%s`", c->st->cgroup.path);
      tn_log_phase ("cgroup created");
    }
  c->st->pid = c->pid;
  if (tn_proc_stat (c->pid, &c->st->start_time, NULL) < 0)
    return tn_error_sys (err, errno, "the container process vanished");
  cleanup_free char *state = hook_state (c, TN_STATUS_CREATING);
  if (state == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  if (send_child (c, TN_MSG_GO, 0, state, err) < 0)
    return -1;
  tn_log_phase ("go sent");
  /* written while the child works, put in place once the container is created */
  if (tn_state_write_tmp (c->st, err) < 0)
    return -1;
  int r = serve_child (c, err);
  tn_log_phase ("child ready");
  return r;
}

/* create, up to the container waiting on exec.fifo (or, in run mode, about to exec). On success
 * the container process has been told to go on. */
static int
do_create (struct creation *c, struct tn_error **err)
{
  if (prepare (c, err) < 0)
    return -1;
  tn_log_phase ("prepared");

  /* from here on the kernel is changed: every failure undoes what was done */
  if (mkdir (c->g->root, 0700) < 0 && errno != EEXIST && tn_mkdir_p (c->g->root, 0700, err) < 0)
    return tn_error_wrap (err, "--root");
  if (mkdir (c->state_dir, 0711) < 0)
    {
      if (errno == EEXIST)
        return tn_error_new (err, "container \"%s\" already exists", c->id);
      return tn_error_sys (err, errno, "mkdir `%s`", c->state_dir);
    }
  c->state_dir_made = true;
  /* the container process opens the fifo after dropping to its own user: others may write */
  if (!c->run_mode)
    {
      char fifo[PATH_MAX];
      snprintf (fifo, sizeof fifo, "%s/" TN_EXEC_FIFO, c->state_dir);
      if (mkfifo (fifo, 0622) < 0 || chmod (fifo, 0622) < 0)
        return tn_error_sys (err, errno, "mkfifo `%s`", fifo);
      c->state_dir_fd = open (c->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (c->state_dir_fd < 0)
        return tn_error_sys (err, errno, "open `%s`", c->state_dir);
    }

  /* a v2 child is born in its cgroup, a two-stage child enters it first thing: both need it now */
  if (tn_cgroup_detect_mode () == TN_CGROUP_V2 || needs_two_stages (c->spec))
    {
      if (tn_cgroup_create (&c->st->cgroup, c->spec, err) < 0)
        return tn_error_wrap (err, "cgroup `%s`", c->st->cgroup.path);
      c->cgroup_made = true;
    }
  char now[64];
  tn_now_rfc3339 (now, sizeof now);
  c->st->created = strdup (now);
  if (c->st->created == NULL)
    return tn_error_sys (err, ENOMEM, "state");

  if (c->o->console_socket)
    {
      if (tn_unix_connect (c->o->console_socket, &c->console_fd, err) < 0)
        return tn_error_wrap (err, "--console-socket");
    }
  else if (c->spec->process && c->spec->process->terminal)
    {
      int sv[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return tn_error_sys (err, errno, "socketpair");
      c->console_fd = sv[0];
      c->console_peer = sv[1];
    }

  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return tn_error_sys (err, errno, "socketpair");
  c->sync_parent = sv[0];
  c->sync_child = sv[1];
  /* a message (the state hooks get, annotations included) may be as large as the protocol allows,
   * more than a socket's default buffer: room for it, as root may make */
  for (int i = 0; i < 2; i++)
    {
      int room = 2 * TN_SYNC_MAX_MSG;
      setsockopt (sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room);
      setsockopt (sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room);
    }

  if (start_child (c, err) < 0)
    return -1;

  if (tn_state_commit (c->st, err) < 0)
    return -1;
  tn_log_phase ("state saved");
  if (c->o->pid_file)
    {
      if (write_pid_file (c->o->pid_file, c->pid, err) < 0)
        return -1;
      c->pid_file_written = true;
    }
  if (send_child (c, TN_MSG_ACK, c->run_mode ? 1 : 0, NULL, err) < 0)
    return -1;
  return 0;
}

static void
creation_init (struct creation *c, struct tn_global *g, const char *id, const struct tn_create_opts *o)
{
  memset (c, 0, sizeof *c);
  c->g = g;
  c->id = id;
  c->o = o;
  c->console_fd = c->console_peer = c->sync_parent = c->sync_child = c->state_dir_fd = -1;
}

int
tn_container_create (struct tn_global *g, const char *id, const struct tn_create_opts *o, struct tn_error **err)
{
  struct creation c;
  creation_init (&c, g, id, o);
  int r = do_create (&c, err);
  if (r < 0)
    creation_undo (&c);
  creation_free (&c);
  return r;
}

/* ---- waiting in the foreground ---- */

/* Waits for `pid` (our child), forwarding signals to it and, with a pty master, copying between
 * our stdio and the terminal. Returns the exit status the shell convention gives (128+signal). */
static int
wait_foreground (pid_t pid, int master, const sigset_t *blocked)
{
  int sfd = signalfd (-1, blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  struct termios saved;
  bool raw = false;
  bool stdin_open = master >= 0;
  if (master >= 0)
    {
      raw = tn_tty_raw (STDIN_FILENO, &saved);
      tn_tty_copy_size (STDIN_FILENO, master);
      fcntl (master, F_SETFL, O_NONBLOCK);
    }
  int status = 0;
  bool exited = false;
  while (!exited || master >= 0)
    {
      struct pollfd fds[3];
      int n = 0, si = -1, ii = -1, mi = -1;
      if (!exited && sfd >= 0)
        {
          si = n;
          fds[n++] = (struct pollfd) { sfd, POLLIN, 0 };
        }
      if (stdin_open && !exited)
        {
          ii = n;
          fds[n++] = (struct pollfd) { STDIN_FILENO, POLLIN, 0 };
        }
      if (master >= 0)
        {
          mi = n;
          fds[n++] = (struct pollfd) { master, POLLIN, 0 };
        }
      if (sfd < 0 && !exited)
        {
          /* no signalfd: plain blocking wait */
          while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
          exited = true;
          continue;
        }
      int r = poll (fds, (nfds_t) n, exited ? 100 : -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0 && exited)
        break; /* output drained */
      if (si >= 0 && fds[si].revents)
        {
          struct signalfd_siginfo info;
          while (read (sfd, &info, sizeof info) == sizeof info)
            {
              int sig = (int) info.ssi_signo;
              if (sig == SIGCHLD)
                continue;
              if (sig == SIGWINCH && master >= 0)
                tn_tty_copy_size (STDIN_FILENO, master);
              else
                kill (pid, sig);
            }
          pid_t w;
          while ((w = waitpid (pid, &status, WNOHANG)) < 0 && errno == EINTR)
            ;
          if (w == pid)
            exited = true;
        }
      if (ii >= 0 && fds[ii].revents)
        {
          char buf[4096];
          ssize_t k = read (STDIN_FILENO, buf, sizeof buf);
          if (k > 0)
            tn_write_all (master, buf, (size_t) k);
          else
            stdin_open = false;
        }
      if (mi >= 0 && fds[mi].revents)
        {
          char buf[8192];
          ssize_t k = read (master, buf, sizeof buf);
          if (k > 0)
            tn_write_all (STDOUT_FILENO, buf, (size_t) k);
          else if (k == 0 || errno != EAGAIN)
            {
              close (master);
              master = -1;
            }
        }
    }
  if (!exited)
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (master >= 0)
    close (master);
  if (raw)
    tn_tty_restore (STDIN_FILENO, &saved);
  if (sfd >= 0)
    close (sfd);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

/* After ACK in run mode, or after exec's READY: end-of-file on the sync socket means the
 * program was executed; an ERROR message means it was not. */
static int
wait_exec (int sync_fd, struct tn_error **err)
{
  uint32_t type;
  int32_t value;
  char *payload = NULL;
  int r = tn_sync_recv (sync_fd, &type, &value, &payload);
  cleanup_free char *p = payload;
  if (r == 1)
    return 0;
  if (r < 0)
    return tn_error_sys (err, errno, "read from the container process");
  if (type == TN_MSG_ERROR)
    return tn_error_sys (err, value, "%s", p ? p : "exec failed");
  return tn_error_new (err, "unexpected message %u from the container process", type);
}

static int destroy (struct tn_state *st, struct tn_error **err);

int
tn_container_run (struct tn_global *g, const char *id, const struct tn_create_opts *o, int *status, struct tn_error **err)
{
  struct creation c;
  creation_init (&c, g, id, o);
  c.run_mode = true;
  c.foreground = !o->detach;
  sigset_t blocked, old;
  forwardable_signals (&blocked);
  if (c.foreground)
    sigprocmask (SIG_BLOCK, &blocked, &old);
  int r = do_create (&c, err);
  int master = -1;
  if (r == 0 && c.console_peer >= 0)
    r = tn_recv_fd (c.console_peer, &master, err);
  if (r == 0)
    r = wait_exec (c.sync_parent, err);
  tn_log_phase ("exec'd");
  if (r < 0)
    {
      creation_undo (&c);
      creation_free (&c);
      if (master >= 0)
        close (master);
      return -1;
    }
  cleanup_free char *state = tn_state_json (c.st, TN_STATUS_RUNNING, false, 0);
  tn_hooks_run (c.spec->hooks[TN_HOOK_POSTSTART], c.spec->n_hooks[TN_HOOK_POSTSTART], TN_HOOK_POSTSTART, state, true, NULL);
  *status = 0;
  if (o->detach)
    {
      creation_free (&c);
      return 0;
    }
  *status = wait_foreground (c.pid, master, &blocked);
  tn_log_phase ("exited");
  c.pid = 0;
  if (!o->keep)
    {
      struct tn_error *e = NULL;
      if (destroy (c.st, &e) < 0)
        {
          tn_log_warn ("delete %s: %s", id, tn_error_text (e));
          tn_error_free (&e);
        }
    }
  creation_free (&c);
  tn_log_phase ("deleted");
  return 0;
}

/* ---- start ---- */

static int
start_loaded (struct tn_state *st, struct tn_error **err)
{
  enum tn_status status = tn_state_status (st);
  if (status == TN_STATUS_STOPPED)
    return tn_error_new (err, "cannot start a container that has stopped");
  if (status != TN_STATUS_CREATED)
    return tn_error_new (err, "cannot start a container that is %s", tn_status_name (status));
  if (st->spec->process == NULL)
    return tn_error_new (err, "config.json: process: a process is required to start the container");
  char fifo_path[PATH_MAX];
  snprintf (fifo_path, sizeof fifo_path, "%s/" TN_EXEC_FIFO, st->dir);
  cleanup_close int fifo = open (fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0)
    return tn_error_sys (err, errno, "open `%s`", fifo_path);
  cleanup_close int pidfd = pidfd_open (st->pid);
  char first = 0;
  for (;;)
    {
      struct pollfd fds[2] = { { fifo, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
      int r = poll (fds, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);
      if (r < 0 && errno == EINTR)
        continue;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (fifo, &first, 1);
          if (n == 1)
            break;
          /* end of file: the writer came and went, another start took the byte */
          if (n == 0)
            return tn_error_new (err, "the container was started by another start");
        }
      if ((pidfd >= 0 && (fds[1].revents & POLLIN)) || (pidfd < 0 && !tn_process_alive (st->pid, st->start_time)))
        return tn_error_new (err, "the container process exited before it was started");
    }
  unlink (fifo_path);
  /* the rest: nothing (the fifo closes as the program is executed) or the reason it was not */
  fcntl (fifo, F_SETFL, 0);
  char msg[4096];
  size_t used = 0;
  for (;;)
    {
      ssize_t n = read (fifo, msg + used, sizeof msg - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += (size_t) n;
      if (used == sizeof msg - 1)
        break;
    }
  msg[used] = '\0';
  if (used)
    return tn_error_new (err, "%s", msg);
  cleanup_free char *state = tn_state_json (st, TN_STATUS_RUNNING, false, 0);
  tn_hooks_run (st->spec->hooks[TN_HOOK_POSTSTART], st->spec->n_hooks[TN_HOOK_POSTSTART], TN_HOOK_POSTSTART, state, true, NULL);
  return 0;
}

int
tn_container_start (struct tn_global *g, const char *id, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  int ret = start_loaded (st, err);
  tn_state_free (st);
  return ret;
}

/* ---- state, kill, delete, pause ---- */

int
tn_container_state (struct tn_global *g, const char *id, char **json, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  *json = tn_state_json (st, tn_state_status (st), true, 2);
  tn_state_free (st);
  return *json ? 0 : tn_error_sys (err, ENOMEM, "state");
}

int
tn_container_kill (struct tn_global *g, const char *id, int sig, bool all, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  int ret = 0;
  enum tn_status status = tn_state_status (st);
  if (all)
    ret = tn_cgroup_kill_all (&st->cgroup, sig, err);
  else if (status == TN_STATUS_STOPPED)
    ret = tn_error_new (err, "container \"%s\" is not running", id);
  else
    {
      /* through a pidfd checked against the recorded start time: never a recycled pid */
      cleanup_close int pidfd = pidfd_open (st->pid);
      if (pidfd >= 0 && tn_process_alive (st->pid, st->start_time))
        {
          if (syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
            ret = tn_error_sys (err, errno, "kill %d", (int) st->pid);
        }
      else if (pidfd < 0 && kill (st->pid, sig) < 0)
        ret = tn_error_sys (err, errno, "kill %d", (int) st->pid);
      if (ret == 0 && sig == SIGKILL && status == TN_STATUS_PAUSED)
        tn_cgroup_freeze (&st->cgroup, false, NULL); /* a frozen process dies only once thawed */
    }
  tn_state_free (st);
  return ret;
}

/* How long delete waits for the processes left in a container's cgroup to die. */
#define LEFTOVER_KILL_ATTEMPTS 100
#define LEFTOVER_KILL_INTERVAL_NS 10000000

/* Processes can outlive the init when the container has no pid namespace of its own (or its init
 * died first): they are still the container's — they are in its cgroup — and go with it, so the
 * cgroup can be removed. */
static void
kill_leftovers (struct tn_cgroup *cg)
{
  for (int i = 0; i < LEFTOVER_KILL_ATTEMPTS; i++)
    {
      pid_t *pids = NULL;
      size_t n = 0;
      if (tn_cgroup_pids (cg, &pids, &n, NULL) < 0)
        return;
      free (pids);
      if (n == 0)
        return;
      tn_cgroup_kill_all (cg, SIGKILL, NULL);
      if (tn_cgroup_is_frozen (cg))
        tn_cgroup_freeze (cg, false, NULL); /* a frozen process dies only once thawed */
      struct timespec ts = { 0, LEFTOVER_KILL_INTERVAL_NS };
      nanosleep (&ts, NULL);
    }
}

/* Removes every trace of a stopped container, then runs its poststop hooks. */
static int
destroy (struct tn_state *st, struct tn_error **err)
{
  int ret = 0;
  tn_log_phase ("destroy");
  kill_leftovers (&st->cgroup);
  if (tn_cgroup_destroy (&st->cgroup, false, err) < 0)
    ret = -1;
  tn_log_phase ("cgroup removed");
  remove_state_dir (st->dir);
  tn_log_phase ("state removed");
  cleanup_free char *state = tn_state_json (st, TN_STATUS_STOPPED, false, 0);
  tn_hooks_run (st->spec->hooks[TN_HOOK_POSTSTOP], st->spec->n_hooks[TN_HOOK_POSTSTOP], TN_HOOK_POSTSTOP, state, true, NULL);
  return ret;
}

int
tn_container_delete (struct tn_global *g, const char *id, bool force, struct tn_error **err)
{
  struct tn_state *st = NULL;
  struct tn_error *e = NULL;
  if (tn_state_load (g, id, &st, &e) < 0)
    {
      /* a create that was killed half-way leaves a state directory without state.json: --force
       * removes it, and what state.json.tmp says was made (the process, the cgroup) */
      cleanup_free char *dir = tn_state_dir_path (g, id);
      struct stat sb;
      if (!force || dir == NULL || tn_container_validate_id (id, NULL) < 0 || stat (dir, &sb) < 0)
        {
          *err = e;
          return -1;
        }
      tn_error_free (&e);
      if (tn_state_load_file (g, id, TN_STATE_FILE ".tmp", &st, &e) < 0)
        {
          tn_error_free (&e);
          remove_state_dir (dir);
          return 0;
        }
    }
  int ret = 0;
  enum tn_status status = tn_state_status (st);
  if (status != TN_STATUS_STOPPED)
    {
      if (!force)
        {
          /* the spec: deleting a container that is not stopped is an error and changes nothing
           * (runc 1.1 deletes a created container anyway) */
          ret = tn_error_new (err, "cannot delete container \"%s\" that is not stopped: %s", id, tn_status_name (status));
          goto out;
        }
      cleanup_close int pidfd = pidfd_open (st->pid);
      tn_cgroup_kill_all (&st->cgroup, SIGKILL, NULL);
      if (pidfd >= 0)
        syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      if (status == TN_STATUS_PAUSED)
        tn_cgroup_freeze (&st->cgroup, false, NULL);
      /* wait (up to 10 s) for it to be gone */
      for (int i = 0; i < 1000 && tn_process_alive (st->pid, st->start_time); i++)
        {
          if (pidfd >= 0)
            {
              struct pollfd p = { pidfd, POLLIN, 0 };
              poll (&p, 1, 10);
            }
          else
            {
              struct timespec ts = { 0, 10000000 };
              nanosleep (&ts, NULL);
            }
        }
    }
  ret = destroy (st, err);
out:
  tn_state_free (st);
  return ret;
}

int
tn_container_pause (struct tn_global *g, const char *id, bool pause, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  int ret;
  enum tn_status status = tn_state_status (st);
  if (pause && status != TN_STATUS_RUNNING && status != TN_STATUS_CREATED)
    ret = tn_error_new (err, "container \"%s\" is %s, not running", id, tn_status_name (status));
  else if (!pause && status != TN_STATUS_PAUSED)
    ret = tn_error_new (err, "container \"%s\" is %s, not paused", id, tn_status_name (status));
  else
    ret = tn_cgroup_freeze (&st->cgroup, pause, err);
  tn_state_free (st);
  return ret;
}

int
tn_container_pids (struct tn_global *g, const char *id, pid_t **pids, size_t *n, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  int ret = tn_cgroup_pids (&st->cgroup, pids, n, err);
  tn_state_free (st);
  return ret;
}

/* ---- exec ---- */

/* The process of `exec`: --process FILE, or the container's process with the flags applied. */
static int
exec_process (const struct tn_state *st, const struct tn_exec_opts *o, struct tn_process **out, struct tn_error **err)
{
  if (o->process_file)
    {
      cleanup_free char *data = NULL;
      size_t len;
      if (tn_read_file (o->process_file, &data, &len, err) < 0)
        return tn_error_wrap (err, "--process");
      struct tn_json *doc = NULL;
      if (tn_json_parse (data, len, &doc, err) < 0)
        return tn_error_wrap (err, "%s: invalid JSON", o->process_file);
      int r = tn_process_parse (doc, "process", out, err);
      tn_json_free (doc);
      if (r < 0)
        return tn_error_wrap (err, "%s", o->process_file);
      if (o->tty_set)
        (*out)->terminal = o->tty;
      return 0;
    }
  if (o->n_args == 0)
    return tn_error_new (err, "exec: a command to run is required");
  /* start from the container's process, as runc does, and apply the flags on top */
  struct tn_jw w;
  tn_jw_init (&w, 0);
  const struct tn_json *base = tn_json_get (st->spec->json, "process");
  tn_jw_begin_object (&w);
  if (base && base->type == TN_JSON_OBJECT)
    for (size_t i = 0; i < base->n; i++)
      {
        const char *k = base->keys[i];
        if (strcmp (k, "args") == 0 || strcmp (k, "terminal") == 0 || strcmp (k, "consoleSize") == 0)
          continue;
        if ((strcmp (k, "cwd") == 0 && o->cwd) || (strcmp (k, "user") == 0 && o->user) || strcmp (k, "env") == 0
            || (strcmp (k, "noNewPrivileges") == 0 && o->no_new_privs) || (strcmp (k, "capabilities") == 0 && o->n_caps))
          continue;
        tn_jw_key (&w, k);
        tn_jw_value (&w, base->items[i]);
      }
  tn_jw_key (&w, "args");
  tn_jw_begin_array (&w);
  for (size_t i = 0; i < o->n_args; i++)
    tn_jw_string (&w, o->args[i]);
  tn_jw_end_array (&w);
  tn_jw_kv_bool (&w, "terminal", o->tty);
  tn_jw_key (&w, "env");
  tn_jw_begin_array (&w);
  const struct tn_json *env = base ? tn_json_get (base, "env") : NULL;
  for (size_t i = 0; env && env->type == TN_JSON_ARRAY && i < env->n; i++)
    tn_jw_value (&w, env->items[i]);
  for (size_t i = 0; i < o->n_env; i++)
    tn_jw_string (&w, o->env[i]);
  tn_jw_end_array (&w);
  if (o->cwd || !(base && tn_json_get (base, "cwd")))
    tn_jw_kv_string (&w, "cwd", o->cwd ? o->cwd : "/");
  if (o->no_new_privs)
    tn_jw_kv_bool (&w, "noNewPrivileges", true);
  if (o->user || o->additional_gids)
    {
      unsigned long uid = 0, gid = 0;
      const struct tn_json *bu = base ? tn_json_get (base, "user") : NULL;
      const struct tn_json *bv;
      int64_t x;
      if (bu && (bv = tn_json_get (bu, "uid")) && tn_json_to_int64 (bv, &x) == 0)
        uid = (unsigned long) x;
      if (bu && (bv = tn_json_get (bu, "gid")) && tn_json_to_int64 (bv, &x) == 0)
        gid = (unsigned long) x;
      if (o->user)
        {
          char *end;
          errno = 0;
          uid = strtoul (o->user, &end, 10);
          if (errno || end == o->user || (*end && *end != ':'))
            return tn_error_new (err, "--user: \"%s\" is not uid[:gid]", o->user);
          if (*end == ':')
            {
              const char *g2 = end + 1;
              gid = strtoul (g2, &end, 10);
              if (errno || end == g2 || *end)
                return tn_error_new (err, "--user: \"%s\" is not uid[:gid]", o->user);
            }
        }
      tn_jw_key (&w, "user");
      tn_jw_begin_object (&w);
      tn_jw_kv_int (&w, "uid", (int64_t) uid);
      tn_jw_kv_int (&w, "gid", (int64_t) gid);
      tn_jw_key (&w, "additionalGids");
      tn_jw_begin_array (&w);
      if (o->additional_gids)
        {
          cleanup_free char *copy = strdup (o->additional_gids);
          for (char *save = NULL, *t = copy ? strtok_r (copy, ",", &save) : NULL; t; t = strtok_r (NULL, ",", &save))
            {
              char *end;
              unsigned long v = strtoul (t, &end, 10);
              if (*end)
                return tn_error_new (err, "--additional-gids: \"%s\" is not a number", t);
              tn_jw_int (&w, (int64_t) v);
            }
        }
      tn_jw_end_array (&w);
      tn_jw_end_object (&w);
    }
  if (o->n_caps)
    {
      /* each --cap joins the bounding, effective and permitted sets (and ambient when the
       * process has inheritable capabilities), as runc's flag does */
      const struct tn_json *bc = base ? tn_json_get (base, "capabilities") : NULL;
      static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable", "ambient" };
      const struct tn_json *inh = bc ? tn_json_get (bc, "inheritable") : NULL;
      tn_jw_key (&w, "capabilities");
      tn_jw_begin_object (&w);
      for (size_t s = 0; s < 5; s++)
        {
          tn_jw_key (&w, sets[s]);
          tn_jw_begin_array (&w);
          const struct tn_json *cur = bc ? tn_json_get (bc, sets[s]) : NULL;
          for (size_t i = 0; cur && cur->type == TN_JSON_ARRAY && i < cur->n; i++)
            tn_jw_value (&w, cur->items[i]);
          if (s < 3 || (s == 4 && inh && inh->type == TN_JSON_ARRAY))
            for (size_t i = 0; i < o->n_caps; i++)
              tn_jw_string (&w, o->caps[i]);
          tn_jw_end_array (&w);
        }
      tn_jw_end_object (&w);
    }
  tn_jw_end_object (&w);
  cleanup_free char *json = tn_jw_finish (&w);
  if (json == NULL)
    return tn_error_sys (err, ENOMEM, "exec");
  struct tn_json *doc = NULL;
  if (tn_json_parse (json, strlen (json), &doc, err) < 0)
    return -1;
  int r = tn_process_parse (doc, "process", out, err);
  tn_json_free (doc);
  return r;
}

int
tn_container_exec (struct tn_global *g, const char *id, const struct tn_exec_opts *o, int *status, struct tn_error **err)
{
  struct tn_state *st = NULL;
  if (tn_state_load (g, id, &st, err) < 0)
    return -1;
  int ret = -1;
  struct tn_process *proc = NULL;
  struct tn_seccomp_prog sc = { 0 };
  bool has_sc = false;
  int ns_fds[8];
  int sync_sv[2] = { -1, -1 };
  int console_fd = -1, console_peer = -1, master = -1, cgroup_fd = -1;
  pid_t mid = 0, pid = 0;
  for (int i = 0; i < 8; i++)
    ns_fds[i] = -1;
  sigset_t blocked, old;
  forwardable_signals (&blocked);
  bool masked = false;

  enum tn_status status_now = tn_state_status (st);
  if (status_now == TN_STATUS_STOPPED)
    {
      tn_error_new (err, "cannot exec in a stopped container");
      goto out;
    }
  if (status_now == TN_STATUS_PAUSED && !o->ignore_paused)
    {
      tn_error_new (err, "cannot exec in a paused container (use --ignore-paused to override)");
      goto out;
    }
  if (exec_process (st, o, &proc, err) < 0)
    goto out;
  if (proc->terminal && !o->console_socket && o->detach)
    {
      tn_error_new (err, "--tty: a terminal needs --console-socket with --detach");
      goto out;
    }
  if (!proc->terminal && o->console_socket)
    {
      tn_error_new (err, "--console-socket: the process has no terminal (--tty)");
      goto out;
    }
  for (int i = 0; i < o->preserve_fds; i++)
    if (fcntl (3 + i, F_GETFD) < 0)
      {
        tn_error_sys (err, errno, "--preserve-fds: descriptor %d", 3 + i);
        goto out;
      }
  if (tn_state_seccomp (g, st, &sc, &has_sc, err) < 0)
    goto out;
  static const char *const proc_ns[8] = { "pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time" };
  for (int t = 0; t < TN_NS_COUNT; t++)
    {
      if (!st->spec->lx.ns[t].present || !tn_ns_differs (st->pid, (enum tn_ns_type) t))
        continue;
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) st->pid, proc_ns[t]);
      ns_fds[t] = open (path, O_RDONLY | O_CLOEXEC);
      if (ns_fds[t] < 0)
        {
          tn_error_sys (err, errno, "open %s", path);
          goto out;
        }
    }
  if (o->console_socket)
    {
      if (tn_unix_connect (o->console_socket, &console_fd, err) < 0)
        goto out;
    }
  else if (proc->terminal)
    {
      int sv[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        {
          tn_error_sys (err, errno, "socketpair");
          goto out;
        }
      console_fd = sv[0];
      console_peer = sv[1];
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_sv) < 0)
    {
      tn_error_sys (err, errno, "socketpair");
      goto out;
    }
  if (!o->detach)
    {
      sigprocmask (SIG_BLOCK, &blocked, &old);
      masked = true;
    }
  cgroup_fd = tn_cgroup_open_fd (&st->cgroup);
  struct tn_exec_init init = {
    .spec = st->spec, .process = proc, .seccomp = has_sc ? &sc : NULL, .sync_fd = sync_sv[1], .console_fd = console_fd,
    .userns = st->spec->lx.ns[TN_NS_USER].present, .preserve_fds = o->preserve_fds, .cgroup = &st->cgroup,
    .enter_cgroup_self = st->cgroup.mode == TN_CGROUP_V1,
  };
  memcpy (init.ns_fds, ns_fds, sizeof ns_fds);
  bool into = false;
  mid = tn_clone (0, cgroup_fd, &into);
  if (mid < 0)
    {
      tn_error_sys (err, errno, "fork");
      goto out;
    }
  if (mid == 0)
    {
      close (sync_sv[0]);
      if (console_peer >= 0)
        close (console_peer);
      tn_init_exec (&init);
    }
  close (TN_STEAL_FD (sync_sv[1]));
  if (console_fd >= 0)
    close (TN_STEAL_FD (console_fd));
  if (cgroup_fd >= 0 && !into && tn_cgroup_enter (&st->cgroup, mid, false, err) < 0)
    goto fail;
  if (tn_sync_send (sync_sv[0], TN_MSG_GO, 0, NULL, 0) < 0)
    {
      tn_error_sys (err, errno, "write to the exec process");
      goto fail;
    }
  int32_t v = 0;
  if (tn_sync_expect (sync_sv[0], TN_MSG_PID, &v, NULL, err) < 0)
    goto fail;
  pid = v;
  while (waitpid (mid, NULL, 0) < 0 && errno == EINTR)
    ;
  mid = 0;
  if (console_peer >= 0)
    {
      struct tn_error *e = NULL;
      if (tn_recv_fd (console_peer, &master, &e) < 0)
        {
          /* no terminal: most likely the process failed first, and said why */
          if (wait_exec (sync_sv[0], err) == 0 && err && *err == NULL)
            *err = e;
          else
            tn_error_free (&e);
          goto fail;
        }
    }
  if (wait_exec (sync_sv[0], err) < 0)
    goto fail;
  if (o->pid_file && write_pid_file (o->pid_file, pid, err) < 0)
    goto fail;
  *status = 0;
  if (!o->detach)
    {
      *status = wait_foreground (pid, master, &blocked);
      master = -1;
    }
  pid = 0;
  ret = 0;
  goto out;

fail:
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
  if (mid > 0)
    {
      kill (mid, SIGKILL);
      waitpid (mid, NULL, 0);
    }
out:
  if (masked)
    sigprocmask (SIG_SETMASK, &old, NULL);
  for (int i = 0; i < 8; i++)
    if (ns_fds[i] >= 0)
      close (ns_fds[i]);
  if (sync_sv[0] >= 0)
    close (sync_sv[0]);
  if (sync_sv[1] >= 0)
    close (sync_sv[1]);
  if (console_fd >= 0)
    close (console_fd);
  if (console_peer >= 0)
    close (console_peer);
  if (master >= 0)
    close (master);
  if (cgroup_fd >= 0)
    close (cgroup_fd);
  tn_seccomp_prog_free (&sc);
  tn_process_free (proc);
  tn_state_free (st);
  return ret;
}

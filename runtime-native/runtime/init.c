#include "init.h"
#include "cleanup.h"
#include "fsutil.h"
#include "hooks.h"
#include "log.h"
#include "mounts.h"
#include "namespaces.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Reports a setup error to the runtime and ends the child. */
static _Noreturn void
die (int sync_fd, struct tn_error *e)
{
  const char *text = tn_error_text (e);
  tn_sync_send (sync_fd, TN_MSG_ERROR, 0, text, strlen (text));
  _exit (1);
}

static void
become_root (const struct tn_spec *s)
{
  /* in a fresh user namespace the child's ids are the overflow ids until it switches to the
   * namespace's root (when root is mapped at all) */
  if (tn_ns_root_mapped (s, false))
    setresgid (0, 0, 0);
  if (tn_ns_root_mapped (s, true))
    setresuid (0, 0, 0);
}

/* Joins the namespaces given by path, the mount namespace last (paths after it are the other
 * namespace's). Types in `skip` are left alone. */
static int
join_paths (const struct tn_spec *s, int skip_mask, struct tn_error **err)
{
  static const enum tn_ns_type order[] = { TN_NS_USER, TN_NS_NET, TN_NS_IPC, TN_NS_UTS, TN_NS_CGROUP, TN_NS_PID, TN_NS_TIME, TN_NS_MNT };
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    {
      enum tn_ns_type t = order[i];
      if (!s->lx.ns[t].present || s->lx.ns[t].path == NULL || (skip_mask & (1 << t)))
        continue;
      if (tn_ns_join_path (s->lx.ns[t].path, t, err) < 0)
        return tn_error_wrap (err, "linux.namespaces (%s)", tn_ns_name (t));
      if (t == TN_NS_USER)
        {
          /* become the namespace's root where it has one */
          setresgid (0, 0, 0);
          setresuid (0, 0, 0);
        }
    }
  return 0;
}

/* `which`: 0 every sysctl, 1 only net.*, 2 all but net.* */
static int
write_sysctls (const struct tn_spec *s, int which, struct tn_error **err)
{
  for (size_t i = 0; i < s->lx.n_sysctl; i++)
    {
      const char *key = s->lx.sysctl[i].key;
      bool net = strncmp (key, "net.", 4) == 0 || strncmp (key, "net/", 4) == 0;
      if ((which == 1 && !net) || (which == 2 && net))
        continue;
      char path[512];
      int n = snprintf (path, sizeof path, "/proc/sys/%s", key);
      if (!strchr (key, '/'))
        for (char *c = path + 10; c < path + n; c++)
          if (*c == '.')
            *c = '/';
      cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        return tn_error_sys (err, errno, "linux.sysctl.%s: open %s", key, path);
      const char *v = s->lx.sysctl[i].value;
      if (tn_write_all (fd, v, strlen (v)) < 0)
        return tn_error_sys (err, errno, "linux.sysctl.%s: write \"%s\"", key, v);
    }
  return 0;
}

static int
setup_terminal (struct tn_init *c, struct tn_error **err)
{
  const struct tn_process *p = c->spec->process;
  int master = -1, slave = -1;
  cleanup_free char *name = NULL;
  if (tn_pty_open (&master, &slave, &name, err) < 0)
    return tn_error_wrap (err, "process.terminal");
  if (p->has_console_size)
    tn_pty_set_size (master, p->console_height, p->console_width);
  int r = tn_send_fd (c->console_fd, master, name, err);
  close (master);
  close (c->console_fd);
  c->console_fd = -1;
  if (r < 0)
    {
      close (slave);
      return -1;
    }
  if (tn_rootfs_bind_console (name, err) < 0 || tn_pty_make_controlling (slave, err) < 0)
    {
      close (slave);
      return tn_error_wrap (err, "process.terminal");
    }
  if (slave > 2)
    close (slave);
  return 0;
}

static int
new_cgroupns (const struct tn_spec *s, struct tn_error **err)
{
  if (s->lx.ns[TN_NS_CGROUP].present && s->lx.ns[TN_NS_CGROUP].path == NULL && unshare (CLONE_NEWCGROUP) < 0)
    return tn_error_sys (err, errno, "linux.namespaces (cgroup): unshare");
  return 0;
}

/* Waits (once) for DIRS: the cgroup directories exist (and the parent moved the child into them
 * when it could not join by itself), so the child joins them and makes its cgroup namespace. The
 * mounts before the cgroup mount go on meanwhile; the parent sets the resources after. Nothing
 * here opens a device, so the device rules being written meanwhile do not matter. */
static int
wait_dirs (void *arg, struct tn_error **err)
{
  struct tn_init *c = arg;
  if (c->got_dirs)
    return 0;
  c->got_dirs = true;
  if (tn_sync_expect (c->sync_fd, TN_MSG_DIRS, NULL, NULL, err) < 0)
    _exit (1);
  tn_log_phase ("child: dirs");
  if (c->enter_cgroup_self && !c->two_stage && tn_cgroup_enter_self (c->cgroup, err) < 0)
    return -1;
  tn_log_phase ("child: entered");
  return new_cgroupns (c->spec, err);
}

/* Waits for GO: the cgroup is complete, and the state for the hooks comes with it. */
static int
wait_go (struct tn_init *c, struct tn_error **err)
{
  if (wait_dirs (c, err) < 0)
    return -1;
  if (tn_sync_expect (c->sync_fd, TN_MSG_GO, NULL, &c->state_json, err) < 0)
    _exit (1);
  tn_log_phase ("child: go");
  return 0;
}

/* While a created container waits to be started, a catchable signal ends it (as init of a pid
 * namespace it would otherwise ignore signals it has no handler for). */
static void
on_signal_while_created (int sig)
{
  _exit (128 + sig);
}

static void
die_on_signals (void)
{
  static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM };
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal_while_created;
  sigset_t unblock;
  sigemptyset (&unblock);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    {
      sigaction (sigs[i], &sa, NULL);
      sigaddset (&unblock, sigs[i]);
    }
  sigprocmask (SIG_UNBLOCK, &unblock, NULL);
}

_Noreturn void
tn_init_container (struct tn_init *c)
{
  struct tn_error *e = NULL;
  const struct tn_spec *s = c->spec;
  const struct tn_process *p = s->process;
  int sync = c->sync_fd;

  tn_log_phase ("child: started");
  tn_log_child_mode ();
  /* no other process of the container may open /proc/<pid>/exe (the runtime binary) of this one
   * until it has exec'd the user's program */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  if (!c->two_stage)
    {
      if (c->userns_new)
        {
          /* nothing can be done as the namespace's root before the parent wrote the id maps */
          if (tn_sync_expect (sync, TN_MSG_USERNS_DONE, NULL, NULL, &e) < 0)
            _exit (1);
          become_root (s);
        }
      if (join_paths (s, 1 << TN_NS_USER | 1 << TN_NS_PID | 1 << TN_NS_TIME, &e) < 0)
        die (sync, e);
    }
  if (s->hostname && s->hostname[0] && sethostname (s->hostname, strlen (s->hostname)) < 0)
    {
      tn_error_sys (&e, errno, "hostname: sethostname \"%s\"", s->hostname);
      die (sync, e);
    }
  if (s->domainname && s->domainname[0] && setdomainname (s->domainname, strlen (s->domainname)) < 0)
    {
      tn_error_sys (&e, errno, "domainname: setdomainname \"%s\"", s->domainname);
      die (sync, e);
    }

  /* the mounts go ahead while the parent applies the cgroup's resources; GO says it is done */
  struct tn_rootfs rootfs = {
    .spec = s, .rootfs = c->rootfs, .cgroup = c->cgroup, .userns = c->userns,
    .cgroupns = s->lx.ns[TN_NS_CGROUP].present, .rootfd = -1,
    .wait_ready = wait_dirs, .wait_ready_arg = c, .ready_before_cgroup = true,
  };
  if (tn_rootfs_prepare (&rootfs, &e) < 0)
    die (sync, e);
  tn_log_phase ("child: mounts");
  if (wait_go (c, &e) < 0)
    die (sync, e);
  char *state_json = c->state_json;

  if (s->n_hooks[TN_HOOK_PRESTART] || s->n_hooks[TN_HOOK_CREATE_RUNTIME])
    {
      if (tn_sync_send (sync, TN_MSG_HOOKS, 0, NULL, 0) < 0)
        _exit (1);
      if (tn_sync_expect (sync, TN_MSG_HOOKS_DONE, NULL, NULL, &e) < 0)
        _exit (1);
    }
  if (tn_hooks_run (s->hooks[TN_HOOK_CREATE_CONTAINER], s->n_hooks[TN_HOOK_CREATE_CONTAINER], TN_HOOK_CREATE_CONTAINER, state_json, false, &e) < 0)
    die (sync, e);

  if (tn_rootfs_pivot (&rootfs, c->no_pivot, &e) < 0)
    die (sync, e);
  tn_log_phase ("child: pivoted");
  close (rootfs.rootfd);

  if (p && p->terminal && setup_terminal (c, &e) < 0)
    die (sync, e);
  if (write_sysctls (s, c->net_sysctls_done ? 2 : 0, &e) < 0)
    die (sync, e);
  if (tn_rootfs_finalize (&rootfs, &e) < 0)
    die (sync, e);
  tn_log_phase ("child: finalized");

  cleanup_free char *exec_path = NULL;
  cleanup_close int cwd = -1;
  if (p)
    {
      if (tn_process_apply_limits (p, &e) < 0)
        die (sync, e);
      if (s->lx.has_personality && personality (s->lx.personality) < 0)
        {
          tn_error_sys (&e, errno, "linux.personality");
          die (sync, e);
        }
      if (!c->no_new_keyring)
        {
          /* a session keyring of the container's own, as runc makes; not every kernel or user
           * namespace allows one, and that is not an error */
          syscall (SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, c->id);
        }
      if (tn_process_default_home ((struct tn_process *) p, &e) < 0 || tn_process_lookup (p, &exec_path, &e) < 0)
        die (sync, e);
      cwd = tn_process_open_cwd (p->cwd, &e);
      if (cwd < 0)
        die (sync, e);
    }

  int32_t run_now = 0;
  tn_log_phase ("child: ready");
  if (tn_sync_send (sync, TN_MSG_READY, 0, NULL, 0) < 0)
    _exit (1);
  if (tn_sync_expect (sync, TN_MSG_ACK, &run_now, NULL, &e) < 0)
    _exit (1);
  tn_log_phase ("child: ack");

  /* Credentials after the handshake: loading the seccomp filter (Docker's profile) costs the kernel
   * a few tenths of a millisecond, which then overlaps the runtime finishing `create` and the
   * engine's way to `start` instead of adding to them. What fails here is reported by `start`,
   * like a failing startContainer hook. */
  bool credentialed = p == NULL
               || (tn_process_credentials (p, cwd, c->seccomp, c->userns, &e) == 0 && tn_process_prepare_fds (c->preserve_fds, &e) == 0);
  if (cwd >= 0)
    close (TN_STEAL_FD (cwd));
  tn_log_phase ("child: credentials");

  /* where errors go from now on: the runtime that runs `start` reads exec.fifo, `run` reads the
   * sync socket */
  int report = sync;
  bool via_fifo = false;
  if (!run_now)
    {
      die_on_signals ();
      int fifo;
      do
        fifo = openat (c->state_dir_fd, TN_EXEC_FIFO, O_WRONLY | O_CLOEXEC);
      while (fifo < 0 && errno == EINTR);
      if (fifo < 0)
        _exit (1);
      close (c->state_dir_fd);
      close (sync);
      if (write (fifo, "0", 1) != 1)
        _exit (1);
      report = fifo;
      via_fifo = true;
    }

  if (p == NULL)
    {
      tn_error_new (&e, "process: config.json has no process to start");
      goto fail;
    }
  if (!credentialed)
    goto fail;
  /* startContainer hooks see the container as created */
  char *st_status = state_json ? strstr (state_json, "\"status\":\"creating\"") : NULL;
  if (st_status)
    {
      char *v = st_status + 10; /* after "status":" */
      memcpy (v, "created", 7);
      memmove (v + 7, v + 8, strlen (v + 8) + 1);
    }
  if (tn_hooks_run (s->hooks[TN_HOOK_START_CONTAINER], s->n_hooks[TN_HOOK_START_CONTAINER], TN_HOOK_START_CONTAINER, state_json, false, &e) < 0)
    goto fail;
  tn_process_reset_signals ();
  tn_log_phase ("child: execve");
  tn_process_exec (p, exec_path, c->seccomp, &e);

fail:
  {
    const char *text = tn_error_text (e);
    if (via_fifo)
      tn_write_all (report, text, strlen (text));
    else
      tn_sync_send (report, TN_MSG_ERROR, 0, text, strlen (text));
    _exit (127);
  }
}

_Noreturn void
tn_init_stage1 (struct tn_init *c)
{
  struct tn_error *e = NULL;
  const struct tn_spec *s = c->spec;
  int sync = c->sync_fd;
  tn_log_child_mode ();
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (c->enter_cgroup_self && tn_cgroup_enter_self (c->cgroup, &e) < 0)
    die (sync, e);

  bool joined = false;
  if (s->lx.ns[TN_NS_USER].present)
    {
      if (s->lx.ns[TN_NS_USER].path)
        {
          if (tn_ns_join_path (s->lx.ns[TN_NS_USER].path, TN_NS_USER, &e) < 0)
            die (sync, e);
          setresgid (0, 0, 0);
          setresuid (0, 0, 0);
        }
      else
        {
          /* a new user namespace: the namespaces given by path are joined before it exists, while
           * this process is still the host's root (from inside the new user namespace it could
           * neither open their files nor enter namespaces its parent user namespace owns); the
           * mount namespace is not among them here (it is always new for a container) */
          if (join_paths (s, 1 << TN_NS_USER, &e) < 0)
            die (sync, e);
          joined = true;
          /* a network namespace its parent user namespace owns takes its sysctls from the host's
           * root only: written now, through this process's view of it */
          if (s->lx.ns[TN_NS_NET].present && s->lx.ns[TN_NS_NET].path)
            {
              if (write_sysctls (s, 1, &e) < 0)
                die (sync, e);
              c->net_sysctls_done = true;
            }
          if (unshare (CLONE_NEWUSER) < 0)
            {
              tn_error_sys (&e, errno, "linux.namespaces (user): unshare");
              die (sync, e);
            }
          if (tn_sync_send (sync, TN_MSG_USERNS, 0, NULL, 0) < 0)
            _exit (1);
          if (tn_sync_expect (sync, TN_MSG_USERNS_DONE, NULL, NULL, &e) < 0)
            _exit (1);
          become_root (s);
        }
    }
  if (!joined && join_paths (s, 1 << TN_NS_USER, &e) < 0)
    die (sync, e);
  int flags = tn_ns_new_flags (s) & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);
  if (flags && unshare (flags) < 0)
    {
      tn_error_sys (&e, errno, "linux.namespaces: unshare");
      die (sync, e);
    }
  for (size_t i = 0; i < s->lx.n_time_offsets; i++)
    {
      char line[128];
      int n = snprintf (line, sizeof line, "%s %s\n", s->lx.time_offsets[i].key, s->lx.time_offsets[i].value);
      cleanup_close int fd = open ("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, line, (size_t) n) != n)
        {
          tn_error_sys (&e, errno, "linux.timeOffsets.%s", s->lx.time_offsets[i].key);
          die (sync, e);
        }
    }
  /* the container process: a sibling, so the runtime (or whoever adopts it) is its parent */
  pid_t pid = (pid_t) syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    {
      tn_error_sys (&e, errno, "clone the container process");
      die (sync, e);
    }
  if (pid == 0)
    {
      c->two_stage = true;
      c->enter_cgroup_self = false; /* inherited from this process */
      tn_init_container (c);
    }
  tn_sync_send (sync, TN_MSG_PID, pid, NULL, 0);
  _exit (0);
}

_Noreturn void
tn_init_exec (struct tn_exec_init *c)
{
  struct tn_error *e = NULL;
  int sync = c->sync_fd;
  const struct tn_process *p = c->process;
  tn_log_child_mode ();
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (c->enter_cgroup_self && tn_cgroup_enter_self (c->cgroup, &e) < 0)
    die (sync, e);
  if (tn_sync_expect (sync, TN_MSG_GO, NULL, NULL, &e) < 0)
    _exit (1);

  /* while still the host's root (inside a user namespace /proc/self is no longer writable to a
   * non-dumpable process); the exec process inherits it */
  if (p->has_oom_score_adj)
    {
      char v[16];
      snprintf (v, sizeof v, "%d", p->oom_score_adj);
      if (tn_write_file_at (AT_FDCWD, "/proc/self/oom_score_adj", v, &e) < 0)
        die (sync, e);
    }
  if (!p->terminal)
    tn_stdio_give_to (c->spec, p);
  /* the user namespace last: a namespace its parent user namespace owns (a network namespace made
   * beforehand by the engine) can only be joined while this process is still the host's root; the
   * host's root may join those the container's user namespace owns as well */
  static const enum tn_ns_type order[] = { TN_NS_NET, TN_NS_IPC, TN_NS_UTS, TN_NS_CGROUP, TN_NS_PID, TN_NS_TIME, TN_NS_MNT, TN_NS_USER };
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    {
      enum tn_ns_type t = order[i];
      if (c->ns_fds[t] < 0)
        continue;
      if (tn_ns_join_fd (c->ns_fds[t], t, &e) < 0)
        die (sync, e);
      close (c->ns_fds[t]);
      c->ns_fds[t] = -1;
      if (t == TN_NS_USER)
        {
          setresgid (0, 0, 0);
          setresuid (0, 0, 0);
        }
    }
  pid_t pid = (pid_t) syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    {
      tn_error_sys (&e, errno, "clone the exec process");
      die (sync, e);
    }
  if (pid > 0)
    {
      tn_sync_send (sync, TN_MSG_PID, pid, NULL, 0);
      _exit (0);
    }

  /* the new process, in every namespace of the container */
  if (chdir ("/") < 0)
    {
      tn_error_sys (&e, errno, "chdir /");
      die (sync, e);
    }
  if (p->terminal)
    {
      int master = -1, slave = -1;
      cleanup_free char *name = NULL;
      if (tn_pty_open (&master, &slave, &name, &e) < 0)
        die (sync, e);
      if (p->has_console_size)
        tn_pty_set_size (master, p->console_height, p->console_width);
      if (tn_send_fd (c->console_fd, master, name, &e) < 0)
        die (sync, e);
      close (master);
      close (c->console_fd);
      if (tn_pty_make_controlling (slave, &e) < 0)
        die (sync, e);
      if (slave > 2)
        close (slave);
    }
  cleanup_free char *exec_path = NULL;
  if (tn_process_apply_limits (p, &e) < 0 || tn_process_default_home ((struct tn_process *) p, &e) < 0
      || tn_process_lookup (p, &exec_path, &e) < 0)
    die (sync, e);
  if (c->spec->lx.has_personality && personality (c->spec->lx.personality) < 0)
    {
      tn_error_sys (&e, errno, "linux.personality");
      die (sync, e);
    }
  cleanup_close int cwd = tn_process_open_cwd (p->cwd, &e);
  if (cwd < 0 || tn_process_credentials (p, cwd, c->seccomp, c->userns, &e) < 0 || tn_process_prepare_fds (c->preserve_fds, &e) < 0)
    die (sync, e);
  tn_process_reset_signals ();
  tn_process_exec (p, exec_path, c->seccomp, &e);
  die (sync, e);
}

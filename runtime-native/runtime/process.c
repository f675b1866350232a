#include "process.h"
#include "caps.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "openat2.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct sched_attr_v1
{
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

int
tn_process_apply_limits (const struct tn_process *p, struct tn_error **err)
{
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
      if (setrlimit (p->rlimits[i].resource, &rl) < 0)
        return tn_error_sys (err, errno, "process.rlimits[%zu]: setrlimit", i);
    }
  if (p->has_io_priority)
    {
      int prio = (p->io_priority_class << 13) | p->io_priority;
      if (syscall (SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, prio) < 0)
        return tn_error_sys (err, errno, "process.ioPriority: ioprio_set");
    }
  if (p->has_scheduler)
    {
      struct sched_attr_v1 a = {
        .size = sizeof a, .sched_policy = p->sched_policy, .sched_flags = p->sched_flags, .sched_nice = p->sched_nice,
        .sched_priority = p->sched_priority, .sched_runtime = p->sched_runtime, .sched_deadline = p->sched_deadline,
        .sched_period = p->sched_period,
      };
      if (syscall (SYS_sched_setattr, 0, &a, 0) < 0)
        return tn_error_sys (err, errno, "process.scheduler: sched_setattr");
    }
  return 0;
}

/* 0 when `path` is a file with an execute bit, else an errno. */
static int
find_executable (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return errno;
  if (!S_ISDIR (st.st_mode) && (st.st_mode & 0111))
    return 0;
  return EACCES;
}

int
tn_process_lookup (const struct tn_process *p, char **out, struct tn_error **err)
{
  const char *file = p->args[0];
  if (strchr (file, '/'))
    {
      int e = find_executable (file);
      if (e == 0)
        {
          *out = strdup (file);
          return *out ? 0 : tn_error_sys (err, ENOMEM, "exec");
        }
      if (e == EACCES)
        return tn_error_new (err, "process.args[0]: exec: \"%s\": permission denied", file);
      return tn_error_new (err, "process.args[0]: exec: \"%s\": stat %s: %s", file, file, strerror (e));
    }
  const char *path = tn_env_get (p->env, "PATH");
  if (path)
    {
      const char *s = path;
      for (;;)
        {
          size_t n = strcspn (s, ":");
          char *cand = NULL;
          if (asprintf (&cand, "%.*s/%s", (int) (n ? n : 1), n ? s : ".", file) < 0)
            return tn_error_sys (err, ENOMEM, "exec");
          if (find_executable (cand) == 0)
            {
              *out = cand;
              return 0;
            }
          free (cand);
          if (s[n] == '\0')
            break;
          s += n + 1;
        }
    }
  return tn_error_new (err, "process.args[0]: exec: \"%s\": executable file not found in $PATH", file);
}

int
tn_process_default_home (struct tn_process *p, struct tn_error **err)
{
  if (tn_env_get (p->env, "HOME"))
    return 0;
  cleanup_free char *home = strdup ("/");
  cleanup_file FILE *f = fopen ("/etc/passwd", "re");
  if (f)
    {
      cleanup_free char *line = NULL;
      size_t cap = 0;
      while (getline (&line, &cap, f) > 0)
        {
          char *fields[7];
          char *s = line;
          int n = 0;
          for (; n < 7 && s; n++)
            {
              fields[n] = s;
              s = strchr (s, ':');
              if (s)
                *s++ = '\0';
            }
          if (n < 6)
            continue;
          char *end;
          unsigned long uid = strtoul (fields[2], &end, 10);
          if (*end || end == fields[2] || uid != p->uid)
            continue;
          fields[5][strcspn (fields[5], "\n")] = '\0';
          if (fields[5][0])
            {
              free (home);
              home = strdup (fields[5]);
            }
          break;
        }
    }
  char **env = realloc (p->env, (p->n_env + 2) * sizeof *env);
  if (env == NULL || home == NULL)
    return tn_error_sys (err, ENOMEM, "HOME");
  p->env = env;
  if (asprintf (&env[p->n_env], "HOME=%s", home) < 0)
    return tn_error_sys (err, ENOMEM, "HOME");
  env[++p->n_env] = NULL;
  return 0;
}

/* The working directory, opened inside the root the process sees as "/" and made when missing (as
 * runc makes it), one component at a time. Each step resolves inside that root: ".." and absolute
 * symlinks stay in it, and no magic link is followed — /proc/self/fd/N would be a descriptor the
 * runtime holds during setup (its state directory, its cgroup), a way out to the host (the class of
 * runc's CVE-2024-21626). */
int
tn_process_open_cwd (const char *cwd, struct tn_error **err)
{
  cleanup_close int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return tn_error_sys (err, errno, "open /");
  int fd = tn_open_beneath_root (root, cwd, O_PATH | O_DIRECTORY);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT)
    return tn_error_sys (err, errno, "process.cwd: `%s`", cwd);
  cleanup_free char *copy = strdup (cwd);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "process.cwd");
  for (char *p = copy + 1;; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char saved = *p;
      *p = '\0';
      cleanup_close int dir = tn_open_beneath_root (root, copy, O_PATH | O_DIRECTORY);
      if (dir < 0 && errno == ENOENT)
        {
          /* the missing component is made in its parent, itself opened inside the root */
          char *slash = strrchr (copy, '/');
          *slash = '\0';
          cleanup_close int parent = tn_open_beneath_root (root, copy[0] ? copy : "/", O_PATH | O_DIRECTORY);
          *slash = '/';
          if (parent < 0 || (mkdirat (parent, slash + 1, 0755) < 0 && errno != EEXIST))
            return tn_error_sys (err, errno, "process.cwd: create `%s`", copy);
          dir = tn_open_beneath_root (root, copy, O_PATH | O_DIRECTORY);
        }
      if (dir < 0)
        return tn_error_sys (err, errno, "process.cwd: `%s`", copy);
      *p = saved;
      if (saved == '\0')
        return TN_STEAL_FD (dir);
    }
}

int
tn_process_credentials (const struct tn_process *p, int cwd, const struct tn_seccomp_prog *sc, bool in_userns, struct tn_error **err)
{
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return tn_error_sys (err, errno, "process.noNewPrivileges: prctl");
  if (sc && !p->no_new_privileges && tn_seccomp_load (sc, err) < 0)
    return tn_error_wrap (err, "linux.seccomp");
  /* chdir while still root (a directory only root can enter is fine), and again as the user if
   * that failed */
  bool in_cwd = fchdir (cwd) == 0;
  uint64_t caps[TN_CAP_NSETS];
  memcpy (caps, p->caps, sizeof caps);
  if (tn_caps_apply_and_setuser (p, caps, in_userns, err) < 0)
    return tn_error_wrap (err, "process.user/capabilities");
  if (!in_cwd && fchdir (cwd) < 0)
    return tn_error_sys (err, errno, "process.cwd: chdir `%s`", p->cwd);
  umask (p->has_umask ? p->umask : 0022);
  return 0;
}

int
tn_process_prepare_fds (int preserve, struct tn_error **err)
{
  unsigned first = 3 + (unsigned) (preserve > 0 ? preserve : 0);
  if (syscall (SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    {
      /* older kernels: walk the descriptors */
      for (int fd = (int) first; fd < 65536; fd++)
        fcntl (fd, F_SETFD, FD_CLOEXEC);
    }
  for (int fd = 3; fd < (int) first; fd++)
    if (fcntl (fd, F_SETFD, 0) < 0)
      return tn_error_sys (err, errno, "keep descriptor %d open", fd);
  return 0;
}

void
tn_process_reset_signals (void)
{
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    sigaction (sig, &sa, NULL);
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

int
tn_process_exec (const struct tn_process *p, const char *path, const struct tn_seccomp_prog *sc, struct tn_error **err)
{
  if (sc && p->no_new_privileges && tn_seccomp_load (sc, err) < 0)
    return tn_error_wrap (err, "linux.seccomp");
  execve (path, p->args, p->env);
  return tn_error_sys (err, errno, "process.args[0]: exec `%s`", path);
}

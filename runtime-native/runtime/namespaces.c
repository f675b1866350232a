#include "namespaces.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const proc_names[TN_NS_COUNT] = { "pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time" };

int
tn_ns_new_flags (const struct tn_spec *spec)
{
  int flags = 0;
  for (int t = 0; t < TN_NS_COUNT; t++)
    if (spec->lx.ns[t].present && spec->lx.ns[t].path == NULL)
      flags |= tn_ns_flag ((enum tn_ns_type) t);
  return flags;
}

int
tn_ns_join_fd (int fd, enum tn_ns_type type, struct tn_error **err)
{
  if (setns (fd, tn_ns_flag (type)) < 0)
    return tn_error_sys (err, errno, "join the %s namespace", tn_ns_name (type));
  return 0;
}

int
tn_ns_join_path (const char *path, enum tn_ns_type type, struct tn_error **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tn_error_sys (err, errno, "open the %s namespace `%s`", tn_ns_name (type), path);
  if (setns (fd, tn_ns_flag (type)) < 0)
    return tn_error_sys (err, errno, "join the %s namespace `%s`", tn_ns_name (type), path);
  return 0;
}

static int
write_map (pid_t pid, const char *file, const struct tn_idmap *m, size_t n, struct tn_error **err)
{
  char buf[340 * 36];
  size_t used = 0;
  for (size_t i = 0; i < n; i++)
    used += (size_t) snprintf (buf + used, sizeof buf - used, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m[i].container_id, m[i].host_id, m[i].size);
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return tn_error_sys (err, errno, "open %s", path);
  /* the kernel wants the whole map in one write */
  if (write (fd, buf, used) != (ssize_t) used)
    return tn_error_sys (err, errno, "write %s", path);
  return 0;
}

int
tn_ns_write_idmaps (pid_t pid, const struct tn_spec *spec, struct tn_error **err)
{
  const struct tn_linux *L = &spec->lx;
  if (write_map (pid, "uid_map", L->uid_mappings, L->n_uid_mappings, err) < 0)
    return tn_error_wrap (err, "linux.uidMappings");
  if (write_map (pid, "gid_map", L->gid_mappings, L->n_gid_mappings, err) < 0)
    return tn_error_wrap (err, "linux.gidMappings");
  return 0;
}

bool
tn_ns_root_mapped (const struct tn_spec *spec, bool uid)
{
  const struct tn_idmap *m = uid ? spec->lx.uid_mappings : spec->lx.gid_mappings;
  size_t n = uid ? spec->lx.n_uid_mappings : spec->lx.n_gid_mappings;
  for (size_t i = 0; i < n; i++)
    if (m[i].container_id == 0)
      return true;
  return false;
}

bool
tn_ns_differs (pid_t pid, enum tn_ns_type type)
{
  char a[64], b[64];
  struct stat sa, sb;
  snprintf (a, sizeof a, "/proc/%d/ns/%s", (int) pid, proc_names[type]);
  snprintf (b, sizeof b, "/proc/self/ns/%s", proc_names[type]);
  if (stat (a, &sa) < 0 || stat (b, &sb) < 0)
    return false;
  return sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev;
}

struct tn_clone_args
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

pid_t
tn_clone (int flags, int cgroup_fd, bool *into)
{
  if (into)
    *into = false;
  if (cgroup_fd >= 0)
    {
      struct tn_clone_args args = { .flags = (uint64_t) (unsigned) flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t) cgroup_fd };
      long pid = syscall (SYS_clone3, &args, sizeof args);
      if (pid >= 0)
        {
          if (pid > 0 && into)
            *into = true;
          return (pid_t) pid;
        }
      if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
        return -1;
    }
  return (pid_t) syscall (SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}


/* The host id a container id stands for under the spec's maps (itself without a user namespace);
 * (uint32_t) -1 when it is not mapped. */
uint32_t
tn_ns_host_id (const struct tn_spec *spec, bool uid, uint32_t id)
{
  if (!spec->lx.ns[TN_NS_USER].present)
    return id;
  const struct tn_idmap *m = uid ? spec->lx.uid_mappings : spec->lx.gid_mappings;
  size_t n = uid ? spec->lx.n_uid_mappings : spec->lx.n_gid_mappings;
  for (size_t i = 0; i < n; i++)
    if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
      return m[i].host_id + (id - m[i].container_id);
  return (uint32_t) -1;
}

void
tn_stdio_give_to (const struct tn_spec *spec, const struct tn_process *p)
{
  /* the process must be able to reopen its stdio (/dev/stdout is /proc/self/fd/1): pipes and
   * terminals the monitor made belong to the host's root, so they become the process user's (its
   * host ids), as runc fixes stdio permissions; /dev/null and others' files are left alone */
  uint32_t uid = tn_ns_host_id (spec, true, p->uid);
  uint32_t gid = tn_ns_host_id (spec, false, p->gid);
  if (uid == (uint32_t) -1 || gid == (uint32_t) -1)
    return;
  for (int fd = 0; fd <= 2; fd++)
    {
      struct stat st;
      if (fstat (fd, &st) < 0 || st.st_uid == uid)
        continue;
      if (!S_ISFIFO (st.st_mode) && !S_ISSOCK (st.st_mode) && !(S_ISCHR (st.st_mode) && major (st.st_rdev) >= 136 && major (st.st_rdev) <= 143))
        continue;
      fchown (fd, uid, gid);
    }
}

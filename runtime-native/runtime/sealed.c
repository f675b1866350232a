/* The runtime never runs container setup from a binary a container could write (the class of
 * runc's CVE-2019-5736).
 *
 * `create`, `run` and `exec` clone the process that becomes the container's process (or joins its
 * namespaces); until that process calls execve(), its /proc/<pid>/exe is this runtime's binary. A
 * process of the container that can open it — another of its processes holding CAP_SYS_PTRACE in
 * the host's user namespace passes the non-dumpable check, and an image whose entrypoint is
 * /proc/self/exe makes the container run the runtime binary itself — keeps a descriptor to the
 * host's binary, and once no runtime runs any more it can open that for writing and replace the
 * runtime that every later container start runs as root on the host.
 *
 * So those commands run only from a copy no open can write. Starting from anywhere else, the
 * runtime executes itself again, before doing anything, from a detached read-only bind mount of
 * its binary (open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_RDONLY), executed through its
 * descriptor): reopening /proc/<pid>/exe for writing then fails with EROFS, the mount is in no
 * namespace's mount table (nothing to clean up: it goes with the last process running from it),
 * and it costs one execve of a page-cached binary (~0.4 ms). Where the kernel has no new mount
 * API, a memfd copy sealed against writes (EPERM) is executed instead, at the cost of a copy.
 *
 * (A container holding CAP_SYS_ADMIN and CAP_SYS_PTRACE in the host's user namespace could
 * mount_setattr the detached mount back to read-write; such a container has other ways out —
 * Docker documents CAP_SYS_ADMIN as host root — and TERSANE_RUNTIME_SEALED_COPY=1 makes the
 * runtime use the sealed memfd, which no capability reopens, every time.)
 */
#include "sealed.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <linux/mount.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
/* Set across the re-exec only, so that a copy found unprotected after all cannot make us loop. */
#define GUARD_ENV "_TERSANE_RUNTIME_PROTECTED"
#define EXE_NAME "tersane-runtime"

extern char **environ;

static bool
fd_protected (int fd)
{
  int seals = fcntl (fd, F_GET_SEALS);
  if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
    return true;
  struct statvfs sv;
  return fstatvfs (fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

bool
tn_exe_protected (void)
{
  cleanup_close int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  return fd >= 0 && fd_protected (fd);
}

/* A detached read-only bind mount of the binary `exe` refers to (open_tree + mount_setattr): an
 * O_PATH descriptor to execute, or -1. It is in no mount table — not the host's, not a
 * container's — and goes away with the last process that runs from it. */
static int
readonly_clone (int exe)
{
  int tree = (int) syscall (SYS_open_tree, exe, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0)
    return -1;
  struct
  {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    {
      close (tree);
      return -1;
    }
  return tree;
}

/* A memfd copy of the binary, sealed: the descriptor, or -1. */
static int
sealed_copy (int exe, struct tn_error **err)
{
  struct stat st;
  if (fstat (exe, &st) < 0)
    return tn_error_sys (err, errno, "stat /proc/self/exe");
  int mfd = (int) syscall (SYS_memfd_create, EXE_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return tn_error_sys (err, errno, "memfd_create");
  off_t off = 0;
  if (ftruncate (mfd, st.st_size) < 0)
    goto fail;
  while (off < st.st_size)
    {
      ssize_t n = sendfile (mfd, exe, &off, (size_t) (st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          goto fail;
        }
    }
  if (fcntl (mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
    goto fail;
  return mfd;
fail:
  {
    int saved = errno;
    close (mfd);
    return tn_error_sys (err, saved, "make a sealed copy of the runtime");
  }
}

int
tn_exec_protected (char **argv, struct tn_error **err)
{
  if (getenv (GUARD_ENV))
    {
      unsetenv (GUARD_ENV);
      if (tn_exe_protected ())
        return 0;
      return tn_error_new (err, "the runtime's protected copy is writable after all: refusing to set up a container from it");
    }
  cleanup_close int exe = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0)
    return tn_error_sys (err, errno, "open /proc/self/exe");
  if (fd_protected (exe))
    return 0;
  setenv (GUARD_ENV, "1", 1);
  cleanup_close int tree = getenv ("TERSANE_RUNTIME_SEALED_COPY") ? -1 : readonly_clone (exe);
  if (tree >= 0)
    syscall (SYS_execveat, tree, "", argv, environ, AT_EMPTY_PATH);
  cleanup_close int mfd = sealed_copy (exe, err);
  if (mfd < 0)
    {
      unsetenv (GUARD_ENV);
      return -1;
    }
  syscall (SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  int saved = errno;
  unsetenv (GUARD_ENV);
  return tn_error_sys (err, saved, "execute the runtime's sealed copy");
}

/* escape_probe: attempts, from inside a container, what a container must not be able to do, and
 * prints one line per check (test/security/escape.test.ts reads them). Static, no dependencies, so
 * it runs in any image.
 *
 *   escape_probe suite HOST_PID BLOCK_DEV MAJOR MINOR
 *       CHECK <name> <allowed|refused> <errno name or "-"> <detail>
 *     Every check is harmless when allowed (a privileged container): syscalls are made with
 *     arguments the kernel rejects after its permission checks (EINVAL, EFAULT, EBADF), devices are
 *     opened read-only, files opened for writing are not written, and what is changed (a tmpfs
 *     mount, the hostname) lives in the container's own namespaces.
 *   escape_probe fds
 *       FD <n> <target>      every descriptor but 0, 1, 2 and the one reading /proc/self/fd
 *       CWD <target>
 *   escape_probe exe-race SECONDS
 *       Holds a descriptor to the executable of every process that appears in the container and
 *       runs a binary from outside the container's root filesystem (the runtime joining it for
 *       `docker exec`); once that process is gone, tries to reopen the binary for writing and to
 *       write its first byte back unchanged (CVE-2019-5736):
 *       EXE <pid> <link target> open=<ok|errno> write=<ok|errno>
 *       DONE <number of binaries caught>
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *
errname (int e)
{
  switch (e)
    {
    case 0: return "-";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EBADF: return "EBADF";
    case ENXIO: return "ENXIO";
    case ENOTDIR: return "ENOTDIR";
    case ENOEXEC: return "ENOEXEC";
    case ETXTBSY: return "ETXTBSY";
    case ENOKEY: return "ENOKEY";
    default:
      {
        static char buf[16];
        snprintf (buf, sizeof buf, "E%d", e);
        return buf;
      }
    }
}

static void
report (const char *name, int rc, int err, const char *detail)
{
  printf ("CHECK %s %s %s %s\n", name, rc < 0 ? "refused" : "allowed", rc < 0 ? errname (err) : "-", detail);
  fflush (stdout);
}

/* A syscall made with arguments the kernel refuses only after its permission checks (EINVAL,
 * EFAULT, EBADF; ENOSYS from a kernel built without it): "allowed" when it got past seccomp and the
 * capability check (the errno it then failed with is printed), "refused" with EPERM/EACCES. */
static void
report_reached (const char *name, long rc, int err, const char *detail)
{
  if (rc >= 0 || (err != EPERM && err != EACCES))
    printf ("CHECK %s allowed %s %s\n", name, rc >= 0 ? "-" : errname (err), detail);
  else
    printf ("CHECK %s refused %s %s\n", name, errname (err), detail);
  fflush (stdout);
}

/* Runs fn in a child (for checks that change the calling process); its exit code is the errno. */
static int
in_child (int (*fn) (void))
{
  pid_t pid = fork ();
  if (pid == 0)
    _exit (fn ());
  int status = 0;
  waitpid (pid, &status, 0);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 255;
}

static int
unshare_user (void)
{
  return unshare (CLONE_NEWUSER) < 0 ? errno : 0;
}

static int
suite (pid_t host_pid, const char *blockdev, unsigned major, unsigned minor)
{
  char detail[256];
  long rc;

  mkdir ("/tmp/probe-mnt", 0700);
  rc = mount ("probe", "/tmp/probe-mnt", "tmpfs", 0, "size=1m");
  report ("mount", (int) rc, errno, "tmpfs on /tmp/probe-mnt");
  if (rc == 0)
    umount2 ("/tmp/probe-mnt", MNT_DETACH);

  rc = umount2 ("/dev/mqueue", MNT_DETACH);
  report ("umount", (int) rc, errno, "/dev/mqueue");

  /* bad paths: EINVAL/ENOENT once past seccomp and the capability check */
  errno = 0;
  rc = syscall (SYS_pivot_root, "/nonexistent-new-root", "/nonexistent-put-old");
  report_reached ("pivot_root", rc, errno, "bogus paths");

  /* a wrong magic number: EINVAL only with CAP_SYS_BOOT (and through seccomp) */
  rc = syscall (SYS_reboot, 0, 0, 0, NULL);
  report_reached ("reboot", rc, errno, "wrong magic");

  /* flags no kernel knows: EINVAL once permitted, nothing loaded or unloaded */
  rc = syscall (SYS_kexec_load, 0UL, 0UL, NULL, 0xffff0000UL);
  report_reached ("kexec_load", rc, errno, "invalid flags");

  rc = syscall (SYS_init_module, NULL, 0UL, "");
  report_reached ("init_module", rc, errno, "NULL image");

  rc = syscall (SYS_finit_module, -1, "", 0);
  report_reached ("finit_module", rc, errno, "bad fd");

  rc = ptrace (PTRACE_ATTACH, host_pid, NULL, NULL);
  snprintf (detail, sizeof detail, "host pid %d", (int) host_pid);
  report ("ptrace_host", (int) rc, errno, detail);
  if (rc == 0)
    ptrace (PTRACE_DETACH, host_pid, NULL, NULL);

  int fd = open ("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
  report ("write_proc_sys", fd, errno, "/proc/sys/kernel/hostname opened for writing (not written)");
  if (fd >= 0)
    close (fd);

  fd = open ("/sys/class/net/lo/mtu", O_WRONLY | O_CLOEXEC);
  report ("write_sys", fd, errno, "/sys/class/net/lo/mtu opened for writing (not written)");
  if (fd >= 0)
    close (fd);

  snprintf (detail, sizeof detail, "/dev/%s read-only", blockdev);
  char path[128];
  snprintf (path, sizeof path, "/dev/%s", blockdev);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  report ("open_blockdev", fd, errno, detail);
  if (fd >= 0)
    close (fd);

  unlink ("/tmp/probe-blk");
  rc = mknod ("/tmp/probe-blk", S_IFBLK | 0600, makedev (major, minor));
  snprintf (detail, sizeof detail, "block %u:%u", major, minor);
  report ("mknod_blockdev", (int) rc, errno, detail);
  if (rc == 0)
    {
      fd = open ("/tmp/probe-blk", O_RDONLY | O_CLOEXEC);
      report ("open_mknod_blockdev", fd, errno, "the node made above, read-only");
      if (fd >= 0)
        close (fd);
      unlink ("/tmp/probe-blk");
    }
  else
    report ("open_mknod_blockdev", -1, errno, "no node to open");

  rc = syscall (SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
  report ("keyctl", (int) rc, errno, "session keyring id");

  int e = in_child (unshare_user);
  report ("unshare_user", e ? -1 : 0, e, "CLONE_NEWUSER");

  /* CLOCK_MONOTONIC cannot be set: EINVAL once past seccomp; the clock is never changed */
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  rc = syscall (SYS_clock_settime, CLOCK_MONOTONIC, &ts);
  report_reached ("clock_settime", rc, errno, "CLOCK_MONOTONIC (unsettable)");

  rc = sethostname ("probe-escaped", 13);
  report ("sethostname", (int) rc, errno, "in the container's UTS namespace");
  return 0;
}

static int
list_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  if (d == NULL)
    {
      perror ("opendir /proc/self/fd");
      return 1;
    }
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      int n = atoi (e->d_name);
      if (n <= 2 || n == dirfd (d))
        continue;
      char link[64], target[4096];
      snprintf (link, sizeof link, "/proc/self/fd/%d", n);
      ssize_t k = readlink (link, target, sizeof target - 1);
      target[k < 0 ? 0 : k] = '\0';
      printf ("FD %d %s\n", n, target);
    }
  closedir (d);
  char cwd[4096];
  ssize_t k = readlink ("/proc/self/cwd", cwd, sizeof cwd - 1);
  cwd[k < 0 ? 0 : k] = '\0';
  printf ("CWD %s\n", cwd);
  return 0;
}

#define MAX_CAUGHT 16

struct caught
{
  pid_t pid;
  int fd;
  dev_t dev;
  ino_t ino;
  char target[256];
};

static int
exe_race (int seconds)
{
  struct stat self;
  if (stat ("/proc/self/exe", &self) < 0)
    return 1;
  struct caught c[MAX_CAUGHT];
  int n = 0;
  time_t end = time (NULL) + seconds;
  /* watch until a binary from outside the container was caught and its process is gone */
  while (time (NULL) < end)
    {
      DIR *d = opendir ("/proc");
      struct dirent *e;
      while (d && (e = readdir (d)) != NULL && n < MAX_CAUGHT)
        {
          pid_t pid = (pid_t) atoi (e->d_name);
          if (pid <= 0 || pid == getpid ())
            continue;
          char path[64];
          snprintf (path, sizeof path, "/proc/%d/exe", (int) pid);
          int fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            continue;
          struct stat st;
          bool keep = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_dev != self.st_dev;
          for (int i = 0; keep && i < n; i++)
            if (c[i].dev == st.st_dev && c[i].ino == st.st_ino)
              keep = false;
          if (!keep)
            {
              close (fd);
              continue;
            }
          c[n].pid = pid;
          c[n].fd = fd;
          c[n].dev = st.st_dev;
          c[n].ino = st.st_ino;
          ssize_t k = readlink (path, c[n].target, sizeof c[n].target - 1);
          c[n].target[k < 0 ? 0 : k] = '\0';
          for (char *p = c[n].target; *p; p++)
            if (*p == ' ')
              *p = '_';
          n++;
        }
      if (d)
        closedir (d);
      bool all_gone = n > 0;
      for (int i = 0; i < n; i++)
        if (kill (c[i].pid, 0) == 0 || errno != ESRCH)
          all_gone = false;
      if (all_gone)
        break;
    }
  /* the runtime that was caught has exited: nothing executes its binary any more (ETXTBSY gone) */
  usleep (300 * 1000);
  for (int i = 0; i < n; i++)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/self/fd/%d", c[i].fd);
      int w = open (path, O_WRONLY | O_CLOEXEC);
      int open_err = w < 0 ? errno : 0;
      int write_err = EBADF;
      if (w >= 0)
        {
          unsigned char b;
          write_err = pread (c[i].fd, &b, 1, 0) == 1 && pwrite (w, &b, 1, 0) == 1 ? 0 : errno;
          close (w);
        }
      printf ("EXE %d %s open=%s write=%s\n", (int) c[i].pid, c[i].target[0] ? c[i].target : "?", open_err ? errname (open_err) : "ok",
              w < 0 ? "none" : write_err ? errname (write_err) : "ok");
    }
  printf ("DONE %d\n", n);
  fflush (stdout);
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc >= 6 && strcmp (argv[1], "suite") == 0)
    return suite ((pid_t) atoi (argv[2]), argv[3], (unsigned) atoi (argv[4]), (unsigned) atoi (argv[5]));
  if (argc >= 2 && strcmp (argv[1], "fds") == 0)
    return list_fds ();
  if (argc >= 3 && strcmp (argv[1], "exe-race") == 0)
    return exe_race (atoi (argv[2]));
  fprintf (stderr, "usage: escape_probe suite HOST_PID BLOCKDEV MAJOR MINOR | fds | exe-race SECONDS\n");
  return 2;
}

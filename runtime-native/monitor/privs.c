/* What the monitor keeps once its container runs.
 *
 * The monitor lives as long as its container, beside it, as root. After `runtime create` it acts
 * on the host only through the runtime (start, kill, exec, pause, resume, delete — each an execve,
 * which gives root the capabilities of the bounding set back) and, itself, through two calls:
 * kill(2) of the exec processes it parents (they may run as any user: CAP_KILL) and the unmount of
 * the rootfs it mounted, at the end (CAP_SYS_ADMIN). So from then on its effective and permitted
 * capabilities are exactly those two, and it is not dumpable (no process of another user — or of
 * a container that shares the host's pid namespace — can open its /proc files or ptrace it
 * without CAP_SYS_PTRACE). The bounding set is left whole for the runtime it runs. */
#include "monitor.h"

#include <errno.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_KILL_ 5
#define CAP_SYS_ADMIN_ 21
#define LINUX_CAPABILITY_VERSION_3_ 0x20080522

struct cap_header_
{
  uint32_t version;
  int pid;
};

struct cap_data_
{
  uint32_t effective, permitted, inheritable;
};

int
privs_drop_after_create (struct tn_error **err)
{
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct cap_header_ h = { LINUX_CAPABILITY_VERSION_3_, 0 };
  struct cap_data_ d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
  uint32_t keep = (1u << CAP_KILL_) | (1u << CAP_SYS_ADMIN_);
  d[0].effective = d[0].permitted = keep;
  if (syscall (SYS_capset, &h, d) < 0)
    return tn_error_sys (err, errno, "drop capabilities");
  return 0;
}

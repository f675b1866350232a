#include "caps.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const cap_names[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

#define N_CAP_NAMES ((int) (sizeof cap_names / sizeof cap_names[0]))

int
tn_cap_from_name (const char *name)
{
  for (int i = 0; i < N_CAP_NAMES; i++)
    if (strcmp (cap_names[i], name) == 0)
      return i;
  return -1;
}

const char *
tn_cap_name (int cap)
{
  return cap >= 0 && cap < N_CAP_NAMES ? cap_names[cap] : NULL;
}

int
tn_cap_last_known (void)
{
  return N_CAP_NAMES - 1;
}

int
tn_cap_last_kernel (void)
{
  static int cached = -1;
  if (cached >= 0)
    return cached;
  int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      char buf[16];
      ssize_t n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n > 0)
        {
          buf[n] = '\0';
          int v = atoi (buf);
          if (v > 0 && v <= TN_CAP_MAX)
            cached = v;
        }
    }
  if (cached < 0)
    cached = tn_cap_last_known ();
  return cached;
}

static int
capget_self (struct __user_cap_data_struct data[2])
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  return (int) syscall (SYS_capget, &hdr, data);
}

uint64_t
tn_cap_self_permitted (void)
{
  struct __user_cap_data_struct data[2];
  memset (data, 0, sizeof data);
  if (capget_self (data) < 0)
    return 0;
  return (uint64_t) data[0].permitted | ((uint64_t) data[1].permitted << 32);
}

int
tn_caps_apply_and_setuser (const struct tn_process *p, const uint64_t caps[5], bool in_userns, struct tn_error **err)
{
  int last = tn_cap_last_kernel ();

  /* the bounding set can only shrink, and only while we hold CAP_SETPCAP (before setuid) */
  for (int c = 0; c <= last; c++)
    {
      if (caps[TN_CAP_BOUNDING] & (1ULL << c))
        continue;
      if (prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return tn_error_sys (err, errno, "drop capability %s from the bounding set", tn_cap_name (c) ? tn_cap_name (c) : "?");
    }

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return tn_error_sys (err, errno, "prctl PR_SET_KEEPCAPS");

  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];

  /* the inheritable set is raised while CAP_SETPCAP is still effective: after a switch to a
   * non-zero uid the kernel would only allow inheritable ⊆ permitted */
  if (caps[TN_CAP_INHERITABLE])
    {
      memset (data, 0, sizeof data);
      if (syscall (SYS_capget, &hdr, data) < 0)
        return tn_error_sys (err, errno, "capget");
      for (int i = 0; i < 2; i++)
        data[i].inheritable = (uint32_t) (caps[TN_CAP_INHERITABLE] >> (32 * i));
      if (syscall (SYS_capset, &hdr, data) < 0)
        return tn_error_sys (err, errno, "capset (inheritable)");
    }

  /* credentials: groups first (setgroups needs CAP_SETGID), then gid, then uid */
  if (setgroups (p->n_additional_gids, p->additional_gids) < 0)
    {
      /* in a user namespace where setgroups is denied, an empty list is fine */
      if (!(in_userns && errno == EPERM && p->n_additional_gids == 0))
        return tn_error_sys (err, errno, "setgroups");
    }
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return tn_error_sys (err, errno, "setgid %u", (unsigned) p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return tn_error_sys (err, errno, "setuid %u", (unsigned) p->uid);

  memset (data, 0, sizeof data);
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (caps[TN_CAP_EFFECTIVE] >> (32 * i));
      data[i].permitted = (uint32_t) (caps[TN_CAP_PERMITTED] >> (32 * i));
      data[i].inheritable = (uint32_t) (caps[TN_CAP_INHERITABLE] >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return tn_error_sys (err, errno, "capset");

  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return tn_error_sys (err, errno, "clear the ambient capabilities");
  for (int c = 0; c <= last; c++)
    {
      if (!(caps[TN_CAP_AMBIENT] & (1ULL << c)))
        continue;
      /* the kernel only allows ambient capabilities that are permitted and inheritable; a
       * request for one that is not is skipped, as the spec asks for ungrantable capabilities */
      if (!(caps[TN_CAP_PERMITTED] & caps[TN_CAP_INHERITABLE] & (1ULL << c)))
        continue;
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
        return tn_error_sys (err, errno, "raise ambient capability %s", tn_cap_name (c) ? tn_cap_name (c) : "?");
    }

  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return tn_error_sys (err, errno, "prctl PR_SET_KEEPCAPS");
  return 0;
}

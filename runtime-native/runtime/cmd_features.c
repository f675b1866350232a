/* features: what this runtime implements, as the runtime-spec's features structure. */
#include "commands.h"
#include "caps.h"
#include "cleanup.h"
#include "json.h"
#include "seccomp_filter.h"

#include <stdio.h>

int
tn_cmd_features (struct tn_global *g, int argc, char **argv)
{
  (void) g;
  if (tn_cmd_want_args ("features", argc, argv, 1, 0, ""))
    return 1;
  static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL };
  static const char *const mount_options[] = {
    "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime", "loud",
    "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
    "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount",
    "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow",
    "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid", "rsymfollow",
    "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup",
    "unbindable", NULL,
  };
  static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL };
  static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", NULL };
  static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };
  static const char *const archs[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", NULL };
  static const char *const flags[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG", NULL };

  struct tn_jw w;
  tn_jw_init (&w, 4);
#define LIST(key, arr)                     \
  do                                       \
    {                                      \
      tn_jw_key (&w, key);                 \
      tn_jw_begin_array (&w);              \
      for (const char *const *p = arr; *p; p++) \
        tn_jw_string (&w, *p);             \
      tn_jw_end_array (&w);                \
    }                                      \
  while (0)
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "ociVersionMin", "1.0.0");
  tn_jw_kv_string (&w, "ociVersionMax", TN_OCI_VERSION);
  LIST ("hooks", hooks);
  LIST ("mountOptions", mount_options);
  tn_jw_key (&w, "linux");
  tn_jw_begin_object (&w);
  LIST ("namespaces", namespaces);
  tn_jw_key (&w, "capabilities");
  tn_jw_begin_array (&w);
  for (int c = 0; c <= tn_cap_last_known (); c++)
    tn_jw_string (&w, tn_cap_name (c));
  tn_jw_end_array (&w);
  tn_jw_key (&w, "cgroup");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "v1", true);
  tn_jw_kv_bool (&w, "v2", true);
  tn_jw_kv_bool (&w, "systemd", false);
  tn_jw_kv_bool (&w, "systemdUser", false);
  tn_jw_kv_bool (&w, "rdma", true);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "seccomp");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "enabled", true);
  LIST ("actions", actions);
  LIST ("operators", operators);
  LIST ("archs", archs);
  LIST ("knownFlags", flags);
  LIST ("supportedFlags", flags);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "apparmor");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "enabled", false);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "selinux");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "enabled", false);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "intelRdt");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "enabled", false);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "mountExtensions");
  tn_jw_begin_object (&w);
  tn_jw_key (&w, "idmap");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "enabled", false);
  tn_jw_end_object (&w);
  tn_jw_end_object (&w);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "annotations");
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "io.github.seccomp.libseccomp.version", tn_seccomp_version ());
  tn_jw_kv_string (&w, "org.tersane.runtime.version", TN_RUNTIME_VERSION);
  tn_jw_end_object (&w);
  tn_jw_end_object (&w);
#undef LIST
  cleanup_free char *out = tn_jw_finish (&w);
  if (out)
    fputs (out, stdout);
  return 0;
}

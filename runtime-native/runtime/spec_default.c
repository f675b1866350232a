/* The default config.json of `spec`, shaped like runc's: a busybox-friendly shell with a
 * terminal, read-only root, the usual virtual filesystems, masked and read-only /proc paths. */
#include "spec.h"
#include "container.h"
#include "json.h"

#include <unistd.h>

static void
strings (struct tn_jw *w, const char *key, const char *const *v)
{
  tn_jw_key (w, key);
  tn_jw_begin_array (w);
  for (; *v; v++)
    tn_jw_string (w, *v);
  tn_jw_end_array (w);
}

static void
mount (struct tn_jw *w, const char *dest, const char *type, const char *source, const char *const *options)
{
  tn_jw_begin_object (w);
  tn_jw_kv_string (w, "destination", dest);
  tn_jw_kv_string (w, "type", type);
  tn_jw_kv_string (w, "source", source);
  if (options)
    strings (w, "options", options);
  tn_jw_end_object (w);
}

static void
idmap (struct tn_jw *w, const char *key, unsigned host)
{
  tn_jw_key (w, key);
  tn_jw_begin_array (w);
  tn_jw_begin_object (w);
  tn_jw_kv_int (w, "containerID", 0);
  tn_jw_kv_int (w, "hostID", host);
  tn_jw_kv_int (w, "size", 1);
  tn_jw_end_object (w);
  tn_jw_end_array (w);
}

char *
tn_spec_default (bool rootless)
{
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
  static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL };
  static const char *const args[] = { "sh", NULL };
  static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
  static const char *const pts_rootless[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
  static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
  static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const sys_rootless[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
  static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", NULL };
  static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };
  static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", NULL };
  static const char *const ns_rootless[] = { "pid", "ipc", "uts", "mount", "user", NULL };

  struct tn_jw w;
  tn_jw_init (&w, 4);
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "ociVersion", TN_OCI_VERSION);
  tn_jw_key (&w, "process");
  tn_jw_begin_object (&w);
  tn_jw_kv_bool (&w, "terminal", true);
  tn_jw_key (&w, "user");
  tn_jw_begin_object (&w);
  tn_jw_kv_int (&w, "uid", 0);
  tn_jw_kv_int (&w, "gid", 0);
  tn_jw_end_object (&w);
  strings (&w, "args", args);
  strings (&w, "env", env);
  tn_jw_kv_string (&w, "cwd", "/");
  tn_jw_key (&w, "capabilities");
  tn_jw_begin_object (&w);
  strings (&w, "bounding", caps);
  strings (&w, "effective", caps);
  strings (&w, "permitted", caps);
  strings (&w, "ambient", caps);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "rlimits");
  tn_jw_begin_array (&w);
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "type", "RLIMIT_NOFILE");
  tn_jw_kv_int (&w, "hard", 1024);
  tn_jw_kv_int (&w, "soft", 1024);
  tn_jw_end_object (&w);
  tn_jw_end_array (&w);
  tn_jw_kv_bool (&w, "noNewPrivileges", true);
  tn_jw_end_object (&w);
  tn_jw_key (&w, "root");
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "path", "rootfs");
  tn_jw_kv_bool (&w, "readonly", true);
  tn_jw_end_object (&w);
  tn_jw_kv_string (&w, "hostname", "tersane");
  tn_jw_key (&w, "mounts");
  tn_jw_begin_array (&w);
  mount (&w, "/proc", "proc", "proc", NULL);
  mount (&w, "/dev", "tmpfs", "tmpfs", dev);
  mount (&w, "/dev/pts", "devpts", "devpts", rootless ? pts_rootless : pts);
  mount (&w, "/dev/shm", "tmpfs", "shm", shm);
  mount (&w, "/dev/mqueue", "mqueue", "mqueue", mq);
  if (rootless)
    mount (&w, "/sys", "none", "/sys", sys_rootless);
  else
    mount (&w, "/sys", "sysfs", "sysfs", sys);
  mount (&w, "/sys/fs/cgroup", "cgroup", "cgroup", cg);
  tn_jw_end_array (&w);
  tn_jw_key (&w, "linux");
  tn_jw_begin_object (&w);
  if (rootless)
    {
      idmap (&w, "uidMappings", (unsigned) getuid ());
      idmap (&w, "gidMappings", (unsigned) getgid ());
    }
  else
    {
      tn_jw_key (&w, "resources");
      tn_jw_begin_object (&w);
      tn_jw_key (&w, "devices");
      tn_jw_begin_array (&w);
      tn_jw_begin_object (&w);
      tn_jw_kv_bool (&w, "allow", false);
      tn_jw_kv_string (&w, "access", "rwm");
      tn_jw_end_object (&w);
      tn_jw_end_array (&w);
      tn_jw_end_object (&w);
    }
  tn_jw_key (&w, "namespaces");
  tn_jw_begin_array (&w);
  for (const char *const *n = rootless ? ns_rootless : ns; *n; n++)
    {
      tn_jw_begin_object (&w);
      tn_jw_kv_string (&w, "type", *n);
      tn_jw_end_object (&w);
    }
  tn_jw_end_array (&w);
  strings (&w, "maskedPaths", masked);
  strings (&w, "readonlyPaths", ro);
  tn_jw_end_object (&w);
  tn_jw_end_object (&w);
  return tn_jw_finish (&w);
}

/* config.json: the OCI runtime-spec configuration, parsed and validated into plain C structures.
 * Everything that can be checked without touching the kernel is checked here, so a bad bundle
 * fails before any state directory, cgroup or mount exists. Errors name the field:
 *   config.json: linux.namespaces[2].type: unknown namespace type "foo" */
#ifndef TN_SPEC_H
#define TN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "json.h"

/* ---- process ---- */

enum tn_cap_set { TN_CAP_EFFECTIVE, TN_CAP_BOUNDING, TN_CAP_INHERITABLE, TN_CAP_PERMITTED, TN_CAP_AMBIENT, TN_CAP_NSETS };

struct tn_rlimit
{
  int resource;
  uint64_t soft, hard;
};

struct tn_process
{
  bool terminal;
  bool has_console_size;
  unsigned console_height, console_width;
  uid_t uid;
  gid_t gid;
  bool has_umask;
  mode_t umask;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char **args; /* NULL-terminated */
  size_t n_args;
  char **env;  /* NULL-terminated */
  size_t n_env;
  char *cwd;
  bool has_caps;
  uint64_t caps[TN_CAP_NSETS];
  struct tn_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  bool has_io_priority;
  int io_priority_class, io_priority;
  bool has_scheduler;
  uint32_t sched_policy, sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

/* ---- mounts ---- */

struct tn_mount
{
  char *destination;
  char *type;
  char *source;
  unsigned long flags;       /* MS_* set by the options */
  unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, …), used for remounts */
  unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC) or 0 */
  uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for the recursive "r*" options */
  bool bind;                 /* bind or rbind */
  bool tmpcopyup;
  char *data;                /* filesystem-specific options, comma separated, or NULL */
};

/* ---- hooks ---- */

enum tn_hook_kind { TN_HOOK_PRESTART, TN_HOOK_CREATE_RUNTIME, TN_HOOK_CREATE_CONTAINER, TN_HOOK_START_CONTAINER, TN_HOOK_POSTSTART, TN_HOOK_POSTSTOP, TN_HOOK_NKINDS };

struct tn_hook
{
  char *path;
  char **args; /* NULL-terminated; [path] when absent */
  char **env;  /* NULL-terminated, possibly empty */
  int timeout; /* seconds, 0 = none */
};

/* ---- linux ---- */

enum tn_ns_type { TN_NS_PID, TN_NS_NET, TN_NS_MNT, TN_NS_IPC, TN_NS_UTS, TN_NS_USER, TN_NS_CGROUP, TN_NS_TIME, TN_NS_COUNT };

struct tn_namespace
{
  bool present;
  char *path; /* join this namespace instead of creating one */
};

struct tn_idmap
{
  uint32_t container_id, host_id, size;
};

struct tn_device
{
  char *path;
  char type; /* c, b, u (unbuffered char), p */
  int64_t major, minor;
  bool has_mode;
  mode_t mode;
  bool has_uid, has_gid;
  uid_t uid;
  gid_t gid;
};

/* A device cgroup rule. major/minor -1 = any, type 'a' = all. */
struct tn_dev_rule
{
  bool allow;
  char type;
  int64_t major, minor;
  char access[4]; /* subset of "rwm", in that order */
};

struct tn_weight_device
{
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
};

struct tn_throttle_device
{
  int64_t major, minor;
  uint64_t rate;
};

struct tn_hugepage
{
  char *page_size;
  uint64_t limit;
};

struct tn_kv
{
  char *key;
  char *value;
};

struct tn_resources
{
  /* memory */
  bool has_mem_limit, has_mem_reservation, has_mem_swap, has_mem_kernel, has_mem_kernel_tcp, has_swappiness;
  int64_t mem_limit, mem_reservation, mem_swap, mem_kernel, mem_kernel_tcp;
  uint64_t swappiness;
  bool has_disable_oom_killer, disable_oom_killer;
  bool has_use_hierarchy, use_hierarchy;
  /* cpu */
  bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_cpu_burst, has_rt_runtime, has_rt_period, has_cpu_idle;
  uint64_t cpu_shares, cpu_period, cpu_burst, rt_period;
  int64_t cpu_quota, rt_runtime, cpu_idle;
  char *cpus, *mems;
  /* pids */
  bool has_pids_limit;
  int64_t pids_limit;
  /* blkio */
  bool has_blkio_weight, has_blkio_leaf_weight;
  uint16_t blkio_weight, blkio_leaf_weight;
  struct tn_weight_device *weight_devices;
  size_t n_weight_devices;
  struct tn_throttle_device *throttle[4]; /* read bps, write bps, read iops, write iops */
  size_t n_throttle[4];
  /* hugetlb */
  struct tn_hugepage *hugepages;
  size_t n_hugepages;
  /* network (v1 only) */
  bool has_net_class_id;
  uint32_t net_class_id;
  struct tn_kv *net_priorities; /* value is the decimal priority */
  size_t n_net_priorities;
  /* devices, in the order given (the runtime's defaults are appended by the cgroup code) */
  struct tn_dev_rule *devices;
  size_t n_devices;
  /* unified (v2 only): file name → value */
  struct tn_kv *unified;
  size_t n_unified;
  /* rdma (v1 rdma controller / v2 rdma.max): device → "hca_handle=N hca_object=M" */
  struct tn_kv *rdma;
  size_t n_rdma;
};

enum tn_seccomp_action_kind { TN_SCMP_KILL, TN_SCMP_KILL_PROCESS, TN_SCMP_KILL_THREAD, TN_SCMP_TRAP, TN_SCMP_ERRNO, TN_SCMP_TRACE, TN_SCMP_ALLOW, TN_SCMP_LOG, TN_SCMP_NOTIFY };

struct tn_seccomp_arg
{
  unsigned index;
  uint64_t value, value_two;
  int op; /* enum scmp_compare */
};

struct tn_seccomp_rule
{
  char **names;
  size_t n_names;
  int action;
  bool has_errno;
  uint32_t errno_ret;
  struct tn_seccomp_arg *args;
  size_t n_args;
};

struct tn_seccomp
{
  int default_action;
  bool has_default_errno;
  uint32_t default_errno;
  char **archs; /* libseccomp arch names ("x86_64") */
  size_t n_archs;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* */
  struct tn_seccomp_rule *rules;
  size_t n_rules;
  char *listener_path;
};

struct tn_linux
{
  struct tn_namespace ns[TN_NS_COUNT];
  struct tn_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct tn_device *devices;
  size_t n_devices;
  char *cgroups_path;
  bool has_resources;
  struct tn_resources resources;
  unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = default (rslave) */
  char **masked_paths;
  size_t n_masked_paths;
  char **readonly_paths;
  size_t n_readonly_paths;
  struct tn_kv *sysctl;
  size_t n_sysctl;
  struct tn_seccomp *seccomp;
  bool seccomp_deferred; /* present but left unparsed (tn_spec_parse_deferred) */
  bool has_personality;
  unsigned long personality;
  struct tn_kv *time_offsets; /* "monotonic"/"boottime" → "secs nanosecs" */
  size_t n_time_offsets;
};

struct tn_spec
{
  struct tn_json *json; /* the parsed document */
  char *oci_version;
  char *root_path;      /* as written */
  bool root_readonly;
  char *hostname;
  char *domainname;
  struct tn_process *process; /* NULL when config.json has none */
  struct tn_mount *mounts;
  size_t n_mounts;
  struct tn_hook *hooks[TN_HOOK_NKINDS];
  size_t n_hooks[TN_HOOK_NKINDS];
  struct tn_kv *annotations;
  size_t n_annotations;
  struct tn_linux lx;
};

/* Parses and validates a configuration (config.json, or the one a state file keeps). Errors are
 * prefixed with `label` ("config.json: …"). */
int tn_spec_parse (const char *data, size_t len, const char *label, struct tn_spec **out, struct tn_error **err);
/* The same, leaving linux.seccomp unparsed (lx.seccomp_deferred): a state file's spec (valid at
 * create), or a config whose compiled filter may be in the cache already (seccomp_cache.h). */
int tn_spec_parse_deferred (const char *data, size_t len, const char *label, struct tn_spec **out, struct tn_error **err);
/* tn_spec_parse_deferred of the file at `path`. */
int tn_spec_load_deferred (const char *path, const char *label, struct tn_spec **out, struct tn_error **err);
/* The document's linux.seccomp as it is written, or NULL. */
const struct tn_json *tn_spec_seccomp_section (const struct tn_spec *s);
/* Identifies how this build turns a profile into what is compiled (the seccomp cache's key). */
const char *tn_spec_build_tag (void);
void tn_spec_free (struct tn_spec *s);

/* A linux.seccomp object, validated (errors name the field: "linux.seccomp.syscalls[0]…"). */
int tn_seccomp_parse (const struct tn_json *o, struct tn_seccomp **out, struct tn_error **err);
void tn_seccomp_free (struct tn_seccomp *sc);

/* A process object alone (for `exec --process FILE`), validated the same way. */
int tn_process_parse (const struct tn_json *v, const char *path, struct tn_process **out, struct tn_error **err);
void tn_process_free (struct tn_process *p);

/* Mount options: parses one options array into `m`; public for exec-free unit tests. */
int tn_mount_parse_options (struct tn_mount *m, const struct tn_json *options, const char *path, struct tn_error **err);

const char *tn_ns_name (enum tn_ns_type t);
/* CLONE_NEW* flag of a namespace type. */
int tn_ns_flag (enum tn_ns_type t);
const char *tn_hook_name (enum tn_hook_kind k);

/* The value of NAME in a NULL-terminated environment, or NULL. */
const char *tn_env_get (char **env, const char *name);

/* The default config.json of `spec` (runc's shape); rootless variant when asked. */
char *tn_spec_default (bool rootless);

#endif

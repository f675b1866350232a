/* cgroups, v1 and v2, detected at run time (v2 when /sys/fs/cgroup is cgroup2fs). This file is the
 * common part: where the container's cgroup is, creating and removing it, putting processes in it,
 * signalling, freezing and listing them. The resource writers are cgroup_v1.c and cgroup_v2.c;
 * the v2 device filter (an eBPF program) is cgroup_bpf.c. */
#ifndef TN_CGROUP_H
#define TN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"
#include "json.h"
#include "spec.h"

#define TN_CGROUP_ROOT "/sys/fs/cgroup"

enum tn_cgroup_mode { TN_CGROUP_V1 = 1, TN_CGROUP_V2 = 2 };

struct tn_cgroup_dir
{
  char *controllers; /* v1: "memory", "cpu,cpuacct", "name=systemd"; v2 and hybrid unified: "" */
  char *mount;       /* the hierarchy's mount point: /sys/fs/cgroup/memory (v2: /sys/fs/cgroup) */
  char *dir;         /* the container's directory in it */
  int created;       /* how many trailing components of `dir` this runtime created */
  bool made;         /* (in memory) already made by this process */
};

struct tn_cgroup
{
  int mode;
  char *path; /* the container's cgroup, relative to each hierarchy's root: "/a/b" */
  struct tn_cgroup_dir *dirs;
  size_t n;
};

int tn_cgroup_detect_mode (void);

/* Works out the directories of the container's cgroup (nothing is created yet). `cgroups_path` is
 * linux.cgroupsPath: absolute = below each hierarchy's root; relative or empty = below the
 * runtime's own cgroup ("<own>/<id>" when empty). */
int tn_cgroup_resolve (struct tn_cgroup *cg, const char *cgroups_path, const char *id, struct tn_error **err);
/* Creates the directories (recording which were created) and applies linux.resources plus the
 * runtime's default device rules. On failure everything created is removed again. */
int tn_cgroup_create (struct tn_cgroup *cg, const struct tn_spec *spec, struct tn_error **err);
/* The directories alone (tn_cgroup_create then only applies the resources). */
int tn_cgroup_make (struct tn_cgroup *cg, struct tn_error **err);
/* Hybrid v1 hosts: makes only the unified hierarchy's directory, so a child can be cloned into it
 * before the rest is ready (tn_cgroup_create then leaves it alone). */
int tn_cgroup_make_unified (struct tn_cgroup *cg, struct tn_error **err);
/* Puts `pid` (a process or thread-group leader) in every hierarchy of the container's cgroup
 * (but the unified one when `skip_unified`: the child was born there). */
int tn_cgroup_enter (const struct tn_cgroup *cg, pid_t pid, bool skip_unified, struct tn_error **err);
/* The calling process (single-threaded) joins the container's cgroup in every hierarchy. On v1
 * it writes "0" to each `tasks` file: moving only the calling thread skips the kernel's global
 * threadgroup lock, whose RCU synchronisation costs milliseconds on every migration by pid. The
 * caller must still hold the host credentials (not yet in a user namespace). */
int tn_cgroup_enter_self (const struct tn_cgroup *cg, struct tn_error **err);
/* A descriptor of the container's cgroup on the unified hierarchy (v2, or a hybrid v1 host's
 * /sys/fs/cgroup/unified) for clone3(CLONE_INTO_CGROUP); -1 when there is none. */
int tn_cgroup_open_fd (const struct tn_cgroup *cg);
/* Removes the container's cgroup directories (waiting briefly for exiting processes). With
 * `parents`, also the parent directories this runtime made for it (a create that failed leaves
 * nothing); without, the parents stay, as with runc: they are the upper layer's (/docker,
 * /kubepods…) and the next container reuses them. */
int tn_cgroup_destroy (struct tn_cgroup *cg, bool parents, struct tn_error **err);
void tn_cgroup_free (struct tn_cgroup *cg);

/* The pids in the container's cgroup (from one hierarchy). */
int tn_cgroup_pids (const struct tn_cgroup *cg, pid_t **out, size_t *n, struct tn_error **err);
int tn_cgroup_kill_all (const struct tn_cgroup *cg, int sig, struct tn_error **err);
int tn_cgroup_freeze (const struct tn_cgroup *cg, bool freeze, struct tn_error **err);
/* 1 when frozen, 0 when not, -1 when it cannot tell. */
int tn_cgroup_is_frozen (const struct tn_cgroup *cg);

/* The directory of one v1 controller ("memory", "freezer"), or NULL. */
const char *tn_cgroup_v1_dir (const struct tn_cgroup *cg, const char *controller);

/* state.json (de)serialisation. */
void tn_cgroup_to_json (const struct tn_cgroup *cg, struct tn_jw *w);
int tn_cgroup_from_json (struct tn_cgroup *cg, const struct tn_json *v, struct tn_error **err);

/* The complete device rule list for a container: the config's rules, an allow rule per
 * linux.devices entry, then the default set (null, zero, full, random, urandom, tty, console,
 * ptmx, pts, and mknod of anything). Caller frees. */
int tn_cgroup_device_rules (const struct tn_spec *spec, struct tn_dev_rule **out, size_t *n, struct tn_error **err);

/* ---- writers, driven by dirfds so tests can point them at temporary directories ---- */

/* v1: `dirfd_of(controller)` gives the controller's directory (or -1 when not mounted). */
struct tn_cgroup_v1_fds
{
  int cpu, cpuacct, cpuset, memory, devices, freezer, blkio, pids, hugetlb, net_cls, net_prio, rdma;
};
int tn_cgroup_v1_apply (const struct tn_cgroup_v1_fds *fds, const struct tn_resources *r, const struct tn_dev_rule *rules, size_t n_rules, struct tn_error **err);
int tn_cgroup_v2_apply (int dirfd, const struct tn_resources *r, struct tn_error **err);
/* v2: writes "+ctrl …" for the controllers of `available` into cgroup.subtree_control of dirfd. */
int tn_cgroup_v2_enable_controllers (int dirfd, const char *available, struct tn_error **err);

/* Conversions runc uses for v2. */
unsigned long long tn_cgroup_shares_to_weight (unsigned long long shares);
unsigned long long tn_cgroup_blkio_to_io_weight (unsigned long long weight);

/* ---- v2 device filter (cgroup_bpf.c) ---- */
struct bpf_insn;
int tn_devices_bpf_build (const struct tn_dev_rule *rules, size_t n, struct bpf_insn **out, size_t *len, struct tn_error **err);
int tn_devices_bpf_attach (int cgroup_fd, const struct bpf_insn *insns, size_t len, struct tn_error **err);

#endif

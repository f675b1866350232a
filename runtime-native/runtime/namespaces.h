/* Namespaces: which CLONE_NEW* flags a configuration asks for, joining existing ones by path,
 * and the uid/gid maps the parent writes for a child in a new user namespace. */
#ifndef TN_NAMESPACES_H
#define TN_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>
#include "error.h"
#include "spec.h"

/* CLONE_NEW* flags of the namespaces the configuration creates (not those it joins). */
int tn_ns_new_flags (const struct tn_spec *spec);
/* Joins the namespace at `path` (setns); `label` names the field in errors. */
int tn_ns_join_path (const char *path, enum tn_ns_type type, struct tn_error **err);
int tn_ns_join_fd (int fd, enum tn_ns_type type, struct tn_error **err);
/* Writes /proc/<pid>/uid_map and gid_map from linux.uidMappings/gidMappings. */
int tn_ns_write_idmaps (pid_t pid, const struct tn_spec *spec, struct tn_error **err);
/* Whether container id 0 is mapped (uid when `uid`, else gid). */
bool tn_ns_root_mapped (const struct tn_spec *spec, bool uid);
uint32_t tn_ns_host_id (const struct tn_spec *spec, bool uid, uint32_t id);
/* Gives the process user (its host ids) the pipes, sockets and pty its stdio is. */
void tn_stdio_give_to (const struct tn_spec *spec, const struct tn_process *p);
/* Whether the process `pid`'s namespace of `type` differs from ours. */
bool tn_ns_differs (pid_t pid, enum tn_ns_type type);

/* fork(2)-like clone with `flags` (CLONE_NEW*, CLONE_PARENT); with cgroup_fd >= 0 the child is
 * born in that cgroup (clone3 CLONE_INTO_CGROUP, cgroup v2), and *into says whether that worked
 * (older kernels: plain clone, the caller moves the child). Returns the pid, 0 in the child. */
pid_t tn_clone (int flags, int cgroup_fd, bool *into);

#endif

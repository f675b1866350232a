/* The child side: what the cloned process does inside the container before it becomes the
 * user's program (a container's init, or a process started by `exec`). It reports to the runtime
 * over the sync socket (sync.h) and never returns. */
#ifndef TN_INIT_H
#define TN_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cgroup.h"
#include "seccomp_filter.h"
#include "spec.h"

struct tn_init
{
  const struct tn_spec *spec;
  const char *rootfs;
  const struct tn_cgroup *cgroup;
  const struct tn_seccomp_prog *seccomp; /* NULL when none */
  int sync_fd;      /* the child's end */
  int console_fd;   /* connected console socket, or -1 */
  int state_dir_fd; /* O_PATH descriptor of the state directory (exec.fifo), or -1 */
  bool no_pivot;
  bool no_new_keyring;
  const char *id;
  int preserve_fds;
  bool userns;      /* the container has a user namespace (new or joined) */
  bool userns_new;
  /* slow path: namespaces are entered by the first child, which forks the container process */
  bool two_stage;
  /* the child joins its cgroup itself (cgroup v1, before any user namespace) */
  bool enter_cgroup_self;
  /* child's own bookkeeping */
  bool got_dirs;
  /* the net.* sysctls were written before the user namespace was made (stage 1) */
  bool net_sysctls_done;
  char *state_json;
};

/* Fast path: the child cloned with the CLONE_NEW* flags. */
_Noreturn void tn_init_container (struct tn_init *c);
/* Slow path (joining a user or pid namespace, or a new time namespace): the first child joins
 * and creates the namespaces, forks the container process (CLONE_PARENT) and exits. */
_Noreturn void tn_init_stage1 (struct tn_init *c);

struct tn_exec_init
{
  const struct tn_spec *spec;       /* the container's */
  const struct tn_process *process; /* the one to run */
  const struct tn_seccomp_prog *seccomp;
  int ns_fds[8];                    /* per enum tn_ns_type, -1 = not joined */
  int sync_fd;
  int console_fd;
  bool userns;
  int preserve_fds;
  const struct tn_cgroup *cgroup;
  bool enter_cgroup_self;
};

/* `exec`: joins the container's namespaces, forks (CLONE_PARENT) the process that runs the
 * program in the container's pid namespace, reports its pid and exits. */
_Noreturn void tn_init_exec (struct tn_exec_init *c);

#endif

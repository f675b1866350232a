/* The container process's last steps, shared by a container's init and by `exec`: limits and
 * scheduling, finding the program, credentials and capabilities, descriptors and signals, and
 * execve itself. Runs in the child, inside the container. */
#ifndef TN_PROCESS_H
#define TN_PROCESS_H

#include <stdbool.h>
#include "error.h"
#include "seccomp_filter.h"
#include "spec.h"

/* rlimits, I/O priority, scheduler. */
int tn_process_apply_limits (const struct tn_process *p, struct tn_error **err);
/* Finds args[0] like execvp (and Go's exec.LookPath, so messages match runc's):
 *   exec: "foo": executable file not found in $PATH */
int tn_process_lookup (const struct tn_process *p, char **out, struct tn_error **err);
/* HOME from the container's /etc/passwd (or "/") when the environment has none, as runc does. */
int tn_process_default_home (struct tn_process *p, struct tn_error **err);
/* The working directory, made when missing as runc makes it, opened inside the container. */
int tn_process_open_cwd (const char *cwd, struct tn_error **err);
/* no_new_privs, seccomp (here when no_new_privs is off: loading needs CAP_SYS_ADMIN), chdir to
 * `cwd` (from tn_process_open_cwd), capabilities and user, umask. */
int tn_process_credentials (const struct tn_process *p, int cwd, const struct tn_seccomp_prog *sc, bool in_userns, struct tn_error **err);
/* Everything from fd 3 + preserve on is closed at exec; 3 … 3 + preserve - 1 are kept open. */
int tn_process_prepare_fds (int preserve, struct tn_error **err);
/* Default dispositions and an empty signal mask for the user's program. */
void tn_process_reset_signals (void);
/* seccomp (when no_new_privs is on: as late as possible) and execve. Returns only on failure. */
int tn_process_exec (const struct tn_process *p, const char *path, const struct tn_seccomp_prog *sc, struct tn_error **err);

#endif

/* Container lifecycle: the operations behind the subcommands. Each takes the global options, a
 * container id and the subcommand's options, and reports failure through *err. */
#ifndef TN_CONTAINER_H
#define TN_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

#define TN_OCI_VERSION "1.2.0"
#define TN_DEFAULT_ROOT "/run/tersane-runtime"
#define TN_RUNTIME_VERSION "0.1.0"

struct tn_global
{
  const char *root;
  const char *log;
  bool log_json;
  bool debug;
};

struct tn_create_opts
{
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;
  /* run only */
  bool detach;
  bool keep;
};

struct tn_exec_opts
{
  const char *process_file;
  bool tty;
  bool tty_set;
  const char *console_socket;
  bool detach;
  const char *pid_file;
  char **env;
  size_t n_env;
  const char *cwd;
  const char *user;
  char **caps;
  size_t n_caps;
  bool no_new_privs;
  const char *additional_gids;
  char **args;
  size_t n_args;
  int preserve_fds;
  bool ignore_paused;
};

int tn_container_create (struct tn_global *g, const char *id, const struct tn_create_opts *o, struct tn_error **err);
/* create + start; without detach waits and stores the container's exit status (128+signal when
 * killed) in *status, then deletes the container unless `keep`. */
int tn_container_run (struct tn_global *g, const char *id, const struct tn_create_opts *o, int *status, struct tn_error **err);
int tn_container_start (struct tn_global *g, const char *id, struct tn_error **err);
/* The spec's state JSON (indented) of a container. */
int tn_container_state (struct tn_global *g, const char *id, char **json, struct tn_error **err);
int tn_container_kill (struct tn_global *g, const char *id, int sig, bool all, struct tn_error **err);
int tn_container_delete (struct tn_global *g, const char *id, bool force, struct tn_error **err);
int tn_container_pause (struct tn_global *g, const char *id, bool pause, struct tn_error **err);
int tn_container_pids (struct tn_global *g, const char *id, pid_t **pids, size_t *n, struct tn_error **err);
int tn_container_exec (struct tn_global *g, const char *id, const struct tn_exec_opts *o, int *status, struct tn_error **err);

/* A container id: letters, digits, '_', '+', '-', '.', not "." or "..", at most 1024 bytes. */
int tn_container_validate_id (const char *id, struct tn_error **err);

#endif

/* The state directory of a container, <root>/<id>/: state.json (what this runtime needs to find
 * and manage the container later, including its configuration as created) and exec.fifo (present
 * while the container is created and not yet started). */
#ifndef TN_STATE_H
#define TN_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "cgroup.h"
#include "container.h"
#include "error.h"
#include "spec.h"

enum tn_status { TN_STATUS_CREATING, TN_STATUS_CREATED, TN_STATUS_RUNNING, TN_STATUS_PAUSED, TN_STATUS_STOPPED };

struct tn_state
{
  char *id;
  char *dir;        /* <root>/<id> */
  pid_t pid;
  unsigned long long start_time; /* /proc/<pid>/stat field 22, to tell a reused pid apart */
  char *bundle;
  char *rootfs;
  char *created;    /* RFC 3339 with nanoseconds */
  uid_t owner;
  struct tn_cgroup cgroup;
  struct tn_spec *spec; /* the configuration the container was created with */
  bool own_spec;
  const struct tn_seccomp_prog *seccomp; /* at create: the filter to keep for `exec` */
};

#define TN_STATE_FILE "state.json"
#define TN_EXEC_FIFO "exec.fifo"

char *tn_state_dir_path (const struct tn_global *g, const char *id);
/* Writes <dir>/state.json.tmp (while the container is still being set up; the filter for `exec`
 * beside it), which tn_state_commit renames into place once the container is created. */
int tn_state_write_tmp (const struct tn_state *st, struct tn_error **err);
int tn_state_commit (const struct tn_state *st, struct tn_error **err);
/* The seccomp filter an `exec` gets: the container's (*has false when it has none). */
int tn_state_seccomp (const struct tn_global *g, const struct tn_state *st, struct tn_seccomp_prog *out, bool *has, struct tn_error **err);
/* Loads <root>/<id>/state.json; "container \"id\" does not exist" when there is none. */
int tn_state_load (const struct tn_global *g, const char *id, struct tn_state **out, struct tn_error **err);
/* The same from another file of the state directory (state.json.tmp of an interrupted create). */
int tn_state_load_file (const struct tn_global *g, const char *id, const char *file, struct tn_state **out, struct tn_error **err);
void tn_state_free (struct tn_state *st);

enum tn_status tn_state_status (const struct tn_state *st);
const char *tn_status_name (enum tn_status s);

/* The runtime-spec state object: ociVersion, id, status, pid, bundle, annotations (+ rootfs,
 * created, owner as runc prints them when `full`). */
char *tn_state_json (const struct tn_state *st, enum tn_status status, bool full, int indent);

/* /proc/<pid>/stat: start time and state letter; -1 when the process does not exist. */
int tn_proc_stat (pid_t pid, unsigned long long *start_time, char *state);
/* Whether `pid` with `start_time` is still alive (not a zombie). */
bool tn_process_alive (pid_t pid, unsigned long long start_time);

/* Current time as RFC 3339 with nanoseconds, UTC. */
void tn_now_rfc3339 (char *buf, size_t size);

#endif

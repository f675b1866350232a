/* Messages between the runtime (parent) and the container process it clones (child), over a
 * SOCK_SEQPACKET socketpair: one message per send, a header then an optional payload.
 *
 *   parent → child   GO          the cgroup is ready (the child joins it itself on v1 when it can);
 *                                payload: the state JSON for hooks
 *   child → parent   USERNS      (slow path) a new user namespace exists: write its id maps
 *   parent → child   USERNS_DONE id maps written
 *   child → parent   PID         (slow path) the container process is pid `value`
 *   parent → child   DIRS        the cgroup directories exist: the child may join them (v1) and
 *                                bind them into its /sys/fs/cgroup; resources are still being set
 *   child → parent   HOOKS       mounts done: run prestart and createRuntime hooks
 *   parent → child   HOOKS_DONE
 *   child → parent   READY       everything before the user's program is done
 *   parent → child   ACK         state recorded; value 1 = start now (run), 0 = wait on exec.fifo
 *   child → parent   ERROR       value = errno (0 if none), payload = the message
 *
 * The child's end is close-on-exec, so after ACK in run mode the parent learns that the user's
 * program was executed from end-of-file, or gets an ERROR instead. */
#ifndef TN_SYNC_H
#define TN_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* The largest message either side takes (the state with its annotations is the largest). */
#define TN_SYNC_MAX_MSG (1 << 20)

enum tn_msg
{
  TN_MSG_GO = 1,
  TN_MSG_USERNS,
  TN_MSG_USERNS_DONE,
  TN_MSG_PID,
  TN_MSG_HOOKS,
  TN_MSG_HOOKS_DONE,
  TN_MSG_READY,
  TN_MSG_ACK,
  TN_MSG_ERROR,
  TN_MSG_DIRS,
};

int tn_sync_send (int fd, uint32_t type, int32_t value, const void *payload, size_t len);
/* Receives one message; *payload (may be NULL) is a NUL-terminated heap copy. Returns 0, or 1 at
 * end-of-file (peer gone), or -1 on error (errno set). */
int tn_sync_recv (int fd, uint32_t *type, int32_t *value, char **payload);
/* Receives a message that must be `want`; an ERROR message or end-of-file becomes *err. */
int tn_sync_expect (int fd, uint32_t want, int32_t *value, char **payload, struct tn_error **err);

#endif

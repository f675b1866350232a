/* Linux capabilities by name, and applying the five sets of a process (through capset(2) and
 * prctl(2) directly: no libcap). */
#ifndef TN_CAPS_H
#define TN_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"

#define TN_CAP_MAX 63

/* Number of a capability name ("CAP_CHOWN"), or -1 when the name is not a capability. */
int tn_cap_from_name (const char *name);
/* Name of capability `cap` ("CAP_CHOWN"), NULL when unknown to this build. */
const char *tn_cap_name (int cap);
/* Highest capability this build knows by name. */
int tn_cap_last_known (void);
/* /proc/sys/kernel/cap_last_cap (cached), or the highest known when unreadable. */
int tn_cap_last_kernel (void);
/* Capabilities the calling process can hand on: its permitted set. */
uint64_t tn_cap_self_permitted (void);

struct tn_process;

/* Applies the process's capability sets and its uid/gid/additional gids, in the order the kernel
 * needs: bounding set drop and keep-caps while still uid 0, then credentials, then
 * capset(effective/permitted/inheritable) and the ambient set. `caps` are already masked to what
 * the runtime holds. */
int tn_caps_apply_and_setuser (const struct tn_process *p, const uint64_t caps[5], bool in_userns, struct tn_error **err);

#endif

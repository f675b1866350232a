/* OCI hooks: each runs with the container's state JSON on stdin, its own args and env, an optional
 * timeout; its output is captured and quoted in the error when it fails. */
#ifndef TN_HOOKS_H
#define TN_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "spec.h"

/* Runs hooks in order. With `warn_only` (poststart, poststop) a failing hook is logged as a
 * warning and the next one still runs; otherwise the first failure is returned. */
int tn_hooks_run (const struct tn_hook *hooks, size_t n, enum tn_hook_kind kind, const char *state_json, bool warn_only, struct tn_error **err);

#endif

/* Running from a copy of the runtime binary nobody can write (sealed.c; CVE-2019-5736 class). */
#ifndef TN_SEALED_H
#define TN_SEALED_H

#include <stdbool.h>
#include "error.h"

/* Whether /proc/self/exe can be written by nobody: on a read-only mount, or a sealed memfd. */
bool tn_exe_protected (void);
/* Returns 0 when already running from a protected copy; otherwise executes one with `argv` and
 * the environment (a detached read-only bind mount, else a sealed memfd; does not return), or
 * fails. */
int tn_exec_protected (char **argv, struct tn_error **err);

#endif

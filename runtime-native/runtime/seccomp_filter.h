/* seccomp: linux.seccomp compiled with libseccomp into a classic BPF program in the runtime (so a
 * bad profile fails before any container exists), loaded by the container process with
 * seccomp(2) just before it runs the user's program. */
#ifndef TN_SECCOMP_FILTER_H
#define TN_SECCOMP_FILTER_H

#include <stddef.h>
#include "error.h"
#include "spec.h"

struct tn_seccomp_prog
{
  void *filter;       /* struct sock_filter[] */
  unsigned short len; /* number of instructions */
  unsigned flags;     /* SECCOMP_FILTER_FLAG_* */
};

int tn_seccomp_compile (const struct tn_seccomp *sc, struct tn_seccomp_prog *out, struct tn_error **err);
int tn_seccomp_load (const struct tn_seccomp_prog *p, struct tn_error **err);
void tn_seccomp_prog_free (struct tn_seccomp_prog *p);
/* libseccomp's version, "2.5.4". */
const char *tn_seccomp_version (void);
/* Identifies how this build compiles filters (the seccomp cache's key includes it). */
const char *tn_seccomp_build_tag (void);

#endif

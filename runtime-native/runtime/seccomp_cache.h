/* A cache of compiled seccomp filters under the runtime root (seccomp_cache.c): the same
 * linux.seccomp section is compiled once per runtime build and libseccomp version. */
#ifndef TN_SECCOMP_CACHE_H
#define TN_SECCOMP_CACHE_H

#include "seccomp_filter.h"

/* tn_seccomp_compile, through <root>/seccomp/ (root may be NULL: no cache). */
int tn_seccomp_compile_cached (const char *root, const struct tn_seccomp *sc, struct tn_seccomp_prog *out, struct tn_error **err);

#endif

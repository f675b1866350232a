/* A cache of compiled seccomp filters under the runtime root (seccomp_cache.c): the same
 * linux.seccomp section is compiled once per runtime build and libseccomp version. */
#ifndef TN_SECCOMP_CACHE_H
#define TN_SECCOMP_CACHE_H

#include "seccomp_filter.h"

/* The filter of a linux.seccomp section (`section`, as a configuration writes it), through
 * <root>/seccomp/ (root may be NULL: no cache): a hit needs no parsing of the profile at all; a miss
 * parses it (errors prefixed with `label`) and compiles it. */
int tn_seccomp_compile_json (const char *root, const struct tn_json *section, const char *label, struct tn_seccomp_prog *out, struct tn_error **err);

/* A compiled program with its flags, kept beside a container's state for `exec` (written through a
 * temporary name, so a reader sees a whole file or none). */
int tn_seccomp_prog_save (const char *dir, const char *name, const struct tn_seccomp_prog *p, struct tn_error **err);
/* 1 with the program in *out, 0 when dir/name does not exist, -1 when it cannot be read or is not a
 * program this runtime wrote. */
int tn_seccomp_prog_load (const char *dir, const char *name, struct tn_seccomp_prog *out, struct tn_error **err);

#endif

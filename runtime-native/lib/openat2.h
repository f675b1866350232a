/* openat2(2): path resolution the kernel keeps inside a root. Every binary that resolves a path
 * inside a container's or a layer's root (mount destinations, cwd, `docker cp`, layer unpacking)
 * goes through here, so a symlink or `..` in the image can never lead outside it. */
#ifndef TN_OPENAT2_H
#define TN_OPENAT2_H

#include <stdint.h>

/* The kernel's uapi header where the toolchain has it; musl (the monitor's libc) ships no kernel
 * headers, so the ABI's values (include/uapi/linux/openat2.h) are spelled out otherwise. */
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how
{
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif

/* openat2 with the given flags and RESOLVE_* bits, retried while the kernel says EAGAIN (a rename
 * raced the lookup). Returns the descriptor, or -1 with errno. */
int tn_openat2 (int dirfd, const char *path, int flags, uint64_t resolve);

/* Opens `path` (relative or absolute: "/" and "" mean the root itself) inside `rootfd`, with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS and O_CLOEXEC added to `flags`. */
int tn_open_beneath_root (int rootfd, const char *path, int flags);

#endif

#include "seccomp_filter.h"
#include "cleanup.h"
#include "log.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint32_t
to_scmp (int action, bool has_errno, uint32_t errno_ret)
{
  switch (action)
    {
    case TN_SCMP_KILL: return SCMP_ACT_KILL;
    case TN_SCMP_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
    case TN_SCMP_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
    case TN_SCMP_TRAP: return SCMP_ACT_TRAP;
    case TN_SCMP_ERRNO: return SCMP_ACT_ERRNO (has_errno ? errno_ret : EPERM);
    case TN_SCMP_TRACE: return SCMP_ACT_TRACE (has_errno ? errno_ret : EPERM);
    case TN_SCMP_LOG: return SCMP_ACT_LOG;
    case TN_SCMP_ALLOW:
    default: return SCMP_ACT_ALLOW;
    }
}

static void
release_ctx (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

int
tn_seccomp_compile (const struct tn_seccomp *sc, struct tn_seccomp_prog *out, struct tn_error **err)
{
  memset (out, 0, sizeof *out);
  uint32_t def = to_scmp (sc->default_action, sc->has_default_errno, sc->default_errno);
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = seccomp_init (def);
  if (ctx == NULL)
    return tn_error_new (err, "linux.seccomp: cannot initialise libseccomp");
  /* no_new_privs is the config's business (process.noNewPrivileges), not libseccomp's */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* a binary tree of the syscall numbers instead of a linear list: for Docker's default profile
   * ~4x fewer instructions run per syscall, and the kernel, which runs the filter for every syscall
   * number when it is loaded (to cache the always-allowed ones), loads it in a fraction of the time */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (size_t i = 0; i < sc->n_archs; i++)
    {
      uint32_t arch = seccomp_arch_resolve_name (sc->archs[i]);
      int r = seccomp_arch_add (ctx, arch);
      if (r < 0 && r != -EEXIST)
        return tn_error_sys (err, -r, "linux.seccomp.architectures[%zu]: add %s", i, sc->archs[i]);
    }
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      const struct tn_seccomp_rule *rule = &sc->rules[i];
      uint32_t act = to_scmp (rule->action, rule->has_errno, rule->errno_ret);
      if (act == def)
        continue; /* libseccomp refuses rules that repeat the default action; they change nothing */
      struct scmp_arg_cmp conds[24];
      unsigned count[6] = { 0 };
      bool repeated = false;
      for (size_t j = 0; j < rule->n_args; j++)
        {
          const struct tn_seccomp_arg *a = &rule->args[j];
          conds[j] = (struct scmp_arg_cmp) { .arg = a->index, .op = (enum scmp_compare) a->op, .datum_a = a->value, .datum_b = a->value_two };
          if (++count[a->index] > 1)
            repeated = true;
        }
      for (size_t n = 0; n < rule->n_names; n++)
        {
          int nr = seccomp_syscall_resolve_name (rule->names[n]);
          if (nr == __NR_SCMP_ERROR)
            {
              /* unknown to this libseccomp or architecture: skipped, as runc does */
              tn_log_debug ("linux.seccomp.syscalls[%zu]: unknown syscall \"%s\" skipped", i, rule->names[n]);
              continue;
            }
          int r;
          if (rule->n_args == 0)
            r = seccomp_rule_add_array (ctx, act, nr, 0, NULL);
          else if (!repeated)
            r = seccomp_rule_add_array (ctx, act, nr, (unsigned) rule->n_args, conds);
          else
            {
              /* several conditions on one argument cannot be ANDed in one libseccomp rule: each
               * condition becomes a rule of its own, as runc does */
              r = 0;
              for (size_t j = 0; j < rule->n_args && r == 0; j++)
                r = seccomp_rule_add_array (ctx, act, nr, 1, &conds[j]);
            }
          if (r < 0)
            return tn_error_sys (err, -r, "linux.seccomp.syscalls[%zu]: add a rule for \"%s\"", i, rule->names[n]);
        }
    }

  cleanup_close int fd = memfd_create ("seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return tn_error_sys (err, errno, "memfd_create");
  int r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return tn_error_sys (err, -r, "linux.seccomp: generate the filter");
  off_t size = lseek (fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t) sizeof (struct sock_filter) != 0 || size / (off_t) sizeof (struct sock_filter) > BPF_MAXINSNS)
    return tn_error_new (err, "linux.seccomp: the generated filter has an invalid size (%lld bytes)", (long long) size);
  out->filter = malloc ((size_t) size);
  if (out->filter == NULL)
    return tn_error_sys (err, ENOMEM, "seccomp filter");
  if (pread (fd, out->filter, (size_t) size, 0) != size)
    {
      int saved = errno;
      free (out->filter);
      out->filter = NULL;
      return tn_error_sys (err, saved, "read the seccomp filter");
    }
  out->len = (unsigned short) (size / (off_t) sizeof (struct sock_filter));
  out->flags = sc->flags;
  return 0;
}

int
tn_seccomp_load (const struct tn_seccomp_prog *p, struct tn_error **err)
{
  struct sock_fprog prog = { .len = p->len, .filter = p->filter };
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog) < 0)
    {
      /* a flag this kernel does not know: retry without the optional ones */
      if (errno == EINVAL && p->flags)
        {
          if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags & SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0)
            return 0;
        }
      return tn_error_sys (err, errno, "load the seccomp filter");
    }
  return 0;
}

void
tn_seccomp_prog_free (struct tn_seccomp_prog *p)
{
  free (p->filter);
  p->filter = NULL;
}

const char *
tn_seccomp_version (void)
{
  static char buf[32];
  const struct scmp_version *v = seccomp_version ();
  if (v == NULL)
    return "unknown";
  snprintf (buf, sizeof buf, "%u.%u.%u", v->major, v->minor, v->micro);
  return buf;
}

const char *
tn_seccomp_build_tag (void)
{
  /* this file holds the compiler of filters: rebuilt, it may compile differently */
  return __DATE__ " " __TIME__;
}

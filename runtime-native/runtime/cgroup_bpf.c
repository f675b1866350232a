/* cgroup v2 device filter: the device rules compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program
 * and attached to the container's cgroup directory.
 *
 * The rules follow v1's semantics: a rule of type "a" with wildcards and access rwm resets the
 * default (allow all / deny all) and drops earlier exceptions; every other rule is an exception,
 * and the last exception that matches a request decides it. An allow exception matches when the
 * requested access is a subset of its access; a deny exception when the two overlap, as the v1
 * devices controller does. The program tests the exceptions from last to first and falls through to
 * the default. */
#include "cgroup.h"
#include "cleanup.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static int
access_bits (const char *a)
{
  int bits = 0;
  for (; *a; a++)
    bits |= *a == 'm' ? BPF_DEVCG_ACC_MKNOD : *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : 0;
  return bits;
}

static bool
is_reset (const struct tn_dev_rule *r)
{
  return r->type == 'a' && r->major < 0 && r->minor < 0 && access_bits (r->access) == 7;
}

int
tn_devices_bpf_build (const struct tn_dev_rule *rules, size_t n, struct bpf_insn **out, size_t *len, struct tn_error **err)
{
  *out = NULL;
  *len = 0;
  bool default_allow = true;
  size_t first = 0;
  for (size_t i = 0; i < n; i++)
    if (is_reset (&rules[i]))
      {
        default_allow = rules[i].allow;
        first = i + 1;
      }
  bool any_deny = !default_allow;
  for (size_t i = first; i < n; i++)
    any_deny = any_deny || !rules[i].allow;
  if (!any_deny)
    return 0; /* everything is allowed: no program at all */

  /* 6 insns of prologue, at most 8 per rule, 2 of epilogue */
  size_t cap = 6 + (n - first) * 8 + 2;
  struct bpf_insn *p = calloc (cap, sizeof *p);
  if (p == NULL)
    return tn_error_sys (err, ENOMEM, "device filter");
  size_t k = 0;
  /* r2 = ctx->access_type; r3 = type (low 16 bits); r4 = access (high 16); r5 = major; r6 = minor */
  p[k++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
  p[k++] = INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
  p[k++] = INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xFFFF);
  p[k++] = INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
  p[k++] = INSN (BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_4, 0, 0, 16);
  p[k++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 4, 0);
  p[k++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_6, BPF_REG_1, 8, 0);

  for (size_t i = n; i-- > first;)
    {
      const struct tn_dev_rule *r = &rules[i];
      int acc = access_bits (r->access);
      /* the block's tests, then r0 = verdict; exit. Every test jumps past the block on mismatch. */
      struct bpf_insn block[8];
      size_t b = 0;
      int jumps[8];
      size_t nj = 0;
      if (r->type != 'a')
        {
          jumps[nj++] = (int) b;
          block[b++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
        }
      if (acc != 7)
        {
          block[b++] = INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_4, 0, 0);
          if (r->allow)
            {
              block[b++] = INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_7, 0, 0, ~acc & 7);
              jumps[nj++] = (int) b;
              block[b++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_7, 0, 0, 0);
            }
          else
            {
              block[b++] = INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_7, 0, 0, acc);
              jumps[nj++] = (int) b;
              block[b++] = INSN (BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_7, 0, 0, 0);
            }
        }
      if (r->major >= 0)
        {
          jumps[nj++] = (int) b;
          block[b++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) r->major);
        }
      if (r->minor >= 0)
        {
          jumps[nj++] = (int) b;
          block[b++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, (int32_t) r->minor);
        }
      block[b++] = INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
      block[b++] = INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      for (size_t j = 0; j < nj; j++)
        block[jumps[j]].off = (int16_t) (b - (size_t) jumps[j] - 1);
      memcpy (p + k, block, b * sizeof *block);
      k += b;
    }
  p[k++] = INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, default_allow ? 1 : 0);
  p[k++] = INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  *out = p;
  *len = k;
  return 0;
}

int
tn_devices_bpf_attach (int cgroup_fd, const struct bpf_insn *insns, size_t len, struct tn_error **err)
{
  static char license[] = "Apache-2.0";
  union bpf_attr attr;
  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) insns;
  attr.insn_cnt = (uint32_t) len;
  attr.license = (uint64_t) (uintptr_t) license;
  cleanup_close int prog = (int) syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog < 0)
    {
      int saved = errno;
      /* load once more with the verifier's log, to say why */
      char *log = calloc (1, 16384);
      if (log)
        {
          attr.log_buf = (uint64_t) (uintptr_t) log;
          attr.log_size = 16384;
          attr.log_level = 1;
          int again = (int) syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
          if (again >= 0)
            close (again);
          for (char *c = log; *c; c++)
            if (*c == '\n')
              *c = ' ';
        }
      tn_error_sys (err, saved, "load the device filter (BPF_PROG_LOAD)%s%s", log && log[0] ? ": " : "", log ? log : "");
      free (log);
      return -1;
    }
  memset (&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t) cgroup_fd;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall (SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
    return tn_error_sys (err, errno, "attach the device filter to the cgroup (BPF_PROG_ATTACH)");
  return 0;
}

/* cgroup v2: linux.resources written into the container's one directory of the unified hierarchy,
 * with runc's conversions (cpu shares → cpu.weight, blkio weight → io.weight, memory+swap →
 * memory.swap.max). Devices are an eBPF program: cgroup_bpf.c. */
#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long long
tn_cgroup_shares_to_weight (unsigned long long shares)
{
  /* cpu.shares spans [2, 262144], cpu.weight [1, 10000]: a linear map of one onto the other */
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

unsigned long long
tn_cgroup_blkio_to_io_weight (unsigned long long weight)
{
  /* blkio.weight spans [10, 1000], io.weight [1, 10000] */
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  return 1 + (weight - 10) * 9999 / 990;
}

static int
put (int dirfd, const char *file, const char *value, struct tn_error **err)
{
  return tn_write_file_at (dirfd, file, value, err);
}

static bool
exists (int dirfd, const char *file)
{
  return faccessat (dirfd, file, F_OK, 0) == 0;
}

/* "max" for -1 (unlimited), the number otherwise. */
static void
limit_text (int64_t v, char *buf, size_t size)
{
  if (v < 0)
    snprintf (buf, size, "max");
  else
    snprintf (buf, size, "%" PRId64, v);
}

int
tn_cgroup_v2_enable_controllers (int dirfd, const char *available, struct tn_error **err)
{
  struct tn_buf all = { 0 };
  cleanup_free char *copy = strdup (available);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "cgroup controllers");
  for (char *save = NULL, *c = strtok_r (copy, " \n", &save); c; c = strtok_r (NULL, " \n", &save))
    tn_buf_printf (&all, "%s+%s", all.len ? " " : "", c);
  if (all.len == 0)
    {
      tn_buf_free (&all);
      return 0;
    }
  struct tn_error *e = NULL;
  if (all.data && put (dirfd, "cgroup.subtree_control", all.data, &e) == 0)
    {
      tn_buf_free (&all);
      return 0;
    }
  tn_error_free (&e);
  /* one at a time: a controller that cannot be enabled here (e.g. a threaded subtree) must not
   * keep the others off; a resource that then needs it fails with its own error */
  char *save = NULL;
  for (char *c = strtok_r (all.data, " ", &save); c; c = strtok_r (NULL, " ", &save))
    if (put (dirfd, "cgroup.subtree_control", c, &e) < 0)
      {
        tn_log_debug ("enable cgroup controller %s: %s", c + 1, tn_error_text (e));
        tn_error_free (&e);
      }
  tn_buf_free (&all);
  return 0;
}

static int
apply_memory (int fd, const struct tn_resources *r, struct tn_error **err)
{
  char buf[32];
  if (r->has_mem_limit && r->mem_limit != 0)
    {
      limit_text (r->mem_limit, buf, sizeof buf);
      if (put (fd, "memory.max", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.memory.limit");
    }
  /* v1's memory+swap becomes v2's swap alone */
  int64_t limit = r->has_mem_limit ? r->mem_limit : 0;
  int64_t swap = r->has_mem_swap ? r->mem_swap : 0;
  bool set_swap = true;
  int64_t swap_v2 = 0;
  if (limit == -1 && swap == 0)
    swap_v2 = -1; /* unlimited memory and no swap figure: unlimited swap too */
  else if (swap == -1)
    swap_v2 = -1;
  else if (swap == 0)
    set_swap = false;
  else if (limit <= 0)
    return tn_error_new (err, "linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2");
  else if (swap < limit)
    return tn_error_new (err, "linux.resources.memory.swap: memory+swap %" PRId64 " is below the memory limit %" PRId64, swap, limit);
  else
    swap_v2 = swap - limit;
  if (set_swap)
    {
      if (!exists (fd, "memory.swap.max"))
        {
          if (swap_v2 != -1)
            tn_log_warn ("linux.resources.memory.swap: swap accounting is not enabled in this kernel; ignored");
        }
      else
        {
          limit_text (swap_v2, buf, sizeof buf);
          if (put (fd, "memory.swap.max", buf, err) < 0)
            return tn_error_wrap (err, "linux.resources.memory.swap");
        }
    }
  if (r->has_mem_reservation && r->mem_reservation != 0)
    {
      limit_text (r->mem_reservation, buf, sizeof buf);
      if (put (fd, "memory.low", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.memory.reservation");
    }
  if (r->has_swappiness)
    tn_log_warn ("linux.resources.memory.swappiness: not available on cgroup v2; ignored");
  if (r->has_disable_oom_killer && r->disable_oom_killer)
    tn_log_warn ("linux.resources.memory.disableOOMKiller: not available on cgroup v2; ignored");
  if ((r->has_mem_kernel && r->mem_kernel != 0) || (r->has_mem_kernel_tcp && r->mem_kernel_tcp != 0))
    tn_log_warn ("linux.resources.memory.kernel/kernelTCP: not available on cgroup v2; ignored");
  return 0;
}

static int
apply_cpu (int fd, const struct tn_resources *r, struct tn_error **err)
{
  char buf[64];
  if (r->has_cpu_shares && r->cpu_shares != 0)
    {
      snprintf (buf, sizeof buf, "%llu", tn_cgroup_shares_to_weight (r->cpu_shares));
      if (put (fd, "cpu.weight", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.cpu.shares");
    }
  bool quota = r->has_cpu_quota && r->cpu_quota != 0;
  bool period = r->has_cpu_period && r->cpu_period != 0;
  if (quota || period)
    {
      int n;
      if (quota && r->cpu_quota > 0)
        n = snprintf (buf, sizeof buf, "%" PRId64, r->cpu_quota);
      else
        n = snprintf (buf, sizeof buf, "max");
      if (period)
        snprintf (buf + n, sizeof buf - (size_t) n, " %" PRIu64, r->cpu_period);
      if (put (fd, "cpu.max", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.cpu.quota/period");
    }
  if (r->has_cpu_burst)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, r->cpu_burst);
      if (put (fd, "cpu.max.burst", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.cpu.burst");
    }
  if (r->has_cpu_idle)
    {
      snprintf (buf, sizeof buf, "%" PRId64, r->cpu_idle);
      if (put (fd, "cpu.idle", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.cpu.idle");
    }
  if ((r->has_rt_runtime && r->rt_runtime != 0) || (r->has_rt_period && r->rt_period != 0))
    return tn_error_new (err, "linux.resources.cpu.realtimeRuntime/realtimePeriod: not available on cgroup v2");
  if (r->cpus && put (fd, "cpuset.cpus", r->cpus, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.cpus");
  if (r->mems && put (fd, "cpuset.mems", r->mems, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.mems");
  return 0;
}

static int
apply_io (int fd, const struct tn_resources *r, struct tn_error **err)
{
  char buf[128];
  bool bfq = exists (fd, "io.bfq.weight");
  if (r->has_blkio_weight && r->blkio_weight != 0)
    {
      /* BFQ takes blkio's range as is; io.weight needs the conversion */
      if (bfq)
        snprintf (buf, sizeof buf, "%u", r->blkio_weight);
      else
        snprintf (buf, sizeof buf, "%llu", tn_cgroup_blkio_to_io_weight (r->blkio_weight));
      if (put (fd, bfq ? "io.bfq.weight" : "io.weight", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.blockIO.weight");
    }
  if (r->has_blkio_leaf_weight && r->blkio_leaf_weight != 0)
    return tn_error_new (err, "linux.resources.blockIO.leafWeight: not available on cgroup v2");
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct tn_weight_device *d = &r->weight_devices[i];
      if (d->has_leaf_weight)
        return tn_error_new (err, "linux.resources.blockIO.weightDevice[%zu].leafWeight: not available on cgroup v2", i);
      if (!d->has_weight)
        continue;
      snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %llu", d->major, d->minor,
                bfq ? (unsigned long long) d->weight : tn_cgroup_blkio_to_io_weight (d->weight));
      if (put (fd, bfq ? "io.bfq.weight" : "io.weight", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.blockIO.weightDevice[%zu]", i);
    }
  static const char *const keys[4] = { "rbps", "wbps", "riops", "wiops" };
  static const char *const names[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < r->n_throttle[t]; i++)
      {
        const struct tn_throttle_device *d = &r->throttle[t][i];
        if (d->rate == 0)
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %s=max", d->major, d->minor, keys[t]);
        else
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor, keys[t], d->rate);
        if (put (fd, "io.max", buf, err) < 0)
          return tn_error_wrap (err, "linux.resources.blockIO.%s[%zu]", names[t], i);
      }
  return 0;
}

int
tn_cgroup_v2_apply (int fd, const struct tn_resources *r, struct tn_error **err)
{
  char buf[256];
  if (apply_memory (fd, r, err) < 0 || apply_cpu (fd, r, err) < 0)
    return -1;
  if (r->has_pids_limit)
    {
      limit_text (r->pids_limit <= 0 ? -1 : r->pids_limit, buf, sizeof buf);
      if (put (fd, "pids.max", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.pids.limit");
    }
  if (apply_io (fd, r, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_hugepages; i++)
    {
      char file[128];
      snprintf (file, sizeof file, "hugetlb.%s.max", r->hugepages[i].page_size);
      snprintf (buf, sizeof buf, "%" PRIu64, r->hugepages[i].limit);
      if (put (fd, file, buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.hugepageLimits[%zu]", i);
    }
  if (r->has_net_class_id || r->n_net_priorities)
    return tn_error_new (err, "linux.resources.network: net_cls/net_prio are not available on cgroup v2");
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      snprintf (buf, sizeof buf, "%s %s", r->rdma[i].key, r->rdma[i].value);
      if (put (fd, "rdma.max", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.rdma.%s", r->rdma[i].key);
    }
  for (size_t i = 0; i < r->n_unified; i++)
    if (put (fd, r->unified[i].key, r->unified[i].value, err) < 0)
      return tn_error_wrap (err, "linux.resources.unified.%s", r->unified[i].key);
  return 0;
}

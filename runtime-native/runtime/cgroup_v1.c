/* cgroup v1: linux.resources written into the per-controller hierarchies. */
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

static int
need (int fd, const char *controller, const char *what, struct tn_error **err)
{
  if (fd >= 0)
    return 0;
  return tn_error_new (err, "linux.resources.%s: the %s cgroup controller is not available", what, controller);
}

static int
put (int dirfd, const char *file, const char *value, struct tn_error **err)
{
  if (tn_write_file_at (dirfd, file, value, err) < 0)
    return -1;
  return 0;
}

static int
put_i64 (int dirfd, const char *file, int64_t v, struct tn_error **err)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%" PRId64, v);
  return put (dirfd, file, buf, err);
}

static int
put_u64 (int dirfd, const char *file, uint64_t v, struct tn_error **err)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%" PRIu64, v);
  return put (dirfd, file, buf, err);
}

static bool
exists (int dirfd, const char *file)
{
  return faccessat (dirfd, file, F_OK, 0) == 0;
}

static int
apply_memory (int fd, const struct tn_resources *r, struct tn_error **err)
{
  if (!(r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap || r->has_mem_kernel || r->has_mem_kernel_tcp
        || r->has_swappiness || (r->has_disable_oom_killer && r->disable_oom_killer)))
    return 0;
  if (need (fd, "memory", "memory", err) < 0)
    return -1;
  /* memory.memsw.limit_in_bytes (memory+swap) must never be below memory.limit_in_bytes: when the
   * new limit is above the current memsw, raise memsw first */
  bool swap_first = false;
  if (r->has_mem_swap && r->has_mem_limit && exists (fd, "memory.memsw.limit_in_bytes"))
    {
      cleanup_close int f = openat (fd, "memory.memsw.limit_in_bytes", O_RDONLY | O_CLOEXEC);
      char buf[32] = "";
      if (f >= 0 && read (f, buf, sizeof buf - 1) > 0)
        {
          unsigned long long cur = strtoull (buf, NULL, 10);
          if (r->mem_limit == -1 || (unsigned long long) r->mem_limit > cur)
            swap_first = true;
        }
    }
  if (r->has_mem_swap && swap_first && put_i64 (fd, "memory.memsw.limit_in_bytes", r->mem_swap, err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.swap");
  if (r->has_mem_limit && r->mem_limit != 0 && put_i64 (fd, "memory.limit_in_bytes", r->mem_limit, err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.limit");
  if (r->has_mem_swap && !swap_first && r->mem_swap != 0)
    {
      if (!exists (fd, "memory.memsw.limit_in_bytes"))
        tn_log_warn ("linux.resources.memory.swap: swap accounting is not enabled in this kernel; ignored");
      else if (put_i64 (fd, "memory.memsw.limit_in_bytes", r->mem_swap, err) < 0)
        return tn_error_wrap (err, "linux.resources.memory.swap");
    }
  if (r->has_mem_reservation && r->mem_reservation != 0 && put_i64 (fd, "memory.soft_limit_in_bytes", r->mem_reservation, err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.reservation");
  if (r->has_mem_kernel && r->mem_kernel != 0)
    {
      struct tn_error *e = NULL;
      if (put_i64 (fd, "memory.kmem.limit_in_bytes", r->mem_kernel, &e) < 0)
        {
          /* deprecated and refused by current kernels: runc ignores it too */
          tn_log_warn ("linux.resources.memory.kernel: %s; ignored", tn_error_text (e));
          tn_error_free (&e);
        }
    }
  if (r->has_mem_kernel_tcp && r->mem_kernel_tcp != 0 && put_i64 (fd, "memory.kmem.tcp.limit_in_bytes", r->mem_kernel_tcp, err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.kernelTCP");
  if (r->has_swappiness && put_u64 (fd, "memory.swappiness", r->swappiness, err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.swappiness");
  if (r->has_disable_oom_killer && r->disable_oom_killer && put (fd, "memory.oom_control", "1", err) < 0)
    return tn_error_wrap (err, "linux.resources.memory.disableOOMKiller");
  return 0;
}

static int
apply_cpu (const struct tn_cgroup_v1_fds *fds, const struct tn_resources *r, struct tn_error **err)
{
  int fd = fds->cpu;
  if (r->has_cpu_shares || r->has_cpu_period || r->has_cpu_quota || r->has_cpu_burst || r->has_rt_period || r->has_rt_runtime || r->has_cpu_idle)
    if (need (fd, "cpu", "cpu", err) < 0)
      return -1;
  if (r->has_cpu_shares && r->cpu_shares != 0 && put_u64 (fd, "cpu.shares", r->cpu_shares, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.shares");
  if (r->has_cpu_period && r->cpu_period != 0 && put_u64 (fd, "cpu.cfs_period_us", r->cpu_period, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.period");
  if (r->has_cpu_quota && r->cpu_quota != 0 && put_i64 (fd, "cpu.cfs_quota_us", r->cpu_quota, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.quota");
  if (r->has_cpu_burst && put_u64 (fd, "cpu.cfs_burst_us", r->cpu_burst, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.burst");
  if (r->has_rt_period && r->rt_period != 0 && put_u64 (fd, "cpu.rt_period_us", r->rt_period, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.realtimePeriod");
  if (r->has_rt_runtime && r->rt_runtime != 0 && put_i64 (fd, "cpu.rt_runtime_us", r->rt_runtime, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.realtimeRuntime");
  if (r->has_cpu_idle && put_i64 (fd, "cpu.idle", r->cpu_idle, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.idle");
  if (r->cpus || r->mems)
    if (need (fds->cpuset, "cpuset", r->cpus ? "cpu.cpus" : "cpu.mems", err) < 0)
      return -1;
  if (r->cpus && put (fds->cpuset, "cpuset.cpus", r->cpus, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.cpus");
  if (r->mems && put (fds->cpuset, "cpuset.mems", r->mems, err) < 0)
    return tn_error_wrap (err, "linux.resources.cpu.mems");
  return 0;
}

static int
apply_blkio (int fd, const struct tn_resources *r, struct tn_error **err)
{
  bool any = r->has_blkio_weight || r->has_blkio_leaf_weight || r->n_weight_devices;
  for (int t = 0; t < 4; t++)
    any = any || r->n_throttle[t];
  if (!any)
    return 0;
  if (need (fd, "blkio", "blockIO", err) < 0)
    return -1;
  /* blkio.weight is CFQ's; with BFQ the file is blkio.bfq.weight; neither exists with other
   * schedulers, and then only an actual request for a weight is an error */
  const char *wfile = exists (fd, "blkio.weight") ? "blkio.weight" : exists (fd, "blkio.bfq.weight") ? "blkio.bfq.weight" : NULL;
  const char *wdfile = exists (fd, "blkio.weight_device") ? "blkio.weight_device" : exists (fd, "blkio.bfq.weight_device") ? "blkio.bfq.weight_device" : NULL;
  if (r->has_blkio_weight && r->blkio_weight != 0)
    {
      if (wfile == NULL)
        return tn_error_new (err, "linux.resources.blockIO.weight: no blkio.weight or blkio.bfq.weight in this kernel (I/O scheduler without weights)");
      if (put_u64 (fd, wfile, r->blkio_weight, err) < 0)
        return tn_error_wrap (err, "linux.resources.blockIO.weight");
    }
  if (r->has_blkio_leaf_weight && r->blkio_leaf_weight != 0)
    {
      if (!exists (fd, "blkio.leaf_weight"))
        return tn_error_new (err, "linux.resources.blockIO.leafWeight: blkio.leaf_weight does not exist in this kernel");
      if (put_u64 (fd, "blkio.leaf_weight", r->blkio_leaf_weight, err) < 0)
        return tn_error_wrap (err, "linux.resources.blockIO.leafWeight");
    }
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct tn_weight_device *d = &r->weight_devices[i];
      char buf[64];
      if (d->has_weight)
        {
          if (wdfile == NULL)
            return tn_error_new (err, "linux.resources.blockIO.weightDevice[%zu]: no blkio.weight_device in this kernel", i);
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %u", d->major, d->minor, d->weight);
          if (put (fd, wdfile, buf, err) < 0)
            return tn_error_wrap (err, "linux.resources.blockIO.weightDevice[%zu]", i);
        }
      if (d->has_leaf_weight)
        {
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %u", d->major, d->minor, d->leaf_weight);
          if (put (fd, "blkio.leaf_weight_device", buf, err) < 0)
            return tn_error_wrap (err, "linux.resources.blockIO.weightDevice[%zu].leafWeight", i);
        }
    }
  static const char *const files[4] = { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" };
  static const char *const names[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < r->n_throttle[t]; i++)
      {
        char buf[64];
        snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %" PRIu64, r->throttle[t][i].major, r->throttle[t][i].minor, r->throttle[t][i].rate);
        if (put (fd, files[t], buf, err) < 0)
          return tn_error_wrap (err, "linux.resources.blockIO.%s[%zu]", names[t], i);
      }
  return 0;
}

/* One device rule in v1 syntax: "a", or "c 1:3 rwm" with '*' for wildcards. */
static void
rule_text (const struct tn_dev_rule *d, char *buf, size_t size)
{
  if (d->type == 'a')
    {
      snprintf (buf, size, "a");
      return;
    }
  char maj[24], min[24];
  if (d->major < 0)
    snprintf (maj, sizeof maj, "*");
  else
    snprintf (maj, sizeof maj, "%" PRId64, d->major);
  if (d->minor < 0)
    snprintf (min, sizeof min, "*");
  else
    snprintf (min, sizeof min, "%" PRId64, d->minor);
  snprintf (buf, size, "%c %s:%s %s", d->type, maj, min, d->access);
}

static int
apply_devices (int fd, const struct tn_dev_rule *rules, size_t n, struct tn_error **err)
{
  if (n == 0)
    return 0;
  if (fd < 0)
    {
      /* without the devices controller nothing is filtered; only explicit denials matter */
      for (size_t i = 0; i < n; i++)
        if (!rules[i].allow)
          return tn_error_new (err, "linux.resources.devices: the devices cgroup controller is not available");
      return 0;
    }
  /* one descriptor per file: every write(2) is one rule */
  cleanup_close int allow = openat (fd, "devices.allow", O_WRONLY | O_CLOEXEC);
  cleanup_close int deny = openat (fd, "devices.deny", O_WRONLY | O_CLOEXEC);
  if (allow < 0 || deny < 0)
    return tn_error_sys (err, errno, "open devices.allow/devices.deny");
  for (size_t i = 0; i < n; i++)
    {
      char buf[64];
      rule_text (&rules[i], buf, sizeof buf);
      int target = rules[i].allow ? allow : deny;
      if (tn_write_all (target, buf, strlen (buf)) < 0)
        return tn_error_sys (err, errno, "linux.resources.devices: write \"%s\" to %s", buf, rules[i].allow ? "devices.allow" : "devices.deny");
    }
  return 0;
}

int
tn_cgroup_v1_apply (const struct tn_cgroup_v1_fds *fds, const struct tn_resources *r, const struct tn_dev_rule *rules, size_t n_rules, struct tn_error **err)
{
  if (apply_memory (fds->memory, r, err) < 0)
    return -1;
  if (apply_cpu (fds, r, err) < 0)
    return -1;
  if (r->has_pids_limit)
    {
      if (need (fds->pids, "pids", "pids", err) < 0)
        return -1;
      if (r->pids_limit <= 0 ? put (fds->pids, "pids.max", "max", err) < 0 : put_i64 (fds->pids, "pids.max", r->pids_limit, err) < 0)
        return tn_error_wrap (err, "linux.resources.pids.limit");
    }
  if (apply_blkio (fds->blkio, r, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_hugepages; i++)
    {
      char file[128];
      if (need (fds->hugetlb, "hugetlb", "hugepageLimits", err) < 0)
        return -1;
      snprintf (file, sizeof file, "hugetlb.%s.limit_in_bytes", r->hugepages[i].page_size);
      if (put_u64 (fds->hugetlb, file, r->hugepages[i].limit, err) < 0)
        return tn_error_wrap (err, "linux.resources.hugepageLimits[%zu]", i);
    }
  if (r->has_net_class_id)
    {
      if (need (fds->net_cls, "net_cls", "network.classID", err) < 0)
        return -1;
      if (put_u64 (fds->net_cls, "net_cls.classid", r->net_class_id, err) < 0)
        return tn_error_wrap (err, "linux.resources.network.classID");
    }
  for (size_t i = 0; i < r->n_net_priorities; i++)
    {
      char buf[128];
      if (need (fds->net_prio, "net_prio", "network.priorities", err) < 0)
        return -1;
      snprintf (buf, sizeof buf, "%s %s", r->net_priorities[i].key, r->net_priorities[i].value);
      if (put (fds->net_prio, "net_prio.ifpriomap", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.network.priorities[%zu]", i);
    }
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      char buf[256];
      if (need (fds->rdma, "rdma", "rdma", err) < 0)
        return -1;
      snprintf (buf, sizeof buf, "%s %s", r->rdma[i].key, r->rdma[i].value);
      if (put (fds->rdma, "rdma.max", buf, err) < 0)
        return tn_error_wrap (err, "linux.resources.rdma.%s", r->rdma[i].key);
    }
  if (r->n_unified)
    return tn_error_new (err, "linux.resources.unified: requires cgroup v2 (this host runs cgroup v1)");
  return apply_devices (fds->devices, rules, n_rules, err);
}

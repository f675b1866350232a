#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int
tn_cgroup_detect_mode (void)
{
  static int cached;
  if (cached)
    return cached;
  struct statfs st;
  if (statfs (TN_CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    cached = TN_CGROUP_V2;
  else
    cached = TN_CGROUP_V1;
  return cached;
}

/* Normalises an absolute cgroup path: collapses "//" and ".", refuses "..". */
static int
clean_path (const char *in, char **out, struct tn_error **err)
{
  struct tn_buf b = { 0 };
  const char *p = in;
  while (*p)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      size_t n = strcspn (p, "/");
      if (n == 1 && p[0] == '.')
        {
          p += n;
          continue;
        }
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          tn_buf_free (&b);
          return tn_error_new (err, "linux.cgroupsPath: \"%s\" must not contain \"..\"", in);
        }
      tn_buf_add (&b, "/", 1);
      tn_buf_add (&b, p, n);
      p += n;
    }
  if (b.len == 0)
    tn_buf_add (&b, "/", 1);
  *out = tn_buf_steal (&b);
  if (*out == NULL)
    return tn_error_sys (err, ENOMEM, "cgroup path");
  return 0;
}

static char *
join_path (const char *a, const char *b)
{
  char *out = NULL;
  if (strcmp (b, "/") == 0)
    return strdup (a);
  if (asprintf (&out, "%s%s", a, b) < 0)
    return NULL;
  return out;
}

/* The mount point of a v1 hierarchy named by its /proc/self/cgroup controllers field. */
static char *
v1_mount_point (const char *controllers)
{
  const char *name = controllers;
  if (strncmp (name, "name=", 5) == 0)
    name += 5;
  char *path = NULL;
  if (asprintf (&path, TN_CGROUP_ROOT "/%s", name) < 0)
    return NULL;
  struct statfs st;
  if (statfs (path, &st) == 0 && st.f_type == CGROUP_SUPER_MAGIC)
    return path;
  free (path);

  /* not at the conventional place: look it up in mountinfo */
  cleanup_file FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return NULL;
  cleanup_free char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    {
      char *sep = strstr (line, " - ");
      if (sep == NULL || strncmp (sep + 3, "cgroup ", 7) != 0)
        continue;
      /* super options are the last field */
      char *opts = strrchr (sep, ' ');
      if (opts == NULL)
        continue;
      opts++;
      opts[strcspn (opts, "\n")] = '\0';
      /* every controller of the hierarchy must appear among the options */
      bool all = true;
      cleanup_free char *copy = strdup (controllers);
      if (copy == NULL)
        return NULL;
      for (char *save = NULL, *c = strtok_r (copy, ",", &save); c; c = strtok_r (NULL, ",", &save))
        {
          bool found = false;
          cleanup_free char *o2 = strdup (opts);
          if (o2 == NULL)
            return NULL;
          for (char *s2 = NULL, *o = strtok_r (o2, ",", &s2); o; o = strtok_r (NULL, ",", &s2))
            if (strcmp (o, c) == 0)
              found = true;
          all = all && found;
        }
      if (!all)
        continue;
      /* mount point: fifth field */
      char *fields[5];
      char *s = line;
      for (int i = 0; i < 5; i++)
        {
          fields[i] = s;
          s = strchr (s, ' ');
          if (s == NULL)
            break;
          *s++ = '\0';
        }
      if (s)
        return strdup (fields[4]);
    }
  return NULL;
}

int
tn_cgroup_resolve (struct tn_cgroup *cg, const char *cgroups_path, const char *id, struct tn_error **err)
{
  memset (cg, 0, sizeof *cg);
  cg->mode = tn_cgroup_detect_mode ();
  bool absolute = cgroups_path && cgroups_path[0] == '/';
  if (cgroups_path && !absolute && strchr (cgroups_path, ':'))
    return tn_error_new (err, "linux.cgroupsPath: \"%s\": the systemd form slice:prefix:name is not supported (no systemd cgroup driver)", cgroups_path);
  cleanup_free char *rel = NULL;
  if (absolute)
    {
      if (clean_path (cgroups_path, &cg->path, err) < 0)
        return -1;
      if (strcmp (cg->path, "/") == 0)
        return tn_error_new (err, "linux.cgroupsPath: the root cgroup cannot be a container's cgroup");
    }
  else
    {
      cleanup_free char *tmp = NULL;
      if (asprintf (&tmp, "/%s", cgroups_path && cgroups_path[0] ? cgroups_path : id) < 0)
        return tn_error_sys (err, ENOMEM, "cgroup path");
      if (clean_path (tmp, &rel, err) < 0)
        return -1;
    }

  cleanup_free char *self = NULL;
  if (tn_read_file ("/proc/self/cgroup", &self, NULL, err) < 0)
    return tn_error_wrap (err, "find the runtime's cgroup");

  size_t cap = 0;
  for (char *save = NULL, *line = strtok_r (self, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL)
        continue;
      *c1 = *c2 = '\0';
      const char *controllers = c1 + 1;
      const char *own = c2 + 1;
      bool v2_line = strcmp (line, "0") == 0 && controllers[0] == '\0';
      /* v1 hosts in "hybrid" mode also have the unified hierarchy (no controllers) at
       * /sys/fs/cgroup/unified: the container gets a cgroup there too, as with runc */
      bool hybrid = false;
      if (cg->mode == TN_CGROUP_V1 && v2_line)
        {
          struct statfs sf;
          if (statfs (TN_CGROUP_ROOT "/unified", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
            continue;
          hybrid = true;
        }
      else if (cg->mode == TN_CGROUP_V2 ? !v2_line : (v2_line || controllers[0] == '\0'))
        continue;
      if (cg->n == cap)
        {
          cap = cap ? cap * 2 : 16;
          struct tn_cgroup_dir *d = realloc (cg->dirs, cap * sizeof *d);
          if (d == NULL)
            return tn_error_sys (err, ENOMEM, "cgroup");
          cg->dirs = d;
        }
      struct tn_cgroup_dir *d = &cg->dirs[cg->n];
      memset (d, 0, sizeof *d);
      cg->n++;
      d->controllers = strdup (controllers);
      d->mount = cg->mode == TN_CGROUP_V2 ? strdup (TN_CGROUP_ROOT) : hybrid ? strdup (TN_CGROUP_ROOT "/unified") : v1_mount_point (controllers);
      if (d->controllers == NULL)
        return tn_error_sys (err, ENOMEM, "cgroup");
      if (d->mount == NULL)
        {
          /* a hierarchy that is not mounted anywhere we can see: skip it */
          free (d->controllers);
          cg->n--;
          continue;
        }
      cleanup_free char *full = NULL;
      if (absolute)
        full = strdup (cg->path);
      else
        {
          cleanup_free char *joined = NULL;
          if (asprintf (&joined, "%s%s", strcmp (own, "/") == 0 ? "" : own, rel) < 0)
            return tn_error_sys (err, ENOMEM, "cgroup");
          if (clean_path (joined, &full, err) < 0)
            return -1;
          if (cg->path == NULL)
            cg->path = strdup (full);
        }
      if (full == NULL || (d->dir = join_path (d->mount, full)) == NULL)
        return tn_error_sys (err, ENOMEM, "cgroup");
    }
  if (cg->n == 0)
    return tn_error_new (err, "no cgroup hierarchy is mounted under " TN_CGROUP_ROOT);
  /* /proc/self/cgroup lists the hierarchies from the highest id down: keep the kernel's order,
   * with the unified one of a hybrid host last */
  if (cg->mode == TN_CGROUP_V1)
    {
      struct tn_cgroup_dir *sorted = calloc (cg->n, sizeof *sorted);
      if (sorted == NULL)
        return tn_error_sys (err, ENOMEM, "cgroup");
      size_t k = 0;
      for (size_t i = cg->n; i-- > 0;)
        if (cg->dirs[i].controllers[0])
          sorted[k++] = cg->dirs[i];
      for (size_t i = 0; i < cg->n; i++)
        if (!cg->dirs[i].controllers[0])
          sorted[k++] = cg->dirs[i];
      memcpy (cg->dirs, sorted, cg->n * sizeof *sorted);
      free (sorted);
    }
  if (cg->path == NULL)
    cg->path = strdup ("/");
  return 0;
}

void
tn_cgroup_free (struct tn_cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      free (cg->dirs[i].controllers);
      free (cg->dirs[i].mount);
      free (cg->dirs[i].dir);
    }
  free (cg->dirs);
  free (cg->path);
  memset (cg, 0, sizeof *cg);
}

static bool
has_controller (const char *list, const char *name)
{
  size_t n = strlen (name);
  for (const char *p = list; p && *p;)
    {
      size_t len = strcspn (p, ",");
      if (len == n && strncmp (p, name, n) == 0)
        return true;
      p += len;
      if (*p == ',')
        p++;
    }
  return false;
}

const char *
tn_cgroup_v1_dir (const struct tn_cgroup *cg, const char *controller)
{
  if (cg->mode != TN_CGROUP_V1)
    return NULL;
  for (size_t i = 0; i < cg->n; i++)
    if (has_controller (cg->dirs[i].controllers, controller))
      return cg->dirs[i].dir;
  return NULL;
}

/* cpuset (v1): a new cgroup starts with empty cpus and mems and accepts no task until they are
 * set; copy the parent's. */
static int
cpuset_inherit (const char *dir, struct tn_error **err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  /* `dir` was just made, so both are empty: the parent's values, read once, written once */
  char parent[4096];
  snprintf (parent, sizeof parent, "%s", dir);
  char *slash = strrchr (parent, '/');
  if (slash == NULL)
    return 0;
  *slash = '\0';
  cleanup_close int pfd = open (parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0 || dfd < 0)
    return tn_error_sys (err, errno, "open `%s`", pfd < 0 ? parent : dir);
  for (int i = 0; i < 2; i++)
    {
      char val[4096];
      cleanup_close int f = openat (pfd, files[i], O_RDONLY | O_CLOEXEC);
      ssize_t n = f < 0 ? -1 : read (f, val, sizeof val - 1);
      if (n < 0)
        return tn_error_sys (err, errno, "read `%s/%s`", parent, files[i]);
      val[n] = '\0';
      if (tn_write_file_at (dfd, files[i], val, err) < 0)
        return tn_error_wrap (err, "%s", dir);
    }
  return 0;
}

/* mkdir -p of dir below mount, counting how many components were created. */
static int
make_dirs (struct tn_cgroup_dir *d, bool cpuset, struct tn_error **err)
{
  size_t base = strlen (d->mount);
  cleanup_free char *copy = strdup (d->dir);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "cgroup");
  d->created = 0;
  for (char *p = copy + base + 1; ; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char saved = *p;
      *p = '\0';
      if (mkdir (copy, 0755) == 0)
        {
          d->created++;
          if (cpuset && cpuset_inherit (copy, err) < 0)
            return -1;
        }
      else if (errno != EEXIST)
        return tn_error_sys (err, errno, "mkdir `%s`", copy);
      else
        d->created = 0;
      *p = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}

static int
remove_dirs (struct tn_cgroup_dir *d, bool parents, struct tn_error **err)
{
  if (d->created <= 0)
    return 0;
  if (!parents)
    d->created = 1;
  cleanup_free char *copy = strdup (d->dir);
  if (copy == NULL)
    return tn_error_sys (err, ENOMEM, "cgroup");
  for (int level = 0; level < d->created; level++)
    {
      int tries = 0;
      for (;;)
        {
          if (rmdir (copy) == 0 || errno == ENOENT)
            break;
          if (level > 0 && (errno == ENOTEMPTY || errno == EBUSY))
            return 0; /* a parent still shared with another container */
          if (errno == EBUSY && tries++ < 200)
            {
              /* processes that are exiting leave the cgroup shortly */
              struct timespec ts = { 0, 1000000 };
              nanosleep (&ts, NULL);
              continue;
            }
          return tn_error_sys (err, errno, "rmdir `%s`", copy);
        }
      char *slash = strrchr (copy, '/');
      if (slash == NULL || (size_t) (slash - copy) <= strlen (d->mount))
        break;
      *slash = '\0';
    }
  d->created = 0;
  return 0;
}

int
tn_cgroup_destroy (struct tn_cgroup *cg, bool parents, struct tn_error **err)
{
  int ret = 0;
  for (size_t i = 0; i < cg->n; i++)
    {
      struct tn_error *e = NULL;
      if (remove_dirs (&cg->dirs[i], parents, &e) < 0)
        {
          if (ret == 0)
            {
              if (err && *err == NULL)
                *err = e;
              else
                tn_error_free (&e);
              ret = -1;
            }
          else
            tn_error_free (&e);
        }
    }
  return ret;
}

static int
open_dir (const char *path)
{
  return open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int
tn_cgroup_device_rules (const struct tn_spec *spec, struct tn_dev_rule **out, size_t *n, struct tn_error **err)
{
  static const struct tn_dev_rule defaults[] = {
    { true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
    { true, 'c', 1, 3, "rwm" },   /* null */
    { true, 'c', 1, 8, "rwm" },   /* random */
    { true, 'c', 1, 7, "rwm" },   /* full */
    { true, 'c', 5, 0, "rwm" },   /* tty */
    { true, 'c', 5, 1, "rwm" },   /* console */
    { true, 'c', 1, 5, "rwm" },   /* zero */
    { true, 'c', 1, 9, "rwm" },   /* urandom */
    { true, 'c', 136, -1, "rwm" }, /* pts */
    { true, 'c', 5, 2, "rwm" },   /* ptmx */
  };
  const struct tn_resources *r = &spec->lx.resources;
  size_t nd = sizeof defaults / sizeof defaults[0];
  size_t total = r->n_devices + spec->lx.n_devices + nd;
  struct tn_dev_rule *rules = calloc (total, sizeof *rules);
  if (rules == NULL)
    return tn_error_sys (err, ENOMEM, "device rules");
  size_t k = 0;
  for (size_t i = 0; i < r->n_devices; i++)
    rules[k++] = r->devices[i];
  for (size_t i = 0; i < spec->lx.n_devices; i++)
    {
      const struct tn_device *d = &spec->lx.devices[i];
      if (d->type == 'p')
        continue;
      rules[k] = (struct tn_dev_rule) { true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm" };
      k++;
    }
  for (size_t i = 0; i < nd; i++)
    rules[k++] = defaults[i];
  *out = rules;
  *n = k;
  return 0;
}

int
tn_cgroup_make (struct tn_cgroup *cg, struct tn_error **err)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      if (cg->dirs[i].made)
        continue;
      if (make_dirs (&cg->dirs[i], cg->mode == TN_CGROUP_V1 && has_controller (cg->dirs[i].controllers, "cpuset"), err) < 0)
        {
          tn_cgroup_destroy (cg, true, NULL);
          return -1;
        }
      cg->dirs[i].made = true;
    }
  return 0;
}

int
tn_cgroup_create (struct tn_cgroup *cg, const struct tn_spec *spec, struct tn_error **err)
{
  cleanup_free struct tn_dev_rule *rules = NULL;
  size_t n_rules = 0;
  if (tn_cgroup_make (cg, err) < 0)
    return -1;

  if (tn_cgroup_device_rules (spec, &rules, &n_rules, err) < 0)
    goto fail;

  if (cg->mode == TN_CGROUP_V1)
    {
      struct tn_cgroup_v1_fds fds;
      int *slots[] = { &fds.cpu, &fds.cpuacct, &fds.cpuset, &fds.memory, &fds.devices, &fds.freezer, &fds.blkio, &fds.pids, &fds.hugetlb, &fds.net_cls, &fds.net_prio, &fds.rdma };
      static const char *const names[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls", "net_prio", "rdma" };
      for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        {
          const char *dir = tn_cgroup_v1_dir (cg, names[i]);
          *slots[i] = dir ? open_dir (dir) : -1;
        }
      int ret = tn_cgroup_v1_apply (&fds, &spec->lx.resources, rules, n_rules, err);
      for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (*slots[i] >= 0)
          close (*slots[i]);
      if (ret < 0)
        goto fail;
    }
  else
    {
      struct tn_cgroup_dir *d = &cg->dirs[0];
      /* enable every available controller from the root down to the container's parent */
      cleanup_free char *available = NULL;
      char path[4096];
      snprintf (path, sizeof path, "%s/cgroup.controllers", d->mount);
      if (tn_read_file (path, &available, NULL, err) < 0)
        goto fail;
      cleanup_free char *walk = strdup (d->dir);
      if (walk == NULL)
        {
          tn_error_sys (err, ENOMEM, "cgroup");
          goto fail;
        }
      size_t base = strlen (d->mount);
      for (char *p = walk + base; *p; p++)
        {
          if (*p != '/')
            continue;
          *p = '\0';
          cleanup_close int fd = open_dir (p == walk + base ? d->mount : walk);
          *p = '/';
          if (fd < 0)
            {
              tn_error_sys (err, errno, "open `%s`", walk);
              goto fail;
            }
          if (tn_cgroup_v2_enable_controllers (fd, available, err) < 0)
            goto fail;
        }
      /* a real descriptor, not O_PATH: BPF_PROG_ATTACH needs one */
      cleanup_close int dfd = open (d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        {
          tn_error_sys (err, errno, "open `%s`", d->dir);
          goto fail;
        }
      if (tn_cgroup_v2_apply (dfd, &spec->lx.resources, err) < 0)
        goto fail;
      cleanup_free struct bpf_insn *prog = NULL;
      size_t len = 0;
      if (tn_devices_bpf_build (rules, n_rules, &prog, &len, err) < 0)
        goto fail;
      if (prog && tn_devices_bpf_attach (dfd, prog, len, err) < 0)
        goto fail;
    }
  return 0;

fail:
  tn_cgroup_destroy (cg, true, NULL);
  return -1;
}

int
tn_cgroup_make_unified (struct tn_cgroup *cg, struct tn_error **err)
{
  for (size_t i = 0; i < cg->n; i++)
    if (cg->mode == TN_CGROUP_V1 && cg->dirs[i].controllers[0] == '\0' && !cg->dirs[i].made)
      {
        if (make_dirs (&cg->dirs[i], false, err) < 0)
          return -1;
        cg->dirs[i].made = true;
      }
  return 0;
}

int
tn_cgroup_enter (const struct tn_cgroup *cg, pid_t pid, bool skip_unified, struct tn_error **err)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%d", (int) pid);
  for (size_t i = 0; i < cg->n; i++)
    {
      if (skip_unified && (cg->mode == TN_CGROUP_V2 || cg->dirs[i].controllers[0] == '\0'))
        continue;
      cleanup_close int fd = open_dir (cg->dirs[i].dir);
      if (fd < 0)
        return tn_error_sys (err, errno, "open `%s`", cg->dirs[i].dir);
      if (tn_write_file_at (fd, "cgroup.procs", buf, err) < 0)
        return tn_error_wrap (err, "join cgroup `%s`", cg->dirs[i].dir);
    }
  return 0;
}

int
tn_cgroup_enter_self (const struct tn_cgroup *cg, struct tn_error **err)
{
  const char *file = cg->mode == TN_CGROUP_V1 ? "tasks" : "cgroup.procs";
  for (size_t i = 0; i < cg->n; i++)
    {
      if (cg->mode == TN_CGROUP_V1 && cg->dirs[i].controllers[0] == '\0')
        continue; /* the unified hierarchy of a hybrid host: born in it (clone3) */
      char path[4096];
      snprintf (path, sizeof path, "%s/%s", cg->dirs[i].dir, file);
      if (tn_write_file_at (AT_FDCWD, path, "0", err) < 0)
        return tn_error_wrap (err, "join cgroup `%s`", cg->dirs[i].dir);
    }
  return 0;
}

int
tn_cgroup_open_fd (const struct tn_cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    if (cg->mode == TN_CGROUP_V2 || cg->dirs[i].controllers[0] == '\0')
      return open (cg->dirs[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return -1;
}

/* The directory whose cgroup.procs lists the container's processes. */
static const char *
procs_dir (const struct tn_cgroup *cg)
{
  if (cg->mode == TN_CGROUP_V1)
    {
      const char *d = tn_cgroup_v1_dir (cg, "freezer");
      if (d == NULL)
        d = tn_cgroup_v1_dir (cg, "pids");
      if (d)
        return d;
    }
  return cg->n ? cg->dirs[0].dir : NULL;
}

int
tn_cgroup_pids (const struct tn_cgroup *cg, pid_t **out, size_t *n, struct tn_error **err)
{
  const char *dir = procs_dir (cg);
  *out = NULL;
  *n = 0;
  if (dir == NULL)
    return 0;
  char path[4096];
  snprintf (path, sizeof path, "%s/cgroup.procs", dir);
  cleanup_free char *data = NULL;
  if (tn_read_file (path, &data, NULL, err) < 0)
    return -1;
  size_t cap = 0;
  for (char *save = NULL, *l = strtok_r (data, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      if (*n == cap)
        {
          cap = cap ? cap * 2 : 16;
          pid_t *p = realloc (*out, cap * sizeof *p);
          if (p == NULL)
            {
              free (*out);
              *out = NULL;
              return tn_error_sys (err, ENOMEM, "pids");
            }
          *out = p;
        }
      (*out)[(*n)++] = (pid_t) atoi (l);
    }
  return 0;
}

int
tn_cgroup_is_frozen (const struct tn_cgroup *cg)
{
  char path[4096];
  cleanup_free char *data = NULL;
  if (cg->mode == TN_CGROUP_V1)
    {
      const char *d = tn_cgroup_v1_dir (cg, "freezer");
      if (d == NULL)
        return -1;
      snprintf (path, sizeof path, "%s/freezer.state", d);
      if (tn_read_file (path, &data, NULL, NULL) < 0)
        return -1;
      return strncmp (data, "FROZEN", 6) == 0 ? 1 : 0;
    }
  if (cg->n == 0)
    return -1;
  snprintf (path, sizeof path, "%s/cgroup.events", cg->dirs[0].dir);
  if (tn_read_file (path, &data, NULL, NULL) < 0)
    return -1;
  const char *f = strstr (data, "frozen ");
  return f && f[7] == '1' ? 1 : 0;
}

int
tn_cgroup_freeze (const struct tn_cgroup *cg, bool freeze, struct tn_error **err)
{
  const char *dir;
  const char *file, *value;
  if (cg->mode == TN_CGROUP_V1)
    {
      dir = tn_cgroup_v1_dir (cg, "freezer");
      if (dir == NULL)
        return tn_error_new (err, "the freezer cgroup controller is not mounted");
      file = "freezer.state";
      value = freeze ? "FROZEN" : "THAWED";
    }
  else
    {
      dir = cg->dirs[0].dir;
      file = "cgroup.freeze";
      value = freeze ? "1" : "0";
    }
  cleanup_close int fd = open_dir (dir);
  if (fd < 0)
    return tn_error_sys (err, errno, "open `%s`", dir);
  /* a v1 freeze can stay in FREEZING while tasks are in uninterruptible sleep: retry */
  for (int i = 0; i < 1000; i++)
    {
      if (tn_write_file_at (fd, file, value, err) < 0)
        return tn_error_wrap (err, "%s", dir);
      int state = tn_cgroup_is_frozen (cg);
      if (state < 0 || state == (freeze ? 1 : 0))
        return 0;
      struct timespec ts = { 0, 1000000 };
      nanosleep (&ts, NULL);
    }
  return tn_error_new (err, "%s the cgroup `%s`: timed out", freeze ? "freeze" : "thaw", dir);
}

int
tn_cgroup_kill_all (const struct tn_cgroup *cg, int sig, struct tn_error **err)
{
  if (cg->mode == TN_CGROUP_V2 && sig == SIGKILL && cg->n)
    {
      cleanup_close int fd = open_dir (cg->dirs[0].dir);
      if (fd >= 0 && faccessat (fd, "cgroup.kill", W_OK, 0) == 0)
        {
          if (tn_write_file_at (fd, "cgroup.kill", "1", err) < 0)
            return tn_error_wrap (err, "%s", cg->dirs[0].dir);
          return 0;
        }
    }
  /* freeze so no process forks a child we would miss, signal, thaw */
  bool frozen = tn_cgroup_freeze (cg, true, NULL) == 0;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;
  int ret = tn_cgroup_pids (cg, &pids, &n, err);
  if (ret == 0)
    for (size_t i = 0; i < n; i++)
      if (kill (pids[i], sig) < 0 && errno != ESRCH)
        {
          ret = tn_error_sys (err, errno, "kill %d", (int) pids[i]);
          break;
        }
  if (frozen)
    tn_cgroup_freeze (cg, false, NULL);
  return ret;
}

void
tn_cgroup_to_json (const struct tn_cgroup *cg, struct tn_jw *w)
{
  tn_jw_begin_object (w);
  tn_jw_kv_int (w, "mode", cg->mode);
  tn_jw_kv_string (w, "path", cg->path ? cg->path : "");
  tn_jw_key (w, "dirs");
  tn_jw_begin_array (w);
  for (size_t i = 0; i < cg->n; i++)
    {
      tn_jw_begin_object (w);
      tn_jw_kv_string (w, "controllers", cg->dirs[i].controllers);
      tn_jw_kv_string (w, "mount", cg->dirs[i].mount);
      tn_jw_kv_string (w, "dir", cg->dirs[i].dir);
      tn_jw_kv_int (w, "created", cg->dirs[i].created);
      tn_jw_end_object (w);
    }
  tn_jw_end_array (w);
  tn_jw_end_object (w);
}

int
tn_cgroup_from_json (struct tn_cgroup *cg, const struct tn_json *v, struct tn_error **err)
{
  memset (cg, 0, sizeof *cg);
  int64_t mode = 0;
  const struct tn_json *m = tn_json_get (v, "mode");
  const struct tn_json *p = tn_json_get (v, "path");
  const struct tn_json *dirs = tn_json_get (v, "dirs");
  if (m == NULL || tn_json_to_int64 (m, &mode) < 0 || p == NULL || p->type != TN_JSON_STRING || dirs == NULL || dirs->type != TN_JSON_ARRAY)
    return tn_error_new (err, "state.json: invalid cgroup record");
  cg->mode = (int) mode;
  cg->path = strdup (p->text);
  cg->dirs = calloc (dirs->n + 1, sizeof *cg->dirs);
  if (cg->path == NULL || cg->dirs == NULL)
    return tn_error_sys (err, ENOMEM, "state.json");
  for (size_t i = 0; i < dirs->n; i++)
    {
      const struct tn_json *c = tn_json_get (dirs->items[i], "controllers");
      const struct tn_json *mt = tn_json_get (dirs->items[i], "mount");
      const struct tn_json *d = tn_json_get (dirs->items[i], "dir");
      const struct tn_json *cr = tn_json_get (dirs->items[i], "created");
      int64_t created = 0;
      if (c == NULL || c->type != TN_JSON_STRING || mt == NULL || mt->type != TN_JSON_STRING || d == NULL || d->type != TN_JSON_STRING
          || cr == NULL || tn_json_to_int64 (cr, &created) < 0)
        return tn_error_new (err, "state.json: invalid cgroup record");
      cg->dirs[i].controllers = strdup (c->text);
      cg->dirs[i].mount = strdup (mt->text);
      cg->dirs[i].dir = strdup (d->text);
      cg->dirs[i].created = (int) created;
      cg->n++;
    }
  return 0;
}

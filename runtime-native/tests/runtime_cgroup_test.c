/* The cgroup writers, run against temporary directories standing in for cgroup directories (so
 * the v2 code is exercised on a v1 host), and the v2 device filter: the generated BPF program is
 * run by a small interpreter here, and — when the host has a cgroup2 hierarchy at all — loaded,
 * attached and tested against real device opens by the kernel. */
#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "runtime_test.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static char tmpdir[] = "/tmp/tn-cgroup-test-XXXXXX";

static int
make_dir (const char *name, const char *const *files)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  mkdir (path, 0755);
  for (const char *const *f = files; f && *f; f++)
    {
      char fp[1024];
      snprintf (fp, sizeof fp, "%s/%s", path, *f);
      int fd = open (fp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd >= 0)
        close (fd);
    }
  return open (path, O_PATH | O_DIRECTORY);
}

static char *
slurp (const char *dir, const char *file)
{
  char path[1024];
  snprintf (path, sizeof path, "%s/%s/%s", tmpdir, dir, file);
  char *data = NULL;
  struct tn_error *e = NULL;
  if (tn_read_file (path, &data, NULL, &e) < 0)
    {
      tn_error_free (&e);
      return NULL;
    }
  return data;
}

static struct tn_spec *
spec_with_resources (const char *resources_json)
{
  char doc[4096];
  snprintf (doc, sizeof doc,
            "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"resources\":%s}}",
            resources_json);
  struct tn_spec *s = NULL;
  struct tn_error *e = NULL;
  if (tn_spec_parse (doc, strlen (doc), "config.json", &s, &e) < 0)
    {
      fprintf (stderr, "spec: %s\n", tn_error_text (e));
      tn_error_free (&e);
      return NULL;
    }
  return s;
}

static void
test_conversions (void)
{
  CHECK (tn_cgroup_shares_to_weight (2) == 1);
  CHECK (tn_cgroup_shares_to_weight (1024) == 39);
  CHECK (tn_cgroup_shares_to_weight (262144) == 10000);
  CHECK (tn_cgroup_shares_to_weight (0) == 0);
  CHECK (tn_cgroup_blkio_to_io_weight (10) == 1);
  CHECK (tn_cgroup_blkio_to_io_weight (500) == 4950);
  CHECK (tn_cgroup_blkio_to_io_weight (1000) == 10000);
}

static void
test_v2 (void)
{
  static const char *const files[] = {
    "memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle",
    "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "cgroup.subtree_control",
    "memory.high", "rdma.max", NULL,
  };
  struct tn_spec *s = spec_with_resources (
    "{\"memory\":{\"limit\":268435456,\"reservation\":134217728,\"swap\":536870912},"
    "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"burst\":1000,\"idle\":1,\"cpus\":\"0-1\",\"mems\":\"0\"},"
    "\"pids\":{\"limit\":77},\"blockIO\":{\"weight\":500,\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":600}]},"
    "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":1048576}],\"unified\":{\"memory.high\":\"300000000\"},"
    "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}}}");
  CHECK (s != NULL);
  if (s == NULL)
    return;
  int fd = make_dir ("v2", files);
  struct tn_error *e = NULL;
  int r = tn_cgroup_v2_apply (fd, &s->lx.resources, &e);
  if (r < 0)
    fprintf (stderr, "v2 apply: %s\n", tn_error_text (e));
  CHECK (r == 0);
  tn_error_free (&e);
  struct
  {
    const char *file, *want;
  } expect[] = {
    { "memory.max", "268435456" }, { "memory.swap.max", "268435456" }, { "memory.low", "134217728" },
    { "cpu.weight", "39" }, { "cpu.max", "50000 100000" }, { "cpu.max.burst", "1000" }, { "cpu.idle", "1" },
    { "cpuset.cpus", "0-1" }, { "cpuset.mems", "0" }, { "pids.max", "77" }, { "io.weight", "4950" },
    { "io.max", "8:0 rbps=600" }, { "hugetlb.2MB.max", "1048576" }, { "memory.high", "300000000" },
    { "rdma.max", "mlx5_1 hca_handle=3 hca_object=10000" },
  };
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
    {
      cleanup_free char *got = slurp ("v2", expect[i].file);
      if (got == NULL || strcmp (got, expect[i].want) != 0)
        fprintf (stderr, "v2 %s: got \"%s\", want \"%s\"\n", expect[i].file, got ? got : "(none)", expect[i].want);
      CHECK (got && strcmp (got, expect[i].want) == 0);
    }
  /* the controllers the parent levels enable */
  CHECK (tn_cgroup_v2_enable_controllers (fd, "cpuset cpu io memory pids\n", &e) == 0);
  cleanup_free char *sub = slurp ("v2", "cgroup.subtree_control");
  CHECK_STR (sub, "+cpuset +cpu +io +memory +pids");
  close (fd);
  tn_spec_free (s);

  /* unlimited memory: "max" for both, and swap follows; a quota without a period keeps the
   * kernel's period */
  s = spec_with_resources ("{\"memory\":{\"limit\":-1},\"cpu\":{\"quota\":-1},\"pids\":{\"limit\":0}}");
  fd = make_dir ("v2b", files);
  CHECK (tn_cgroup_v2_apply (fd, &s->lx.resources, &e) == 0);
  cleanup_free char *mm = slurp ("v2b", "memory.max");
  cleanup_free char *sm = slurp ("v2b", "memory.swap.max");
  cleanup_free char *cm = slurp ("v2b", "cpu.max");
  cleanup_free char *pm = slurp ("v2b", "pids.max");
  CHECK_STR (mm, "max");
  CHECK_STR (sm, "max");
  CHECK_STR (cm, "max");
  CHECK_STR (pm, "max");
  close (fd);
  tn_spec_free (s);

  /* swap without a memory limit cannot be expressed on v2; realtime cpu is v1 only */
  s = spec_with_resources ("{\"memory\":{\"swap\":1000}}");
  fd = make_dir ("v2c", files);
  CHECK (tn_cgroup_v2_apply (fd, &s->lx.resources, &e) < 0);
  CHECK_HAS (e ? tn_error_text (e) : NULL, "linux.resources.memory.swap");
  tn_error_free (&e);
  tn_spec_free (s);
  s = spec_with_resources ("{\"cpu\":{\"realtimeRuntime\":1000}}");
  CHECK (tn_cgroup_v2_apply (fd, &s->lx.resources, &e) < 0);
  tn_error_free (&e);
  tn_spec_free (s);
  /* a file the kernel does not have names the field */
  s = spec_with_resources ("{\"unified\":{\"nosuch.file\":\"1\"}}");
  CHECK (tn_cgroup_v2_apply (fd, &s->lx.resources, &e) < 0);
  CHECK_HAS (e ? tn_error_text (e) : NULL, "linux.resources.unified.nosuch.file");
  tn_error_free (&e);
  tn_spec_free (s);
  close (fd);
}

static void
test_v1 (void)
{
  static const char *const mem[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control", NULL };
  static const char *const cpu[] = { "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", NULL };
  static const char *const cpuset[] = { "cpuset.cpus", "cpuset.mems", NULL };
  static const char *const pids[] = { "pids.max", NULL };
  static const char *const dev[] = { "devices.allow", "devices.deny", NULL };
  static const char *const blkio_bfq[] = { "blkio.bfq.weight", "blkio.throttle.read_bps_device", NULL };
  static const char *const blkio_none[] = { "blkio.throttle.read_bps_device", NULL };
  struct tn_cgroup_v1_fds fds = {
    .cpu = make_dir ("cpu", cpu), .cpuacct = -1, .cpuset = make_dir ("cpuset", cpuset), .memory = make_dir ("memory", mem),
    .devices = make_dir ("devices", dev), .freezer = -1, .blkio = make_dir ("blkio", blkio_bfq), .pids = make_dir ("pids", pids),
    .hugetlb = -1, .net_cls = -1, .net_prio = -1, .rdma = -1,
  };
  struct tn_spec *s = spec_with_resources (
    "{\"memory\":{\"limit\":268435456,\"reservation\":134217728,\"swap\":536870912,\"swappiness\":10,\"disableOOMKiller\":true},"
    "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0\"},\"pids\":{\"limit\":77},\"blockIO\":{\"weight\":300},"
    "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]}");
  CHECK (s != NULL);
  if (s == NULL)
    return;
  struct tn_dev_rule *rules = NULL;
  size_t n = 0;
  struct tn_error *e = NULL;
  CHECK (tn_cgroup_device_rules (s, &rules, &n, &e) == 0);
  int r = tn_cgroup_v1_apply (&fds, &s->lx.resources, rules, n, &e);
  if (r < 0)
    fprintf (stderr, "v1 apply: %s\n", tn_error_text (e));
  CHECK (r == 0);
  tn_error_free (&e);
  struct
  {
    const char *dir, *file, *want;
  } expect[] = {
    { "memory", "memory.limit_in_bytes", "268435456" }, { "memory", "memory.memsw.limit_in_bytes", "536870912" },
    { "memory", "memory.soft_limit_in_bytes", "134217728" }, { "memory", "memory.swappiness", "10" },
    { "memory", "memory.oom_control", "1" }, { "cpu", "cpu.shares", "512" }, { "cpu", "cpu.cfs_quota_us", "50000" },
    { "cpu", "cpu.cfs_period_us", "100000" }, { "cpuset", "cpuset.cpus", "0" }, { "pids", "pids.max", "77" },
    { "blkio", "blkio.bfq.weight", "300" },
    /* every rule is its own write(2): in a plain file they run together */
    { "devices", "devices.deny", "a" },
    { "devices", "devices.allow", "c 10:229 rwc *:* mb *:* mc 1:3 rwmc 1:8 rwmc 1:7 rwmc 5:0 rwmc 5:1 rwmc 1:5 rwmc 1:9 rwmc 136:* rwmc 5:2 rwm" },
  };
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
    {
      cleanup_free char *got = slurp (expect[i].dir, expect[i].file);
      if (got == NULL || strcmp (got, expect[i].want) != 0)
        fprintf (stderr, "v1 %s/%s: got \"%s\", want \"%s\"\n", expect[i].dir, expect[i].file, got ? got : "(none)", expect[i].want);
      CHECK (got && strcmp (got, expect[i].want) == 0);
    }
  free (rules);
  tn_spec_free (s);

  /* no weight file at all (no CFQ, no BFQ): an error only when a weight is asked for */
  close (fds.blkio);
  fds.blkio = make_dir ("blkio2", blkio_none);
  s = spec_with_resources ("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":600}]}}");
  CHECK (tn_cgroup_v1_apply (&fds, &s->lx.resources, NULL, 0, &e) == 0);
  tn_spec_free (s);
  s = spec_with_resources ("{\"blockIO\":{\"weight\":300}}");
  CHECK (tn_cgroup_v1_apply (&fds, &s->lx.resources, NULL, 0, &e) < 0);
  CHECK_HAS (e ? tn_error_text (e) : NULL, "linux.resources.blockIO.weight");
  tn_error_free (&e);
  tn_spec_free (s);
  /* unified is v2 only; a controller that is not mounted names itself */
  s = spec_with_resources ("{\"unified\":{\"memory.high\":\"1\"}}");
  CHECK (tn_cgroup_v1_apply (&fds, &s->lx.resources, NULL, 0, &e) < 0);
  tn_error_free (&e);
  tn_spec_free (s);
  s = spec_with_resources ("{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":1}]}");
  CHECK (tn_cgroup_v1_apply (&fds, &s->lx.resources, NULL, 0, &e) < 0);
  CHECK_HAS (e ? tn_error_text (e) : NULL, "hugetlb");
  tn_error_free (&e);
  tn_spec_free (s);
  int *all[] = { &fds.cpu, &fds.cpuset, &fds.memory, &fds.devices, &fds.blkio, &fds.pids };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    close (*all[i]);
}

/* ---- a tiny interpreter for the instructions tn_devices_bpf_build emits ---- */

static int
bpf_run (const struct bpf_insn *p, size_t len, char type, unsigned major, unsigned minor, const char *access)
{
  uint32_t ctx[3];
  unsigned acc = 0;
  for (const char *a = access; *a; a++)
    acc |= *a == 'm' ? BPF_DEVCG_ACC_MKNOD : *a == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
  ctx[0] = (acc << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  ctx[1] = major;
  ctx[2] = minor;
  uint64_t r[11] = { 0 };
  size_t pc = 0;
  while (pc < len)
    {
      const struct bpf_insn *i = &p[pc++];
      switch (i->code)
        {
        case BPF_LDX | BPF_MEM | BPF_W: r[i->dst_reg] = ctx[i->off / 4]; break;
        case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = (uint64_t) (int64_t) i->imm; break;
        case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= (uint64_t) (int64_t) i->imm; break;
        case BPF_ALU64 | BPF_RSH | BPF_K: r[i->dst_reg] >>= i->imm; break;
        case BPF_JMP | BPF_JNE | BPF_K: if (r[i->dst_reg] != (uint64_t) (int64_t) i->imm) pc += i->off; break;
        case BPF_JMP | BPF_JEQ | BPF_K: if (r[i->dst_reg] == (uint64_t) (int64_t) i->imm) pc += i->off; break;
        case BPF_JMP | BPF_EXIT: return (int) r[0];
        default:
          fprintf (stderr, "bpf: unexpected instruction 0x%x\n", i->code);
          return -1;
        }
    }
  fprintf (stderr, "bpf: fell off the end\n");
  return -1;
}

static void
build (const char *resources, struct bpf_insn **prog, size_t *len)
{
  struct tn_spec *s = spec_with_resources (resources);
  struct tn_dev_rule *rules = NULL;
  size_t n = 0;
  struct tn_error *e = NULL;
  *prog = NULL;
  *len = 0;
  if (s && tn_cgroup_device_rules (s, &rules, &n, &e) == 0)
    CHECK (tn_devices_bpf_build (rules, n, prog, len, &e) == 0);
  free (rules);
  tn_spec_free (s);
}

static void
test_bpf_program (void)
{
  struct bpf_insn *p;
  size_t len;
  /* runc's default: deny everything, then the default device set */
  build ("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]}", &p, &len);
  CHECK (p != NULL);
  CHECK (bpf_run (p, len, 'c', 1, 3, "rw") == 1);    /* /dev/null */
  CHECK (bpf_run (p, len, 'c', 1, 9, "r") == 1);     /* /dev/urandom */
  CHECK (bpf_run (p, len, 'c', 136, 7, "rw") == 1);  /* a pts */
  CHECK (bpf_run (p, len, 'c', 5, 2, "rw") == 1);    /* ptmx */
  CHECK (bpf_run (p, len, 'c', 10, 229, "rw") == 1); /* fuse, allowed rw by the config */
  CHECK (bpf_run (p, len, 'c', 10, 229, "m") == 1);  /* mknod of any char device */
  CHECK (bpf_run (p, len, 'b', 8, 0, "m") == 1);     /* mknod of any block device */
  CHECK (bpf_run (p, len, 'b', 8, 0, "r") == 0);     /* but no reading a disk */
  CHECK (bpf_run (p, len, 'c', 10, 200, "rw") == 0); /* tun: not in the set */
  CHECK (bpf_run (p, len, 'c', 4, 1, "w") == 0);     /* a host tty */
  free (p);

  /* no deny at all: no program */
  build ("{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}", &p, &len);
  CHECK (p == NULL);
  free (p);

  /* allow everything but writing /dev/tty1 (c 4:1); the last matching rule decides */
  build ("{\"devices\":[{\"allow\":true,\"access\":\"rwm\"},{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"w\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"w\"},{\"allow\":false,\"type\":\"c\",\"major\":4,\"minor\":1,\"access\":\"w\"}]}", &p, &len);
  CHECK (p != NULL);
  CHECK (bpf_run (p, len, 'c', 4, 1, "r") == 1);
  CHECK (bpf_run (p, len, 'c', 4, 1, "w") == 0);
  CHECK (bpf_run (p, len, 'c', 4, 1, "rw") == 0); /* a deny matches any overlap */
  CHECK (bpf_run (p, len, 'c', 1, 5, "w") == 1);  /* re-allowed by the later rule */
  CHECK (bpf_run (p, len, 'b', 7, 0, "rw") == 1);
  free (p);

  /* a deny-all after allows resets them */
  build ("{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":4,\"minor\":1,\"access\":\"rw\"},{\"allow\":false,\"access\":\"rwm\"}]}", &p, &len);
  CHECK (bpf_run (p, len, 'c', 4, 1, "r") == 0);
  CHECK (bpf_run (p, len, 'c', 1, 3, "r") == 1); /* the default set comes after */
  free (p);
}

/* Loads and attaches the program to a cgroup2 directory, puts a child in it and checks that the
 * kernel applies it to real opens. Skipped (with a note) where no cgroup2 hierarchy exists. */
static void
test_bpf_kernel (void)
{
  const char *base = NULL;
  struct statfs st;
  if (statfs ("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    base = "/sys/fs/cgroup";
  else if (statfs ("/sys/fs/cgroup/unified", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    base = "/sys/fs/cgroup/unified";
  if (base == NULL || geteuid () != 0)
    {
      printf ("note: no cgroup2 hierarchy (or not root): the kernel part of the device filter test is skipped\n");
      return;
    }
  char dir[256];
  snprintf (dir, sizeof dir, "%s/tn-bpf-test-%d", base, (int) getpid ());
  CHECK (mkdir (dir, 0755) == 0);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK (dfd >= 0);
  struct bpf_insn *p;
  size_t len;
  build ("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"}]}", &p, &len);
  struct tn_error *e = NULL;
  int r = tn_devices_bpf_attach (dfd, p, len, &e);
  if (r < 0)
    fprintf (stderr, "attach: %s\n", tn_error_text (e));
  CHECK (r == 0);
  tn_error_free (&e);
  free (p);
  int pipefd[2];
  CHECK (pipe (pipefd) == 0);
  pid_t pid = fork ();
  if (pid == 0)
    {
      char procs[300], me[16];
      snprintf (procs, sizeof procs, "%s/cgroup.procs", dir);
      snprintf (me, sizeof me, "%d", (int) getpid ());
      int f = open (procs, O_WRONLY);
      if (f < 0 || write (f, me, strlen (me)) < 0)
        _exit (10);
      close (f);
      char result[3] = "??";
      int a = open ("/dev/null", O_RDWR);
      int b = open ("/dev/zero", O_RDONLY);
      int c = open ("/dev/full", O_RDONLY);
      result[0] = a >= 0 ? 'y' : 'n';
      result[1] = b >= 0 ? 'y' : (errno == EPERM ? 'n' : '?');
      if (write (pipefd[1], result, 2) < 0 || write (pipefd[1], c >= 0 ? "y" : "n", 1) < 0)
        _exit (11);
      _exit (0);
    }
  close (pipefd[1]);
  char got[4] = "";
  ssize_t n = read (pipefd[0], got, 3);
  close (pipefd[0]);
  int status = 0;
  waitpid (pid, &status, 0);
  CHECK (n == 3);
  /* the config's deny of /dev/zero comes before the default set, which allows it again (runc's
   * order: the defaults are appended), so all three open */
  if (n == 3 && strcmp (got, "yyy") != 0)
    fprintf (stderr, "device filter in the kernel: got %s, want yyy\n", got);
  CHECK (n == 3 && strcmp (got, "yyy") == 0);
  close (dfd);
  rmdir (dir);

  /* and a denial the defaults do not undo: a block device read */
  CHECK (mkdir (dir, 0755) == 0);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  build ("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}", &p, &len);
  CHECK (tn_devices_bpf_attach (dfd, p, len, &e) == 0);
  tn_error_free (&e);
  free (p);
  CHECK (pipe (pipefd) == 0);
  pid = fork ();
  if (pid == 0)
    {
      char procs[300], me[16];
      snprintf (procs, sizeof procs, "%s/cgroup.procs", dir);
      snprintf (me, sizeof me, "%d", (int) getpid ());
      int f = open (procs, O_WRONLY);
      if (f < 0 || write (f, me, strlen (me)) < 0)
        _exit (10);
      close (f);
      /* /dev/tty0 (c 4:0) is not in the default set */
      int a = open ("/dev/tty0", O_RDONLY | O_NOCTTY | O_NONBLOCK);
      char c = a >= 0 ? 'y' : errno == EPERM ? 'n' : (errno == ENOENT ? 's' : '?');
      if (write (pipefd[1], &c, 1) < 0)
        _exit (11);
      _exit (0);
    }
  close (pipefd[1]);
  char one = 0;
  n = read (pipefd[0], &one, 1);
  close (pipefd[0]);
  waitpid (pid, &status, 0);
  if (one != 's')
    CHECK (n == 1 && one == 'n');
  close (dfd);
  rmdir (dir);
}

int
main (void)
{
  if (mkdtemp (tmpdir) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  test_conversions ();
  test_v2 ();
  test_v1 ();
  test_bpf_program ();
  test_bpf_kernel ();
  char cmd[600];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    fprintf (stderr, "could not remove %s\n", tmpdir);
  return tn_test_done ();
}

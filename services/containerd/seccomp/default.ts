/**
 * tersane's default seccomp profile: the same filter as Docker's default profile (moby's
 * profiles/seccomp/default.json — the same allow-list, architectures and conditions), written as
 * data in our own compact form and expanded into Docker's profile shape by `defaultProfile()`.
 *
 * What it means:
 * - every syscall not listed fails with EPERM (errno 1);
 * - `ALLOWED` are allowed for everyone;
 * - `BY_CAPABILITY` are allowed only to a container whose capability (bounding) set has that
 *   capability: CAP_SYS_ADMIN unlocks mount, umount2, unshare, setns, clone with namespace flags…;
 *   CAP_SYS_PTRACE ptrace; CAP_SYS_TIME clock_settime; CAP_SYS_BOOT reboot; CAP_SYS_MODULE
 *   init_module …;
 * - `clone` without CAP_SYS_ADMIN only without namespace flags, `clone3` then answers ENOSYS (so
 *   libcs fall back to clone, whose flags the filter can see), `socket` never for AF_VSOCK, and
 *   `personality` only for the harmless personas.
 *
 * @example
 *   const profile = defaultProfile(); // Docker's JSON shape, see profile.ts
 */
import type { DockerSeccompProfile, DockerSyscallRule } from './profile.js';

const ENOSYS = 38;
const EPERM = 1;
/** AF_VSOCK: host ↔ guest sockets, refused to containers. */
const AF_VSOCK = 40;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** personality(2) values allowed: PER_LINUX, PER_LINUX32 (8), UNAME26 (0x20000), both, and the query 0xffffffff. */
const PERSONAS = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** Syscalls every container may make, by area (whitespace-separated). */
const ALLOWED = `
  accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
  recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair

  access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat
  faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32
  fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fremovexattr fsetxattr fstat fstat64
  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futimesat getcwd getdents getdents64
  getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch lchown lchown32 lgetxattr
  link linkat listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 mkdir mkdirat
  mknod mknodat name_to_handle_at newfstatat open openat openat2 pread64 preadv preadv2 pwrite64
  pwritev pwritev2 read readahead readlink readlinkat readv removexattr rename renameat renameat2
  rmdir sendfile sendfile64 setxattr splice stat stat64 statfs statfs64 statx symlink symlinkat sync
  sync_file_range syncfs tee truncate truncate64 umask unlink unlinkat utime utimensat
  utimensat_time64 utimes vmsplice write writev

  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 _newselect poll ppoll ppoll_time64 pselect6 pselect6_time64
  select signalfd signalfd4 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64 io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup
  io_submit io_uring_enter io_uring_register io_uring_setup ioctl pipe pipe2

  brk madvise membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2
  mprotect mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect
  remap_file_pages

  capget capset execve execveat exit exit_group fork vfork wait4 waitid waitpid getcpu getegid
  getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid getppid
  getpriority getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
  getsid get_thread_area gettid getuid getuid32 ioprio_get ioprio_set prctl prlimit64
  process_mrelease rseq sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp setfsgid
  setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setpgid setpriority setregid
  setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit
  set_robust_list setsid set_thread_area set_tid_address setuid setuid32 ugetrlimit uname sysinfo
  times landlock_add_rule landlock_create_ruleset landlock_restrict_self futex futex_time64
  futex_waitv getrandom restart_syscall

  alarm kill pause pidfd_open pidfd_send_signal rt_sigaction rt_sigpending rt_sigprocmask
  rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn tgkill tkill

  adjtimex clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
  clock_gettime64 clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep setitimer
  time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
  timer_settime64

  ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
  mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop
  semtimedop_time64 shmat shmctl shmdt shmget
`;

/** Allowed from a kernel version on (ptrace and friends were unsafe with seccomp before 4.8). */
const BY_MIN_KERNEL: Array<[string, string]> = [['4.8', 'process_vm_readv process_vm_writev ptrace']];

/** Allowed on these architectures only (Go's GOARCH names, as Docker's profile uses them). */
const BY_ARCH: Array<[string[], string]> = [
  [['ppc64le'], 'sync_file_range2 swapcontext'],
  [['arm', 'arm64'], 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'],
  [['amd64', 'x32'], 'arch_prctl'],
  [['amd64', 'x32', 'x86'], 'modify_ldt'],
  [['s390', 's390x'], 's390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr'],
  [['riscv64'], 'riscv_flush_icache'],
];

/** Allowed when the container holds the capability (the ones before the clone rules). */
const BY_CAPABILITY_FIRST: Array<[string, string]> = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree ' +
      'perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare',
  ],
];

/** Allowed when the container holds the capability (after the clone rules). */
const BY_CAPABILITY: Array<[string, string]> = [
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'delete_module init_module finit_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

/** Docker's architecture map: the native architecture and the ones its kernel also runs. */
const ARCH_MAP: Array<[string, string[] | null]> = [
  ['SCMP_ARCH_X86_64', ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
  ['SCMP_ARCH_AARCH64', ['SCMP_ARCH_ARM']],
  ['SCMP_ARCH_MIPS64', ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32']],
  ['SCMP_ARCH_MIPS64N32', ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64']],
  ['SCMP_ARCH_MIPSEL64', ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32']],
  ['SCMP_ARCH_MIPSEL64N32', ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64']],
  ['SCMP_ARCH_S390X', ['SCMP_ARCH_S390']],
  ['SCMP_ARCH_RISCV64', null],
];

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
/** Docker's order: by name, underscores ignored. */
const sortedNames = (names: string[]): string[] => {
  const key = (n: string) => n.replace(/_/g, '');
  return [...names].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a < b ? -1 : 1));
};
const allow = (names: string, more: Partial<DockerSyscallRule> = {}): DockerSyscallRule => ({ names: words(names), action: 'SCMP_ACT_ALLOW', ...more });

/** The default profile in Docker's profile shape (a fresh object each call). */
export function defaultProfile(): DockerSeccompProfile {
  const syscalls: DockerSyscallRule[] = [
    allow(sortedNames(words(ALLOWED)).join(' ')),
    ...BY_MIN_KERNEL.map(([minKernel, names]) => allow(names, { includes: { minKernel } })),
    allow('socket', { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] }),
    ...PERSONAS.map((value) => allow('personality', { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    ...BY_ARCH.map(([arches, names]) => allow(names, { includes: { arches } })),
    ...BY_CAPABILITY_FIRST.map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
    // Without CAP_SYS_ADMIN: clone without namespace flags (its flags are the first argument, the
    // second on s390), and clone3 — whose flags sit in memory a filter cannot read — reports
    // ENOSYS so that libcs fall back to clone.
    allow('clone', { args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } }),
    allow('clone', {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: 's390 parameter ordering for clone is different',
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...BY_CAPABILITY.map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
  ];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    archMap: ARCH_MAP.map(([architecture, subArchitectures]) => ({ architecture, subArchitectures: subArchitectures ? [...subArchitectures] : null })),
    syscalls,
  };
}

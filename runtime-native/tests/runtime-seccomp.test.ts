/**
 * seccomp through libseccomp: a profile that allows everything but mkdir (errno EPERM) makes
 * `mkdir` fail inside; a rule with an argument condition denies chmod only to one mode; the
 * default action and its errno; unknown syscall names are skipped as runc skips them; the filter
 * is loaded (Seccomp: 2) with or without no_new_privs; an exec gets the container's profile.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNC, RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
let runc: RuntimeHarness;
beforeAll(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
  runc = new RuntimeHarness(RUNC);
});
afterAll(async () => {
  await h.cleanup();
  await runc.cleanup();
});

async function runBoth(script: string, seccomp: any, edit?: (c: any) => void) {
  const out = [];
  for (const rt of [h, runc]) {
    const b = await rt.bundle(['sh', '-c', script], (c) => {
      c.linux.seccomp = seccomp;
      edit?.(c);
    });
    const r = rt.run(['run', '--bundle', b.dir, `sc${Math.random().toString(16).slice(2, 8)}`]);
    out.push(r);
  }
  return { o: out[0], r: out[1] };
}

describe('seccomp', () => {
  it('denies mkdir with EPERM while everything else is allowed', async () => {
    const { o, r } = await runBoth('grep ^Seccomp: /proc/self/status; touch /tmp/file && echo touch ok; mkdir /tmp/x; echo "mkdir $?"', {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['no_such_syscall_anywhere'], action: 'SCMP_ACT_KILL' },
      ],
    });
    expect(o.status).toBe(0);
    expect(o.stdout).toBe('Seccomp:\t2\ntouch ok\nmkdir 1\n');
    expect(o.stderr).toBe("mkdir: can't create directory '/tmp/x': Operation not permitted\n");
    expect(o.stdout).toBe(r.stdout);
    expect(o.stderr).toBe(r.stderr);
  });

  it('an argument condition: chmod to 0700 is denied, chmod to 0755 is not', async () => {
    const cond = (index: number) => [{ index, value: 0o700, op: 'SCMP_CMP_EQ' }];
    const { o, r } = await runBoth('touch /tmp/f; chmod 755 /tmp/f; echo "755: $?"; chmod 700 /tmp/f 2>/dev/null; echo "700: $?"; stat -c %a /tmp/f', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: cond(1) },
        { names: ['fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: cond(2) },
      ],
    });
    expect(o.stdout).toBe('755: 0\n700: 1\n755\n');
    expect(o.stdout).toBe(r.stdout);
  });

  it('a masked-equal condition and a default action with its own errno', async () => {
    // everything is refused with ENOSYS (38) but what the shell needs; uname is allowed only
    // when its argument is 16-byte aligned (always): a test of SCMP_CMP_MASKED_EQ
    const allow = ['read', 'write', 'exit', 'exit_group', 'execve', 'brk', 'mmap', 'munmap', 'mprotect', 'arch_prctl',
      'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid',
      'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'fcntl', 'ioctl', 'close', 'openat', 'open', 'newfstatat',
      'fstat', 'stat', 'lseek', 'getcwd', 'wait4', 'clone', 'clone3', 'fork', 'vfork', 'dup2', 'dup3', 'pipe', 'pipe2',
      'readlink', 'getrandom', 'futex', 'sigaltstack', 'uname', 'access', 'faccessat', 'faccessat2', 'exit', 'statx'];
    const { o, r } = await runBoth('echo start; mkdir /tmp/d 2>&1; echo "mkdir $?"', {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        { names: allow.filter((n) => n !== 'uname'), action: 'SCMP_ACT_ALLOW' },
        { names: ['uname'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xf, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    }, (c) => (c.process.noNewPrivileges = true));
    expect(o.status).toBe(0);
    expect(o.stdout).toMatch(/^start\nmkdir: can't create directory '\/tmp\/d': (Function not implemented|Not implemented)\nmkdir 1\n$/);
    // runc is not compared here: after loading the filter its Go runtime still needs syscalls this
    // profile refuses, so it cannot start the program at all
    void r;
  });

  const mkdirDenied = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
  const execMkdir = ['sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x; echo "mkdir $?"'];

  it('filters an exec with the container’s filter, which the state keeps compiled beside state.json', async () => {
    const id = `scx${Math.random().toString(16).slice(2, 8)}`;
    const b = await h.bundle(['sleep', '1000'], (c) => (c.linux.seccomp = mkdirDenied));
    expect(h.run(['run', '-d', '--bundle', b.dir, id]).status).toBe(0);
    // start, kill, delete and state never parse the profile, and an exec loads the program
    expect(JSON.parse(readFileSync(join(h.root, id, 'state.json'), 'utf8')).config.linux.seccomp).toBeUndefined();
    expect(readFileSync(join(h.root, id, 'seccomp.bpf')).subarray(0, 10).toString()).toBe('TNSECCOMP1');
    const r = h.run(['exec', id, ...execMkdir]);
    expect(r.stdout).toBe('Seccomp:\t2\nmkdir 1\n');
    expect(h.run(['delete', '-f', id]).status).toBe(0);
    expect(existsSync(join(h.root, id))).toBe(false);
  });

  it('filters an exec of a container whose state keeps the profile itself (made by an earlier build)', async () => {
    const id = `scx${Math.random().toString(16).slice(2, 8)}`;
    const b = await h.bundle(['sleep', '1000'], (c) => (c.linux.seccomp = mkdirDenied));
    expect(h.run(['run', '-d', '--bundle', b.dir, id]).status).toBe(0);
    rmSync(join(h.root, id, 'seccomp.bpf'));
    writeFileSync(join(h.root, id, 'seccomp.json'), JSON.stringify(mkdirDenied));
    expect(h.run(['exec', id, ...execMkdir]).stdout).toBe('Seccomp:\t2\nmkdir 1\n');
    expect(h.run(['delete', '-f', id]).status).toBe(0);
  });

  it('never runs an exec unfiltered: a kept filter that is not whole fails it', async () => {
    const id = `scx${Math.random().toString(16).slice(2, 8)}`;
    const b = await h.bundle(['sleep', '1000'], (c) => (c.linux.seccomp = mkdirDenied));
    expect(h.run(['run', '-d', '--bundle', b.dir, id]).status).toBe(0);
    const kept = join(h.root, id, 'seccomp.bpf');
    writeFileSync(kept, readFileSync(kept).subarray(0, 20));
    const r = h.run(['exec', id, 'touch', '/tmp/ran']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`tersane-runtime: \`${kept}\`: not a seccomp program this runtime wrote\n`);
    expect(existsSync(join(b.rootfs, 'tmp', 'ran'))).toBe(false);
    expect(h.run(['delete', '-f', id]).status).toBe(0);
  });

  it('compiles a profile once and the next container with it loads the kept program; a damaged one is compiled again', async () => {
    const cache = join(h.root, 'seccomp');
    const programs = () => new Set(existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.bpf')) : []);
    const runWith = async (profile: unknown) => {
      const before = programs();
      const b = await h.bundle(execMkdir, (c) => (c.linux.seccomp = profile));
      const out = h.run(['run', '--bundle', b.dir, `scc${Math.random().toString(16).slice(2, 8)}`]).stdout;
      return { out, added: [...programs()].filter((f) => !before.has(f)) };
    };
    const denying = { ...mkdirDenied, syscalls: [...mkdirDenied.syscalls, { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    const allowing = { ...mkdirDenied, syscalls: [{ names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    const first = await runWith(denying);
    expect(first.out).toBe('Seccomp:\t2\nmkdir 1\n');
    expect(first.added).toHaveLength(1);
    const other = await runWith(allowing);
    expect(other.out).toBe('Seccomp:\t2\nmkdir 0\n');
    expect(other.added).toHaveLength(1);
    // the kept program is what the next container gets: swapped for the other profile's, it shows
    const kept = join(cache, first.added[0]);
    const own = readFileSync(kept);
    writeFileSync(kept, readFileSync(join(cache, other.added[0])));
    expect((await runWith(denying)).out).toBe('Seccomp:\t2\nmkdir 0\n');
    // a program that is not whole is not trusted: the profile is compiled again, the file rewritten
    writeFileSync(kept, own.subarray(0, 24));
    const again = await runWith(denying);
    expect(again.out).toBe('Seccomp:\t2\nmkdir 1\n');
    expect(readFileSync(kept).equals(own)).toBe(true);
  });

  it('loads without no_new_privs too, before the capabilities are dropped', async () => {
    const { o, r } = await runBoth('grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/y; echo $?', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO' }],
    }, (c) => {
      c.process.noNewPrivileges = false;
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/y 2>/dev/null; echo $?'];
    });
    expect(o.stdout).toBe('NoNewPrivs:\t0\nSeccomp:\t2\n1\n');
    expect(o.stdout).toBe(r.stdout);
  });

  it('a profile error names the field and leaves nothing', async () => {
    const b = await h.bundle(['true'], (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_SOMETIMES' }] }));
    const r = h.run(['run', '--bundle', b.dir, 'scbad']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('tersane-runtime: config.json: linux.seccomp.syscalls[0].action: unknown seccomp action "SCMP_ACT_SOMETIMES"\n');
    expect(h.leftovers(b, 'scbad', true)).toEqual([]);
  });
});

/**
 * Escapes attempted from inside containers, through the real docker CLI against a whole stack:
 * the escape probe (runtime-native/tests/escape_probe.c) tries mount, umount, pivot_root, reboot,
 * kexec_load, init_module, ptrace of a host process, writes to /proc/sys and /sys, the host's block
 * device (directly and through mknod), keyctl, a user namespace, clock_settime and sethostname.
 * A default container is refused each; a privileged one shows the difference is real; a container
 * with only CAP_SYS_ADMIN added keeps its masked paths and its filter. Then the classes of known
 * runtime escapes: the runtime binary reopened through /proc/<pid>/exe (CVE-2019-5736), host
 * descriptors and working directories (CVE-2024-21626), mount destinations that are symlinks out
 * of the image, and what the monitor keeps.
 *
 * The stack runs a copy of tersane-runtime, so that a protection that failed could only ever touch
 * the copy (and the probe writes back the byte that was there).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, sleep, startStack, type Stack } from '../helpers/stack.js';
import { hostBlockDevice, PROBE_IMAGE, probeImage } from './images.js';

let stack: Stack;
let work: string;
let runtimeCopy: string;
let hostTarget: string;
const block = hostBlockDevice();

/** Docker's default capability set as a CapEff mask. */
const DOCKER_DEFAULT_CAPS = 0xa80425fbn;
/** The monitor's after start: CAP_KILL and CAP_SYS_ADMIN. */
const MONITOR_CAPS = (1n << 5n) | (1n << 21n);

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function parseChecks(out: string): Record<string, { result: string; errno: string }> {
  const checks: Record<string, { result: string; errno: string }> = {};
  for (const line of out.split('\n')) {
    const m = /^CHECK (\S+) (allowed|refused) (\S+)/.exec(line);
    if (m) checks[m[1]] = { result: m[2], errno: m[3] };
  }
  return checks;
}

async function suite(args: string[]): Promise<Record<string, { result: string; errno: string }>> {
  const shim = stack.pidOf('shim')!;
  const out = await stack.dockerOk(['run', '--rm', ...args, PROBE_IMAGE, 'escape_probe', 'suite', String(shim), block.name, String(block.major), String(block.minor)]);
  return parseChecks(out);
}

function statusField(text: string, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

beforeAll(async () => {
  work = mkdtempSync('/tmp/tsn-esc-');
  runtimeCopy = join(work, 'tersane-runtime');
  copyFileSync(join(REPO, 'runtime-native', 'build', 'tersane-runtime'), runtimeCopy);
  hostTarget = join(work, 'host-target');
  mkdirSync(hostTarget);
  writeFileSync(join(work, 'probe.tar'), probeImage({ hostTarget }).tar);
  stack = await startStack({ env: { TERSANE_RUNTIME_TERSANE: runtimeCopy } });
  await stack.loadImage('busybox');
  await stack.dockerOk(['load', '-i', join(work, 'probe.tar')]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

const ESCAPES = ['mount', 'umount', 'pivot_root', 'reboot', 'kexec_load', 'init_module', 'finit_module', 'ptrace_host', 'write_proc_sys', 'write_sys', 'open_blockdev', 'open_mknod_blockdev', 'keyctl', 'unshare_user', 'clock_settime', 'sethostname'];

describe('escapes from a default container', () => {
  it('refuses every one (root in the container, busybox)', async () => {
    const checks = await suite([]);
    for (const name of ESCAPES) expect(checks[name], name).toMatchObject({ result: 'refused' });
    // the filter, not luck: these fail with EPERM before the kernel looks at their arguments
    for (const name of ['mount', 'umount', 'pivot_root', 'reboot', 'kexec_load', 'init_module', 'keyctl', 'unshare_user', 'clock_settime', 'sethostname']) {
      expect(checks[name].errno, name).toBe('EPERM');
    }
    expect(checks.write_proc_sys.errno).toBe('EROFS');
    expect(checks.write_sys.errno).toBe('EROFS');
    expect(checks.ptrace_host.errno).toBe('ESRCH');
    // Docker allows mknod (CAP_MKNOD); the device cgroup refuses opening the node
    expect(checks.mknod_blockdev.result).toBe('allowed');
    expect(checks.open_mknod_blockdev.errno).toBe('EPERM');
  });

  it('privileged: the same attempts get through, inside the container\'s own namespaces', async () => {
    const before = hostname();
    const checks = await suite(['--privileged']);
    for (const name of ['mount', 'umount', 'pivot_root', 'reboot', 'kexec_load', 'init_module', 'finit_module', 'write_proc_sys', 'write_sys', 'open_blockdev', 'keyctl', 'unshare_user', 'clock_settime', 'sethostname']) {
      expect(checks[name], name).toMatchObject({ result: 'allowed' });
    }
    // still in its own pid namespace: the host's processes are not there to trace
    expect(checks.ptrace_host).toMatchObject({ result: 'refused', errno: 'ESRCH' });
    expect(hostname()).toBe(before);
  });

  it('CAP_SYS_ADMIN alone unlocks its syscalls and nothing of --privileged', async () => {
    const checks = await suite(['--cap-add', 'SYS_ADMIN']);
    for (const name of ['mount', 'umount', 'unshare_user', 'sethostname']) expect(checks[name], name).toMatchObject({ result: 'allowed' });
    for (const name of ['reboot', 'kexec_load', 'init_module', 'keyctl', 'clock_settime', 'open_blockdev', 'open_mknod_blockdev', 'write_proc_sys', 'write_sys']) {
      expect(checks[name], name).toMatchObject({ result: 'refused' });
    }
    const inside = await stack.dockerOk(['run', '--rm', '--cap-add', 'SYS_ADMIN', 'busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; cat /proc/self/mountinfo']);
    expect(statusField(inside, 'Seccomp')).toBe('2');
    for (const p of ['/proc/timer_list', '/proc/keys', '/sys/firmware', '/proc/sys ']) expect(inside, p).toContain(p);
    const privileged = await stack.dockerOk(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status; cat /proc/self/mountinfo']);
    expect(statusField(privileged, 'Seccomp')).toBe('0');
    for (const p of ['/proc/timer_list', '/proc/keys', '/sys/firmware']) expect(privileged, p).not.toContain(p);
  });
});

describe('seccomp, capabilities and no_new_privs as Docker sets them', () => {
  it('the default profile, builtin, unconfined and a profile file', async () => {
    const info = JSON.parse(await stack.dockerOk(['info', '--format', '{{json .SecurityOptions}}'])) as string[];
    expect(info).toContain('name=seccomp,profile=builtin');
    expect(statusField(await stack.dockerOk(['run', '--rm', 'busybox', 'cat', '/proc/self/status']), 'Seccomp')).toBe('2');
    expect(statusField(await stack.dockerOk(['run', '--rm', '--security-opt', 'seccomp=builtin', 'busybox', 'cat', '/proc/self/status']), 'Seccomp')).toBe('2');
    expect(statusField(await stack.dockerOk(['run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'cat', '/proc/self/status']), 'Seccomp')).toBe('0');

    const profile = join(work, 'no-mkdir.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
    const r = await stack.docker(['run', '--rm', '--security-opt', `seccomp=${profile}`, 'busybox', 'mkdir', '/x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Permission denied');
    const id = await stack.dockerOk(['create', '--security-opt', `seccomp=${profile}`, '--security-opt', 'no-new-privileges', 'busybox', 'true']);
    const opts = JSON.parse(await stack.dockerOk(['inspect', '--format', '{{json .HostConfig.SecurityOpt}}', id])) as string[];
    expect(opts).toEqual([`seccomp=${JSON.stringify(JSON.parse(readFileSync(profile, 'utf8')))}`, 'no-new-privileges']);
    await stack.dockerOk(['rm', id]);
  });

  it('a bad profile is refused at create and leaves nothing behind', async () => {
    const before = (await stack.dockerOk(['ps', '-aq'])).split('\n').filter(Boolean).length;
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_BOGUS' }));
    const r = await stack.docker(['create', '--security-opt', `seccomp=${bad}`, 'busybox', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('seccomp profile: defaultAction: unknown action "SCMP_ACT_BOGUS"');
    writeFileSync(bad, JSON.stringify({ defaultAction: 7 }));
    expect((await stack.docker(['create', '--security-opt', `seccomp=${bad}`, 'busybox', 'true'])).stderr).toContain(
      'Decoding seccomp profile failed: json: cannot unmarshal number into Go struct field Seccomp.defaultAction of type string',
    );
    expect((await stack.dockerOk(['ps', '-aq'])).split('\n').filter(Boolean).length).toBe(before);
  });

  it("Docker's capability set; --cap-add/--cap-drop with ALL, any case, with or without CAP_", async () => {
    const capEff = async (args: string[]) => BigInt(`0x${statusField(await stack.dockerOk(['run', '--rm', ...args, 'busybox', 'cat', '/proc/self/status']), 'CapEff')}`);
    const hostBounding = BigInt(`0x${statusField(readFileSync('/proc/self/status', 'utf8'), 'CapBnd')}`);
    expect(await capEff([])).toBe(DOCKER_DEFAULT_CAPS);
    expect(await capEff(['--cap-add', 'ALL'])).toBe(hostBounding);
    expect(await capEff(['--privileged'])).toBe(hostBounding);
    expect(await capEff(['--cap-drop', 'ALL'])).toBe(0n);
    expect(await capEff(['--cap-drop', 'all', '--cap-add', 'net_raw'])).toBe(1n << 13n);
    expect(await capEff(['--cap-add', 'sys_admin', '--cap-drop', 'CAP_chown'])).toBe((DOCKER_DEFAULT_CAPS | (1n << 21n)) & ~1n);
    const r = await stack.docker(['run', '--rm', '--cap-add', 'NOPE', 'busybox', 'true']);
    expect(r.stderr).toContain('unknown capability: "CAP_NOPE"');
    expect(statusField(await stack.dockerOk(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'cat', '/proc/self/status']), 'NoNewPrivs')).toBe('1');
    expect(statusField(await stack.dockerOk(['run', '--rm', 'busybox', 'cat', '/proc/self/status']), 'NoNewPrivs')).toBe('0');
  });
});

describe('the runtime\'s own hardening', () => {
  it('a container holding CAP_SYS_PTRACE cannot write the runtime through /proc/<pid>/exe during docker exec (CVE-2019-5736)', async () => {
    const before = sha256(runtimeCopy);
    const name = 'exe-race';
    await stack.dockerOk(['run', '-d', '--name', name, '--cap-add', 'SYS_PTRACE', PROBE_IMAGE, 'escape_probe', 'exe-race', '20']);
    // the runtime joins the container for every exec; the probe holds on to whatever it runs
    // (the probe ends once it caught one and tried it: the execs after that find it stopped)
    let execs = 0;
    for (let i = 0; i < 8; i++) {
      const r = await stack.docker(['exec', name, 'true']);
      if (r.code !== 0) break;
      execs++;
    }
    expect(execs).toBeGreaterThan(0);
    let logs = '';
    for (let i = 0; i < 120 && !logs.includes('DONE'); i++) {
      await sleep(250);
      logs = (await stack.docker(['logs', name])).stdout;
    }
    await stack.docker(['rm', '-f', name]);
    const caught = logs.split('\n').filter((l) => l.startsWith('EXE '));
    expect(logs).toMatch(/DONE [1-9]/);
    expect(caught.length).toBeGreaterThan(0);
    for (const line of caught) {
      // reopening for writing fails (read-only mount, or a sealed copy whose writes fail)
      expect(line, line).not.toMatch(/write=ok/);
      expect(line, line).not.toContain(runtimeCopy);
    }
    expect(sha256(runtimeCopy)).toBe(before);
  });

  it('no host descriptor or working directory reaches the container (CVE-2024-21626)', async () => {
    const out = await stack.dockerOk(['run', '--rm', PROBE_IMAGE, 'escape_probe', 'fds']);
    expect(out.split('\n').filter((l) => l.startsWith('FD '))).toEqual([]);
    expect(out).toContain('CWD /');
    const long = await stack.dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
    expect((await stack.dockerOk(['exec', long, 'ls', '/proc/self/fd'])).split(/\s+/).filter(Boolean).sort()).toEqual(['0', '1', '2', '3']);
    for (let n = 3; n <= 9; n++) {
      for (const args of [['run', '--rm', '-w', `/proc/self/fd/${n}`, 'busybox', 'sh', '-c', 'cd .. && pwd && ls'], ['exec', '-w', `/proc/self/fd/${n}`, long, 'sh', '-c', 'cd .. && pwd && ls']]) {
        const r = await stack.docker(args);
        // refused, or (had the path been created inside) a directory of the container: never the host's
        if (r.code === 0) expect(r.stdout, `${args.join(' ')}`).not.toMatch(/state\.json|cgroup\.procs|tersane/);
        else expect(`${r.stdout}${r.stderr}`, `${args.join(' ')}: ${r.code}`).toMatch(/process\.cwd/);
      }
    }
    await stack.dockerOk(['rm', '-f', long]);
  });

  it('mount destinations that are symlinks out of the image stay inside it', async () => {
    await stack.dockerOk(['run', '--rm', '-v', 'esc-vol:/data', PROBE_IMAGE, 'sh', '-c', 'echo in-volume > /data/f']);
    expect(await stack.dockerOk(['run', '--rm', '-v', 'esc-vol:/data-rel', PROBE_IMAGE, 'cat', '/data-rel/f'])).toBe('in-volume');
    await stack.dockerOk(['run', '--rm', '--tmpfs', '/data', PROBE_IMAGE, 'sh', '-c', 'echo x > /data/t']);
    await stack.dockerOk(['run', '--rm', '-v', `${join(work, 'probe.tar')}:/data/probe.tar:ro`, PROBE_IMAGE, 'ls', '/data/probe.tar']);
    await stack.dockerOk(['run', '--rm', '--shm-size', '1m', PROBE_IMAGE, 'sh', '-c', 'echo s > /dev/shm/s']);
    // the host path the symlinks name got nothing: no file, no mount
    expect(readdirSync(hostTarget)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(hostTarget);
    // what was written went where it belongs
    expect(await stack.dockerOk(['run', '--rm', '-v', 'esc-vol:/v', 'busybox', 'cat', '/v/f'])).toBe('in-volume');
    await stack.dockerOk(['volume', 'rm', 'esc-vol']);
  });

  it('the monitor keeps CAP_KILL and CAP_SYS_ADMIN only once its container runs, and is not dumpable', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
    const monitorPid = Number(readFileSync(join(stack.cfg.runDir, 'tasks', id, 'monitor.pid'), 'utf8'));
    const status = readFileSync(`/proc/${monitorPid}/status`, 'utf8');
    expect(BigInt(`0x${statusField(status, 'CapEff')}`)).toBe(MONITOR_CAPS);
    expect(BigInt(`0x${statusField(status, 'CapPrm')}`)).toBe(MONITOR_CAPS);
    // it still does everything it is there for: exec, pause, stop (unmounting the rootfs)
    expect(await stack.dockerOk(['exec', id, 'echo', 'ok'])).toBe('ok');
    await stack.dockerOk(['pause', id]);
    await stack.dockerOk(['unpause', id]);
    await stack.dockerOk(['stop', '-t', '1', id]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(id);
    await stack.dockerOk(['rm', id]);
    expect(existsSync(join(stack.cfg.runDir, 'tasks', id))).toBe(false);
  });
});

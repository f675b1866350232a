/**
 * Hooks: each kind runs at its moment of the lifecycle, with the container's state on stdin, its
 * own args and env, in the right namespaces; a failing poststart or poststop hook is a warning
 * (runtime-spec), while a failing prestart/createRuntime/createContainer/startContainer hook fails
 * the operation and leaves nothing; a hook that runs past its timeout is killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
let marks: string;
beforeAll(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
  marks = mkdtempSync(join(tmpdir(), 'tn-hooks-'));
});
afterAll(async () => {
  await h.cleanup();
  rmSync(marks, { recursive: true, force: true });
});

/** A hook that records its stdin, the time (ns), its argv, an env var and its namespaces. */
function recorder(kind: string, where: string) {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `cat > ${where}/${kind}.state; date +%s%N > ${where}/${kind}.time; echo "$0 $1 $HOOK_ENV" > ${where}/${kind}.args; readlink /proc/self/ns/mnt > ${where}/${kind}.mntns; hostname > ${where}/${kind}.hostname; ls / > ${where}/${kind}.root`, 'arg0', 'arg1'],
    env: [`HOOK_ENV=${kind}`],
  };
}

const read = (p: string) => readFileSync(p, 'utf8');
const time = (dir: string, k: string) => BigInt(read(join(dir, `${k}.time`)).trim());

describe('hooks', () => {
  it('each kind at its moment, with the state on stdin', async () => {
    const dir = mkdtempSync(join(marks, 'order-'));
    // inside the container (startContainer, the program) the host's marks are out of reach: they
    // leave their traces in the container's /tmp; the program says whether startContainer ran
    const program = 'if [ -e /tmp/startContainer.out ]; then echo after-startContainer > /tmp/program.out; fi; sleep 1000';
    // poststart looks at what the container process is running when the hook runs
    const poststartProbe = {
      path: '/bin/sh',
      args: ['sh', '-c', `pid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/'); tr '\\0' ' ' < /proc/$pid/cmdline > ${dir}/poststart.cmdline`],
    };
    const b = await h.bundle(['sh', '-c', program], (c) => {
      c.hooks = {
        prestart: [recorder('prestart', dir)],
        createRuntime: [recorder('createRuntime', dir)],
        createContainer: [recorder('createContainer', dir)],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer.out; echo >> /tmp/startContainer.out; hostname >> /tmp/startContainer.out'] }],
        poststart: [recorder('poststart', dir), poststartProbe, { path: '/bin/false' }, recorder('poststart2', dir)],
        poststop: [{ path: '/bin/false' }, recorder('poststop', dir)],
      };
    });
    const c = h.run(['create', '--bundle', b.dir, 'hooked']);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    const pid = h.state('hooked').pid;
    // after create: prestart, createRuntime, createContainer — and nothing of start yet
    for (const k of ['prestart', 'createRuntime', 'createContainer']) expect(existsSync(join(dir, `${k}.time`)), k).toBe(true);
    expect(existsSync(join(dir, 'poststart.time'))).toBe(false);
    expect(existsSync(join(b.rootfs, 'tmp', 'startContainer.out'))).toBe(false);
    expect(time(dir, 'prestart') <= time(dir, 'createRuntime')).toBe(true);
    expect(time(dir, 'createRuntime') <= time(dir, 'createContainer')).toBe(true);
    const st = JSON.parse(read(join(dir, 'createRuntime.state')));
    expect(st).toMatchObject({ id: 'hooked', pid, bundle: b.dir, status: 'creating' });
    expect(read(join(dir, 'createRuntime.args'))).toBe('arg0 arg1 createRuntime\n');
    // prestart and createRuntime run in the runtime's namespaces, createContainer in the container's
    const host = readlinkSync('/proc/self/ns/mnt');
    expect(read(join(dir, 'createRuntime.mntns')).trim()).toBe(host);
    expect(read(join(dir, 'prestart.mntns')).trim()).toBe(host);
    expect(read(join(dir, 'createContainer.mntns')).trim()).not.toBe(host);
    expect(read(join(dir, 'createContainer.mntns')).trim()).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
    expect(read(join(dir, 'createContainer.hostname'))).toBe('tersane\n');
    expect(read(join(dir, 'createRuntime.hostname'))).not.toBe('tersane\n');

    const s = h.run(['start', 'hooked']);
    expect(s.status).toBe(0);
    // a failing poststart hook is a warning and the next one still runs (the spec; runc aborts)
    expect(s.stderr).toBe('tersane-runtime: warning: poststart hook #2 failed: /bin/false: exit status 1\n');
    expect(existsSync(join(dir, 'poststart2.time'))).toBe(true);
    // poststart ran after the user's program was executed (the spec; runc 1.1 runs it before)
    // (the shell, or the sleep it became — not the runtime's image any more)
    expect(read(join(dir, 'poststart.cmdline'))).toMatch(/^(sh -c if \[ -e \/tmp\/startContainer.out \]|sleep 1000 $)/);
    expect(JSON.parse(read(join(dir, 'poststart.state')))).toMatchObject({ status: 'running', pid });
    for (let i = 0; i < 100 && !existsSync(join(b.rootfs, 'tmp', 'program.out')); i++) await new Promise((r) => setTimeout(r, 20));
    // startContainer ran in the container before the program, and saw the state as created
    expect(read(join(b.rootfs, 'tmp', 'program.out'))).toBe('after-startContainer\n');
    const sc = read(join(b.rootfs, 'tmp', 'startContainer.out')).split('\n');
    expect(JSON.parse(sc[0])).toMatchObject({ id: 'hooked', status: 'created', pid });
    expect(sc[1]).toBe('tersane');

    expect(h.run(['kill', 'hooked', 'KILL']).status).toBe(0);
    await h.waitStatus('hooked', 'stopped');
    expect(existsSync(join(dir, 'poststop.time'))).toBe(false);
    const d = h.run(['delete', 'hooked']);
    expect(d.status).toBe(0);
    expect(d.stderr).toBe('tersane-runtime: warning: poststop hook #0 failed: /bin/false: exit status 1\n');
    // poststop: after the container is deleted, with the state on stdin
    expect(existsSync(join(dir, 'poststop.time'))).toBe(true);
    expect(JSON.parse(read(join(dir, 'poststop.state')))).toMatchObject({ id: 'hooked', status: 'stopped' });
    expect(h.leftovers(b, 'hooked')).toEqual([]);
  });

  it('a failing startContainer hook fails start; the container is stopped', async () => {
    const b = await h.bundle(['sleep', '1000'], (c) => (c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo broken; exit 4'] }] }));
    expect(h.run(['create', '--bundle', b.dir, 'scfail']).status).toBe(0);
    const s = h.run(['start', 'scfail']);
    expect(s.status).toBe(1);
    expect(s.stderr).toBe('tersane-runtime: startContainer hook #0: /bin/sh: exit status 4, output: broken\n');
    await h.waitStatus('scfail', 'stopped');
    expect(h.run(['delete', 'scfail']).status).toBe(0);
    expect(h.leftovers(b, 'scfail')).toEqual([]);
  });

  it('a startContainer hook that exits without reading its state still fails start with its own error', async () => {
    // A state larger than a pipe: writing it to a hook that is gone fails (EPIPE), and must not
    // end the container's init before it reports the hook's failure.
    const b = await h.bundle(['sleep', '1000'], (c) => {
      c.annotations = { big: 'x'.repeat(100 * 1024) };
      c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo gone; exit 5'] }] };
    });
    expect(h.run(['create', '--bundle', b.dir, 'scgone']).status).toBe(0);
    const s = h.run(['start', 'scgone']);
    expect(s.stderr).toBe('tersane-runtime: startContainer hook #0: /bin/sh: exit status 5, output: gone\n');
    expect(s.status).toBe(1);
    await h.waitStatus('scgone', 'stopped');
    expect(h.run(['delete', 'scgone']).status).toBe(0);
  });

  it('a hook past its timeout is killed and fails create', async () => {
    const b = await h.bundle(['true'], (c) => (c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }));
    const t0 = Date.now();
    const r = h.run(['create', '--bundle', b.dir, 'slowhook']);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('tersane-runtime: config.json: hooks: createRuntime hook #0: /bin/sleep: timed out after 1 s\n');
    expect(h.leftovers(b, 'slowhook', true)).toEqual([]);
  });

  it('run: prestart → program → poststart → poststop, all in one call', async () => {
    const dir = mkdtempSync(join(marks, 'run-'));
    const b = await h.bundle(['true'], (c) => (c.hooks = { prestart: [recorder('prestart', dir)], poststart: [recorder('poststart', dir)], poststop: [recorder('poststop', dir)] }));
    const r = h.run(['run', '--bundle', b.dir, 'runhooks']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(time(dir, 'prestart') <= time(dir, 'poststart')).toBe(true);
    expect(time(dir, 'poststart') <= time(dir, 'poststop')).toBe(true);
    expect(h.leftovers(b, 'runhooks')).toEqual([]);
  });
});

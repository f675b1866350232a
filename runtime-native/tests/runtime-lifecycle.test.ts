/**
 * tersane-runtime's lifecycle as the runtime-spec describes it: create → created → start →
 * running → kill → stopped → delete, and delete leaves nothing (state dir, cgroup directories in
 * every hierarchy, mounts). Also exec, pause/resume, ps, list, spec, features, and the errors the
 * spec asks for (start twice, delete of a running container, a config without a process).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
});
afterEach(async () => {
  await h.cleanup();
});

function cgroupFile(b: { cgroupsPath: string }, controller: string, file: string): string {
  return readFileSync(join('/sys/fs/cgroup', controller, b.cgroupsPath, file), 'utf8').trim();
}

describe('lifecycle', () => {
  it('create → start → kill → delete, leaving nothing behind', async () => {
    const b = await h.bundle(['sleep', '1000']);
    const pidFile = join(b.dir, 'container.pid');
    const c = h.run(['create', '--bundle', b.dir, '--pid-file', pidFile, 'life1']);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);

    const created = h.state('life1');
    expect(created).toMatchObject({ ociVersion: expect.any(String), id: 'life1', status: 'created', bundle: b.dir });
    expect(created.pid).toBeGreaterThan(0);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(created.pid));
    expect(existsSync(join(h.root, 'life1', 'exec.fifo'))).toBe(true);
    // the process exists, is in the container's cgroup in every hierarchy, and has not run sleep yet
    const cg = readFileSync(`/proc/${created.pid}/cgroup`, 'utf8');
    for (const line of cg.trim().split('\n')) expect(line.endsWith(b.cgroupsPath)).toBe(true);
    expect(readFileSync(`/proc/${created.pid}/cmdline`, 'utf8')).not.toContain('sleep');
    expect(readFileSync(`/proc/${created.pid}/status`, 'utf8')).toMatch(/^Name:\s+tersane-runtime/m);

    const s = h.run(['start', 'life1']);
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    const running = h.state('life1');
    expect(running.status).toBe('running');
    expect(running.pid).toBe(created.pid);
    expect(readFileSync(`/proc/${created.pid}/cmdline`, 'utf8')).toBe('sleep\u00001000\u0000');
    expect(existsSync(join(h.root, 'life1', 'exec.fifo'))).toBe(false);

    // a second start is an error and changes nothing
    const again = h.run(['start', 'life1']);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/running/);
    // delete of a running container is an error without --force (the spec)
    const early = h.run(['delete', 'life1']);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/not stopped/);
    expect(h.state('life1').status).toBe('running');

    expect(h.run(['kill', 'life1', 'KILL']).status).toBe(0);
    const stopped = await h.waitStatus('life1', 'stopped');
    expect(stopped.pid).toBe(0);
    // signalling a stopped container is an error
    expect(h.run(['kill', 'life1']).status).not.toBe(0);

    const d = h.run(['delete', 'life1']);
    expect(d.stderr).toBe('');
    expect(d.status).toBe(0);
    expect(h.leftovers(b, 'life1')).toEqual([]);
    const gone = h.run(['state', 'life1']);
    expect(gone.status).toBe(1);
    expect(gone.stderr.trim()).toBe('tersane-runtime: container "life1" does not exist');
  });

  it('delete of a created (never started) container needs --force, then leaves nothing', async () => {
    const b = await h.bundle(['true']);
    expect(h.run(['create', '--bundle', b.dir, 'life2']).status).toBe(0);
    const d = h.run(['delete', 'life2']);
    expect(d.status).not.toBe(0); // runc 1.1 deletes a created container; the spec says error
    expect(d.stderr).toMatch(/not stopped: created/);
    expect(h.run(['delete', '--force', 'life2']).status).toBe(0);
    expect(h.leftovers(b, 'life2')).toEqual([]);
  });

  it('kill with a signal name, SIG-prefixed name or number; a created container dies of it', async () => {
    const b = await h.bundle(['sleep', '1000']);
    for (const [id, sig] of [['k1', 'TERM'], ['k2', 'SIGKILL'], ['k3', '9']]) {
      expect(h.run(['create', '--bundle', b.dir, id]).status).toBe(0);
      const k = h.run(['kill', id, sig]);
      expect(k.stderr).toBe('');
      expect(k.status).toBe(0);
      await h.waitStatus(id, 'stopped');
      expect(h.run(['delete', id]).status).toBe(0);
    }
    expect(h.run(['kill', 'nosuch', 'KILL']).status).toBe(1);
    const bad = h.run(['create', '--bundle', b.dir, 'k4']);
    expect(bad.status).toBe(0);
    const r = h.run(['kill', 'k4', 'SIGNOPE']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown signal "SIGNOPE"/);
  });

  it('a config without process can be created, and start then fails clearly', async () => {
    const b = await h.bundle(['true'], (c) => delete c.process);
    const c = h.run(['create', '--bundle', b.dir, 'noproc']);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    expect(h.state('noproc').status).toBe('created');
    const s = h.run(['start', 'noproc']);
    expect(s.status).toBe(1);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(s.stderr).toMatch(/process/);
    expect(h.state('noproc').status).toBe('created');
    expect(h.run(['delete', '--force', 'noproc']).status).toBe(0);
    expect(h.leftovers(b, 'noproc')).toEqual([]);
  });

  it('run without -d returns the exit status and deletes the container', async () => {
    const b = await h.bundle(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    const r = h.run(['run', '--bundle', b.dir, 'run1']);
    expect(r.status).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(h.leftovers(b, 'run1')).toEqual([]);
  });

  it('run -d leaves a running container; exec, ps, pause/resume, list', async () => {
    const b = await h.bundle(['sleep', '1000'], (c) => (c.process.env.push('FROM_CONFIG=1')));
    const r = h.run(['run', '-d', '--bundle', b.dir, 'run2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const st = h.state('run2');
    expect(st.status).toBe('running');

    const e = h.run(['exec', '-e', 'EXTRA=2', '--cwd', '/tmp', 'run2', 'sh', '-c', 'echo $FROM_CONFIG$EXTRA; pwd; cat /proc/1/cmdline | tr "\\0" " "; exit 3']);
    expect(e.stderr).toBe('');
    expect(e.status).toBe(3);
    expect(e.stdout).toBe('12\n/tmp\nsleep 1000 ');

    // exec as another user, with a process file
    const procFile = join(b.dir, 'process.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(procFile, JSON.stringify({ args: ['id'], cwd: '/', user: { uid: 1, gid: 1, additionalGids: [10] }, env: ['PATH=/usr/bin:/bin'] }));
    const p = h.run(['exec', '--process', procFile, 'run2']);
    expect(p.stderr).toBe('');
    expect(p.stdout.trim()).toBe('uid=1(daemon) gid=1(daemon) groups=10(wheel)');
    const u = h.run(['exec', '--user', '65534:65534', 'run2', 'id', '-u']);
    expect(u.stdout.trim()).toBe('65534');

    const ps = h.run(['ps', '--format', 'json', 'run2']);
    expect(ps.status).toBe(0);
    expect(JSON.parse(ps.stdout)).toEqual([st.pid]);
    const table = h.run(['ps', 'run2']);
    expect(table.stdout).toMatch(/PID/);
    expect(table.stdout).toContain('sleep 1000');

    expect(h.run(['pause', 'run2']).status).toBe(0);
    expect(h.state('run2').status).toBe('paused');
    expect(cgroupFile(b, 'freezer', 'freezer.state')).toBe('FROZEN');
    const ex = h.run(['exec', 'run2', 'true']);
    expect(ex.status).not.toBe(0);
    expect(ex.stderr).toMatch(/paused/);
    expect(h.run(['resume', 'run2']).status).toBe(0);
    expect(h.state('run2').status).toBe('running');
    expect(cgroupFile(b, 'freezer', 'freezer.state')).toBe('THAWED');

    const list = JSON.parse(h.run(['list', '--format', 'json']).stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: 'run2', pid: st.pid, status: 'running', bundle: b.dir });
    expect(h.run(['list', '-q']).stdout).toBe('run2\n');
    expect(h.run(['list']).stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\nrun2\s+\d+\s+running\s/);

    // kill --all reaches every process of the container
    h.run(['exec', '-d', 'run2', 'sleep', '999']);
    expect(JSON.parse(h.run(['ps', '--format', 'json', 'run2']).stdout)).toHaveLength(2);
    expect(h.run(['kill', '--all', 'run2', 'KILL']).status).toBe(0);
    await h.waitStatus('run2', 'stopped');
    expect(h.run(['delete', 'run2']).status).toBe(0);
    expect(h.leftovers(b, 'run2')).toEqual([]);
  });

  it('delete --force of a running container kills it and leaves nothing', async () => {
    const b = await h.bundle(['sleep', '1000']);
    expect(h.run(['run', '-d', '--bundle', b.dir, 'force1']).status).toBe(0);
    const pid = h.state('force1').pid;
    const d = h.run(['delete', '--force', 'force1']);
    expect(d.stderr).toBe('');
    expect(d.status).toBe(0);
    expect(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+Z/m) === null).toBe(false);
    expect(h.leftovers(b, 'force1')).toEqual([]);
  });

  it('a create killed half-way: the process goes with it, delete --force removes the rest', async () => {
    const b = await h.bundle(['true'], (c) => (c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '3'] }] }));
    const bg = h.spawn(['create', '--bundle', b.dir, 'killed']);
    // wait until the hook runs: the container process exists and its cgroup too
    const top = b.cgroupsPath.split('/').filter(Boolean)[0];
    for (let i = 0; i < 200 && !existsSync(join('/sys/fs/cgroup/memory', top)); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    process.kill(bg.pid, 'SIGKILL');
    await bg.done;
    expect(h.run(['state', 'killed']).status).toBe(1);
    const d = h.run(['delete', '--force', 'killed']);
    expect(d.stderr).toBe('');
    expect(d.status).toBe(0);
    for (let i = 0; i < 100 && h.leftovers(b, 'killed').length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.leftovers(b, 'killed')).toEqual([]);
  });

  it('an id that is taken or invalid is refused without touching the existing container', async () => {
    const b = await h.bundle(['sleep', '1000']);
    expect(h.run(['create', '--bundle', b.dir, 'dup']).status).toBe(0);
    const d = h.run(['create', '--bundle', b.dir, 'dup']);
    expect(d.status).toBe(1);
    expect(d.stderr.trim()).toBe('tersane-runtime: container "dup" already exists');
    expect(h.state('dup').status).toBe('created');
    const bad = h.run(['create', '--bundle', b.dir, '../evil']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/invalid container id/);
  });

  it('spec writes a valid default config; features describes the runtime; --version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tn-spec-'));
    try {
      expect(h.run(['spec', '--bundle', dir]).status).toBe(0);
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(cfg.process.args).toEqual(['sh']);
      expect(cfg.root).toEqual({ path: 'rootfs', readonly: true });
      expect(cfg.linux.namespaces.map((n: any) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
      const again = h.run(['spec', '--bundle', dir]);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/exists/);
      rmSync(join(dir, 'config.json'));
      expect(h.run(['spec', '--rootless', '--bundle', dir]).status).toBe(0);
      const rl = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(rl.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
      expect(rl.linux.namespaces.map((n: any) => n.type)).toContain('user');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const f = JSON.parse(h.run(['features']).stdout);
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect(f.linux.namespaces).toContain('cgroup');
    expect(f.linux.capabilities).toContain('CAP_CHECKPOINT_RESTORE');
    expect(f.linux.seccomp.enabled).toBe(true);
    expect(f.linux.cgroup).toMatchObject({ v1: true, v2: true });
    const v = h.run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^tersane-runtime version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+/);
  });

  it('errors go to the --log file as JSON lines in runc\'s shape', async () => {
    const log = join(h.root, '..', `tn-log-${process.pid}-${Date.now()}.json`);
    try {
      const r = h.run(['--log', log, '--log-format', 'json', 'start', 'nosuch']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'container "nosuch" does not exist' });
      expect(lines.at(-1).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    } finally {
      rmSync(log, { force: true });
    }
  });
});

/**
 * tersane-monitor driven through its control socket, for every available runtime (runc always,
 * tersane-runtime once it works): create → START → output → SIGNAL → EXIT → clean-up; stdin; tty
 * and resize; exit codes; detaching from the caller; bad input.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTACH_STDERR, ATTACH_STDIN, ATTACH_STDOUT, monitorRuntimes, MonitorTask, processAlive, sleep, TERSANE_MONITOR,
  type TaskOptions,
} from './monitor-client.js';

const runtimes = await monitorRuntimes();
const RFC3339NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

describe.each(runtimes)('tersane-monitor with $name', ({ path: runtime }) => {
  const tasks: MonitorTask[] = [];
  const wrappers: number[] = [];
  afterEach(async () => {
    for (const pid of wrappers.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const t of tasks.splice(0)) await t.cleanup();
  });
  async function task(opts: TaskOptions): Promise<MonitorTask> {
    const t = await MonitorTask.prepare(runtime, opts);
    tasks.push(t);
    return t;
  }

  it('goes through create, start, output, signal, exit and cleans up', async () => {
    const t = await task({
      args: ['sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; echo oops >&2; while :; do sleep 0.1; done'],
    });
    const info = await t.launchOk();
    expect(info.pid).toBeGreaterThan(0);
    expect(info.monitor_pid).toBeGreaterThan(0);
    expect(info.create_end_ns).toBeGreaterThanOrEqual(info.create_begin_ns);
    expect(existsSync(join(t.stateDir, 'monitor.pid'))).toBe(true);
    expect(existsSync(t.runtimeStateDir())).toBe(true);

    const c = await t.connect();
    expect(await c.status()).toEqual({ pid: info.pid, status: 'created' });
    expect((await c.attach(ATTACH_STDOUT | ATTACH_STDERR)).ok).toBe(true);
    const started = await c.start();
    expect(started.pid).toBe(info.pid);
    expect(started.start_end_ns).toBeGreaterThanOrEqual(started.start_begin_ns);
    expect((await c.status()).status).toBe('running');

    await c.waitOutput((o) => o.includes('ready\n') && o.includes('oops\n'));
    expect(c.stdout).toContain('ready\n');
    expect(c.stderr).toContain('oops\n');

    expect((await c.signal(15)).ok).toBe(true);
    const exit = await c.exited;
    expect(exit.exit_code).toBe(42);
    expect(exit.signal).toBe(0);
    expect(exit.pid).toBe(info.pid);
    expect(exit.oom_killed).toBe(false);
    expect(exit.exited_at).toMatch(RFC3339NANO);
    expect(c.stdout).toContain('got-term\n');

    // The exit file is there before EXIT is sent, with the same record.
    expect(t.exitFile()).toEqual(exit);
    const entries = t.logEntries();
    expect(entries).toContainEqual(expect.objectContaining({ log: 'ready\n', stream: 'stdout' }));
    expect(entries).toContainEqual(expect.objectContaining({ log: 'oops\n', stream: 'stderr' }));
    expect(entries).toContainEqual(expect.objectContaining({ log: 'got-term\n', stream: 'stdout' }));
    for (const e of entries) {
      expect(Object.keys(e)).toEqual(['log', 'stream', 'time']);
      expect(e.time).toMatch(RFC3339NANO);
    }

    await t.waitMonitorGone();
    expect(existsSync(join(t.stateDir, 'cleaned'))).toBe(true);
    expect(existsSync(t.runtimeStateDir())).toBe(false);
    expect(t.leftoverCgroups()).toEqual([]);
    expect(t.leftoverMounts()).toEqual([]);
    expect(existsSync(join(t.stateDir, 'sock'))).toBe(false);
  });

  it('answers pipelined requests in order and sends EXIT to every connection', async () => {
    const t = await task({ args: ['sleep', '100'] });
    await t.launchOk();
    const waiter = await t.connect();   // never attaches: a connection is also a wait
    const c = await t.connect();
    const [start, status] = await Promise.all([c.start(), c.status()]);
    expect(start.pid).toBe(t.info!.pid);
    expect(status.status).toBe('running');   // STATUS was answered after START's answer
    const again = await c.request(0x01);
    expect(again).toEqual({ ok: false, text: expect.stringMatching(/already running/) });
    const unknown = await c.request(0x42);
    expect(unknown.ok).toBe(false);

    // A second monitor for the same state dir is refused while this one runs.
    const second = await t.launch();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is running there/);
    expect(existsSync(join(t.stateDir, 'sock'))).toBe(true);

    await c.signal(9);
    const [a, b] = await Promise.all([waiter.exited, c.exited]);
    expect(a).toEqual(b);
    expect(a.exit_code).toBe(137);
    expect(a.signal).toBe(9);
  });

  it('keeps the container and its log going after its caller is SIGKILLed, and records the exit', async () => {
    const t = await task({
      args: ['sh', '-c', 'i=0; while [ $i -lt 15 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done; exit 7'],
    });
    // The wrapper also hands the monitor a descriptor it must not keep.
    const stray = join(t.tmp, 'stray');
    const strayFd = openSync(stray, 'w');
    const quoted = [TERSANE_MONITOR, ...t.argv()].map((a) => `'${a}'`).join(' ');
    const wrapper = spawn('sh', ['-c', `cd ${t.tmp} && ${quoted}; sleep 1000`], {
      stdio: ['ignore', 'pipe', 'pipe', strayFd], detached: true,
    });
    closeSync(strayFd);
    wrappers.push(wrapper.pid!);
    let out = '';
    wrapper.stdout!.on('data', (d) => (out += d));
    const deadline = Date.now() + 10_000;
    while (!out.includes('\n') && Date.now() < deadline) await sleep(20);
    t.info = JSON.parse(out);
    const mpid = t.info!.monitor_pid;

    // Detached: cwd is /, no descriptor of the caller's, its own session.
    expect(readlinkSync(`/proc/${mpid}/cwd`)).toBe('/');
    for (const fd of readdirSync(`/proc/${mpid}/fd`)) {
      expect(readlinkSync(`/proc/${mpid}/fd/${fd}`)).not.toBe(stray);
    }

    const c = await t.connect();
    await c.start();
    c.close();
    process.kill(-wrapper.pid!, 'SIGKILL');
    await new Promise((r) => wrapper.once('close', r));

    expect(processAlive(mpid)).toBe(true);
    expect(processAlive(t.info!.pid)).toBe(true);
    const seen = t.logEntries().length;
    await sleep(500);
    expect(t.logEntries().length).toBeGreaterThan(seen);

    const exit = await t.waitExitFile();
    expect(exit.exit_code).toBe(7);
    expect(exit.signal).toBe(0);
    const logs = t.logEntries().map((e) => e.log);
    expect(logs).toContain('tick 0\n');
    expect(logs).toContain('tick 14\n');
    await t.waitMonitorGone();
    expect(existsSync(t.runtimeStateDir())).toBe(false);
  });

  it('goes on when its caller is SIGKILLed while waiting for the report', async () => {
    const t = await task({ args: ['sh', '-c', 'echo alone; exit 4'] });
    const caller = spawn(TERSANE_MONITOR, t.argv(), { stdio: 'ignore' });
    // The state dir is made by the forked monitor: from then on the caller is only waiting.
    const deadline = Date.now() + 10_000;
    while (!existsSync(t.stateDir) && Date.now() < deadline) await sleep(1);
    caller.kill('SIGKILL');
    await new Promise((r) => caller.once('close', r));
    const sock = join(t.stateDir, 'sock');
    while (!existsSync(sock) && Date.now() < deadline) await sleep(10);
    t.info = { pid: 0, monitor_pid: Number(readFileSync(join(t.stateDir, 'monitor.pid'), 'utf8')), create_begin_ns: 0, create_end_ns: 0 };
    const c = await t.connect();
    await c.start();
    expect(await c.exited).toMatchObject({ exit_code: 4 });
    expect(t.logEntries().map((e) => e.log)).toEqual(['alone\n']);
  });

  it('calls the runtime with its globals, extra args and TRACEPARENT', async () => {
    const t = await task({ args: ['true'] });
    const calls = join(t.tmp, 'calls');
    const wrapper = join(t.tmp, 'runtime.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho "$TRACEPARENT|$*" >> ${calls}\nexec ${runtime} "$@"\n`, { mode: 0o755 });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const args = t.argv();
    args[args.indexOf('--runtime') + 1] = wrapper;
    const p = spawn(TERSANE_MONITOR, [...args, '--runtime-arg', '--debug'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRACEPARENT: traceparent },
    });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    expect(await new Promise((r) => p.on('close', r))).toBe(0);
    t.info = JSON.parse(out);
    const c = await t.connect();
    await c.start();
    await c.exited;
    await t.waitCleaned();
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    const globals = `--root ${t.runtimeRoot} --debug --log ${join(t.stateDir, 'runtime.log')} --log-format json`;
    expect(lines).toEqual([
      `${traceparent}|${globals} create --bundle ${t.bundle.dir} --pid-file ${join(t.stateDir, 'pid')} ${t.id}`,
      `${traceparent}|${globals} start ${t.id}`,
      `${traceparent}|${globals} delete --force ${t.id}`,
    ]);
  });

  it('passes stdin through and closes it', async () => {
    const t = await task({ args: ['cat'], stdin: true });
    await t.launchOk();
    const c = await t.connect();
    expect((await c.attach(ATTACH_STDIN | ATTACH_STDOUT | ATTACH_STDERR)).ok).toBe(true);
    await c.start();
    c.stdin('hello stdin\n');
    c.stdin('second line');
    c.closeStdin();
    const exit = await c.exited;
    expect(exit.exit_code).toBe(0);
    expect(c.stdout).toBe('hello stdin\nsecond line');
    expect(t.logEntries().map((e) => e.log)).toEqual(['hello stdin\n', 'second line']);
  });

  it('gives a terminal container a pty that follows RESIZE', async () => {
    const t = await task({ args: ['sh'], terminal: true, stdin: true });
    await t.launchOk();
    const c = await t.connect();
    await c.attach(ATTACH_STDIN | ATTACH_STDOUT | ATTACH_STDERR);
    await c.start();
    expect((await c.resize(33, 101)).ok).toBe(true);
    c.stdin('stty size; tty; exit 5\n');
    const exit = await c.exited;
    expect(exit.exit_code).toBe(5);
    expect(c.stdout).toMatch(/33 101\r?\n/);
    expect(c.stdout).toMatch(/\/dev\/pts\/\d+/);
    const entries = t.logEntries();
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.stream === 'stdout')).toBe(true);
    expect(entries.map((e) => e.log).join('')).toContain('33 101');
  });

  it('ends a terminal container\'s input with CLOSE_STDIN', async () => {
    const t = await task({ args: ['cat'], terminal: true, stdin: true });
    await t.launchOk();
    const c = await t.connect();
    await c.attach(ATTACH_STDIN | ATTACH_STDOUT);
    await c.start();
    c.stdin('one\ntwo');   // a partial last line: flushed by the first VEOF, ended by the second
    c.closeStdin();
    const exit = await c.exited;
    expect(exit.exit_code).toBe(0);
    // The terminal echoes the input, and cat writes it back: each part shows twice.
    const out = c.stdout.replace(/\r/g, '');
    expect(out.match(/one\n/g)).toHaveLength(2);
    expect(out.match(/two/g)).toHaveLength(2);
  });

  it('refuses RESIZE without a terminal', async () => {
    const t = await task({ args: ['sleep', '100'] });
    await t.launchOk();
    const c = await t.connect();
    const r = await c.resize(10, 10);
    expect(r.ok).toBe(false);
    expect(r.text).toMatch(/terminal/);
    expect((await c.signal(9)).ok).toBe(true);
    expect((await c.exited).exit_code).toBe(137);
  });

  it('records exit codes and deaths by signal', async () => {
    const three = await task({ args: ['sh', '-c', 'exit 3'] });
    await three.launchOk();
    const c3 = await three.connect();
    await c3.start();
    expect(await c3.exited).toMatchObject({ exit_code: 3, signal: 0 });

    // Without a pid namespace the shell is not an init, so it can kill itself.
    const nine = await task({
      args: ['sh', '-c', 'kill -9 $$'],
      configure: (cfg) => {
        cfg.linux.namespaces = cfg.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
      },
    });
    await nine.launchOk();
    const c9 = await nine.connect();
    await c9.start();
    expect(await c9.exited).toMatchObject({ exit_code: 137, signal: 9 });
    expect(nine.exitFile()).toMatchObject({ exit_code: 137, signal: 9 });

    // SIGNAL with all=1 goes through `runtime kill --all`.
    const all = await task({ args: ['sh', '-c', 'sleep 100 & sleep 100'] });
    await all.launchOk();
    const ca = await all.connect();
    await ca.start();
    expect((await ca.signal(9, true)).ok).toBe(true);
    expect(await ca.exited).toMatchObject({ exit_code: 137, signal: 9 });
  });

  it('does not wait for a leaked writer of the output beyond the drain bound', async () => {
    // Without a pid namespace the background sleep outlives the shell and keeps stdout open.
    const t = await task({
      args: ['sh', '-c', 'echo bye; sleep 30 & exit 2'],
      configure: (cfg) => {
        cfg.linux.namespaces = cfg.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
      },
    });
    await t.launchOk();
    const c = await t.connect();
    const t0 = Date.now();
    await c.start();
    const exit = await c.exited;
    expect(exit.exit_code).toBe(2);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(t.logEntries().map((e) => e.log)).toContain('bye\n');
    await t.waitMonitorGone();
    expect(t.leftoverCgroups()).toEqual([]);
  });

  it('reports an OOM kill', async () => {
    const t = await task({
      args: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'],
      configure: (cfg) => {
        cfg.linux.resources.memory = { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 };
      },
    });
    await t.launchOk();
    const c = await t.connect();
    await c.start();
    const exit = await c.exited;
    expect(exit.oom_killed).toBe(true);
    expect(exit.exit_code).toBe(137);
    expect(t.exitFile()?.oom_killed).toBe(true);
  });

  it('a container killed before START still exits cleanly', async () => {
    const t = await task({ args: ['true'] });
    await t.launchOk();
    const c = await t.connect();
    expect((await c.signal(9)).ok).toBe(true);
    expect((await c.exited).exit_code).toBe(137);
    await t.waitMonitorGone();
    expect(existsSync(t.runtimeStateDir())).toBe(false);
    expect(t.leftoverCgroups()).toEqual([]);
  });

  it('fails a bad bundle with one line and leaves nothing behind', async () => {
    const t = await task({ args: ['/nonexistent-binary'], overlay: true });
    const r = await t.launch();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('nonexistent-binary');
    expect(lines[0]).toContain(t.id);
    expect(existsSync(t.stateDir)).toBe(false);
    expect(existsSync(t.runtimeStateDir())).toBe(false);
    expect(t.leftoverCgroups()).toEqual([]);
    expect(t.leftoverMounts()).toEqual([]);
  });

  it('rejects a bad command line before forking', async () => {
    const t = await task({ args: ['true'] });
    const p = spawn(TERSANE_MONITOR, ['--id', 'x', '--bundle', t.bundle.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => p.on('close', r));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/--state-dir/);
  });
});

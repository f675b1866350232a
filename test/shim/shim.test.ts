/**
 * The shim over gRPC, with real monitors and a real runtime, on a stack of nats + shim only:
 * task lifecycle, attach, exit codes, and the shim killed while containers run (they survive, and
 * their exits — also those that happened while it was down — are learned when it is back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { connectShim } from '../../services/shim/client.js';
import { makeBusyboxBundle, type Bundle } from '../../runtime-native/tests/bundle.js';
import { commandLines } from '../helpers/orphans.js';
import { leftovers, sleep, startStack, type Stack } from '../helpers/stack.js';
import type { LayerClient } from '../../common/grpc.js';
import type { ShimClient } from '../../services/shim/client.js';
import type { AttachOutput__Output } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';

const RUNTIMES = ['runc', 'tersane'].filter((r) => r === 'runc' || existsSync(join(process.cwd(), 'runtime-native/build/tersane-runtime')));

describe.each(RUNTIMES)('shim with runtime %s', (runtime) => {
  let stack: Stack;
  let shim: LayerClient<ShimClient>;
  const bundles: Bundle[] = [];
  // The runtime behind a wrapper that can hold its `delete` back (while the file `hold` exists).
  const wrapperDir = mkdtempSync(join(tmpdir(), 'tn-shim-runtime-'));
  const hold = join(wrapperDir, 'hold');

  beforeAll(async () => {
    const real = runtime === 'runc' ? execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim() : join(process.cwd(), 'runtime-native/build/tersane-runtime');
    const wrapper = join(wrapperDir, 'runtime');
    writeFileSync(wrapper, `#!/bin/sh\ncase " $* " in *" delete "*) while [ -e ${hold} ]; do sleep 0.05; done ;; esac\nexec ${real} "$@"\n`, { mode: 0o755 });
    stack = await startStack({
      only: ['nats', 'shim'],
      env: { TERSANE_RUNTIME: runtime, [runtime === 'runc' ? 'TERSANE_RUNTIME_RUNC' : 'TERSANE_RUNTIME_TERSANE']: wrapper },
    });
    shim = connectShim(stack.cfg);
  });

  afterAll(async () => {
    rmSync(hold, { force: true });
    shim?.close();
    await stack?.stop();
    for (const b of bundles) await b.cleanup();
    rmSync(wrapperDir, { recursive: true, force: true });
  });

  async function bundle(args: string[]): Promise<Bundle> {
    const b = await makeBusyboxBundle({ args, parent: stack.root });
    // The engine's cgroup parent, so the stack's teardown finds whatever a test leaves.
    b.config.linux.cgroupsPath = `/${stack.cfg.cgroupParent}/${b.dir.split('/').pop()}`;
    b.save();
    bundles.push(b);
    return b;
  }

  function attach(id: string): { output: Promise<{ stdout: string; exit?: number }>; ready: Promise<void> } {
    const call = shim.raw.AttachTask(shim.metadata());
    let stdout = '';
    let exit: number | undefined;
    let onReady: () => void;
    const ready = new Promise<void>((r) => (onReady = r));
    const output = new Promise<{ stdout: string; exit?: number }>((resolve, reject) => {
      call.on('data', (m: AttachOutput__Output) => {
        if (m.output === 'ready') onReady();
        if (m.output === 'stdout') stdout += m.stdout!.toString();
        if (m.output === 'exit') exit = m.exit!.exit_code;
      });
      call.on('end', () => resolve({ stdout, exit }));
      call.on('error', reject);
    });
    call.write({ open: { id, stdin: false, stdout: true, stderr: true } });
    return { output, ready };
  }

  it('runs a task: create, attach, start, exit code, delete', async () => {
    const b = await bundle(['sh', '-c', 'echo hello from $(hostname); exit 3']);
    const id = `t1-${runtime}`;
    const created = await shim.call('CreateTask', { id, bundle: b.dir, log_path: join(stack.root, `${id}.log`) } as never);
    expect(created.status).toBe('created');
    expect(created.pid).toBeGreaterThan(0);
    const a = attach(id);
    await a.ready;
    const started = await shim.call('StartTask', { id });
    expect(['running', 'stopped']).toContain(started.status);
    const exit = await shim.call('WaitTask', { id });
    expect(exit.exit_code).toBe(3);
    expect(await a.output).toEqual({ stdout: 'hello from tersane\n', exit: 3 });
    const deleted = await shim.call('DeleteTask', { id, force: false });
    expect(deleted.exit_code).toBe(3);
    await expect(shim.call('GetTask', { id })).rejects.toThrow(/not found/);
  });

  it('reports a runtime create failure with the runtime\'s reason and keeps nothing', async () => {
    const b = await bundle(['/no/such/binary']);
    const id = `t2-${runtime}`;
    await expect(shim.call('CreateTask', { id, bundle: b.dir } as never)).rejects.toThrow(/no such|not found|executable/i);
    await expect(shim.call('GetTask', { id })).rejects.toThrow(/not found/);
    expect(existsSync(join(stack.cfg.runDir, 'tasks', id))).toBe(false);
  });

  it('publishes the exit on JetStream and survives a SIGKILL of the shim', async () => {
    const nc: NatsConnection = await natsConnect({ servers: JSON.parse(
      (await import('node:fs')).readFileSync(join(stack.cfg.runDir, 'supervisor.json'), 'utf8')).natsUrl });
    const js = nc.jetstream();
    const bLong = await bundle(['sleep', '1000']);
    const bShort = await bundle(['sh', '-c', 'sleep 1; exit 7']);
    const long = `long-${runtime}`;
    const short = `short-${runtime}`;
    await shim.call('CreateTask', { id: long, bundle: bLong.dir } as never);
    await shim.call('StartTask', { id: long });
    await shim.call('CreateTask', { id: short, bundle: bShort.dir } as never);
    await shim.call('StartTask', { id: short });
    const longPid = (await shim.call('GetTask', { id: long })).pid;

    const r = stack.tersane(['restart', 'shim', '--kill']);
    expect(r.code, r.stderr).toBe(0);
    // The container kept running while the shim was down and after.
    expect(() => process.kill(longPid, 0)).not.toThrow();
    await sleep(1500); // the short one exits meanwhile (or already has)
    const exit = await shim.call('WaitTask', { id: short });
    expect(exit.exit_code).toBe(7);
    expect((await shim.call('GetTask', { id: long })).status).toBe('running');

    // Its exit event is in the stream, exactly once.
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('TERSANE');
    const exits: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage('TERSANE', { seq }).catch(() => undefined);
      if (m?.subject === 'tersane.shim.tasks.exit') exits.push(JSON.parse(m.string()).task.container_id);
    }
    expect(exits.filter((x) => x === short)).toHaveLength(1);
    void js;
    await nc.close();

    await shim.call('KillTask', { id: long, signal: 9, all: false });
    expect((await shim.call('WaitTask', { id: long })).exit_code).toBe(137);
    await shim.call('DeleteTask', { id: long, force: false });
    await shim.call('DeleteTask', { id: short, force: false });
  });

  it('deletes a task whose monitor was killed after telling the exit, before cleaning up: the shim cleans up', async () => {
    const b = await bundle(['sh', '-c', 'exit 5']);
    const id = `cleanup-${runtime}`;
    writeFileSync(hold, '');
    await shim.call('CreateTask', { id, bundle: b.dir } as never);
    await shim.call('StartTask', { id });
    // The exit is told while the monitor's clean-up (the runtime's delete) is held back.
    expect((await shim.call('WaitTask', { id })).exit_code).toBe(5);
    // the monitor and the runtime's held `delete`: both name the task on their command line
    const stuck = commandLines().filter(({ argv }) => argv.includes(id)).map(({ pid }) => pid);
    expect(stuck.length).toBeGreaterThan(0);
    for (const pid of stuck) process.kill(pid, 'SIGKILL');
    rmSync(hold);
    expect(leftovers(stack).cgroups.some((c) => c.endsWith(b.dir.split('/').pop()!))).toBe(true);

    expect((await shim.call('DeleteTask', { id, force: false })).exit_code).toBe(5);
    expect(leftovers(stack).cgroups).toEqual([]);
    expect(existsSync(join(stack.cfg.runDir, 'runtime', runtime, id))).toBe(false);
  });
});

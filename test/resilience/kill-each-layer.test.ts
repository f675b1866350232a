/**
 * Each component SIGKILLed in turn — nats, shim, containerd, daemon, api — while containers run and
 * new `docker run`s are in flight. The running containers survive and their logs keep flowing;
 * every in-flight command ends (its right answer, or a clear error); once the component is back,
 * ps, logs, stop and wait are right, including for a container that exited while it was down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { Component } from '../../common/config.js';
import { errorKind } from '../chaos/chaos.js';
import { findOrphans } from '../helpers/orphans.js';
import { sleep, startStack, type RunResult, type Stack } from '../helpers/stack.js';

const COMPONENTS: Component[] = ['nats', 'shim', 'containerd', 'daemon', 'api'];
const IN_FLIGHT = 3;

function docker(stack: Stack, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: stack.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each(COMPONENTS)('%s killed with SIGKILL', (component) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.loadImage('busybox');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps containers and answers right', async () => {
    const tag = component;
    // A long runner printing a counter, and one that exits (code 7) while the component is down.
    await stack.dockerOk(['run', '-d', '--name', `${tag}-counter`, 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']);
    await stack.dockerOk(['run', '-d', '--name', `${tag}-short`, 'busybox', 'sh', '-c', 'sleep 1.5; exit 7']);
    const pid = Number(await stack.dockerOk(['inspect', '-f', '{{.State.Pid}}', `${tag}-counter`]));
    expect(pid).toBeGreaterThan(0);

    // Runs in flight when the kill lands.
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) =>
      docker(stack, ['run', '--rm', 'busybox', 'sh', '-c', `sleep 0.${i + 3}; exit ${i + 1}`]).then((r) => ({ r, expected: i + 1 })),
    );
    await sleep(300);
    const restart = stack.tersane(['restart', component, '--kill']);
    expect(restart.code, restart.stderr).toBe(0);

    // Every in-flight command ended: its right exit code, or a clear error.
    for (const { r, expected } of await Promise.all(inFlight)) {
      if (r.code !== expected) expect(errorKind(r.stderr), `exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`).toBeDefined();
    }

    // The container survived, and its log kept flowing.
    expect(pidAlive(pid)).toBe(true);
    const before = (await stack.dockerOk(['logs', `${tag}-counter`])).split('\n').length;
    await sleep(800);
    const after = (await stack.dockerOk(['logs', `${tag}-counter`])).split('\n');
    expect(after.length).toBeGreaterThan(before);
    // No gap in the counter across the kill.
    const ticks = after.filter((l) => l.startsWith('tick ')).map((l) => Number(l.slice(5)));
    expect(ticks).toEqual(ticks.map((_, i) => i));

    // The one that exited while the component was down has its exit code.
    await sleep(1500);
    expect(await stack.dockerOk(['wait', `${tag}-short`])).toBe('7');
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', `${tag}-short`])).toBe('exited 7');

    const ps = await stack.dockerOk(['ps', '--format', '{{.Names}}']);
    expect(ps.split('\n')).toContain(`${tag}-counter`);
    await stack.dockerOk(['stop', '-t', '1', `${tag}-counter`]);
    expect(await stack.dockerOk(['wait', `${tag}-counter`])).toBe('137');
    expect(pidAlive(pid)).toBe(false);

    await stack.dockerOk(['rm', `${tag}-counter`, `${tag}-short`]);
    const report = await findOrphans(stack);
    expect(report.orphans).toEqual([]);
    expect(report.counts.containerd).toBe(0);
  });
});

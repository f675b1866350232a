/**
 * Restart policies end to end through the docker CLI: `--restart always` comes back after its
 * process is killed from the host and after the whole engine restarts; `docker stop` keeps it
 * stopped; at the engine's start neither `always` nor `unless-stopped` comes back after a user's
 * stop; `on-failure:2` gives up after two restarts; the back-off shows in
 * RestartCount and the events' order (never in timing assertions); a policy Docker does not know
 * is refused and leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

const POLL_MS = 100;
/** Generous: the machine is shared, and back-offs double. */
const SETTLE_MS = 30_000;

async function state(name: string): Promise<{ status: string; pid: number; restarts: number; exitCode: number }> {
  const [status, pid, restarts, exitCode] = (await stack.dockerOk(['inspect', '--format', '{{.State.Status}} {{.State.Pid}} {{.RestartCount}} {{.State.ExitCode}}', name])).split(' ');
  return { status, pid: Number(pid), restarts: Number(restarts), exitCode: Number(exitCode) };
}

/** Polls until `ok` holds for the container's state; fails with the last state seen. */
async function until(name: string, ok: (s: Awaited<ReturnType<typeof state>>) => boolean): Promise<Awaited<ReturnType<typeof state>>> {
  const deadline = Date.now() + SETTLE_MS;
  let last = await state(name);
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${name} never got there; last state ${JSON.stringify(last)}`);
    await sleep(POLL_MS);
    last = await state(name);
  }
  return last;
}

/** The container's start/die events; events reach NATS through an outbox, so read until two reads agree. */
async function events(name: string, since: number): Promise<string[]> {
  const read = async () =>
    (
      await stack.dockerOk([
        'events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1),
        '--filter', `container=${name}`, '--filter', 'event=start', '--filter', 'event=die', '--format', '{{.Action}}',
      ])
    )
      .split('\n')
      .filter(Boolean);
  let last = await read();
  for (let i = 0; i < 20; i++) {
    await sleep(300);
    const now = await read();
    if (now.join() === last.join()) return now;
    last = now;
  }
  return last;
}

describe('restart policies', () => {
  it('always: back after its process is killed from the host; docker stop keeps it stopped', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sleep', '1000']);
    const first = await until('always', (s) => s.status === 'running' && s.pid > 0);
    process.kill(first.pid, 'SIGKILL');
    const back = await until('always', (s) => s.status === 'running' && s.pid > 0 && s.pid !== first.pid);
    expect(back.restarts).toBe(1);

    await stack.dockerOk(['stop', '-t', '1', 'always']);
    await sleep(1500);
    const stopped = await state('always');
    expect(stopped.status).toBe('exited');
    expect(stopped.restarts).toBe(1);
  });

  it('on-failure:2 gives up after two restarts: three starts, three deaths, in turn', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await stack.dockerOk(['run', '-d', '--name', 'twice', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    const done = await until('twice', (s) => s.status === 'exited' && s.restarts === 2);
    expect(done.exitCode).toBe(3);
    await sleep(1000);
    expect((await state('twice')).restarts).toBe(2);
    expect(await events('twice', since)).toEqual(['start', 'die', 'start', 'die', 'start', 'die']);
  });

  it('always with a command that keeps failing: the count climbs through restarting, and stop ends it', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await stack.dockerOk(['run', '-d', '--name', 'flapping', '--restart', 'always', 'busybox', 'false']);
    const seen = new Set<string>();
    await until('flapping', (s) => {
      seen.add(s.status);
      return s.restarts >= 4;
    });
    expect(seen.has('restarting') || seen.has('exited')).toBe(true);
    await stack.dockerOk(['stop', '-t', '1', 'flapping']);
    const stopped = await state('flapping');
    expect(stopped.status).toBe('exited');
    await sleep(1000);
    expect((await state('flapping')).restarts).toBe(stopped.restarts);
    const order = await events('flapping', since);
    expect(order.length).toBeGreaterThanOrEqual(8);
    order.forEach((action, i) => expect(action).toBe(i % 2 === 0 ? 'start' : 'die'));
  });

  it('refuses a policy Docker does not know, leaving nothing behind', async () => {
    const before = await stack.dockerOk(['ps', '-aq']);
    const r = await stack.docker(['run', '--restart', 'sometimes', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
    const negative = await stack.docker(['run', '--restart', 'on-failure:-1', 'busybox', 'true']);
    expect(negative.stderr).toContain('invalid restart policy: maximum retry count cannot be negative');
    expect(await stack.dockerOk(['ps', '-aq'])).toBe(before);
  });
});

describe('restart policies across a restart of the whole engine', () => {
  it('brings back at its start what the policies say, and never a container the user stopped', async () => {
    await stack.dockerOk(['rm', '-f', 'always', 'flapping']);
    // Running through the restart, killed while the engine is down: back, counted as a restart.
    await stack.dockerOk(['run', '-d', '--name', 'killed-while-down', '--restart', 'always', 'busybox', 'sleep', '1000']);
    await stack.dockerOk(['run', '-d', '--name', 'unless-killed', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
    await stack.dockerOk(['run', '-d', '--name', 'no-policy', 'busybox', 'sleep', '1000']);
    // Running through the restart untouched: the same process afterwards.
    await stack.dockerOk(['run', '-d', '--name', 'untouched', '--restart', 'always', 'busybox', 'sleep', '1000']);
    // Stopped by the user before: neither comes back at the engine's start (a user's stop is kept).
    await stack.dockerOk(['run', '-d', '--name', 'always-stopped', '--restart', 'always', 'busybox', 'sleep', '1000']);
    await stack.dockerOk(['run', '-d', '--name', 'unless-stopped', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']);
    await stack.dockerOk(['stop', '-t', '1', 'always-stopped', 'unless-stopped']);

    const pids: Record<string, number> = {};
    for (const n of ['killed-while-down', 'unless-killed', 'no-policy', 'untouched']) pids[n] = (await until(n, (s) => s.pid > 0)).pid;

    const daemon = stack.pidOf('daemon')!;
    const engine = stack.restartEngine();
    // The processes die once the daemon is gone (the supervisor stops the layers top down).
    const alive = () => {
      try {
        process.kill(daemon, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < SETTLE_MS / POLL_MS && alive(); i++) await sleep(POLL_MS);
    expect(alive()).toBe(false);
    for (const n of ['killed-while-down', 'unless-killed', 'no-policy']) process.kill(pids[n], 'SIGKILL');
    await engine;

    const killed = await until('killed-while-down', (s) => s.status === 'running' && s.pid !== pids['killed-while-down']);
    expect(killed.restarts).toBe(1);
    await until('unless-killed', (s) => s.status === 'running' && s.pid !== pids['unless-killed']);
    expect((await until('no-policy', (s) => s.status === 'exited')).exitCode).toBe(137);
    expect(await state('untouched')).toMatchObject({ status: 'running', pid: pids.untouched });
    await sleep(1500);
    expect((await state('always-stopped')).status).toBe('exited');
    expect((await state('unless-stopped')).status).toBe('exited');
  });
});

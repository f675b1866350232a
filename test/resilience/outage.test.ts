/**
 * A component held down (not just restarting): requests that need it get a clear 503 naming it
 * within the configured bound, never a hang; NATS being away blocks nothing, and the events made
 * meanwhile are delivered once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startStack, type Stack } from '../helpers/stack.js';

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** How long a request waits for a layer that is down: short here, so the test is quick. */
const LAYER_WAIT_MS = 1500;
/** A generous ceiling for "bounded": the wait plus the CLI's and the engine's own work. */
const BOUND_MS = LAYER_WAIT_MS + 8000;

describe('outages', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TERSANE_LAYER_WAIT_MS: String(LAYER_WAIT_MS) } });
    await stack.loadImage('busybox');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function timed(args: string[]) {
    const t0 = Date.now();
    const r = await stack.docker(args, { timeoutMs: 60_000 });
    return { ...r, ms: Date.now() - t0 };
  }

  it.each([
    ['containerd', ['run', '--rm', 'busybox', 'true']],
    ['shim', ['run', '--rm', 'busybox', 'true']],
    ['daemon', ['ps']],
  ])('with %s down, `docker %s` fails within the bound and names it', async (layer, args) => {
    expect(stack.tersane(['stop', layer]).code).toBe(0);
    try {
      const r = await timed(args as string[]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`tersane ${layer} is unavailable`);
      expect(r.ms).toBeLessThan(BOUND_MS);
    } finally {
      expect(stack.tersane(['start', layer]).code).toBe(0);
    }
    // Back: the same command works, and nothing half-made was left by the failed one.
    const again = await timed(args as string[]);
    expect(again.code, again.stderr).toBe(0);
    expect(await stack.dockerOk(['ps', '-aq'])).toBe('');
  });

  it('answers 503 in Docker’s error shape', async () => {
    expect(stack.tersane(['stop', 'daemon']).code).toBe(0);
    try {
      const res = await get(stack.cfg.dockerSocket, '/v1.45/containers/json');
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ message: expect.stringContaining('tersane daemon is unavailable') });
    } finally {
      expect(stack.tersane(['start', 'daemon']).code).toBe(0);
    }
  });

  it('with NATS down, runs and stops do not block, and their events arrive once it is back', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    expect(stack.tersane(['stop', 'nats']).code).toBe(0);
    try {
      const run = await timed(['run', '--rm', '--name', 'nn-run', 'busybox', 'sh', '-c', 'echo hi; exit 3']);
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('hi\n');
      await stack.dockerOk(['run', '-d', '--name', 'nn-detached', 'busybox', 'sleep', '100']);
      const stop = await timed(['stop', '-t', '1', 'nn-detached']);
      expect(stop.code, stop.stderr).toBe(0);
      expect(await stack.dockerOk(['inspect', '-f', '{{.State.ExitCode}}', 'nn-detached'])).toBe('137');
      await stack.dockerOk(['rm', 'nn-detached']);
    } finally {
      expect(stack.tersane(['start', 'nats']).code).toBe(0);
    }
    // The events recorded while NATS was away were kept and delivered.
    let actions: string[] = [];
    for (let i = 0; i < 50; i++) {
      const out = await stack.dockerOk([
        'events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000)),
        '--filter', 'container=nn-run', '--format', '{{.Action}}',
      ]);
      actions = out.split('\n').filter((a) => a && a !== 'attach');
      if (actions.includes('destroy')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(actions).toEqual(['create', 'start', 'die', 'destroy']);
  });
});

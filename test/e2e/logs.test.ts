/**
 * `docker logs` over the json-file log the container's monitor writes: --tail, --since, --until,
 * --timestamps, --follow as Docker answers them; rotation by --log-opt max-size/max-file and
 * Docker's refusals of bad values; `--log-driver none` (501); and a log that survives every layer
 * being killed in turn, and keeps growing while the whole engine is down, with no line lost.
 */
import { request } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Component } from '../../common/config.js';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

async function runToEnd(name: string, args: string[]): Promise<string> {
  const id = await stack.dockerOk(['run', '-d', '--name', name, ...args]);
  await stack.dockerOk(['wait', name]);
  return id;
}

function logDir(id: string): string {
  return join(stack.cfg.layerState('daemon'), 'containers', id);
}

describe('docker logs options', () => {
  beforeAll(async () => {
    // Apart in time: stdout and stderr are two pipes, their order is only kept between separate writes.
    await runToEnd('talker', ['busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done']);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await stack.docker(['logs', 'talker']);
    expect(r.stdout).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(r.stderr).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
  });

  it('--tail counts lines over both streams', async () => {
    const r = await stack.docker(['logs', '--tail', '3', 'talker']);
    expect(r.stdout).toBe('out5\n');
    expect(r.stderr).toBe('err4\nerr5\n');
    const none = await stack.docker(['logs', '--tail', '0', 'talker']);
    expect(none.stdout + none.stderr).toBe('');
  });

  it('--timestamps prefixes RFC 3339 times with nine digits', async () => {
    const lines = (await stack.dockerOk(['logs', '-t', 'talker'])).split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      const [time, text] = line.split(' ');
      expect(time).toMatch(RFC3339_NANO);
      expect(text).toMatch(/^out\d$/);
    }
  });

  it('--since and --until bound the lines by their times (both inclusive)', async () => {
    await runToEnd('timed', ['busybox', 'sh', '-c', 'echo first; sleep 1.2; echo second; sleep 1.2; echo third']);
    const stamped = (await stack.dockerOk(['logs', '-t', 'timed'])).split('\n').map((l) => l.split(' '));
    expect(stamped.map((l) => l[1])).toEqual(['first', 'second', 'third']);
    const [, second] = stamped.map((l) => l[0]);
    expect(await stack.dockerOk(['logs', '--since', second, 'timed'])).toBe('second\nthird');
    expect(await stack.dockerOk(['logs', '--until', second, 'timed'])).toBe('first\nsecond');
    expect(await stack.dockerOk(['logs', '--since', second, '--until', second, 'timed'])).toBe('second');
  });

  it('--follow streams until the container exits', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'follower', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick$i; sleep 0.4; done']);
    const r = await stack.docker(['logs', '-f', 'follower'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('tick1\ntick2\ntick3\n');
  });
});

describe('rotation and log options', () => {
  it('rotates at max-size keeping max-file files, the newest lines readable without a gap', async () => {
    const id = await runToEnd('rotated', [
      '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3',
      'busybox', 'sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done',
    ]);
    const files = readdirSync(logDir(id)).filter((f) => f.includes('-json.log')).sort();
    expect(files).toEqual([`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    for (const f of files) expect(statSync(join(logDir(id), f)).size).toBeLessThanOrEqual(1000 + 200);
    const numbers = (await stack.dockerOk(['logs', 'rotated'])).split('\n').map((l) => Number(/^line-(\d+)-/.exec(l)?.[1]));
    expect(numbers[numbers.length - 1]).toBe(399);
    expect(numbers[0]).toBeGreaterThan(0);
    numbers.forEach((n, i) => expect(n).toBe(numbers[0] + i));
  });

  it('refuses bad values when the log is opened (the start), in Docker’s words', async () => {
    const bad = await stack.docker(['run', '--name', 'bad-size', '--log-opt', 'max-size=abc', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("failed to create task for container: failed to initialize logging driver: invalid size: 'abc'");
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'bad-size'])).toBe('created 128');
    const files = await stack.docker(['run', '--rm', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=0', 'busybox', 'true']);
    expect(files.stderr).toContain('max-file cannot be less than 1');
    const zero = await stack.docker(['run', '--rm', '--log-opt', 'max-size=0', 'busybox', 'true']);
    expect(zero.stderr).toContain('max-size must be a positive number');
  });

  it('refuses an unknown option at create and leaves nothing behind', async () => {
    const before = await stack.dockerOk(['ps', '-aq']);
    const r = await stack.docker(['run', '--log-opt', 'colour=blue', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("unknown log opt 'colour' for json-file log driver");
    expect(await stack.dockerOk(['ps', '-aq'])).toBe(before);
  });

  it('--log-driver none: nothing written, and reading answers 501', async () => {
    const id = await runToEnd('silent', ['--log-driver', 'none', 'busybox', 'echo', 'unseen']);
    expect(readdirSync(logDir(id)).some((f) => f.includes('-json.log'))).toBe(false);
    const r = await stack.docker(['logs', 'silent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('configured logging driver does not support reading');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: stack.cfg.dockerSocket, path: '/v1.47/containers/silent/logs?stdout=1', method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(501);
  });
});

describe('a log across restarts', () => {
  it('has no gap after each layer is killed in turn, and grows while the whole engine is down', async () => {
    const id = await stack.dockerOk(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done']);
    const logFile = join(logDir(id), `${id}-json.log`);
    const lines = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length;
    for (const layer of ['api', 'daemon', 'containerd', 'shim', 'nats'] as Component[]) {
      const before = lines();
      const r = stack.tersane(['restart', layer, '--kill']);
      expect(r.code, `${layer}: ${r.stderr}`).toBe(0);
      for (let i = 0; i < 100 && lines() <= before; i++) await sleep(100);
      expect(lines(), layer).toBeGreaterThan(before);
    }

    // The whole engine down: the monitor keeps writing.
    const supervisor = JSON.parse(readFileSync(join(stack.cfg.runDir, 'supervisor.json'), 'utf8')).pid as number;
    process.kill(supervisor, 'SIGTERM');
    for (let i = 0; i < 300; i++) {
      try {
        process.kill(supervisor, 0);
        await sleep(100);
      } catch {
        break;
      }
    }
    const whileDown = lines();
    await sleep(1000);
    expect(lines()).toBeGreaterThan(whileDown);
    await stack.restartEngine();

    const numbers = (await stack.dockerOk(['logs', 'counter'])).split('\n').map(Number);
    expect(numbers.length).toBeGreaterThan(20);
    numbers.forEach((n, i) => expect(n).toBe(i));
    await stack.dockerOk(['rm', '-f', 'counter']);
  });
});

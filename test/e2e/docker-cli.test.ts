/**
 * The `docker run` path end to end: the real docker CLI against a whole stack (nats, shim,
 * containerd, daemon, api) started in its own root, on real namespaces, cgroups and overlayfs.
 * What a user types, what a user reads: exit codes, output, and Docker's own error wording.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startStack, type RunResult, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

/** The docker CLI on the PATH against the stack; never throws on a non-zero exit. */
const docker = (args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult> => stack.docker(args, opts);

describe('system', () => {
  it('docker version shows the engine and its API range', async () => {
    const api = await stack.dockerOk(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}']);
    expect(api).toBe('1.50 1.24');
  });

  it('docker info answers', async () => {
    const r = await docker(['info', '--format', '{{json .}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('Containers');
  });

  it('docker events replays a container’s life', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await stack.dockerOk(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
    const until = Math.floor(Date.now() / 1000) + 1;
    const out = await stack.dockerOk(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}}']);
    expect(out.split('\n')).toEqual(expect.arrayContaining(['container create', 'container start', 'container die', 'container destroy']));
  });

  it('docker images lists the loaded image', async () => {
    const out = await stack.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(out.split('\n')).toContain('busybox:latest');
  });
});

describe('run', () => {
  it('docker run --rm busybox echo hello prints hello and leaves nothing behind', async () => {
    const r = await docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(await stack.dockerOk(['ps', '-aq'])).toBe('');
  });

  it("docker run busybox sh -c 'exit 3' exits 3", async () => {
    const r = await docker(['run', '--name', 'exit3', 'busybox', 'sh', '-c', 'exit 3']);
    expect(r.code, r.stderr).toBe(3);
    const state = await stack.dockerOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'exit3']);
    expect(state).toBe('exited 3');
    await stack.dockerOk(['rm', 'exit3']);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('passes stdin with -i and ends it when the input does', async () => {
    const r = await docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line one\nline two\ndone\n');
  });

  it.skipIf(!hasScript())('runs an interactive terminal: input, window size, exit code', async () => {
    // `script` gives the CLI a real terminal of 45 rows and 123 columns.
    const child = spawn('script', ['-qfec', 'stty cols 123 rows 45; docker run -it --rm busybox sh', '/dev/null'], { env: stack.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    await sleep(1500);
    child.stdin.write('stty size; echo typed-$((6*7))\r');
    await sleep(700);
    child.stdin.write('exit 9\r');
    expect(await code).toBe(9);
    expect(out).toContain('45 123');
    expect(out).toContain('typed-42');
  });

  it('writes a tty container raw', async () => {
    const r = await docker(['run', '--rm', '-t', 'busybox', 'echo', 'on a tty']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('on a tty\r\n');
  });
});

describe('a detached container', () => {
  it('run -d, ps, logs, stop -t 1 of a PID 1 that ignores SIGTERM, start again, rm -f', async () => {
    const id = await stack.dockerOk(['run', '-d', '--name', 'ctr1', 'busybox', 'sh', '-c', 'trap "" TERM; echo started; while true; do sleep 1; done']);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await stack.dockerOk(['ps', '--format', '{{.Names}} {{.Status}}'])).toMatch(/^ctr1 Up/m);
    expect(await waitForLogs('ctr1', 'started')).toContain('started');

    const t0 = Date.now();
    await stack.dockerOk(['stop', '-t', '1', 'ctr1']);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8000);
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'ctr1'])).toBe('exited 137');

    await stack.dockerOk(['start', 'ctr1']);
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Running}}', 'ctr1'])).toBe('true');
    await stack.dockerOk(['rm', '-f', 'ctr1']);
    const gone = await docker(['inspect', 'ctr1']);
    expect(gone.code).not.toBe(0);
  });

  it('docker wait returns the exit code', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', 'sleep 0.5; exit 7']);
    expect(await stack.dockerOk(['wait', id])).toBe('7');
    await stack.dockerOk(['rm', id]);
  });

  it('docker kill -s delivers the signal', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'sig', 'busybox', 'sh', '-c', 'trap "echo got-usr1; exit 0" USR1; echo ready; while true; do sleep 0.1; done']);
    await waitForLogs('sig', 'ready');
    await stack.dockerOk(['kill', '-s', 'USR1', 'sig']);
    expect(await stack.dockerOk(['wait', 'sig'])).toBe('0');
    expect(await stack.dockerOk(['logs', 'sig'])).toContain('got-usr1');
    await stack.dockerOk(['rm', 'sig']);
  });

  it('docker inspect fills State, Config, Image and Name as Docker does', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'insp', '--label', 'tier=web', 'busybox', 'sleep', '1000']);
    const doc = JSON.parse(await stack.dockerOk(['inspect', 'insp']))[0];
    expect(doc.Name).toBe('/insp');
    expect(doc.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.State.Status).toBe('running');
    expect(doc.State.Running).toBe(true);
    expect(doc.State.Pid).toBeGreaterThan(0);
    expect(doc.Config.Image).toBe('busybox');
    expect(doc.Config.Cmd).toEqual(['sleep', '1000']);
    expect(doc.Config.Labels).toMatchObject({ tier: 'web' });
    await stack.dockerOk(['rm', '-f', 'insp']);
  });

  it('docker attach follows a running container until it exits', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'att', 'busybox', 'sh', '-c', 'sleep 1; echo attached-out; echo attached-err >&2; sleep 0.5']);
    const r = await docker(['attach', 'att']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('attached-out\n');
    expect(r.stderr).toBe('attached-err\n');
    await stack.dockerOk(['rm', 'att']);
  });

  it('docker start -a attaches before starting', async () => {
    await stack.dockerOk(['create', '--name', 'sa', 'busybox', 'echo', 'via start -a']);
    const r = await docker(['start', '-a', 'sa']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('via start -a\n');
    await stack.dockerOk(['rm', 'sa']);
  });

  it('docker logs -f follows until the container exits; tail and timestamps', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'lf', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.3; done']);
    const r = await docker(['logs', '-f', 'lf']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
    expect(await stack.dockerOk(['logs', '--tail', '1', 'lf'])).toBe('line 3');
    const stamped = (await stack.dockerOk(['logs', '-t', 'lf'])).split('\n');
    expect(stamped[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z line 1$/);
    await stack.dockerOk(['rm', 'lf']);
  });

  it('ps -a filters by name, status and label; prune removes stopped containers', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'keep', '--label', 'k=v', 'busybox', 'sleep', '1000']);
    await stack.dockerOk(['run', '--name', 'done1', 'busybox', 'true']);
    expect(await stack.dockerOk(['ps', '-a', '--filter', 'name=keep', '--format', '{{.Names}}'])).toBe('keep');
    expect(await stack.dockerOk(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}'])).toContain('done1');
    expect(await stack.dockerOk(['ps', '--filter', 'label=k=v', '--format', '{{.Names}}'])).toBe('keep');
    await stack.dockerOk(['container', 'prune', '-f']);
    expect(await stack.dockerOk(['ps', '-a', '--format', '{{.Names}}'])).toBe('keep');
    await stack.dockerOk(['rm', '-f', 'keep']);
  });
});

describe('errors as Docker gives them', () => {
  it('a second --name ctr1 is a 409 with Docker’s text', async () => {
    const id = await stack.dockerOk(['run', '-d', '--name', 'dup', 'busybox', 'sleep', '1000']);
    const r = await docker(['run', '-d', '--name', 'dup', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(
      `Conflict. The container name "/dup" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    const rm = await docker(['rm', 'dup']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/Error response from daemon: cannot remove container "\/?dup": container is running: stop the container before removing or force remove/);
    await stack.dockerOk(['rm', '-f', 'dup']);
  });

  it('an unknown image', async () => {
    const r = await docker(['run', '--rm', 'nosuchimage']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("Unable to find image 'nosuchimage:latest' locally");
    // The CLI then pulls it from Docker Hub, which no test machine reaches: Docker's transport error.
    expect(r.stderr).toMatch(/Error response from daemon: Get "https:\/\/registry-1\.docker\.io\/v2\/": /);
    const rmi = await docker(['rmi', 'nosuchimage']);
    expect(rmi.code).toBe(1);
    expect(rmi.stderr).toContain('Error response from daemon: No such image: nosuchimage:latest');
  });

  it('an unknown container', async () => {
    for (const args of [['rm', 'nosuch'], ['stop', 'nosuch'], ['start', 'nosuch'], ['kill', 'nosuch'], ['logs', 'nosuch'], ['wait', 'nosuch']]) {
      const r = await docker(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toContain('No such container: nosuch');
    }
  });
});

describe('images', () => {
  it('save, rmi, load round trip keeps the image id', async () => {
    const before = await stack.dockerOk(['inspect', '--format', '{{.Id}}', 'busybox']);
    await stack.dockerOk(['tag', 'busybox', 'localhost:5000/team/bb:1']);
    expect(await stack.dockerOk(['inspect', '--format', '{{.Id}}', 'localhost:5000/team/bb:1'])).toBe(before);
    const tar = join(stack.root, 'bb.tar');
    await stack.dockerOk(['save', '-o', tar, 'busybox']);
    expect(existsSync(tar)).toBe(true);
    await stack.dockerOk(['rmi', 'localhost:5000/team/bb:1']);
    const rmi = await stack.dockerOk(['rmi', 'busybox']);
    expect(rmi).toContain('Untagged: busybox:latest');
    expect((await docker(['inspect', 'busybox'])).code).not.toBe(0);
    const loaded = await stack.dockerOk(['load', '-i', tar]);
    expect(loaded).toContain('Loaded image: busybox:latest');
    expect(await stack.dockerOk(['inspect', '--format', '{{.Id}}', 'busybox'])).toBe(before);
    const history = await stack.dockerOk(['history', '-q', 'busybox']);
    expect(history.length).toBeGreaterThan(0);
  });
});

describe('the docker v20.10 CLI (Debian docker.io)', () => {
  const docker20 = [process.env.TERSANE_DOCKER20, '/usr/bin/docker', '/tmp/docker20'].find((p) => p && existsSync(p) && isV20(p));
  it.skipIf(!docker20)('runs, lists and reports errors', async () => {
    const run = await runWith(docker20!, ['run', '--rm', 'busybox', 'echo', 'hello from 20.10']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hello from 20.10\n');
    const exit = await runWith(docker20!, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 4']);
    expect(exit.code).toBe(4);
    const ps = await runWith(docker20!, ['ps', '-a']);
    expect(ps.code, ps.stderr).toBe(0);
    const version = await runWith(docker20!, ['version', '--format', '{{.Client.APIVersion}} {{.Server.APIVersion}}']);
    expect(version.stdout.trim()).toBe('1.41 1.50');
    const missing = await runWith(docker20!, ['rm', 'nosuch']);
    expect(missing.stderr).toContain('No such container: nosuch');
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}

function isV20(path: string): boolean {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return /version 20\./.test(r.stdout ?? '');
}

function runWith(bin: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function waitForLogs(name: string, text: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = (await docker(['logs', name])).stdout;
    if (out.includes(text) || Date.now() > deadline) return out;
    await sleep(100);
  }
}

/**
 * `docker exec` through the real docker CLI: exit codes pass through, -u/-w/-e/-d/--privileged,
 * exec inspect over the API, the container's environment, output kept out of the container's log,
 * Docker's events, and bad input in Docker's words (an unknown user, a missing command, a stopped or
 * paused container).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let id: string;

/** A request to the stack's Docker API socket; resolves with status and parsed body. */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      { socketPath: stack.cfg.dockerSocket, method, path, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
  id = await stack.dockerOk(['run', '-d', '--name', 'ex', '-e', 'FROM_RUN=yes', 'busybox', 'sleep', '1000']);
});

afterAll(async () => {
  await stack?.stop();
});

describe('docker exec', () => {
  it('passes exit codes through', async () => {
    expect((await stack.docker(['exec', 'ex', 'sh', '-c', 'exit 5'])).code).toBe(5);
    expect((await stack.docker(['exec', 'ex', 'true'])).code).toBe(0);
    const r = await stack.docker(['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs as another user, in another directory, with more environment', async () => {
    expect(await stack.dockerOk(['exec', '-u', 'daemon', 'ex', 'id', '-u'])).toBe('1');
    expect(await stack.dockerOk(['exec', '-u', '1234:5678', 'ex', 'sh', '-c', 'echo $(id -u):$(id -g)'])).toBe('1234:5678');
    expect(await stack.dockerOk(['exec', '-w', '/tmp', 'ex', 'pwd'])).toBe('/tmp');
    expect(await stack.dockerOk(['exec', '-e', 'EXTRA=1', 'ex', 'sh', '-c', 'echo $FROM_RUN $EXTRA $HOSTNAME'])).toBe(`yes 1 ${id.slice(0, 12)}`);
  });

  it('gives --privileged every capability the host has', async () => {
    const capEff = (out: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(out)![1]}`);
    const plain = capEff(await stack.dockerOk(['exec', 'ex', 'cat', '/proc/self/status']));
    const privileged = capEff(await stack.dockerOk(['exec', '--privileged', 'ex', 'cat', '/proc/self/status']));
    expect(privileged & plain).toBe(plain);
    expect(privileged).toBeGreaterThan(plain);
  });

  it('runs detached (-d) and keeps its output out of the container’s log', async () => {
    await stack.dockerOk(['exec', '-d', 'ex', 'sh', '-c', 'echo from-exec; echo done > /tmp/marker']);
    let marker = '';
    for (let i = 0; i < 50 && marker !== 'done'; i++) {
      marker = (await stack.docker(['exec', 'ex', 'cat', '/tmp/marker'])).stdout.trim();
      if (marker !== 'done') await new Promise((r) => setTimeout(r, 100));
    }
    expect(marker).toBe('done');
    expect((await stack.docker(['logs', 'ex'])).stdout).not.toContain('from-exec');
  });

  it('is inspectable, listed in the container while it runs, and announced by events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const created = await api('POST', '/containers/ex/exec', { Cmd: ['sh', '-c', 'sleep 1; exit 7'], AttachStdout: true });
    expect(created.status).toBe(201);
    const execId = created.body.Id as string;
    expect(execId).toMatch(/^[0-9a-f]{64}$/);
    const before = (await api('GET', `/exec/${execId}/json`)).body;
    expect(before).toMatchObject({ ID: execId, Running: false, ExitCode: null, ContainerID: id, Pid: 0 });
    expect(before.ProcessConfig).toMatchObject({ entrypoint: 'sh', arguments: ['-c', 'sleep 1; exit 7'], tty: false });
    expect((await api('POST', `/exec/${execId}/start`, { Detach: true })).status).toBe(200);
    const running = (await api('GET', `/exec/${execId}/json`)).body;
    expect(running.Running).toBe(true);
    expect(running.Pid).toBeGreaterThan(0);
    expect(JSON.parse(await stack.dockerOk(['inspect', '-f', '{{json .ExecIDs}}', 'ex']))).toContain(execId);
    let done = running;
    for (let i = 0; i < 100 && done.Running; i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = (await api('GET', `/exec/${execId}/json`)).body;
    }
    expect(done).toMatchObject({ Running: false, ExitCode: 7 });
    // Starting it again is Docker's conflict.
    const again = await api('POST', `/exec/${execId}/start`, { Detach: true });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`Error: Exec command ${execId} has already run`);
    expect((await api('GET', '/exec/nope/json')).body.message).toBe('No such exec instance: nope');

    const until = Math.floor(Date.now() / 1000) + 1;
    const events = await stack.dockerOk(['events', '--since', String(since), '--until', String(until), '--filter', 'container=ex', '--format', '{{.Action}} {{index .Actor.Attributes "execID"}} {{index .Actor.Attributes "exitCode"}}']);
    expect(events.split('\n')).toEqual(
      expect.arrayContaining([`exec_create: sh -c sleep 1; exit 7 ${execId} `, `exec_start: sh -c sleep 1; exit 7 ${execId} `, `exec_die ${execId} 7`]),
    );
  });
});

describe('docker exec: bad input in Docker’s words', () => {
  it('an unknown user', async () => {
    const r = await stack.docker(['exec', '-u', 'nope', 'ex', 'true']);
    expect(r.code).toBe(126);
    expect(r.stdout + r.stderr).toContain('unable to find user nope: no matching entries in passwd file');
  });

  it('a command that does not exist', async () => {
    const r = await stack.docker(['exec', 'ex', 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stdout + r.stderr).toMatch(/OCI runtime exec failed: .*no-such-command.*executable file not found in \$PATH: unknown/);
  });

  it('no command at all', async () => {
    const r = await api('POST', '/containers/ex/exec', { Cmd: [] });
    expect(r).toEqual({ status: 400, body: { message: 'No exec command specified' } });
  });

  it('a container that is not running, or paused', async () => {
    const stopped = await stack.dockerOk(['create', 'busybox', 'true']);
    const r = await stack.docker(['exec', stopped, 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error response from daemon: container ${stopped} is not running`);
    await stack.dockerOk(['rm', stopped]);

    await stack.dockerOk(['pause', 'ex']);
    const p = await stack.docker(['exec', 'ex', 'true']);
    expect(p.stderr).toContain(`Error response from daemon: Container ${id} is paused, unpause the container before exec`);
    await stack.dockerOk(['unpause', 'ex']);
    expect((await stack.docker(['exec', 'ex', 'true'])).code).toBe(0);
  });
});

/**
 * The daemon over gRPC on a real stack (nats, shim, containerd, daemon; no api): images loaded
 * through the daemon, containers created, attached, started, waited for, logged, stopped, killed,
 * removed, with Docker's errors, leaving nothing behind.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDaemon, type DaemonClients } from '../../services/daemon/client.js';
import { IMAGES, REPO, sleep, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let daemon: DaemonClients;

beforeAll(async () => {
  // The project's own runtime when it is built, Debian's runc otherwise.
  const runtime: Record<string, string> = existsSync(join(REPO, 'runtime-native', 'build', 'tersane-runtime')) ? {} : { TERSANE_RUNTIME: 'runc' };
  stack = await startStack({ only: ['nats', 'shim', 'containerd', 'daemon'], env: runtime });
  daemon = connectDaemon(stack.cfg);
  const messages = await loadImage(join(IMAGES, 'busybox.tar'));
  expect(messages.some((m) => m.stream === 'Loaded image: busybox:latest\n')).toBe(true);
});

afterAll(async () => {
  daemon?.close();
  await stack?.stop();
});

// ---- helpers ----------------------------------------------------------------------------------------

async function loadImage(file: string): Promise<Array<Record<string, any>>> {
  const images = daemon.images;
  await images.ready();
  const call = images.raw.Load(images.metadata());
  const out: Array<Record<string, any>> = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (d: { json: Buffer }) => out.push(JSON.parse(d.json.toString())));
    call.on('end', resolve);
    call.on('error', reject);
  });
  for await (const chunk of createReadStream(file)) call.write({ data: chunk });
  call.end();
  await done;
  return out;
}

async function create(body: Record<string, unknown>, name = ''): Promise<string> {
  const res = await daemon.containers.call('Create', { name, config_json: Buffer.from(JSON.stringify({ Image: 'busybox', ...body })), api_version: '1.49', platform: '' });
  return res.id;
}

async function inspect(id: string): Promise<any> {
  return JSON.parse((await daemon.containers.call('Inspect', { id, size: false })).json.toString());
}

async function list(all: boolean, filters = ''): Promise<any[]> {
  return JSON.parse((await daemon.containers.call('List', { all, limit: 0, size: false, filters })).json.toString());
}

/** Registers a wait (resolves once registered); `.result` resolves with the outcome. */
async function wait(id: string, condition: string): Promise<{ result: Promise<{ status_code: number; error: string }> }> {
  const c = daemon.containers;
  await c.ready();
  const call = c.raw.Wait({ id, condition }, c.metadata());
  const msgs: any[] = [];
  let notify: () => void = () => undefined;
  let failure: Error | undefined;
  call.on('data', (m: any) => {
    msgs.push(m);
    notify();
  });
  call.on('error', (e) => {
    failure = e;
    notify();
  });
  const next = async () => {
    while (msgs.length === 0 && !failure) await new Promise<void>((r) => (notify = r));
    if (msgs.length === 0) throw failure;
    return msgs.shift();
  };
  const first = await next();
  expect(first.registered).toBe(true);
  return { result: next().then((m) => m.result) };
}

/** Attaches (resolves once ready); collects output until `exit`. */
async function attach(id: string, opts: { stdin?: boolean } = {}) {
  const c = daemon.containers;
  await c.ready();
  const call = c.raw.Attach(c.metadata());
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const ended = new Promise<void>((resolve, reject) => {
    call.on('data', (m: any) => {
      if (m.ready) readyResolve();
      else if (m.stdout) stdout += m.stdout.toString();
      else if (m.stderr) stderr += m.stderr.toString();
      else if (m.exit) exitCode = m.exit.exit_code;
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  call.write({ open: { id, stdin: opts.stdin ?? false, stdout: true, stderr: true } });
  await ready;
  return {
    write: (s: string) => call.write({ stdin: Buffer.from(s) }),
    closeStdin: () => call.write({ close_stdin: true }),
    ended: ended.then(() => ({ stdout, stderr, exitCode })),
    cancel: () => call.cancel(),
  };
}

async function logs(id: string, opts: { tail?: number; follow?: boolean } = {}): Promise<string[]> {
  const c = daemon.containers;
  const call = c.raw.Logs({ id, follow: opts.follow ?? false, stdout: true, stderr: true, since_ns: 0, until_ns: 0, timestamps: false, tail: opts.tail ?? -1 }, c.metadata());
  const lines: string[] = [];
  // The first message only says the log is open.
  for await (const e of call as AsyncIterable<any>) if (!e.opened) lines.push(`${e.stream}:${e.line.toString()}`);
  return lines;
}

async function expectError(p: Promise<unknown>, code: number, message: string | RegExp): Promise<void> {
  const err = (await p.then(
    () => undefined,
    (e) => e,
  )) as any;
  expect(err, 'expected an error').toBeDefined();
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  expect(err.kind ?? err.code).toBe(({ 3: 'invalid_argument', 5: 'not_found', 6: 'conflict', 9: 'failed_precondition' } as Record<number, string>)[code]);
}

function containerDirs(): string[] {
  const dir = join(stack.cfg.layerState('daemon'), 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

async function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

// ---- tests ------------------------------------------------------------------------------------------

describe('docker run through the daemon', () => {
  it('runs echo hello with attach, next-exit wait and start, as the CLI orders them', async () => {
    const id = await create({ Cmd: ['echo', 'hello'], AttachStdout: true, AttachStderr: true });
    const a = await attach(id);
    const w = await wait(id, 'next-exit');
    await daemon.containers.call('Start', { id });
    expect(await w.result).toEqual({ status_code: 0, error: '' });
    const out = await a.ended;
    expect(out.stdout).toBe('hello\n');
    const doc = await inspect(id);
    expect(doc.State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 0, Pid: 0 });
    expect(doc.Name).toMatch(/^\/[a-z]+_[a-z]+$/);
    expect(doc.Path).toBe('echo');
    expect(doc.Args).toEqual(['hello']);
    expect(doc.Image).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(doc.Config.Image).toBe('busybox');
    expect(doc.Config.Hostname).toBe(id.slice(0, 12));
    expect(doc.Config.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(await logs(id)).toEqual(['stdout:hello\n']);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });
  });

  it('passes the exit code, and stdin with StdinOnce', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'exit 3'] });
    const w = await wait(id, 'next-exit');
    await daemon.containers.call('Start', { id });
    expect((await w.result).status_code).toBe(3);
    expect((await list(true, JSON.stringify({ exited: ['3'] }))).map((c) => c.Id)).toEqual([id]);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });

    const cat = await create({ Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true });
    const a = await attach(cat, { stdin: true });
    a.write('piped\n');
    a.closeStdin();
    const w2 = await wait(cat, 'next-exit');
    await daemon.containers.call('Start', { id: cat });
    expect((await w2.result).status_code).toBe(0);
    expect((await a.ended).stdout).toBe('piped\n');
    await daemon.containers.call('Remove', { id: cat, force: false, volumes: false });
  });

  it('auto-removes, and a `removed` wait gets the exit code', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo bye; exit 5'], HostConfig: { AutoRemove: true } });
    const w = await wait(id, 'removed');
    await daemon.containers.call('Start', { id });
    expect((await w.result).status_code).toBe(5);
    await expectError(inspect(id), 5, `No such container: ${id}`);
    expect(containerDirs()).not.toContain(id);
  });

  it('reports a missing command like Docker, exit 127, and removes it with AutoRemove', async () => {
    const id = await create({ Cmd: ['nope'] }, 'nocmd');
    await expectError(daemon.containers.call('Start', { id }), 3, /^failed to create task for container: .*executable file not found.*/);
    const doc = await inspect(id);
    expect(doc.State).toMatchObject({ Status: 'created', ExitCode: 127 });
    expect(doc.State.Error).toMatch(/executable file not found/);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });

    const rm = await create({ Cmd: ['nope'], HostConfig: { AutoRemove: true } });
    const w = await wait(rm, 'removed');
    await expectError(daemon.containers.call('Start', { id: rm }), 3, /executable file not found/);
    expect((await w.result).status_code).toBe(127);
    await expectError(inspect(rm), 5, `No such container: ${rm}`);
  });
});

describe('lifecycle of a long-running container', () => {
  it('lists, logs, stops after the timeout, starts again, kills with a signal, removes', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo started; trap "exit 42" USR1; while true; do sleep 0.1; done'] }, 'ctr1');
    expect((await daemon.containers.call('Start', { id })).not_modified).toBe(false);
    expect((await daemon.containers.call('Start', { id: 'ctr1' })).not_modified).toBe(true);
    const running = await list(false);
    expect(running.map((c) => c.Names[0])).toContain('/ctr1');
    const entry = running.find((c) => c.Id === id);
    expect(entry).toMatchObject({ Image: 'busybox', State: 'running', Command: expect.stringMatching(/^sh -c 'echo started; /) });
    expect(entry.Status).toMatch(/^Up /);
    await until(async () => (await logs('ctr1')).includes('stdout:started\n'));

    // Name conflicts and a running container's removal, in Docker's words.
    await expectError(create({ Cmd: ['true'] }, 'ctr1'), 6, `Conflict. The container name "/ctr1" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
    await expectError(
      daemon.containers.call('Remove', { id: 'ctr1', force: false, volumes: false }),
      9,
      'cannot remove container "/ctr1": container is running: stop the container before removing or force remove',
    );

    // sh as PID 1 ignores SIGTERM: stop waits the timeout, then SIGKILL.
    const t0 = Date.now();
    expect((await daemon.containers.call('Stop', { id: 'ctr1', timeout: 1, signal: '' })).not_modified).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    let doc = await inspect('ctr1');
    expect(doc.State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect((await list(true)).find((c) => c.Id === id).Status).toMatch(/^Exited \(137\) /);
    expect((await daemon.containers.call('Stop', { id: 'ctr1', timeout: 1, signal: '' })).not_modified).toBe(true);
    await expectError(daemon.containers.call('Kill', { id: 'ctr1', signal: '' }), 6, `Cannot kill container: ctr1: Container ${id} is not running`);

    await daemon.containers.call('Start', { id: 'ctr1' });
    doc = await inspect('ctr1');
    expect(doc.State.Status).toBe('running');
    expect(doc.State.Pid).toBeGreaterThan(0);
    const w = await wait('ctr1', 'not-running');
    await daemon.containers.call('Kill', { id: 'ctr1', signal: 'USR1' });
    expect((await w.result).status_code).toBe(42);
    await expectError(daemon.containers.call('Kill', { id: 'ctr1', signal: 'NOPE' }), 3, 'Cannot kill container: ctr1: invalid signal: NOPE');

    // An exited container's not-running wait answers at once with its code.
    expect((await (await wait('ctr1', '')).result).status_code).toBe(42);

    await daemon.containers.call('Start', { id: 'ctr1' });
    await daemon.containers.call('Remove', { id: 'ctr1', force: true, volumes: false });
    await expectError(inspect('ctr1'), 5, 'No such container: ctr1');
    expect(containerDirs()).not.toContain(id);
  });
});

describe('restart policies', () => {
  it('restarts on failure up to the maximum, and a stop cancels always', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo run; exit 1'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await daemon.containers.call('Start', { id });
    await until(async () => {
      const s = (await inspect(id)).State;
      return s.Status === 'exited' && (await inspect(id)).RestartCount === 2;
    }, 20_000);
    expect((await inspect(id)).State.ExitCode).toBe(1);
    expect(await logs(id)).toEqual(['stdout:run\n', 'stdout:run\n', 'stdout:run\n']);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });

    const always = await create({ Cmd: ['sh', '-c', 'sleep 0.2; exit 0'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } });
    await daemon.containers.call('Start', { id: always });
    await until(async () => (await inspect(always)).RestartCount >= 2, 20_000);
    await daemon.containers.call('Stop', { id: always, timeout: 1, signal: '' });
    const stopped = (await inspect(always)).RestartCount;
    await sleep(1000);
    const doc = await inspect(always);
    expect(doc.State.Status).toBe('exited');
    expect(doc.RestartCount).toBe(stopped);
    await daemon.containers.call('Remove', { id: always, force: false, volumes: false });
  });
});

describe('bad input leaves nothing behind', () => {
  it.each([
    [{ Cmd: ['true'] }, 'a', 3, 'Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    [{ Image: 'nosuchimage', Cmd: ['true'] }, '', 5, 'No such image: nosuchimage:latest'],
    [{ Image: 'BadRef', Cmd: ['true'] }, '', 3, 'invalid reference format: repository name (library/BadRef) must be lowercase'],
    [{ Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'sometimes' } } }, '', 3, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
    [{ Cmd: ['true'], HostConfig: { NetworkMode: 'mynet' } }, '', 5, 'network mynet not found'],
    [{ Cmd: ['true'], HostConfig: { Runtime: 'nosuch' } }, '', 3, 'unknown or invalid runtime name: nosuch'],
  ])('%j named %j', async (body, name, code, message) => {
    const before = containerDirs().length;
    const count = (await list(true)).length;
    await expectError(create(body, name), code, message);
    expect(containerDirs().length).toBe(before);
    expect((await list(true)).length).toBe(count);
  });
});

describe('streams end with Docker errors', () => {
  it('wait, logs and attach on an unknown container answer NOT_FOUND at once', async () => {
    const c = daemon.containers;
    const status = (call: any) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        call.on('data', () => undefined);
        call.on('error', (e: any) => resolve({ code: e.code, details: e.details }));
        call.on('end', () => resolve({ code: 0, details: '' }));
      });
    expect(await status(c.raw.Wait({ id: 'nosuch', condition: '' }, c.metadata()))).toEqual({ code: 5, details: 'No such container: nosuch' });
    expect(await status(c.raw.Logs({ id: 'nosuch', stdout: true, stderr: true, tail: -1 }, c.metadata()))).toEqual({ code: 5, details: 'No such container: nosuch' });
    const a = c.raw.Attach(c.metadata());
    const done = status(a);
    a.write({ open: { id: 'nosuch', stdin: false, stdout: true, stderr: true } });
    expect(await done).toEqual({ code: 5, details: 'No such container: nosuch' });
    const bad = await wait('nosuch', 'sideways').catch((e) => e);
    expect(String(bad?.details ?? bad)).toMatch(/No such container: nosuch|invalid condition/);
  });
});

describe('images through the daemon', () => {
  it('tags, refuses and untags like Docker, saves and loads back with the same id', async () => {
    const img = JSON.parse((await daemon.images.call('Inspect', { name: 'busybox', api_version: '' })).json.toString());
    expect(img.RepoTags).toEqual(['busybox:latest']);
    expect(img.RootFS.Type).toBe('layers');
    const short = img.Id.slice(7, 19);

    await daemon.images.call('Tag', { source: 'busybox', repo: 'mine/box', tag: '1' });
    let listed = JSON.parse((await daemon.images.call('List', { all: false, filters: '', digests: false, api_version: '1.49' })).json.toString());
    expect(listed.find((i: any) => i.Id === img.Id).RepoTags.sort()).toEqual(['busybox:latest', 'mine/box:1']);
    await expectError(daemon.images.call('Remove', { name: short, force: false, no_prune: false }), 6, `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    expect(JSON.parse((await daemon.images.call('Remove', { name: 'mine/box:1', force: false, no_prune: false })).json.toString())).toEqual([{ Untagged: 'mine/box:1' }]);

    const id = await create({ Cmd: ['true'] });
    await expectError(
      daemon.images.call('Remove', { name: 'busybox', force: false, no_prune: false }),
      6,
      `conflict: unable to remove repository reference "busybox" (must force) - container ${id.slice(0, 12)} is using its referenced image ${short}`,
    );
    await expectError(daemon.images.call('Remove', { name: short, force: false, no_prune: false }), 6, `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${id.slice(0, 12)}`);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });

    const history = JSON.parse((await daemon.images.call('History', { name: 'busybox', api_version: '' })).json.toString());
    expect(history[0]).toMatchObject({ Id: img.Id, Tags: ['busybox:latest'] });

    // save, rmi, load: the same id comes back.
    const chunks: Buffer[] = [];
    for await (const c of daemon.images.raw.Save({ names: ['busybox'] }, daemon.images.metadata()) as AsyncIterable<any>) chunks.push(c.data);
    const tar = Buffer.concat(chunks);
    expect(tar.length).toBeGreaterThan(1024);
    const removed = JSON.parse((await daemon.images.call('Remove', { name: 'busybox', force: false, no_prune: false })).json.toString());
    expect(removed[0]).toEqual({ Untagged: 'busybox:latest' });
    expect(removed).toContainEqual({ Deleted: img.Id });
    listed = JSON.parse((await daemon.images.call('List', { all: false, filters: '', digests: false, api_version: '1.49' })).json.toString());
    expect(listed).toEqual([]);
    const { writeFileSync } = await import('node:fs');
    const file = join(stack.root, 'saved.tar');
    writeFileSync(file, tar);
    const msgs = await loadImage(file);
    expect(msgs).toContainEqual({ stream: 'Loaded image: busybox:latest\n' });
    expect(JSON.parse((await daemon.images.call('Inspect', { name: 'busybox', api_version: '' })).json.toString()).Id).toBe(img.Id);
  });
});

describe('the daemon restarted while a container runs', () => {
  it('keeps the container, and learns an exit that happened while it was down', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'sleep 2; exit 7'] }, 'survivor');
    await daemon.containers.call('Start', { id });
    const pid = stack.pidOf('daemon');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await sleep(3000); // the container exits while the daemon is down or just back
    await until(async () => {
      try {
        return (await inspect('survivor')).State.Status === 'exited';
      } catch {
        return false;
      }
    }, 30_000);
    expect((await inspect('survivor')).State.ExitCode).toBe(7);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });
  });
});

describe('the layers below restarted while a container runs', () => {
  it.each(['containerd', 'shim'] as const)('%s killed: the container keeps running; logs, attach-free wait and stop work once it is back', async (layer) => {
    const id = await create({ Cmd: ['sh', '-c', 'echo up; while true; do sleep 0.1; done'] });
    await daemon.containers.call('Start', { id });
    await until(async () => (await logs(id)).includes('stdout:up\n'));
    const pid = (await inspect(id)).State.Pid;
    process.kill(stack.pidOf(layer)!, 'SIGKILL');
    await sleep(300);
    // The daemon answers from its own state while the layer is down.
    expect((await inspect(id)).State).toMatchObject({ Status: 'running', Pid: pid });
    await until(async () => {
      try {
        await daemon.containers.call('Resize', { id, rows: 10, cols: 10 }).catch((e) => {
          if (!/terminal/.test(e.message)) throw e;
        });
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    const w = await wait(id, 'not-running');
    expect((await daemon.containers.call('Stop', { id, timeout: 1, signal: '' })).not_modified).toBe(false);
    expect((await w.result).status_code).toBe(137);
    expect(await logs(id, { tail: 1 })).toEqual(['stdout:up\n']);
    await daemon.containers.call('Remove', { id, force: false, volumes: false });
    expect(containerDirs()).not.toContain(id);
  });
});

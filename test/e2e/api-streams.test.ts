/**
 * The api's streams end to end, on the wire: hijacked attach in both of its forms, Docker's
 * multiplexed frames and media types per API version, detach keys, log streams, image names with
 * slashes, and a client going away (an interrupted `docker logs -f`, `docker wait`, `docker attach`)
 * ending what the api holds below, with the stdin it sent before still delivered. The stack runs
 * at debug level so the api says what it ended.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Demuxer } from '../../services/api/stdcopy.js';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { TERSANE_LOG_LEVEL: 'debug' } });
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

interface Exchange {
  socket: Socket;
  status: number;
  headers: Record<string, string>;
  /** Bytes after the head, as they arrive. */
  body: Buffer[];
  ended: Promise<void>;
}

/** Sends a raw HTTP/1.1 request and resolves once the head of the answer is in. */
function exchange(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(stack.cfg.dockerSocket);
    let buffered = Buffer.alloc(0);
    let done = false;
    const bodyChunks: Buffer[] = [];
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      if (done) {
        bodyChunks.push(d);
        return;
      }
      buffered = Buffer.concat([buffered, d]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      done = true;
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const hs: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        hs[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const rest = buffered.subarray(end + 4);
      if (rest.length) bodyChunks.push(rest);
      resolve({ socket, status, headers: hs, body: bodyChunks, ended });
    });
    // One request per connection: the answer is complete when the connection closes.
    const all = { Connection: 'close', ...headers };
    const head = [`${method} ${path} HTTP/1.1`, 'Host: docker', `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
    socket.write(head.join('\r\n') + '\r\n\r\n' + body);
  });
}

const upgrade = { Connection: 'Upgrade', Upgrade: 'tcp' };

async function create(config: object): Promise<string> {
  const r = await exchange('POST', '/v1.50/containers/create', { 'Content-Type': 'application/json' }, JSON.stringify(config));
  await r.ended;
  expect(r.status).toBe(201);
  return (JSON.parse(Buffer.concat(r.body).toString()) as { Id: string }).Id;
}

async function start(id: string): Promise<void> {
  const r = await exchange('POST', `/v1.50/containers/${id}/start`);
  expect(r.status).toBe(204);
  r.socket.destroy();
}

function apiLogMatches(pattern: RegExp): number {
  return stack
    .output()
    .split('\n')
    .filter((l) => l.startsWith('[api]') && pattern.test(l)).length;
}

/** A file in a running container, or '' while it is not there. */
function catFile(id: string, path: string): string {
  const r = spawnSync('docker', ['exec', id, 'cat', path], { env: stack.env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

describe('attach on the wire', () => {
  it('upgrades with 101 and frames output by stream (API 1.50: multiplexed media type)', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2'] });
    const a = await exchange('POST', `/v1.50/containers/${id}/attach?stream=1&stdout=1&stderr=1`, upgrade);
    expect(a.status).toBe(101);
    expect(a.headers['content-type']).toBe('application/vnd.docker.multiplexed-stream');
    expect(a.headers['connection']).toBe('Upgrade');
    expect(a.headers['upgrade']).toBe('tcp');
    expect(a.headers['api-version']).toBe('1.50');
    await start(id);
    await a.ended;
    const d = new Demuxer();
    for (const c of a.body) d.push(c);
    expect(d.text(1)).toBe('to-out\n');
    expect(d.text(2)).toBe('to-err\n');
    await stack.dockerOk(['rm', id]);
  });

  it('says raw-stream to clients older than API 1.42 and for tty containers', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['true'] });
    const old = await exchange('POST', `/v1.41/containers/${id}/attach?stream=1&stdout=1`, upgrade);
    expect(old.status).toBe(101);
    expect(old.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    old.socket.destroy();
    const ttyId = await create({ Image: 'busybox', Cmd: ['echo', 'tty'], Tty: true });
    const tty = await exchange('POST', `/v1.50/containers/${ttyId}/attach?stream=1&stdout=1`, upgrade);
    expect(tty.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    await start(ttyId);
    await tty.ended;
    expect(Buffer.concat(tty.body).toString()).toBe('tty\r\n');
    await stack.dockerOk(['rm', '-f', id, ttyId]);
  });

  it('serves the form without an Upgrade header (200, raw stream, stdin on the same connection)', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh', '-c', 'read line; echo "got $line"'], OpenStdin: true, StdinOnce: true, AttachStdin: true });
    const a = await exchange('POST', `/v1.50/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    await start(id);
    a.socket.end('hello\n');
    await a.ended;
    const d = new Demuxer();
    for (const c of a.body) d.push(c);
    expect(d.text(1)).toBe('got hello\n');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('detaches on the detach keys and leaves the container running', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh'], Tty: true, OpenStdin: true, AttachStdin: true, AttachStdout: true });
    await start(id);
    const a = await exchange('POST', `/v1.50/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x`, upgrade);
    expect(a.status).toBe(101);
    a.socket.write('echo marker-$((40+2))\n');
    await eventually(() => Buffer.concat(a.body).toString().includes('marker-42'));
    a.socket.write('\x18');
    const closed = await Promise.race([a.ended.then(() => true), sleep(5000).then(() => false)]);
    expect(closed).toBe(true);
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Running}}', id])).toBe('true');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('passes on the stdin that came with the detach keys before leaving', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh'], Tty: true, OpenStdin: true, AttachStdin: true, AttachStdout: true });
    await start(id);
    const a = await exchange('POST', `/v1.50/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x`, upgrade);
    // One packet: the command and the keys right behind it.
    a.socket.write('echo typed-$((6*7)) > /tmp/seen\n\x18');
    await a.ended;
    expect(await eventually(() => catFile(id, '/tmp/seen') === 'typed-42\n')).toBe(true);
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('passes on the stdin a client sent before it went away', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh'], OpenStdin: true });
    await start(id);
    const a = await exchange('POST', `/v1.50/containers/${id}/attach?stream=1&stdin=1&stdout=1`, upgrade);
    a.socket.end('echo sent-$((6*7)) > /tmp/seen\n');
    a.socket.destroySoon();
    await a.ended;
    expect(await eventually(() => catFile(id, '/tmp/seen') === 'sent-42\n')).toBe(true);
    // Without StdinOnce the container's stdin stays open: its shell still runs.
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Running}}', id])).toBe('true');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('answers an attach to an unknown container with 404 before hijacking', async () => {
    const a = await exchange('POST', '/v1.50/containers/nosuch/attach?stream=1&stdout=1', upgrade);
    expect(a.status).toBe(404);
    expect(a.headers['content-type']).toBe('application/json');
    await a.ended;
    expect(JSON.parse(Buffer.concat(a.body).toString())).toEqual({ message: 'No such container: nosuch' });
  });
});

describe('logs on the wire', () => {
  it('multiplexes a non-tty log from API 1.42 on, raw before', async () => {
    const id = await create({ Image: 'busybox', Cmd: ['sh', '-c', 'echo one; echo two >&2'] });
    await start(id);
    await stack.dockerOk(['wait', id]);
    const l = await exchange('GET', `/v1.50/containers/${id}/logs?stdout=1&stderr=1`);
    expect(l.status).toBe(200);
    expect(l.headers['content-type']).toBe('application/vnd.docker.multiplexed-stream');
    await l.ended;
    const old = await exchange('GET', `/v1.41/containers/${id}/logs?stdout=1`);
    expect(old.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    old.socket.destroy();
    await stack.dockerOk(['rm', id]);
  });
});

describe('a client going away ends what the api holds below', () => {
  // Cancelled outright, or (an attachment) ended once the stdin the client sent is passed on.
  const cancelled = (method: string) => apiLogMatches(new RegExp(`(cancelled|ended) a daemon call.*"method":"${method}"`));

  it('an interrupted docker logs -f', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const before = cancelled('Logs');
    const cli = spawn('docker', ['logs', '-f', id], { env: stack.env, stdio: 'ignore' });
    await sleep(800);
    cli.kill('SIGINT');
    expect(await eventually(() => cancelled('Logs') > before)).toBe(true);
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('an interrupted docker wait', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sleep', '1000']);
    const before = cancelled('Wait');
    const cli = spawn('docker', ['wait', id], { env: stack.env, stdio: 'ignore' });
    await sleep(800);
    cli.kill('SIGINT');
    expect(await eventually(() => cancelled('Wait') > before)).toBe(true);
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('a docker attach that disappears', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const before = cancelled('Attach');
    const cli = spawn('docker', ['attach', '--sig-proxy=false', id], { env: stack.env, stdio: 'ignore' });
    await sleep(800);
    cli.kill('SIGKILL');
    expect(await eventually(() => cancelled('Attach') > before)).toBe(true);
    // The container did not notice.
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Running}}', id])).toBe('true');
    await stack.dockerOk(['rm', '-f', id]);
  });
});

describe('images on the wire', () => {
  it('routes names with slashes and a registry port', async () => {
    await stack.dockerOk(['tag', 'busybox', 'localhost:5000/team/bb:1']);
    const i = await exchange('GET', '/v1.50/images/localhost:5000/team/bb:1/json');
    expect(i.status).toBe(200);
    await i.ended;
    const body = Buffer.concat(i.body).toString();
    expect(body).toContain('localhost:5000/team/bb:1');
    const h = await exchange('GET', '/v1.50/images/localhost:5000/team/bb:1/history');
    expect(h.status).toBe(200);
    h.socket.destroy();
    const rm = await exchange('DELETE', '/v1.50/images/localhost:5000/team/bb:1');
    expect(rm.status).toBe(200);
    await rm.ended;
    expect(Buffer.concat(rm.body).toString()).toContain('Untagged');
  });

  it('streams a save out as a tar and a load in with JSON messages', async () => {
    const tar = join(stack.root, 'rt.tar');
    const s = await exchange('GET', '/v1.50/images/get?names=busybox');
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('application/x-tar');
    s.socket.destroy();
    await stack.dockerOk(['save', '-o', tar, 'busybox']);
    const r = await stack.docker(['load', '-q', '-i', tar]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Loaded image: busybox:latest');
  });
});

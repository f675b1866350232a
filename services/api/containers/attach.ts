/**
 * POST /containers/{id}/attach: a hijacked connection. The client asks for an upgrade
 * (`Connection: Upgrade`, `Upgrade: tcp`) and gets `101 UPGRADED`; older clients send no Upgrade
 * header and get `200 OK`. From then on the connection is raw: output goes to the client —
 * Docker's 8-byte frames for a container without a terminal, raw bytes with one — and whatever
 * the client sends is the container's stdin; the client half-closing its side is end of stdin.
 *
 * The answer is sent only once the daemon says the attachment is in place, because the CLI starts
 * the container as soon as it has it (`docker run`: create, attach, wait, start) and no output may
 * be lost. The client going away ends the attachment below; the container is untouched.
 */
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { asEngineError } from '../../../common/errors.js';
import { DetachDetector, parseDetachKeys } from '../detach.js';
import { boolValue, first, type Query } from '../query.js';
import { COMMON_HEADERS } from '../respond.js';
import { frame, STDERR, STDOUT } from '../stdcopy.js';
import { versionAtLeast } from '../version.js';
import type { AttachSession, ContainersBackend } from './backend.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export interface AttachParams {
  id: string;
  stream: boolean;
  logs: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys: Buffer;
}

export function parseAttachParams(id: string, query: Query): AttachParams {
  return {
    id,
    stream: boolValue(query, 'stream'),
    logs: boolValue(query, 'logs'),
    stdin: boolValue(query, 'stdin'),
    stdout: boolValue(query, 'stdout'),
    stderr: boolValue(query, 'stderr'),
    detachKeys: parseDetachKeys(first(query, 'detachKeys') ?? ''),
  };
}

/** What is known before the answer's head is written; everything that can fail with a status. */
export interface PreparedAttach {
  params: AttachParams;
  tty: boolean;
  session?: AttachSession;
}

/** Attaches below (or, without `stream`, only learns whether the container has a terminal). */
export async function prepareAttach(backend: ContainersBackend, params: AttachParams, abort: AbortSignal): Promise<PreparedAttach> {
  if (!params.stream) return { params, tty: await backend.hasTty(params.id) };
  const session = await backend.attach({ id: params.id, stdin: params.stdin, stdout: params.stdout, stderr: params.stderr }, abort);
  return { params, tty: session.tty, session };
}

/** The head of the hijacked answer, as Docker writes it. */
export function attachHead(upgrade: boolean, tty: boolean, version: string): string {
  let head: string;
  if (upgrade) {
    const contentType = !tty && versionAtLeast(version, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM;
    head = `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n`;
  } else {
    head = `HTTP/1.1 200 OK\r\nContent-Type: ${RAW_STREAM}\r\n`;
  }
  for (const [k, v] of Object.entries(COMMON_HEADERS)) head += `${k}: ${v}\r\n`;
  return head + '\r\n';
}

/**
 * Runs a hijacked attachment on `socket` until the process exits, the attachment ends below, the
 * detach keys are typed or the client goes away. `head` holds bytes the client sent right after
 * its request (already stdin).
 */
export async function runAttach(
  backend: ContainersBackend,
  socket: Socket,
  prepared: PreparedAttach,
  opts: { upgrade: boolean; version: string; head?: Buffer; abort: AbortController },
): Promise<void> {
  const { params, tty, session } = prepared;
  const encode = (stream: 'stdout' | 'stderr', data: Buffer) => (tty ? data : frame(stream === 'stderr' ? STDERR : STDOUT, data));
  let closed = socket.destroyed;
  // The client going away aborts the session's signal: the session leaves once the stdin received
  // before has been passed on, as a user who typed and then closed the terminal would expect.
  const onGone = () => {
    closed = true;
    opts.abort.abort();
  };
  socket.once('close', onGone);
  socket.on('error', () => undefined);
  socket.setNoDelay(true);
  socket.setTimeout(0);

  const write = async (buf: Buffer) => {
    if (closed || buf.length === 0) return;
    if (!socket.write(buf)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
  };

  // Stdin: only when asked for and attached below; otherwise whatever the client sends is dropped.
  const stdinWanted = Boolean(session && params.stdin);
  const detector = stdinWanted && tty ? new DetachDetector(params.detachKeys) : undefined;
  let detached = false;
  const takeInput = (chunk: Buffer) => {
    if (!stdinWanted || detached || !session) return;
    let data = chunk;
    if (detector) {
      const r = detector.feed(chunk);
      data = r.forward;
      if (r.detached) {
        detached = true;
        if (data.length) void session.writeStdin(data);
        session.leave();
        return;
      }
    }
    if (data.length === 0) return;
    const pending = session.writeStdin(data);
    socket.pause();
    void pending.then(() => {
      if (!closed) socket.resume();
    });
  };
  socket.on('data', takeInput);
  socket.once('end', () => {
    if (stdinWanted && !detached) session?.closeStdin();
  });

  try {
    await write(Buffer.from(attachHead(opts.upgrade, tty, opts.version), 'latin1'));
    if (opts.head?.length) takeInput(opts.head);

    if (params.logs && (params.stdout || params.stderr)) {
      const logs = backend.logs(
        { id: params.id, follow: false, stdout: params.stdout, stderr: params.stderr, sinceNs: 0n, untilNs: 0n, timestamps: false, tail: -1 },
        opts.abort.signal,
      );
      for await (const entry of logs) await write(encode(entry.stream, entry.line));
    }

    if (session) {
      for await (const event of session.output) {
        if (event.kind === 'exit') break;
        await write(encode(event.kind, event.data));
      }
    }
  } catch (err) {
    // The head is out: the error can only be told in the stream, as Docker does.
    if (!closed) await write(encode('stderr', Buffer.from(`Error attaching: ${asEngineError(err).message}\n`)));
  } finally {
    socket.off('data', takeInput);
    session?.detach();
    if (!closed) {
      // Everything written reaches the client, then the connection closes (Docker's CloseStreams).
      socket.end(() => socket.destroy());
    }
  }
}

/**
 * Takes a connection away from Node's HTTP parser for the non-upgrade form of attach, as Node does
 * itself for an upgrade: later bytes from the client are stdin, not another request.
 */
export function detachHttpParser(socket: Socket): void {
  const s = socket as Socket & { parser?: { _consumed?: boolean; unconsume?: () => void } };
  const parser = s.parser;
  if (parser?._consumed && typeof parser.unconsume === 'function') {
    parser.unconsume();
    parser._consumed = false;
  }
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.removeAllListeners('timeout');
}

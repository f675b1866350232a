/**
 * The exec handlers (moby's postContainerExecCreate, postContainerExecStart, getExecByID,
 * postContainerExecResize). An attached start is a hijacked connection exactly like attach's: the
 * exec is started before the head goes out (so the errors Docker answers with a status are plain
 * HTTP errors), then the process's output goes to the client (framed unless it has a terminal) and
 * the client's bytes are its stdin, with the detach keys watched on a terminal.
 */
import type { FastifyReply } from 'fastify';
import type { Socket } from 'node:net';
import { invalidArgument } from '../../../common/errors.js';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import type { ContainersBackend } from '../containers/backend.js';
import { detachHttpParser, runAttach, type PreparedAttach } from '../containers/attach.js';
import { parseDetachKeys } from '../detach.js';
import { requiredInt } from '../query.js';
import { clientGone, sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { versionAtLeast } from '../version.js';
import type { ExecBackend } from './backend.js';

export interface ExecStartBody {
  Detach: boolean;
  Tty: boolean;
  ConsoleSize?: [number, number];
}

/** Docker's ExecStartConfig (an empty body is all defaults). */
export function parseExecStartBody(body: Buffer, version: string): ExecStartBody {
  if (body.length === 0 || body.toString('utf8').trim() === '') return { Detach: false, Tty: false };
  const b = parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
  const size = b.ConsoleSize;
  let consoleSize: [number, number] | undefined;
  // ConsoleSize exists from API 1.42 on.
  if (versionAtLeast(version, '1.42') && Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n > 0)) {
    consoleSize = [size[0] as number, size[1] as number];
  }
  return { Detach: b.Detach === true, Tty: b.Tty === true, ConsoleSize: consoleSize };
}

/** The exec's terminal, stdin and detach keys, then the start itself: everything before the head. */
export async function prepareExecStart(backend: ExecBackend, id: string, body: ExecStartBody, abort: AbortSignal): Promise<PreparedAttach> {
  const info = JSON.parse((await backend.inspect(id)).toString('utf8')) as {
    OpenStdin?: boolean;
    DetachKeys?: string;
    ProcessConfig?: { tty?: boolean };
  };
  const keys = info.DetachKeys ? Buffer.from(info.DetachKeys, 'base64') : Buffer.alloc(0);
  const session = await backend.start({ id, detach: false, consoleSize: body.ConsoleSize }, abort);
  return {
    params: {
      id,
      stream: true,
      logs: false,
      stdin: info.OpenStdin === true,
      stdout: true,
      stderr: true,
      detachKeys: keys.length ? keys : parseDetachKeys(''),
    },
    tty: session.tty,
    session,
  };
}

/**
 * The body of an upgraded request (its Content-Length bytes), from what came with the head and
 * then the socket; what follows it is already the process's stdin.
 */
export function readUpgradeBody(socket: Socket, head: Buffer, length: number): Promise<{ body: Buffer; rest: Buffer }> {
  if (length > MAX_JSON_BODY_BYTES) return Promise.reject(invalidArgument(`request body is too large: more than ${MAX_JSON_BODY_BYTES} bytes`));
  if (head.length >= length) return Promise.resolve({ body: head.subarray(0, length), rest: head.subarray(length) });
  return new Promise((resolve, reject) => {
    let got = head;
    socket.resume();
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < length) return;
      done();
      socket.pause();
      resolve({ body: got.subarray(0, length), rest: got.subarray(length) });
    };
    const onClose = () => {
      done();
      reject(invalidArgument('unexpected EOF while reading the request body'));
    };
    const done = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

export function execHandlers(backend: ExecBackend, containers: ContainersBackend) {
  return {
    async create(req: ApiRequest, reply: FastifyReply) {
      checkJsonContentType(req.raw.headers['content-type'], true);
      const body = await readBody(req.raw.raw, MAX_JSON_BODY_BYTES);
      parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
      const id = await backend.create(req.params.id, body, req.version);
      sendJson(reply, 201, { Id: id });
    },

    /** Detached, or attached without an Upgrade header (then hijacked with a 200 head). */
    async start(req: ApiRequest, reply: FastifyReply) {
      const raw = await readBody(req.raw.raw, MAX_JSON_BODY_BYTES);
      if (raw.length > 0) checkJsonContentType(req.raw.headers['content-type'], true);
      const body = parseExecStartBody(raw, req.version);
      const ac = clientGone(req.raw, reply);
      if (body.Detach) {
        await backend.start({ id: req.params.id, detach: true, consoleSize: body.ConsoleSize }, ac.signal);
        sendEmpty(reply, 200);
        return;
      }
      const prepared = await prepareExecStart(backend, req.params.id, body, ac.signal);
      reply.hijack();
      const socket = req.raw.raw.socket;
      detachHttpParser(socket);
      await runAttach(containers, socket, prepared, { upgrade: false, version: req.version, abort: ac });
    },

    async inspect(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.inspect(req.params.id));
    },

    async resize(req: ApiRequest, reply: FastifyReply) {
      const h = requiredInt(req.query, 'h');
      const w = requiredInt(req.query, 'w');
      if (h < 0 || w < 0 || h > 0xffff || w > 0xffff) throw invalidArgument(`invalid terminal size ${h}x${w}`);
      await backend.resize(req.params.id, h, w);
      reply.code(200).send();
    },
  };
}

/**
 * POST /exec/{id}/start with an Upgrade header, taken over before routing (../upgrade.ts): the body
 * is read from the connection and the exec started. Whatever fails here is still an HTTP answer;
 * then the caller writes `101 UPGRADED` and runs the streams (runAttach), or, for a detached start,
 * answers 200.
 */
export async function prepareExecStartUpgrade(
  backend: ExecBackend,
  socket: Socket,
  opts: { id: string; version: string; head: Buffer; contentLength: number; abort: AbortSignal },
): Promise<{ detached: true } | { detached: false; prepared: PreparedAttach; rest: Buffer }> {
  socket.pause();
  const { body: raw, rest } = await readUpgradeBody(socket, opts.head, opts.contentLength);
  const body = parseExecStartBody(raw, opts.version);
  if (body.Detach) {
    await backend.start({ id: opts.id, detach: true, consoleSize: body.ConsoleSize }, opts.abort);
    return { detached: true };
  }
  return { detached: false, prepared: await prepareExecStart(backend, opts.id, body, opts.abort), rest };
}

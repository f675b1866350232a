/**
 * The containers handlers (moby's router/container/container_routes.go): read the request the way
 * Docker reads it, call the backend, answer in Docker's shape. Nothing here reaches past
 * ContainersBackend.
 */
import type { FastifyReply } from 'fastify';
import { asEngineError, EngineError, invalidArgument } from '../../../common/errors.js';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import { boolValue, first, int32Value, normalizeFilters, parseTail, parseUnixTimestamp, requiredInt } from '../query.js';
import { clientGone, openStream, sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { frame, frames, STDERR, STDOUT } from '../stdcopy.js';
import { versionAtLeast } from '../version.js';
import { detachHttpParser, MULTIPLEXED_STREAM, parseAttachParams, prepareAttach, RAW_STREAM, runAttach } from './attach.js';
import type { ContainersBackend, LogLine, StopOptions, WaitCondition } from './backend.js';

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** moby refuses a start body since API 1.24; "a non-nil json object is at least 7 characters". */
const START_BODY_MAX = 7;

function hasBody(req: ApiRequest): boolean {
  const h = req.raw.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const length = h['content-length'];
  return length !== undefined && length !== '0';
}

function stopOptions(req: ApiRequest): StopOptions {
  // Docker reads `t`; `timeout` is accepted as its long spelling.
  const timeout = int32Value(req.query, 't') ?? int32Value(req.query, 'timeout');
  // The signal parameter exists from API 1.42 on; older clients never mean it.
  const signal = versionAtLeast(req.version, '1.42') ? (first(req.query, 'signal') ?? '') : '';
  return { id: req.params.id, timeout, signal };
}

export function containerHandlers(backend: ContainersBackend) {
  return {
    async create(req: ApiRequest, reply: FastifyReply) {
      const withBody = hasBody(req);
      checkJsonContentType(req.raw.headers['content-type'], withBody);
      const body = withBody ? await readBody(req.raw.raw, MAX_JSON_BODY_BYTES) : Buffer.alloc(0);
      parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body', null: 'config cannot be empty in order to create a container' });
      const platform = versionAtLeast(req.version, '1.41') ? (first(req.query, 'platform') ?? '') : '';
      const res = await backend.create({
        name: first(req.query, 'name') ?? '',
        configJson: body,
        apiVersion: req.version,
        platform,
      });
      sendJson(reply, 201, { Id: res.id, Warnings: res.warnings ?? [] });
    },

    async start(req: ApiRequest, reply: FastifyReply) {
      const h = req.raw.headers;
      const length = h['content-length'] === undefined ? 0 : Number(h['content-length']);
      if (length > START_BODY_MAX || h['transfer-encoding'] !== undefined) {
        throw invalidArgument('starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24');
      }
      const res = await backend.start(req.params.id);
      sendEmpty(reply, res.notModified ? 304 : 204);
    },

    async stop(req: ApiRequest, reply: FastifyReply) {
      const res = await backend.stop(stopOptions(req));
      sendEmpty(reply, res.notModified ? 304 : 204);
    },

    async restart(req: ApiRequest, reply: FastifyReply) {
      await backend.restart(stopOptions(req));
      sendEmpty(reply, 204);
    },

    async kill(req: ApiRequest, reply: FastifyReply) {
      const id = req.params.id;
      try {
        await backend.kill(id, first(req.query, 'signal') ?? '');
      } catch (err) {
        // moby's handler words a failed kill this way, keeping the error's kind.
        const e = asEngineError(err);
        const prefix = `cannot kill container: ${id}: `;
        throw /^cannot kill container:/i.test(e.message) ? e : new EngineError(e.kind, prefix + e.message);
      }
      sendEmpty(reply, 204);
    },

    async remove(req: ApiRequest, reply: FastifyReply) {
      if (boolValue(req.query, 'link')) throw invalidArgument('legacy container links are not supported');
      await backend.remove(req.params.id, boolValue(req.query, 'force'), boolValue(req.query, 'v'));
      sendEmpty(reply, 204);
    },

    async wait(req: ApiRequest, reply: FastifyReply) {
      // Before API 1.30 the condition did not exist and the head came with the result.
      const legacy = !versionAtLeast(req.version, '1.30');
      let condition: WaitCondition = 'not-running';
      const asked = legacy ? undefined : first(req.query, 'condition');
      if (asked) {
        if (!WAIT_CONDITIONS.includes(asked as WaitCondition)) throw invalidArgument(`invalid condition: ${JSON.stringify(asked)}`);
        condition = asked as WaitCondition;
      }
      const ac = clientGone(req.raw, reply);
      const handle = await backend.wait(req.params.id, condition, ac.signal);
      if (legacy) {
        const r = await handle.result;
        sendJson(reply, 200, r.error ? { Error: { Message: r.error }, StatusCode: r.statusCode } : { StatusCode: r.statusCode });
        return;
      }
      // The head goes out now: the CLI starts the container once it has it.
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/json' });
      let body: object;
      try {
        const r = await handle.result;
        body = r.error ? { Error: { Message: r.error }, StatusCode: r.statusCode } : { StatusCode: r.statusCode };
      } catch (err) {
        if (ac.signal.aborted) return;
        // The status is out; Docker's WaitResponse carries the failure (the CLI exits 125).
        body = { Error: { Message: asEngineError(err).message }, StatusCode: -1 };
      }
      out.end(JSON.stringify(body) + '\n');
    },

    async inspect(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.inspect(req.params.id, boolValue(req.query, 'size')));
    },

    async list(req: ApiRequest, reply: FastifyReply) {
      const doc = await backend.list({
        all: boolValue(req.query, 'all'),
        limit: int32Value(req.query, 'limit') ?? 0,
        size: boolValue(req.query, 'size'),
        filters: normalizeFilters(first(req.query, 'filters')),
      });
      sendJson(reply, 200, doc);
    },

    /** The form without an Upgrade header (older clients); upgrades are served in ../upgrade.ts. */
    async attach(req: ApiRequest, reply: FastifyReply) {
      const params = parseAttachParams(req.params.id, req.query);
      const ac = clientGone(req.raw, reply);
      const prepared = await prepareAttach(backend, params, ac.signal);
      reply.hijack();
      const socket = req.raw.raw.socket;
      detachHttpParser(socket);
      await runAttach(backend, socket, prepared, { upgrade: false, version: req.version, abort: ac });
    },

    async resize(req: ApiRequest, reply: FastifyReply) {
      const h = requiredInt(req.query, 'h');
      const w = requiredInt(req.query, 'w');
      if (h < 0 || w < 0 || h > 0xffff || w > 0xffff) throw invalidArgument(`invalid terminal size ${h}x${w}`);
      await backend.resize(req.params.id, h, w);
      reply.code(200).send();
    },

    async logs(req: ApiRequest, reply: FastifyReply) {
      const q = req.query;
      const stdout = boolValue(q, 'stdout');
      const stderr = boolValue(q, 'stderr');
      if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
      const opts = {
        id: req.params.id,
        follow: boolValue(q, 'follow'),
        stdout,
        stderr,
        sinceNs: parseUnixTimestamp(first(q, 'since'), 'since'),
        untilNs: parseUnixTimestamp(first(q, 'until'), 'until'),
        timestamps: boolValue(q, 'timestamps'),
        tail: parseTail(first(q, 'tail')),
      };
      const ac = clientGone(req.raw, reply);
      // Whether output is framed depends on the terminal; asking also answers 404 before the head.
      const tty = await backend.hasTty(opts.id);
      // Opened before the head too: a refusal (`--log-driver none`: 501) keeps its own status.
      const lines = await backend.openLogs(opts, ac.signal);
      // The head goes out at once (a `logs -f` client waits for it); later errors go in-band.
      const contentType = !tty && versionAtLeast(req.version, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM;
      const out = openStream(reply, ac, 200, { 'Content-Type': contentType });
      const encode = (stream: 'stdout' | 'stderr', line: Buffer) => (tty ? line : frame(stream === 'stderr' ? STDERR : STDOUT, line));
      try {
        for await (const batch of lines) {
          // One buffer and one write per batch: a 10 MB log is ~100k lines.
          const data = (e: LogLine) => (opts.timestamps ? Buffer.concat([Buffer.from(e.time + ' '), e.line]) : e.line);
          await out.write(tty ? Buffer.concat(batch.map(data)) : frames(batch.map((e) => ({ stream: e.stream === 'stderr' ? STDERR : STDOUT, data: data(e) }))));
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        await out.write(encode('stderr', Buffer.from(`Error grabbing logs: ${asEngineError(err).message}\n`)));
      }
      out.end();
    },

    async prune(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.prune(normalizeFilters(first(req.query, 'filters'))));
    },
  };
}

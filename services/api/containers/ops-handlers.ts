/**
 * Handlers for pause, unpause, update, stats and top (moby's router/container): read the request as
 * Docker reads it, call the backend, answer in Docker's shape.
 */
import type { FastifyReply } from 'fastify';
import { asEngineError, invalidArgument } from '../../../common/errors.js';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import { boolOrDefault, boolValue, first } from '../query.js';
import { clientGone, openStream, sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { versionAtLeast } from '../version.js';
import type { ContainerOpsBackend } from './ops-backend.js';

export function containerOpsHandlers(backend: ContainerOpsBackend) {
  return {
    async pause(req: ApiRequest, reply: FastifyReply) {
      await backend.pause(req.params.id);
      sendEmpty(reply, 204);
    },

    async unpause(req: ApiRequest, reply: FastifyReply) {
      await backend.unpause(req.params.id);
      sendEmpty(reply, 204);
    },

    async update(req: ApiRequest, reply: FastifyReply) {
      checkJsonContentType(req.raw.headers['content-type'], true);
      const body = await readBody(req.raw.raw, MAX_JSON_BODY_BYTES);
      parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
      sendJson(reply, 200, await backend.update(req.params.id, body));
    },

    async top(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.top(req.params.id, first(req.query, 'ps_args') ?? ''));
    },

    /**
     * One JSON document per line while streaming (Docker's default), or one document. The head goes
     * out with the first document, so a container that does not exist is a plain 404.
     */
    async stats(req: ApiRequest, reply: FastifyReply) {
      const stream = boolOrDefault(req.query, 'stream', true);
      const oneShot = versionAtLeast(req.version, '1.41') && boolValue(req.query, 'one-shot');
      if (stream && oneShot) throw invalidArgument('cannot have stream=true and one-shot=true');
      const ac = clientGone(req.raw, reply);
      const docs = backend.stats({ id: req.params.id, stream, oneShot, apiVersion: req.version }, ac.signal)[Symbol.asyncIterator]();
      const firstDoc = await docs.next();
      if (firstDoc.done) {
        sendJson(reply, 200, {});
        return;
      }
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/json' });
      try {
        await out.write(Buffer.concat([firstDoc.value, Buffer.from('\n')]));
        for (;;) {
          const next = await docs.next();
          if (next.done) break;
          await out.write(Buffer.concat([next.value, Buffer.from('\n')]));
        }
      } catch (err) {
        if (!ac.signal.aborted) out.write(JSON.stringify({ message: asEngineError(err).message }) + '\n');
      }
      out.end();
    },
  };
}

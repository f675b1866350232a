/** The networks handlers (moby's router/network/network_routes.go). */
import type { FastifyReply } from 'fastify';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import { first, normalizeFilters } from '../query.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import type { NetworksBackend } from './backend.js';

/** A JSON object body, checked as Docker checks it ("" stays empty for the daemon to judge). */
async function jsonBody(req: ApiRequest): Promise<Buffer> {
  const h = req.raw.headers;
  const has = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
  checkJsonContentType(h['content-type'], has);
  if (!has) return Buffer.alloc(0);
  const body = await readBody(req.raw.raw, MAX_JSON_BODY_BYTES);
  parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
  return body;
}

export function networkHandlers(backend: NetworksBackend) {
  return {
    async list(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.list(normalizeFilters(first(req.query, 'filters'))));
    },
    async inspect(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.inspect(req.params.id));
    },
    async create(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 201, await backend.create(await jsonBody(req)));
    },
    async remove(req: ApiRequest, reply: FastifyReply) {
      await backend.remove(req.params.id);
      sendEmpty(reply, 204);
    },
    async connect(req: ApiRequest, reply: FastifyReply) {
      await backend.connect(req.params.id, await jsonBody(req));
      reply.code(200).send();
    },
    async disconnect(req: ApiRequest, reply: FastifyReply) {
      await backend.disconnect(req.params.id, await jsonBody(req));
      reply.code(200).send();
    },
    async prune(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.prune(normalizeFilters(first(req.query, 'filters'))));
    },
  };
}

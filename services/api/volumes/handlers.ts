/** The volumes handlers (moby's router/volume/volume_routes.go). */
import type { FastifyReply } from 'fastify';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import { boolValue, first, normalizeFilters } from '../query.js';
import { sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import type { VolumesBackend } from './backend.js';

export function volumeHandlers(backend: VolumesBackend) {
  return {
    async list(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.list(normalizeFilters(first(req.query, 'filters'))));
    },
    async inspect(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.inspect(req.params.name));
    },
    async create(req: ApiRequest, reply: FastifyReply) {
      const h = req.raw.headers;
      const has = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
      checkJsonContentType(h['content-type'], has);
      const body = has ? await readBody(req.raw.raw, MAX_JSON_BODY_BYTES) : Buffer.alloc(0);
      if (has) parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
      sendJson(reply, 201, await backend.create(body));
    },
    async remove(req: ApiRequest, reply: FastifyReply) {
      await backend.remove(req.params.name, boolValue(req.query, 'force'));
      sendEmpty(reply, 204);
    },
    async prune(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.prune(normalizeFilters(first(req.query, 'filters')), req.version));
    },
  };
}

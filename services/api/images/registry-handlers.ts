/**
 * The registry handlers (moby's router/image postImagesCreate, postImagesPush, postImagesPrune and
 * router/system postAuth, getDiskUsage). Pull and push stream Docker's JSON messages; an error before
 * the first message is answered as an HTTP error (the CLI prints it as "Error response from
 * daemon"), one after it in-band, as Docker does once its output is flushed.
 */
import type { FastifyReply } from 'fastify';
import { asEngineError, invalidArgument } from '../../../common/errors.js';
import { MAX_JSON_BODY_BYTES, parseJsonObject, readBody } from '../body.js';
import { all, first, normalizeFilters } from '../query.js';
import { authFromConfig, authFromHeader } from '../registryAuth.js';
import { clientGone, openStream, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { jsonStreamError, splitImagePath } from './handlers.js';
import type { RegistryBackend } from './registry-backend.js';

const NEWLINE = Buffer.from('\n');
const REGISTRY_AUTH_HEADER = 'x-registry-auth';

/** Streams a progress stream whose first message (or error) comes before the head. */
async function streamProgress(reply: FastifyReply, ac: AbortController, docs: AsyncIterable<Buffer>): Promise<void> {
  const it = docs[Symbol.asyncIterator]();
  let next = await it.next();
  const out = openStream(reply, ac, 200, { 'Content-Type': 'application/json' });
  try {
    while (!next.done) {
      const doc = next.value;
      await out.write(doc[doc.length - 1] === 0x0a ? doc : Buffer.concat([doc, NEWLINE]));
      next = await it.next();
    }
  } catch (err) {
    if (ac.signal.aborted) return;
    await out.write(jsonStreamError(asEngineError(err).message));
  }
  out.end();
}

export function registryHandlers(backend: RegistryBackend) {
  return {
    async pull(req: ApiRequest, reply: FastifyReply) {
      const fromImage = first(req.query, 'fromImage') ?? '';
      if (!fromImage) {
        if (first(req.query, 'fromSrc') !== undefined) throw invalidArgument('importing a filesystem tarball (docker import) is not supported');
        throw invalidArgument('fromImage is required');
      }
      const auth = authFromHeader(req.raw.headers[REGISTRY_AUTH_HEADER]);
      const ac = clientGone(req.raw, reply);
      const docs = backend.pull({ fromImage, tag: first(req.query, 'tag') ?? '', platform: first(req.query, 'platform') ?? '', auth }, ac.signal);
      await streamProgress(reply, ac, docs);
    },

    async push(req: ApiRequest, reply: FastifyReply) {
      const target = splitImagePath(req.params['*'], ['push']);
      if (!target) throw invalidArgument('no image name given');
      const auth = authFromHeader(req.raw.headers[REGISTRY_AUTH_HEADER]);
      const ac = clientGone(req.raw, reply);
      const docs = backend.push({ name: target.name, tag: first(req.query, 'tag') ?? '', auth }, ac.signal);
      await streamProgress(reply, ac, docs);
    },

    async prune(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.prune(normalizeFilters(first(req.query, 'filters'))));
    },

    async auth(req: ApiRequest, reply: FastifyReply) {
      const body = await readBody(req.raw.raw, MAX_JSON_BODY_BYTES);
      const doc = parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
      sendJson(reply, 200, await backend.auth(authFromConfig(doc)));
    },

    async diskUsage(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.diskUsage(all(req.query, 'type'), req.version));
    },
  };
}

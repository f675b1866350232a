/**
 * The images handlers (moby's router/image/image_routes.go). Image names may hold slashes
 * (`localhost:5000/team/app:1`), so the per-image routes are one wildcard each and the action is
 * the name's last segment (`…/json`, `…/history`, `…/get`, `…/tag`).
 */
import type { FastifyReply } from 'fastify';
import { asEngineError, EngineError, notFound } from '../../../common/errors.js';
import { PAGE_NOT_FOUND } from '../httperror.js';
import { all, boolValue, first, normalizeFilters } from '../query.js';
import { clientGone, openStream, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import type { ImagesBackend } from './backend.js';

const NEWLINE = Buffer.from('\n');

/** The per-image action a wildcard path names, and the image name before it. */
export function splitImagePath(path: string, actions: readonly string[]): { name: string; action: string } | undefined {
  const slash = path.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const action = path.slice(slash + 1);
  if (!actions.includes(action)) return undefined;
  return { name: path.slice(0, slash), action };
}

/** Docker's in-band error message of a JSON progress stream. */
export function jsonStreamError(message: string): string {
  return JSON.stringify({ errorDetail: { message }, error: message }) + '\n';
}

/** With `quiet`, progress bars are left out; what was loaded is always told. */
function isProgress(doc: Buffer): boolean {
  try {
    const parsed = JSON.parse(doc.toString('utf8')) as Record<string, unknown>;
    return parsed.progressDetail !== undefined;
  } catch {
    return false;
  }
}

function pageNotFound(): EngineError {
  return notFound(PAGE_NOT_FOUND);
}

export function imageHandlers(backend: ImagesBackend) {
  async function save(req: ApiRequest, reply: FastifyReply, names: string[]) {
    const ac = clientGone(req.raw, reply);
    const pieces = backend.save(names, ac.signal)[Symbol.asyncIterator]();
    // The first piece before the head: an unknown image still gets its 404.
    let next = await pieces.next();
    const out = openStream(reply, ac, 200, { 'Content-Type': 'application/x-tar' });
    try {
      while (!next.done) {
        await out.write(next.value);
        next = await pieces.next();
      }
      out.end();
    } catch {
      // A tar cut short must not look complete: the client sees the connection fail.
      out.fail();
    }
  }

  return {
    async list(req: ApiRequest, reply: FastifyReply) {
      const doc = await backend.list({
        all: boolValue(req.query, 'all'),
        filters: normalizeFilters(first(req.query, 'filters')),
        digests: boolValue(req.query, 'digests'),
      });
      sendJson(reply, 200, doc);
    },

    async get(req: ApiRequest, reply: FastifyReply) {
      const target = splitImagePath(req.params['*'], ['json', 'history', 'get']);
      if (!target) throw pageNotFound();
      if (target.action === 'json') return sendJson(reply, 200, await backend.inspect(target.name));
      if (target.action === 'history') return sendJson(reply, 200, await backend.history(target.name));
      return save(req, reply, [target.name]);
    },

    async post(req: ApiRequest, reply: FastifyReply) {
      const target = splitImagePath(req.params['*'], ['tag']);
      if (!target) throw pageNotFound();
      await backend.tag(target.name, first(req.query, 'repo') ?? '', first(req.query, 'tag') ?? '');
      reply.code(201).send();
    },

    async remove(req: ApiRequest, reply: FastifyReply) {
      const name = req.params['*'];
      if (!name) throw pageNotFound();
      sendJson(reply, 200, await backend.remove(name, boolValue(req.query, 'force'), boolValue(req.query, 'noprune')));
    },

    async saveMany(req: ApiRequest, reply: FastifyReply) {
      return save(req, reply, all(req.query, 'names'));
    },

    async load(req: ApiRequest, reply: FastifyReply) {
      const quiet = boolValue(req.query, 'quiet');
      const ac = clientGone(req.raw, reply);
      // A daemon that is down gets its 503 before the stream's 200.
      await backend.ready();
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/json' });
      try {
        for await (const doc of backend.load(req.raw.raw, ac.signal)) {
          if (quiet && isProgress(doc)) continue;
          // One message per line, as Docker's JSON encoder writes them.
          await out.write(doc[doc.length - 1] === 0x0a ? doc : Buffer.concat([doc, NEWLINE]));
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        await out.write(jsonStreamError(asEngineError(err).message));
      }
      out.end();
    },
  };
}

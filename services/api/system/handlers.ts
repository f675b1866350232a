/**
 * The system handlers: `/_ping` (answered by the api alone, so a client can negotiate its version
 * even while the layers below restart), `/version` and `/info` (the daemon's documents; the api
 * adds the API versions it speaks).
 */
import type { FastifyReply } from 'fastify';
import { internal } from '../../../common/errors.js';
import { parseEventFilters, parseEventTime } from '../docker-events.js';
import { first } from '../query.js';
import { clientGone, COMMON_HEADERS, openStream, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { API_VERSION, MIN_API_VERSION } from '../version.js';
import type { SystemBackend } from './backend.js';
import { withApiWarnings } from '../warnings.js';

/** tersane has no BuildKit: "1" tells the CLI the classic builder is what the engine offers. */
export const BUILDER_VERSION = '1';

const PING_HEADERS = {
  ...COMMON_HEADERS,
  'Builder-Version': BUILDER_VERSION,
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
  Swarm: 'inactive',
  'Content-Type': 'text/plain; charset=utf-8',
};

type VersionDoc = {
  ApiVersion?: string;
  MinAPIVersion?: string;
  Components?: Array<{ Name?: string; Details?: Record<string, unknown> }>;
} & Record<string, unknown>;

/** The daemon's /version document with the api's own version fields filled in. */
export function withApiVersions(doc: VersionDoc): VersionDoc {
  doc.ApiVersion = API_VERSION;
  doc.MinAPIVersion = MIN_API_VERSION;
  for (const component of doc.Components ?? []) {
    if (component.Name === 'Engine') {
      component.Details = { ...(component.Details ?? {}), ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION };
    }
  }
  return doc;
}

export function systemHandlers(backend: SystemBackend) {
  return {
    async ping(_req: ApiRequest, reply: FastifyReply) {
      reply.code(200).headers(PING_HEADERS).send('OK');
    },

    async pingHead(_req: ApiRequest, reply: FastifyReply) {
      reply.code(200).headers({ ...PING_HEADERS, 'Content-Length': '0' }).send();
    },

    async version(_req: ApiRequest, reply: FastifyReply) {
      const raw = await backend.version();
      let doc: VersionDoc;
      try {
        doc = JSON.parse(raw.toString('utf8')) as VersionDoc;
      } catch {
        throw internal('the daemon answered /version with a document that is not JSON');
      }
      sendJson(reply, 200, withApiVersions(doc));
    },

    async info(_req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, withApiWarnings(await backend.info()));
    },

    /** A stream of JSON events, one per line; the head goes out at once, as Docker flushes it. */
    async events(req: ApiRequest, reply: FastifyReply) {
      const query = {
        filters: parseEventFilters(first(req.query, 'filters')),
        sinceNs: parseEventTime(first(req.query, 'since'), 'since'),
        untilNs: parseEventTime(first(req.query, 'until'), 'until'),
      };
      const ac = clientGone(req.raw, reply);
      await backend.eventsReady();
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/json' });
      try {
        await backend.events(query, (json) => void out.write(json + '\n'), ac.signal);
      } catch {
        // The head is out; the stream simply ends (the CLI reports the broken stream).
        if (!ac.signal.aborted) return out.fail();
      }
      out.end();
    },
  };
}

/**
 * The shape of a route, as each area lists its own (system/routes.ts, containers/routes.ts,
 * images/routes.ts), like moby's router/<area>/<area>.go. A handler receives the request's API
 * version, already checked against the supported range.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Query } from './query.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRequest {
  raw: FastifyRequest;
  /** The API version the request speaks ("1.50" when its path names none). */
  version: string;
  params: Record<string, string>;
  query: Query;
}

export type Handler = (req: ApiRequest, reply: FastifyReply) => Promise<void>;

export interface Route {
  method: Method;
  /** Unversioned path; every route also answers under /v1.NN/. */
  url: string;
  handler: Handler;
  /** A successful answer ends this phase of a container start (its time goes to the metrics). */
  startPhase?: true;
}

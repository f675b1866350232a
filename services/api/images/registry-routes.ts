/** The registry routes: pull, push and prune of images; /auth and /system/df (moby's router/system). */
import type { FastifyReply } from 'fastify';
import type { Route, ApiRequest } from '../router.js';
import { splitImagePath } from './handlers.js';
import type { RegistryBackend } from './registry-backend.js';
import { registryHandlers } from './registry-handlers.js';

export function registryRoutes(backend: RegistryBackend): Route[] {
  const h = registryHandlers(backend);
  return [
    { method: 'POST', url: '/images/create', handler: h.pull },
    { method: 'POST', url: '/images/prune', handler: h.prune },
    { method: 'POST', url: '/auth', handler: h.auth },
    { method: 'GET', url: '/system/df', handler: h.diskUsage },
  ];
}

/** True for POST /images/{name}/push, which shares its wildcard with /images/{name}/tag. */
export function isPush(req: ApiRequest): boolean {
  return splitImagePath(req.params['*'] ?? '', ['push']) !== undefined;
}

export function pushHandler(backend: RegistryBackend): (req: ApiRequest, reply: FastifyReply) => Promise<void> {
  return registryHandlers(backend).push;
}

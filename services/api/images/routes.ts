/**
 * The images routes (moby's router/image). Static paths win over the wildcards, so
 * `/images/json` lists while `/images/localhost:5000/app:1/json` inspects.
 */
import type { Route } from '../router.js';
import type { ImagesBackend } from './backend.js';
import { imageHandlers } from './handlers.js';
import type { RegistryBackend } from './registry-backend.js';
import { isPush, pushHandler } from './registry-routes.js';

/** Pull, prune (and /auth, /system/df) are registry-routes.ts's; push shares the POST wildcard. */
export function imageRoutes(backend: ImagesBackend, registry?: RegistryBackend): Route[] {
  const h = imageHandlers(backend);
  const push = registry ? pushHandler(registry) : undefined;
  return [
    { method: 'GET', url: '/images/json', handler: h.list },
    { method: 'GET', url: '/images/get', handler: h.saveMany },
    { method: 'POST', url: '/images/load', handler: h.load },
    { method: 'GET', url: '/images/*', handler: h.get },
    { method: 'POST', url: '/images/*', handler: (req, reply) => (push && isPush(req) ? push(req, reply) : h.post(req, reply)) },
    { method: 'DELETE', url: '/images/*', handler: h.remove },
  ];
}

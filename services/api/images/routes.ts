/**
 * The images routes (moby's router/image). Static paths win over the wildcards, so
 * `/images/json` lists while `/images/localhost:5000/app:1/json` inspects.
 */
import type { Route } from '../router.js';
import type { ImagesBackend } from './backend.js';
import { imageHandlers } from './handlers.js';

export function imageRoutes(backend: ImagesBackend): Route[] {
  const h = imageHandlers(backend);
  return [
    { method: 'GET', url: '/images/json', handler: h.list },
    { method: 'GET', url: '/images/get', handler: h.saveMany },
    { method: 'POST', url: '/images/load', handler: h.load },
    { method: 'POST', url: '/images/create', handler: h.pull },
    { method: 'GET', url: '/images/*', handler: h.get },
    { method: 'POST', url: '/images/*', handler: h.post },
    { method: 'DELETE', url: '/images/*', handler: h.remove },
  ];
}

/** The volumes routes (moby's router/volume). */
import type { Route } from '../router.js';
import type { VolumesBackend } from './backend.js';
import { volumeHandlers } from './handlers.js';

export function volumeRoutes(backend: VolumesBackend): Route[] {
  const h = volumeHandlers(backend);
  return [
    { method: 'GET', url: '/volumes', handler: h.list },
    { method: 'GET', url: '/volumes/:name', handler: h.inspect },
    { method: 'POST', url: '/volumes/create', handler: h.create },
    { method: 'POST', url: '/volumes/prune', handler: h.prune },
    { method: 'DELETE', url: '/volumes/:name', handler: h.remove },
  ];
}

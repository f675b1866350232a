/** The networks routes (moby's router/network). */
import type { Route } from '../router.js';
import type { NetworksBackend } from './backend.js';
import { networkHandlers } from './handlers.js';

export function networkRoutes(backend: NetworksBackend): Route[] {
  const h = networkHandlers(backend);
  return [
    { method: 'GET', url: '/networks', handler: h.list },
    { method: 'GET', url: '/networks/:id', handler: h.inspect },
    { method: 'POST', url: '/networks/create', handler: h.create },
    { method: 'POST', url: '/networks/prune', handler: h.prune },
    { method: 'POST', url: '/networks/:id/connect', handler: h.connect },
    { method: 'POST', url: '/networks/:id/disconnect', handler: h.disconnect },
    { method: 'DELETE', url: '/networks/:id', handler: h.remove },
  ];
}

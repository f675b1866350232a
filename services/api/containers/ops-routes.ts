/** Routes for a running container's operations: pause, unpause, update, stats, top. */
import type { Route } from '../router.js';
import type { ContainerOpsBackend } from './ops-backend.js';
import { containerOpsHandlers } from './ops-handlers.js';

export function containerOpsRoutes(backend: ContainerOpsBackend): Route[] {
  const h = containerOpsHandlers(backend);
  return [
    { method: 'POST', url: '/containers/:id/pause', handler: h.pause },
    { method: 'POST', url: '/containers/:id/unpause', handler: h.unpause },
    { method: 'POST', url: '/containers/:id/update', handler: h.update },
    { method: 'GET', url: '/containers/:id/stats', handler: h.stats },
    { method: 'GET', url: '/containers/:id/top', handler: h.top },
  ];
}

/** The containers routes (moby's router/container). Attach with an Upgrade header: ../upgrade.ts. */
import type { Route } from '../router.js';
import type { ContainersBackend } from './backend.js';
import { containerHandlers } from './handlers.js';

export function containerRoutes(backend: ContainersBackend): Route[] {
  const h = containerHandlers(backend);
  return [
    { method: 'GET', url: '/containers/json', handler: h.list },
    { method: 'GET', url: '/containers/:id/json', handler: h.inspect },
    { method: 'GET', url: '/containers/:id/logs', handler: h.logs },
    { method: 'POST', url: '/containers/create', handler: h.create },
    { method: 'POST', url: '/containers/prune', handler: h.prune },
    // The api's phase of a start: the whole request as the api sees it, everything below included.
    { method: 'POST', url: '/containers/:id/start', handler: h.start, startPhase: true },
    { method: 'POST', url: '/containers/:id/stop', handler: h.stop },
    { method: 'POST', url: '/containers/:id/restart', handler: h.restart },
    { method: 'POST', url: '/containers/:id/kill', handler: h.kill },
    { method: 'POST', url: '/containers/:id/wait', handler: h.wait },
    { method: 'POST', url: '/containers/:id/attach', handler: h.attach },
    { method: 'POST', url: '/containers/:id/resize', handler: h.resize },
    { method: 'DELETE', url: '/containers/:id', handler: h.remove },
  ];
}

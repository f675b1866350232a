/** The system routes (moby's router/system). */
import type { Route } from '../router.js';
import type { SystemBackend } from './backend.js';
import { systemHandlers } from './handlers.js';

export function systemRoutes(backend: SystemBackend): Route[] {
  const h = systemHandlers(backend);
  return [
    { method: 'GET', url: '/_ping', handler: h.ping },
    { method: 'HEAD', url: '/_ping', handler: h.pingHead },
    { method: 'GET', url: '/version', handler: h.version },
    { method: 'GET', url: '/info', handler: h.info },
    { method: 'GET', url: '/events', handler: h.events },
  ];
}

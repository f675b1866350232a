/**
 * The exec routes (moby's router/container exec routes). POST /exec/{id}/start with an Upgrade
 * header is taken before routing (../upgrade.ts calls startExecHijacked); without one (a detached
 * start, or an old client) it is served here.
 */
import type { Route } from '../router.js';
import type { ContainersBackend } from '../containers/backend.js';
import type { ExecBackend } from './backend.js';
import { execHandlers } from './handlers.js';

export function execRoutes(backend: ExecBackend, containers: ContainersBackend): Route[] {
  const h = execHandlers(backend, containers);
  return [
    { method: 'POST', url: '/containers/:id/exec', handler: h.create },
    { method: 'POST', url: '/exec/:id/start', handler: h.start },
    { method: 'GET', url: '/exec/:id/json', handler: h.inspect },
    { method: 'POST', url: '/exec/:id/resize', handler: h.resize },
  ];
}

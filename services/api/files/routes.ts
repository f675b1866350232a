/** The container-file routes: docker cp (archive), export, diff (changes), commit and rename. */
import type { Route } from '../router.js';
import type { FilesBackend } from './backend.js';
import { fileHandlers } from './handlers.js';

export function fileRoutes(backend: FilesBackend): Route[] {
  const h = fileHandlers(backend);
  return [
    { method: 'HEAD', url: '/containers/:id/archive', handler: h.statPath },
    { method: 'GET', url: '/containers/:id/archive', handler: h.readArchive },
    { method: 'PUT', url: '/containers/:id/archive', handler: h.writeArchive },
    { method: 'GET', url: '/containers/:id/export', handler: h.exportTar },
    { method: 'GET', url: '/containers/:id/changes', handler: h.changes },
    { method: 'POST', url: '/containers/:id/rename', handler: h.rename },
    { method: 'POST', url: '/commit', handler: h.commit },
  ];
}

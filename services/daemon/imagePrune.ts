/**
 * `docker image prune [-a]` (POST /images/prune): images no container uses — only dangling ones
 * (no tag) by default, every one with dangling=false — filtered by until and label, removed with
 * Docker's image delete rules; the answer lists what was untagged and deleted and the bytes freed.
 *
 * @example
 *   await pruneImages(images, store, bus, '{"dangling":["false"]}'); // { ImagesDeleted: [...], SpaceReclaimed: 123 }
 */
import { EngineError } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import { recordDockerEvent } from './dockerEvents.js';
import { boolFilterValue, parseFilters, parseTimestampFilter } from './filters.js';
import type { ImageService } from './images.js';
import type { ContainerStore } from './store.js';

function labelHolds(sel: string, labels: Record<string, string>): boolean {
  const eq = sel.indexOf('=');
  if (eq < 0) return sel in labels;
  return labels[sel.slice(0, eq)] === sel.slice(eq + 1);
}

export async function pruneImages(
  images: ImageService,
  store: ContainerStore,
  bus: EventBus,
  filtersJson: string,
  log?: Logger,
): Promise<{ ImagesDeleted: Array<Record<string, string>> | null; SpaceReclaimed: number }> {
  const filters = parseFilters(filtersJson, ['dangling', 'until', 'label', 'label!']);
  const danglingValues = filters.get('dangling').map((v) => boolFilterValue('dangling', v));
  const danglingOnly = danglingValues.length === 0 ? true : danglingValues.every(Boolean);
  const until = filters.get('until').map((v) => parseTimestampFilter(v));
  const deleted: Array<Record<string, string>> = [];
  const reclaimed = { bytes: 0 };
  for (const img of await images.all()) {
    if (danglingOnly && img.names.length > 0) continue;
    if (store.usingImage(img.id).length > 0) continue;
    let doc: { created?: string; config?: { Labels?: Record<string, string> | null } } = {};
    try {
      doc = JSON.parse(img.config.toString('utf8'));
    } catch {
      // no labels, no time
    }
    const labels = doc.config?.Labels ?? {};
    if (!filters.matchLabels('label', labels)) continue;
    if (filters.get('label!').some((sel) => labelHolds(sel, labels))) continue;
    const created = Date.parse(doc.created ?? '');
    if (until.length > 0 && !(Number.isFinite(created) && until.every((t) => created < t))) continue;
    const refs = [...img.names, ...img.repo_digests];
    for (const r of refs.length === 0 ? [img.id] : refs) {
      try {
        deleted.push(...(await images.remove(r, false, reclaimed)));
      } catch (err) {
        // A digest reference goes with the last tag of its repository: already gone is fine.
        if (!(err instanceof EngineError && err.kind === 'not_found')) log?.warn('image prune could not remove an image', { id: img.id, ref: r, err });
      }
    }
  }
  store.tx(() => recordDockerEvent(bus, 'image', 'prune', '', { reclaimed: String(reclaimed.bytes) }));
  return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed.bytes };
}

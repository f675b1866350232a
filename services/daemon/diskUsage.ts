/**
 * `docker system df` (GET /system/df): the images (with the containers using each and the bytes
 * they share with other images), the containers (with their read-write and root filesystem sizes),
 * the volumes (from the volume store, when one is wired in) and the total size of the layers.
 *
 * @example
 *   const doc = await diskUsage(deps, { types: [], apiVersion: '1.49' });
 */
import { invalidArgument } from '../../common/errors.js';
import type { Image__Output } from '../../common/proto-types/tersane/containerd/v1/Image.js';
import { familiarName } from '../../common/reference.js';
import type { ContainerdClients } from '../containerd/client.js';
import { versionBelow } from './images.js';
import type { ContainerStore } from './store.js';
import { listDocuments, type ImageIndex } from './views.js';

const TYPES = ['container', 'image', 'volume', 'build-cache'];

export interface DiskUsageDeps {
  containerd: ContainerdClients;
  store: ContainerStore;
  /** Docker's volume documents with UsageData, from the volume store; none when not wired in. */
  volumes?: () => Promise<Array<Record<string, unknown>>>;
}

function created(img: Image__Output): number {
  try {
    const t = Date.parse(JSON.parse(img.config.toString('utf8')).created ?? '');
    return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
  } catch {
    return 0;
  }
}

function labels(img: Image__Output): Record<string, string> | null {
  try {
    return JSON.parse(img.config.toString('utf8')).config?.Labels ?? null;
  } catch {
    return null;
  }
}

function indexOf(images: Image__Output[]): ImageIndex {
  return {
    idOf(ref: string) {
      const full = /^(sha256:)?[a-f0-9]{64}$/.test(ref) ? (ref.startsWith('sha256:') ? ref : `sha256:${ref}`) : undefined;
      if (full) return full;
      return images.find((i) => i.names.some((n) => n === ref || familiarName(n) === ref || familiarName(n) === `${ref}:latest`))?.id;
    },
  };
}

export async function diskUsage(deps: DiskUsageDeps, req: { types: string[]; apiVersion: string }): Promise<Record<string, unknown>> {
  for (const t of req.types) if (!TYPES.includes(t)) throw invalidArgument(`invalid type: ${t}`);
  const want = (t: string) => req.types.length === 0 || req.types.includes(t);
  const out: Record<string, unknown> = {};
  const [list, usage] = await Promise.all([deps.containerd.images.call('List', {}), deps.containerd.images.call('Usage', {})]);
  const images = list.images;
  const rows = deps.store.list();
  const sizeOfImage = new Map(images.map((i) => [i.id, Number(i.size)]));

  if (want('image')) {
    // A layer (chain id) two images have is shared by both.
    const users = new Map<string, number>();
    for (const img of images) for (const c of new Set(img.chain_ids)) users.set(c, (users.get(c) ?? 0) + 1);
    out.LayersSize = Number(usage.layers_size);
    out.Images = images.map((img) => {
      const shared = img.chain_ids.reduce((sum, c, i) => sum + ((users.get(c) ?? 0) > 1 ? Number(img.layer_sizes[i] ?? 0) : 0), 0);
      const doc: Record<string, unknown> = {
        Containers: rows.filter((r) => r.image_id === img.id).length,
        Created: created(img),
        Id: img.id,
        Labels: labels(img),
        ParentId: '',
        RepoDigests: img.repo_digests.map(familiarName),
        RepoTags: img.names.map(familiarName),
        SharedSize: shared,
        Size: Number(img.size),
      };
      if (versionBelow(req.apiVersion, '1.44')) doc.VirtualSize = Number(img.size);
      return doc;
    });
  }
  if (want('container')) {
    const rw = new Map(usage.containers.map((c) => [c.id, Number(c.size_rw)]));
    out.Containers = listDocuments(deps.store, rows, { all: true, limit: 0, filters: '' }, indexOf(images)).map((doc) => {
      const id = String(doc.Id);
      const row = rows.find((r) => r.id === id);
      const sizeRw = rw.get(id) ?? 0;
      return { ...doc, SizeRw: sizeRw, SizeRootFs: sizeRw + (row ? (sizeOfImage.get(row.image_id) ?? 0) : 0) };
    });
  }
  if (want('volume')) out.Volumes = deps.volumes ? await deps.volumes() : [];
  if (want('build-cache')) out.BuildCache = [];
  return out;
}

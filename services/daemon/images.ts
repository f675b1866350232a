/**
 * Docker's view of images, over containerd's image store: list, inspect, history, tag, remove
 * (with Docker's untag/delete/conflict rules), load (Docker's JSON progress messages) and save.
 *
 * @example
 *   const docs = await images.list({ all: false, filters: '', apiVersion: '1.49' });
 */
import { conflict, EngineError, invalidArgument, notFound } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Image__Output } from '../../common/proto-types/tersane/containerd/v1/Image.js';
import type { LoadProgress__Output } from '../../common/proto-types/tersane/containerd/v1/LoadProgress.js';
import { streamError } from '../../common/grpc.js';
import { familiarName, formatReference, normalizeName, parseReference, withDefaultTag } from '../../common/reference.js';
import { ZERO_TIME } from '../../common/time.js';
import type { ContainerdClients } from '../containerd/client.js';
import { recordImageEvent } from './dockerEvents.js';
import { boolFilterValue, parseFilters, parseTimestampFilter } from './filters.js';
import { displayImageRef, isRunning } from './lifecycle.js';
import { shortId } from './names.js';
import type { ContainerStore } from './store.js';

interface ImageDoc {
  created?: string;
  author?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  config?: Record<string, unknown> & { Labels?: Record<string, string> | null };
  comment?: string;
  docker_version?: string;
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean; author?: string }>;
}

function doc(image: Image__Output): ImageDoc {
  try {
    return JSON.parse(image.config.toString('utf8')) as ImageDoc;
  } catch {
    return {};
  }
}

function unixSeconds(rfc: string | undefined): number {
  const t = rfc ? Date.parse(rfc) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/** True when an API version string is below `than` ("1.43" < "1.44"). */
export function versionBelow(version: string, than: string): boolean {
  if (!version) return false;
  const [a1, a2] = version.split('.').map(Number);
  const [b1, b2] = than.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

/** Docker's glob match of a reference filter against a familiar name (path.Match semantics). */
export function referenceMatches(pattern: string, fullName: string): boolean {
  const familiar = familiarName(fullName);
  const repo = familiar.replace(/:[^:/]+$/, '');
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]') +
      '$',
  );
  return re.test(familiar) || re.test(repo);
}

export class ImageService {
  constructor(
    private readonly containerd: ContainerdClients,
    private readonly store: ContainerStore,
    private readonly bus: EventBus,
  ) {}

  async get(ref: string): Promise<Image__Output> {
    try {
      return await this.containerd.images.call('Get', { ref });
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'not_found') throw notFound(`No such image: ${displayImageRef(ref)}`);
      throw err;
    }
  }

  async all(): Promise<Image__Output[]> {
    return (await this.containerd.images.call('List', {})).images;
  }

  // ---- list ---------------------------------------------------------------------------------------

  async list(req: { all: boolean; filters: string; apiVersion: string }): Promise<Array<Record<string, unknown>>> {
    const filters = parseFilters(req.filters, ['dangling', 'label', 'label!', 'before', 'since', 'reference', 'until']);
    const images = await this.all();
    const dangling = filters.get('dangling').map((v) => boolFilterValue('dangling', v));
    const createdOf = (img: Image__Output) => unixSeconds(doc(img).created);
    const resolveTime = async (ref: string) => createdOf(await this.get(ref));
    const before = await Promise.all(filters.get('before').map(resolveTime));
    const since = await Promise.all(filters.get('since').map(resolveTime));
    const until = filters.get('until').map((v) => parseTimestampFilter(v) / 1000);
    const out: Array<Record<string, unknown> & { Created: number }> = [];
    for (const img of images) {
      const d = doc(img);
      const labels = d.config?.Labels ?? null;
      const created = unixSeconds(d.created);
      if (dangling.length > 0 && !dangling.every((want) => want === (img.names.length === 0))) continue;
      if (!filters.matchLabels('label', labels)) continue;
      if (filters.get('label!').some((sel) => labelHolds(sel, labels ?? {}))) continue;
      if (before.length > 0 && !before.every((t) => created < t)) continue;
      if (since.length > 0 && !since.every((t) => created > t)) continue;
      if (until.length > 0 && !until.every((t) => created < t)) continue;
      let names = img.names;
      if (filters.has('reference')) {
        names = names.filter((n) => filters.get('reference').some((p) => referenceMatches(p, n)));
        if (names.length === 0) continue;
      }
      const entry: Record<string, unknown> & { Created: number } = {
        Containers: -1,
        Created: created,
        Id: img.id,
        Labels: labels,
        ParentId: '',
        RepoDigests: img.repo_digests.map(familiarName),
        RepoTags: names.map(familiarName),
        SharedSize: -1,
        Size: img.size,
      };
      if (versionBelow(req.apiVersion, '1.44')) entry.VirtualSize = img.size;
      out.push(entry);
    }
    out.sort((a, b) => b.Created - a.Created);
    return out;
  }

  // ---- inspect and history --------------------------------------------------------------------------

  async inspect(ref: string, apiVersion: string): Promise<Record<string, unknown>> {
    const img = await this.get(ref);
    const d = doc(img);
    const out: Record<string, unknown> = {
      Id: img.id,
      RepoTags: img.names.map(familiarName),
      RepoDigests: img.repo_digests.map(familiarName),
      Parent: '',
      Comment: d.comment ?? '',
      Created: d.created ?? '',
      DockerVersion: d.docker_version ?? '',
      Author: d.author ?? '',
      Config: d.config ?? null,
      Architecture: d.architecture ?? '',
      Os: d.os ?? '',
      Size: img.size,
      GraphDriver: { Data: null, Name: 'overlay2' },
      RootFS: { Type: 'layers', Layers: img.diff_ids },
      Metadata: { LastTagTime: ZERO_TIME },
    };
    if (d.variant) out.Variant = d.variant;
    if (versionBelow(apiVersion, '1.44')) out.VirtualSize = img.size;
    return out;
  }

  async history(ref: string): Promise<Array<Record<string, unknown>>> {
    const img = await this.get(ref);
    const d = doc(img);
    const history = d.history ?? [];
    const layered = history.filter((h) => !h.empty_layer).length;
    // Each history entry that made a layer gets that layer's size, bottom first.
    const sizes = img.layer_sizes ?? [];
    let layerIndex = 0;
    const entries = history.map((h) => ({
      Id: '<missing>',
      Created: unixSeconds(h.created),
      CreatedBy: h.created_by ?? '',
      Tags: null as string[] | null,
      Size: h.empty_layer ? 0 : Number(sizes[layerIndex++] ?? (layered === 1 ? img.size : 0)),
      Comment: h.comment ?? '',
    }));
    entries.reverse();
    if (entries.length === 0) entries.push({ Id: '<missing>', Created: unixSeconds(d.created), CreatedBy: '', Tags: null, Size: img.size, Comment: '' });
    entries[0].Id = img.id;
    entries[0].Tags = img.names.length > 0 ? img.names.map(familiarName) : null;
    return entries;
  }

  // ---- tag ----------------------------------------------------------------------------------------

  async tag(source: string, repo: string, tag: string): Promise<void> {
    const parsed = parseReference(repo);
    if (parsed.digest) throw invalidArgument('refusing to create a tag with a digest reference');
    if (parsed.tag && tag) throw invalidArgument(`invalid reference format`);
    const name = formatReference(withDefaultTag({ ...parsed, tag: tag || parsed.tag }));
    if (tag) parseReference(`${repo}:${tag}`);
    const img = await this.get(source);
    await this.containerd.images.call('Tag', { source: img.id, name });
    this.store.tx(() => recordImageEvent(this.bus, 'tag', img.id, familiarName(name), doc(img).config?.Labels ?? {}));
  }

  // ---- remove -------------------------------------------------------------------------------------

  /** Docker's image delete: untag a name, or delete by id, refusing what Docker refuses. */
  async remove(name: string, force: boolean, reclaimed?: { bytes: number }): Promise<Array<Record<string, string>>> {
    const img = await this.get(name);
    const records: Array<Record<string, string>> = [];
    const labels = doc(img).config?.Labels ?? {};
    const byId = isIdPrefix(img.id, name);
    let refs = [...img.names, ...img.repo_digests];
    const users = this.store.usingImage(img.id);
    const untag = async (full: string) => {
      await this.containerd.images.call('Untag', { name: full });
      this.store.tx(() => recordImageEvent(this.bus, 'untag', img.id, img.id, labels));
      records.push({ Untagged: familiarName(full) });
      refs = refs.filter((r) => r !== full);
    };

    let quiet = false;
    if (!byId) {
      const full = normalizeName(name);
      if (!force && isSingleReference(refs) && users.length > 0) {
        throw conflict(
          `conflict: unable to remove repository reference "${name}" (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(img.id)}`,
        );
      }
      if (refs.includes(full)) await untag(full);
      else if (img.repo_digests.includes(full)) await untag(full);
      // A tag gone, the digest references of its repository go too when no tag of it is left.
      if (!full.includes('@')) {
        const repoOf = (r: string) => r.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
        const repo = repoOf(full);
        if (!refs.some((r) => !r.includes('@') && repoOf(r) === repo)) {
          for (const r of refs.filter((x) => x.includes('@') && repoOf(x) === repo)) await untag(r);
        }
      }
      if (refs.length > 0) return records;
      quiet = true;
    } else if (isSingleReference(refs)) {
      const c = this.conflictOf(img.id, refs, { hard: true, stopped: !force, references: false });
      if (c) throw conflict(c.message);
      for (const r of [...refs]) await untag(r);
    }

    const c = this.conflictOf(img.id, refs, { hard: true, stopped: !force, references: !force });
    if (c) {
      if (quiet && (refs.length > 0 || c.used)) return records;
      throw conflict(c.message);
    }
    for (const r of [...refs]) await untag(r);
    try {
      const res = await this.containerd.images.call('Delete', { id: img.id });
      if (reclaimed) reclaimed.bytes += Number(res.reclaimed ?? 0);
      this.store.tx(() => recordImageEvent(this.bus, 'delete', img.id, img.id, labels));
      records.push({ Deleted: img.id });
      for (const layer of res.deleted.filter((x) => x !== img.id)) records.push({ Deleted: layer });
    } catch (err) {
      // containerd keeps an image a stopped container was made from (its snapshot sits on the image's
      // layers): forced, the image is left untagged (dangling) until that container is removed.
      if (err instanceof EngineError && err.kind === 'failed_precondition' && force) return records;
      throw err;
    }
    return records;
  }

  private conflictOf(
    imageId: string,
    refs: string[],
    mask: { hard: boolean; stopped: boolean; references: boolean },
  ): { message: string; used: boolean } | undefined {
    const short = shortId(imageId);
    const users = this.store.usingImage(imageId);
    if (mask.hard) {
      const running = users.find(isRunning);
      if (running) return { used: true, message: `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${shortId(running.id)}` };
    }
    if (mask.references && refs.length > 0) {
      return { used: false, message: `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories` };
    }
    if (mask.stopped) {
      const stopped = users.find((u) => !isRunning(u));
      if (stopped) return { used: true, message: `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${shortId(stopped.id)}` };
    }
    return undefined;
  }

  // ---- load and save ------------------------------------------------------------------------------

  /**
   * Passes a docker-archive tar to containerd and renders its progress as Docker's JSON messages.
   * `chunks` is the tar; each yielded object is one message of Docker's load stream.
   */
  async *load(chunks: AsyncIterable<Buffer>): AsyncGenerator<Record<string, unknown>> {
    const images = this.containerd.images;
    await images.ready();
    const call = images.raw.Load(images.metadata());
    const queue: Array<LoadProgress__Output> = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    call.on('data', (m: LoadProgress__Output) => {
      queue.push(m);
      notify();
    });
    call.on('error', (err) => {
      failure = streamError('containerd', err);
      done = true;
      notify();
    });
    call.on('end', () => {
      done = true;
      notify();
    });
    const feed = (async () => {
      try {
        for await (const chunk of chunks) {
          if (done) break;
          if (!call.write({ data: chunk })) await new Promise<void>((r) => call.once('drain', () => r()));
        }
        call.end();
      } catch (err) {
        call.cancel();
        failure = failure ?? (err as Error);
      }
    })();
    try {
      for (;;) {
        while (queue.length > 0) {
          const m = queue.shift()!;
          if (m.loaded) {
            const { name, id } = m.loaded;
            this.store.tx(() => {
              recordImageEvent(this.bus, 'load', id, id);
              if (name) recordImageEvent(this.bus, 'tag', id, familiarName(name));
            });
            yield { stream: name ? `Loaded image: ${familiarName(name)}\n` : `Loaded image ID: ${id}\n` };
          } else if (m.total > 0 || m.current > 0) {
            yield {
              status: m.status || 'Loading layer',
              progressDetail: { current: m.current, total: m.total },
              progress: progressBar(m.current, m.total),
              id: shortId(m.id),
            };
          }
        }
        if (done) break;
        await new Promise<void>((r) => (wake = r));
      }
      await feed;
      if (failure) throw failure;
    } finally {
      if (!done) call.cancel();
    }
  }

  /** A docker-archive tar of the named images, from containerd's export. */
  async *save(names: string[]): AsyncGenerator<Buffer> {
    if (names.length === 0) throw invalidArgument('no image names given');
    for (const n of names) await this.get(n);
    const images = this.containerd.images;
    const call = images.raw.Export({ refs: names }, images.metadata());
    try {
      for await (const chunk of call as AsyncIterable<{ data: Buffer }>) yield chunk.data;
    } catch (err) {
      throw streamError('containerd', err);
    }
    this.store.tx(() => {
      for (const n of names) recordImageEvent(this.bus, 'save', n, n);
    });
  }
}

function labelHolds(sel: string, labels: Record<string, string>): boolean {
  const eq = sel.indexOf('=');
  if (eq < 0) return sel in labels;
  return labels[sel.slice(0, eq)] === sel.slice(eq + 1);
}

function isIdPrefix(id: string, text: string): boolean {
  return id.startsWith(text) || id.replace(/^sha256:/, '').startsWith(text);
}

/** Docker's isSingleReference: all names in one repository with at most one tag. */
function isSingleReference(refs: string[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const repoOf = (r: string) => r.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
  const tags = refs.filter((r) => !r.includes('@'));
  if (tags.length > 1) return false;
  const repos = new Set(refs.map(repoOf));
  return repos.size === 1;
}

/** go-units HumanSize: decimal units, 4 significant digits. */
export function humanSize(bytes: number): string {
  const unitNames = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < unitNames.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${unitNames[i]}`;
}

/** Docker's progress string for a 200-column (server-side) terminal: bar and counts. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

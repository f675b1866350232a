/**
 * `docker pull`: a reference resolved at its registry to a manifest (through an index, for the
 * requested platform), its config and layers fetched into the content store — several at once, each
 * layer unpacked while it downloads — with every blob's digest and size verified before it is
 * committed, and every layer's diff id verified before its snapshot is.
 *
 * What is already here is not fetched again: a layer whose blob and snapshot exist "Already
 * exists"; a blob that a pull cut short (kill -9) had verified is still in the store, kept by that
 * pull's lease, and is only unpacked. A pull that fails on bad content (a digest that does not match,
 * a hostile layer, a manifest that is not JSON) leaves nothing: its temporary snapshots are removed
 * and the blobs it brought that nothing references are deleted. A pull that fails on transport (a
 * registry that stops answering) keeps its verified blobs under its lease for the next try.
 *
 * Progress is Docker's: "Pulling from …", per layer "Pulling fs layer", "Waiting", "Downloading",
 * "Verifying Checksum", "Download complete", "Extracting", "Pull complete" (or "Already exists"),
 * then "Digest: …" and "Status: …".
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { EngineError, internal, invalidArgument, notFound } from '../../../common/errors.js';
import type { PullProgress } from '../../../common/proto-types/tersane/containerd/v1/PullProgress.js';
import type { PulledImage } from '../../../common/proto-types/tersane/containerd/v1/PulledImage.js';
import { familiarName, familiarRepository, formatReference, parseReference, repositoryOf, withDefaultTag, type Reference } from '../../../common/reference.js';
import { nowRfc3339Nano } from '../../../common/time.js';
import type { ImageService } from '../images.js';
import { chainIds, type UnpackResult } from '../snapshots.js';
import type { Credentials } from './auth.js';
import { Repository, type RegistrySettings } from './client.js';
import { registryError } from './errors.js';
import type { Response } from './http.js';
import {
  IMAGE_MANIFEST_TYPES,
  MANIFEST_ACCEPT,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseConfig,
  parseManifest,
  sha256,
  type Descriptor,
  type ImageManifest,
} from './manifests.js';
import { formatPlatform, hostPlatform, matchScore, parsePlatform, pickPlatform, type Platform } from './platform.js';
import { runBounded } from './pool.js';
import { diffIdOf, discardTmp, unpackFromPipe, type StreamUnpack } from './unpackStream.js';
import { containerdMetrics } from '../metrics.js';

/** Progress of one layer is reported at most this often (and at its end). */
const PROGRESS_INTERVAL_MS = 100;

export interface PullOptions {
  settings: RegistrySettings;
  unpackBinary: string;
  /** Layers fetched at once (Docker's max-concurrent-downloads). */
  concurrency: number;
}

export interface PullArgs {
  ref: string;
  platform: string;
  creds: Credentials;
  signal?: AbortSignal;
}

type Emit = (p: PullProgress) => void;

interface Fetched {
  digest: string;
  mediaType: string;
  body: Buffer;
}

interface LayerPlan {
  index: number;
  desc: Descriptor;
  diffId: string;
  chain: string;
  short: string;
}

interface LayerOutcome {
  /** A directory to commit as the chain's snapshot (absent when the snapshot exists). */
  unpacked?: UnpackResult;
}

/** First 12 hex of a digest: the id Docker's progress lines carry. */
function shortOf(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Errors that mean the content is bad, not that the transfer failed: nothing of it is kept. */
function isContentError(err: unknown): boolean {
  return err instanceof EngineError && err.kind === 'invalid_argument';
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/** Waits until a writable can take more, or is gone. */
function writable(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

export async function pullImage(svc: ImageService, args: PullArgs, opts: PullOptions, emit: Emit): Promise<PulledImage> {
  const { content, store, records, snapshots } = svc;
  const ref: Reference = withDefaultTag(parseReference(args.ref));
  const fullRef = formatReference(ref);
  const shownRef = familiarName(fullRef);
  const repoName = repositoryOf(ref);
  const familiarRepo = familiarRepository(ref);
  const explicitPlatform = Boolean(args.platform);
  const want: Platform = explicitPlatform ? parsePlatform(args.platform) : hostPlatform();
  const signal = args.signal;
  const lease = `pull-${randomBytes(8).toString('hex')}`;
  const createdBlobs = new Set<string>();
  const tmps: UnpackResult[] = [];
  let committed = false;

  const line = (status: string, id = '') => emit({ id, status, current: 0, total: 0, layer: false });
  const layerLine = (id: string, status: string, current = 0, total = 0) => emit({ id, status, current, total, layer: true });

  /** Streams a blob into the content store under the lease, verifying its size and digest. */
  const ingest = async (desc: Descriptor, body: AsyncIterable<Buffer>, what: string) => {
    const got = await content.ingest(body, { size: desc.size, digest: desc.digest, what });
    if (got.created) createdBlobs.add(got.digest);
  };
  const keep = (digest: string) => records.lease(lease, digest);

  try {
    const repo = await Repository.open({ registry: ref.registry, path: ref.path, actions: ['pull'] }, args.creds, opts.settings, signal);
    line(`Pulling from ${ref.path}`, ref.digest ?? ref.tag ?? '');

    /** A manifest or index by tag or digest, its digest checked against what was asked or announced. */
    const fetchManifest = async (reference: string, expect?: { digest: string; size?: number }): Promise<Fetched> => {
      const res = await repo.manifest(reference, MANIFEST_ACCEPT, signal);
      if (res.status !== 200) throw await manifestError(res, shownRef, familiarRepo);
      const body = await res.bytes(MAX_MANIFEST_BYTES, `manifest for ${shownRef}`);
      const digest = sha256(body);
      const announced = res.headers['docker-content-digest'];
      if ((expect && expect.digest !== digest) || (typeof announced === 'string' && /^sha256:/.test(announced) && announced !== digest)) {
        throw invalidArgument(`manifest verification failed for digest ${expect?.digest ?? announced}`);
      }
      if (expect?.size !== undefined && expect.size !== body.length) {
        throw invalidArgument(`manifest ${digest} is ${body.length} bytes, its descriptor says ${expect.size}`);
      }
      return { digest, mediaType: String(res.headers['content-type'] ?? ''), body };
    };

    // ---- the manifest (through an index for the platform) ----
    const top = await fetchManifest(ref.digest ?? ref.tag!, ref.digest ? { digest: ref.digest } : undefined);
    const topParsed = parseManifest(top.body, top.mediaType, `manifest for ${shownRef}`);
    let manifestDoc: Fetched = top;
    let manifest: ImageManifest;
    const kept: Array<{ digest: string; mediaType: string; body: Buffer }> = [];
    if (topParsed.kind === 'index') {
      kept.push({ digest: top.digest, mediaType: topParsed.index.mediaType, body: top.body });
      const candidates = topParsed.index.manifests.filter((m) => IMAGE_MANIFEST_TYPES.includes(m.mediaType) && m.platform);
      const choice = pickPlatform(candidates, want);
      if (!choice) throw notFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
      manifestDoc = await fetchManifest(choice.digest, { digest: choice.digest, size: choice.size });
      const inner = parseManifest(manifestDoc.body, manifestDoc.mediaType || choice.mediaType, `manifest ${choice.digest} of ${shownRef}`);
      if (inner.kind !== 'manifest') throw invalidArgument(`manifest ${choice.digest} of ${shownRef} is an index inside an index`);
      manifest = inner.manifest;
    } else {
      manifest = topParsed.manifest;
    }
    kept.push({ digest: manifestDoc.digest, mediaType: manifest.mediaType, body: manifestDoc.body });
    const repoDigest = top.digest;

    // ---- the config ----
    const configDesc = manifest.config;
    if (configDesc.size > MAX_CONFIG_BYTES) throw invalidArgument(`the image config ${configDesc.digest} of ${shownRef} is larger than ${MAX_CONFIG_BYTES} bytes`);
    await svc.lock.run(() => {
      keep(configDesc.digest);
      for (const k of kept) keep(k.digest);
    });
    if (!content.has(configDesc.digest)) {
      const res = await repo.blob(configDesc.digest, signal);
      if (res.status !== 200) throw await blobError(res, 'error pulling image configuration');
      await ingest(configDesc, limited(res, configDesc, 'image configuration'), `image config ${configDesc.digest}`);
    }
    if (content.size(configDesc.digest) !== configDesc.size) {
      throw invalidArgument(`the image config ${configDesc.digest} of ${shownRef} is ${content.size(configDesc.digest)} bytes, its descriptor says ${configDesc.size}`);
    }
    const configBytes = content.read(configDesc.digest);
    const config = parseConfig(configBytes, manifest.layers.length, `image config ${configDesc.digest}`);
    const configPlatform = { os: config.os, architecture: config.architecture, variant: config.variant };
    if (explicitPlatform && topParsed.kind === 'manifest' && matchScore(want, configPlatform) === 0) {
      throw notFound(
        `image with reference ${shownRef} was found but its platform (${formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant })}) ` +
          `does not match the specified platform (${formatPlatform(want)})`,
      );
    }
    for (const k of kept) {
      if (!content.has(k.digest)) await ingest({ mediaType: k.mediaType, digest: k.digest, size: k.body.length }, once(k.body), `manifest ${k.digest}`);
    }

    // ---- the layers ----
    const imageId = configDesc.digest;
    const chains = chainIds(config.diffIds);
    const plans: LayerPlan[] = manifest.layers.map((desc, i) => ({ index: i, desc, diffId: config.diffIds[i], chain: chains[i], short: shortOf(desc.digest) }));
    const state = await svc.lock.run(() =>
      plans.map((p) => {
        keep(p.desc.digest);
        return { snap: Boolean(store.snapshotByChain(p.chain)), blob: content.has(p.desc.digest) };
      }),
    );
    const name = ref.digest ? undefined : fullRef;
    const wasNamed = name ? store.imageOfName(name) : records.imageOfRepoDigest(`${repoName}@${repoDigest}`);
    const complete = Boolean(store.image(imageId)) && state.every((s) => s.snap && s.blob);

    if (!complete) {
      const firstOfBlob = new Map<string, number>();
      plans.forEach((p) => firstOfBlob.has(p.desc.digest) || firstOfBlob.set(p.desc.digest, p.index));
      const fetchedBlob = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void }>();
      for (const [digest, i] of firstOfBlob) {
        if (state[i].blob) continue;
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<void>((a, b) => ((resolve = a), (reject = b)));
        promise.catch(() => undefined);
        fetchedBlob.set(digest, { promise, resolve, reject });
      }
      const work = plans.filter((p) => !(state[p.index].snap && state[p.index].blob));
      for (const p of plans) layerLine(p.short, state[p.index].snap && state[p.index].blob ? 'Already exists' : 'Pulling fs layer');
      work.forEach((p, n) => {
        if (n >= opts.concurrency && fetchedBlob.has(p.desc.digest)) layerLine(p.short, 'Waiting');
      });

      const outcomes = new Map<number, LayerOutcome>();
      await runBounded(work, opts.concurrency, signal, async (p, _n, taskSignal) => {
        const s = state[p.index];
        const downloads = firstOfBlob.get(p.desc.digest) === p.index && !s.blob;
        if (downloads) {
          const sink = s.snap ? undefined : unpackFromPipe(snapshots.root, opts.unpackBinary);
          const fetched = fetchedBlob.get(p.desc.digest)!;
          try {
            await downloadLayer(repo, p, sink, taskSignal, layerLine, ingest);
            fetched.resolve();
          } catch (err) {
            fetched.reject(err);
            sink?.abort();
            await sink?.done.catch(() => undefined);
            throw err;
          }
          if (sink) {
            layerLine(p.short, 'Extracting', p.desc.size, p.desc.size);
            const r = await sink.done.catch((err: unknown) => {
              throw registerError(p, err);
            });
            tmps.push(r);
            checkDiffId(p, r);
            outcomes.set(p.index, { unpacked: r });
          } else {
            const diffId = await diffIdOf(content.path(p.desc.digest), opts.unpackBinary).catch((err: unknown) => {
              throw registerError(p, err);
            });
            checkDiffId(p, { diffId });
          }
          layerLine(p.short, 'Pull complete');
          return;
        }
        // The blob is here (kept from an earlier pull, or fetched by another entry of this one).
        await fetchedBlob.get(p.desc.digest)?.promise;
        if (s.snap) {
          layerLine(p.short, 'Pull complete');
          return;
        }
        if (!fetchedBlob.has(p.desc.digest)) layerLine(p.short, 'Download complete');
        const r = await snapshots
          .unpack(content.path(p.desc.digest), (done) => layerLine(p.short, 'Extracting', Math.min(done, p.desc.size), p.desc.size))
          .catch((err: unknown) => {
            throw registerError(p, err);
          });
        tmps.push(r);
        checkDiffId(p, r);
        outcomes.set(p.index, { unpacked: r });
        layerLine(p.short, 'Pull complete');
      });

      // ---- commit: snapshots, image, names, in one transaction ----
      await svc.lock.run(async () => {
        store.transaction(() => {
          for (const [i, o] of outcomes) {
            if (!o.unpacked || store.snapshotByChain(plans[i].chain)) continue;
            snapshots.commit(o.unpacked.tmp, plans[i].chain, o.unpacked.size);
            o.unpacked.tmp = '';
          }
          record(svc, { imageId, manifestDigest: manifestDoc.digest, plans, outcomes, name, repoName, repoDigest, kept, lease, layerless: plans.length === 0 });
        });
        committed = true;
        // A layer whose snapshot went away meanwhile (its last other image removed) is unpacked again.
        await svc.ensureChain(store.layers(imageId));
      });
    } else {
      await svc.lock.run(() => {
        store.transaction(() =>
          record(svc, { imageId, manifestDigest: manifestDoc.digest, plans, outcomes: new Map(), name, repoName, repoDigest, kept, lease, layerless: plans.length === 0 }),
        );
        committed = true;
      });
    }

    const upToDate = wasNamed === imageId;
    line(`Digest: ${repoDigest}`);
    line(`Status: ${upToDate ? 'Image is up to date for' : 'Downloaded newer image for'} ${name ? shownRef : familiarName(`${repoName}@${repoDigest}`)}`);
    return { id: imageId, name: name ?? `${repoName}@${repoDigest}`, digest: repoDigest, up_to_date: upToDate };
  } catch (err) {
    // Bad content leaves nothing; a failed transfer keeps what it verified, under the lease.
    if (!committed && isContentError(err)) {
      await svc.lock.run(() => {
        records.release(lease);
        const referenced = store.referencedBlobs();
        for (const d of createdBlobs) if (!referenced.has(d)) content.remove(d);
      });
    }
    throw err;
  } finally {
    for (const t of tmps) if (t.tmp) discardTmp(t.tmp);
  }
}

/** A manifest the registry would not give, in Docker's words. */
async function manifestError(res: Response, shownRef: string, familiarRepo: string): Promise<EngineError> {
  const err = await registryError(res);
  if (res.status === 404) return notFound(`manifest for ${shownRef} not found: ${err.message}`);
  if (res.status === 401 || res.status === 403) {
    return new EngineError(err.kind, `pull access denied for ${familiarRepo}, repository does not exist or may require 'docker login': ${err.message}`);
  }
  return err;
}

async function blobError(res: Response, context: string): Promise<EngineError> {
  const err = await registryError(res);
  return new EngineError(err.kind, `${context}: ${err.message}`);
}

/** A blob's body, refusing a byte beyond its descriptor's size (a registry that sends too much). */
async function* limited(res: Response, desc: Descriptor, what: string): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const piece of res.body as AsyncIterable<Buffer>) {
    n += piece.length;
    containerdMetrics()?.pullBytes.inc(piece.length);
    if (n > desc.size) {
      res.body.destroy();
      throw invalidArgument(`${what} ${desc.digest} is larger than its descriptor's ${desc.size} bytes`);
    }
    yield piece;
  }
}

/**
 * Fetches a layer blob into the content store, feeding the unpacker as it arrives. Resolves once
 * the blob is verified and committed; the unpacker's own outcome is the caller's to await.
 */
async function downloadLayer(
  repo: Repository,
  p: LayerPlan,
  sink: StreamUnpack | undefined,
  signal: AbortSignal,
  layerLine: (id: string, status: string, current?: number, total?: number) => void,
  ingest: (desc: Descriptor, body: AsyncIterable<Buffer>, what: string) => Promise<void>,
): Promise<void> {
  let unpackFailed: unknown;
  sink?.done.catch((err: unknown) => (unpackFailed = err));
  const res = await repo.blob(p.desc.digest, signal);
  if (res.status !== 200) throw await blobError(res, `error pulling layer ${p.desc.digest}`);
  const total = p.desc.size;
  let got = 0;
  let shown = 0;
  layerLine(p.short, 'Downloading', 0, total);
  async function* tee(): AsyncGenerator<Buffer> {
    for await (const piece of limited(res, p.desc, 'layer')) {
      if (unpackFailed) {
        res.body.destroy();
        throw registerError(p, unpackFailed);
      }
      got += piece.length;
      if (sink && !sink.stdin.destroyed && !sink.stdin.write(piece)) await writable(sink.stdin);
      const now = Date.now();
      if (now - shown >= PROGRESS_INTERVAL_MS) {
        shown = now;
        layerLine(p.short, 'Downloading', got, total);
      }
      yield piece;
    }
    layerLine(p.short, 'Verifying Checksum');
  }
  await ingest(p.desc, tee(), `layer ${p.desc.digest}`);
  sink?.stdin.end();
  layerLine(p.short, 'Download complete');
}

function registerError(p: LayerPlan, err: unknown): EngineError {
  if (err instanceof EngineError && err.kind === 'invalid_argument' && !err.message.startsWith('failed to register layer')) {
    return invalidArgument(`failed to register layer ${p.desc.digest}: ${err.message}`);
  }
  return err instanceof EngineError ? err : internal(String((err as Error)?.message ?? err));
}

function checkDiffId(p: LayerPlan, r: { diffId: string }): void {
  if (r.diffId !== p.diffId) {
    throw invalidArgument(`failed to register layer ${p.desc.digest}: its content has diff id ${r.diffId}, the image config says ${p.diffId}`);
  }
}

interface RecordArgs {
  imageId: string;
  manifestDigest: string;
  plans: LayerPlan[];
  outcomes: Map<number, LayerOutcome>;
  name: string | undefined;
  repoName: string;
  repoDigest: string;
  kept: Array<{ digest: string; mediaType: string }>;
  lease: string;
  layerless: boolean;
}

/** Records the pulled image (inside the commit's transaction): row, layers, names, digests, events. */
function record(svc: ImageService, a: RecordArgs): void {
  const { store, records, events, snapshots } = svc;
  if (!store.image(a.imageId)) {
    const size = a.plans.reduce((sum, p) => sum + (store.snapshotByChain(p.chain)?.size ?? 0), 0);
    store.insertImage({ id: a.imageId, manifest_digest: a.manifestDigest, size, loaded_at: nowRfc3339Nano() });
    for (const p of a.plans) {
      store.insertLayer({
        image_id: a.imageId,
        idx: p.index,
        diff_id: p.diffId,
        blob_digest: p.desc.digest,
        blob_size: p.desc.size,
        tar_size: a.outcomes.get(p.index)?.unpacked?.tarSize ?? store.tarSizeOfChain(p.chain) ?? 0,
        media_type: p.desc.mediaType,
        chain_id: p.chain,
      });
    }
    if (a.layerless) snapshots.emptyLower();
    if (!a.name) events.record('/images/create', { image: { id: a.imageId, name: '' } });
  } else if (!store.image(a.imageId)!.manifest_digest) {
    store.setManifestDigest(a.imageId, a.manifestDigest);
  }
  for (const k of a.kept) records.addImageBlob(a.imageId, k.digest, k.mediaType);
  records.setRepoDigest(`${a.repoName}@${a.repoDigest}`, a.imageId);
  for (const p of a.plans) records.addSource(p.desc.digest, a.repoName);
  records.addSource(a.imageId, a.repoName);
  if (a.name) {
    const had = store.imageOfName(a.name);
    if (had !== a.imageId) {
      store.setName(a.name, a.imageId);
      events.record(had === undefined ? '/images/create' : '/images/update', { image: { id: a.imageId, name: a.name } });
    }
  }
  records.release(a.lease);
}

/**
 * What a `docker load` archive holds, from its metadata: Docker's manifest.json (the legacy
 * docker-archive, and the one Docker ≥ 25 writes beside an OCI layout) or an OCI image layout's
 * index.json (skopeo, umoci, buildx). The result is one plan per image: its config, names, manifest
 * digest and layer blobs, all checked against what the archive actually carried.
 */
import { invalidArgument } from '../../common/errors.js';
import { normalizeName } from '../../common/reference.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const INDEX_TYPES: string[] = [MEDIA.ociIndex, MEDIA.dockerManifestList];
const MANIFEST_TYPES: string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Metadata documents beyond this are not metadata. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** The archive as the planner sees it, once every file is in the content store. */
export interface ArchiveView {
  /** A metadata file kept in memory (manifest.json, index.json, repositories, oci-layout). */
  meta(path: string): Buffer | undefined;
  /** The digest of the blob stored for an archive path (symlinks followed), if the archive had it. */
  blobOf(path: string): string | undefined;
  hasBlob(digest: string): boolean;
  blobSize(digest: string): number;
  readBlob(digest: string): Buffer;
}

export interface LayerPlan {
  digest: string;
  size: number;
  mediaType: string;
}

export interface ImagePlan {
  configDigest: string;
  config: Buffer;
  diffIds: string[];
  names: string[];
  manifestDigest: string;
  layers: LayerPlan[];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export function parseJson<T>(what: string, data: Buffer): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`invalid archive: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A config must be a JSON object whose rootfs lists one diff id per layer. */
export function diffIdsOf(configDigest: string, config: Buffer, layerCount: number): string[] {
  const doc = parseJson<any>(`image config ${configDigest}`, config);
  const ids = doc?.rootfs?.diff_ids;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(ids) || !ids.every((d: unknown) => typeof d === 'string' && DIGEST.test(d))) {
    throw invalidArgument(`invalid archive: image config ${configDigest} has no valid rootfs.diff_ids`);
  }
  if (ids.length !== layerCount) {
    throw invalidArgument(`invalid archive: image config ${configDigest} lists ${ids.length} diff ids for ${layerCount} layers`);
  }
  return ids as string[];
}

function checkDescriptor(view: ArchiveView, d: Descriptor, what: string): void {
  if (typeof d?.digest !== 'string' || !DIGEST.test(d.digest)) throw invalidArgument(`invalid archive: ${what} has an invalid digest`);
  if (!view.hasBlob(d.digest)) throw invalidArgument(`invalid archive: ${what} ${d.digest} is missing from the archive`);
  if (typeof d.size === 'number' && view.blobSize(d.digest) !== d.size) {
    throw invalidArgument(`invalid archive: ${what} ${d.digest} is ${view.blobSize(d.digest)} bytes, its descriptor says ${d.size}`);
  }
}

function readJsonBlob<T>(view: ArchiveView, digest: string, what: string): T {
  if (view.blobSize(digest) > MAX_JSON_BYTES) throw invalidArgument(`invalid archive: ${what} ${digest} is too large`);
  return parseJson<T>(`${what} ${digest}`, view.readBlob(digest));
}

function normalizeOrThrow(name: string): string {
  try {
    return normalizeName(name);
  } catch {
    throw invalidArgument(`invalid archive: invalid image name ${JSON.stringify(name)}`);
  }
}

/** A name from an OCI index descriptor's annotations; a bare tag ("latest") names nothing. */
export function nameFromAnnotations(a: Record<string, string> | undefined): string | undefined {
  const full = a?.['io.containerd.image.name'];
  if (full) return normalizeOrThrow(full);
  const ref = a?.['org.opencontainers.image.ref.name'];
  if (ref && /[:/@]/.test(ref)) {
    try {
      return normalizeName(ref);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Walks an index (nested indexes included) to its image manifests, preferring linux/amd64. */
function manifestsOf(view: ArchiveView, index: { manifests?: Descriptor[] }, what: string, depth = 0): Array<{ desc: Descriptor; names: string[] }> {
  if (depth > 4) throw invalidArgument('invalid archive: image indexes nested too deeply');
  if (!Array.isArray(index?.manifests)) throw invalidArgument(`invalid archive: ${what} has no manifests`);
  const out: Array<{ desc: Descriptor; names: string[] }> = [];
  for (const d of index.manifests) {
    const name = nameFromAnnotations(d.annotations);
    const names = name ? [name] : [];
    if (INDEX_TYPES.includes(d.mediaType ?? '')) {
      checkDescriptor(view, d, 'image index');
      const nested = readJsonBlob<{ manifests?: Descriptor[] }>(view, d.digest, 'image index');
      const all = manifestsOf(view, nested, `image index ${d.digest}`, depth + 1);
      const present = all.filter((m) => view.hasBlob(m.desc.digest));
      const pick =
        present.find((m) => m.desc.platform?.os === 'linux' && m.desc.platform?.architecture === 'amd64') ??
        (present.length === 1 ? present[0] : undefined);
      if (!pick) throw invalidArgument(`invalid archive: image index ${d.digest} has no linux/amd64 manifest in the archive`);
      out.push({ desc: pick.desc, names: [...names, ...pick.names] });
    } else if (MANIFEST_TYPES.includes(d.mediaType ?? '') || d.mediaType === undefined) {
      out.push({ desc: d, names });
    }
    // Other descriptors (attestations, signatures, artifacts) carry no image to load.
  }
  return out;
}

function layerMediaType(declared: string | undefined): string {
  return declared ?? MEDIA.ociLayer;
}

/** Plans from an OCI image layout's index.json. */
function planFromIndex(view: ArchiveView, indexJson: Buffer): ImagePlan[] {
  const index = parseJson<{ manifests?: Descriptor[] }>('index.json', indexJson);
  const plans = new Map<string, ImagePlan>();
  for (const { desc, names } of manifestsOf(view, index, 'index.json')) {
    checkDescriptor(view, desc, 'manifest');
    const m = readJsonBlob<{ config?: Descriptor; layers?: Descriptor[] }>(view, desc.digest, 'manifest');
    if (!m?.config || !Array.isArray(m.layers)) throw invalidArgument(`invalid archive: manifest ${desc.digest} has no config or layers`);
    checkDescriptor(view, m.config, 'image config');
    m.layers.forEach((l, i) => checkDescriptor(view, l, `layer ${i + 1} of manifest ${desc.digest}`));
    const config = view.readBlob(m.config.digest);
    const plan = plans.get(m.config.digest) ?? {
      configDigest: m.config.digest,
      config,
      diffIds: diffIdsOf(m.config.digest, config, m.layers.length),
      names: [],
      manifestDigest: desc.digest,
      layers: m.layers.map((l) => ({ digest: l.digest, size: view.blobSize(l.digest), mediaType: layerMediaType(l.mediaType) })),
    };
    for (const n of names) if (!plan.names.includes(n)) plan.names.push(n);
    plans.set(m.config.digest, plan);
  }
  return [...plans.values()];
}

interface ManifestJsonEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/** Plans from Docker's manifest.json; manifest digests from index.json when the archive has one. */
function planFromManifestJson(view: ArchiveView, manifestJson: Buffer, indexJson: Buffer | undefined): ImagePlan[] {
  const entries = parseJson<ManifestJsonEntry[]>('manifest.json', manifestJson);
  if (!Array.isArray(entries)) throw invalidArgument('invalid archive: manifest.json is not a list');
  const manifestOfConfig = new Map<string, string>();
  if (indexJson) {
    try {
      for (const { desc } of manifestsOf(view, parseJson('index.json', indexJson), 'index.json')) {
        if (!view.hasBlob(desc.digest)) continue;
        const m = readJsonBlob<{ config?: Descriptor }>(view, desc.digest, 'manifest');
        if (m?.config?.digest) manifestOfConfig.set(m.config.digest, desc.digest);
      }
    } catch {
      // manifest.json is authoritative for a Docker archive; the index only adds the digest.
    }
  }
  const plans = new Map<string, ImagePlan>();
  for (const [i, e] of entries.entries()) {
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw invalidArgument(`invalid archive: manifest.json entry ${i + 1} has no Config or Layers`);
    }
    const configDigest = view.blobOf(e.Config);
    if (!configDigest) throw invalidArgument(`invalid archive: image config ${e.Config} named in manifest.json is missing from the archive`);
    const layers = e.Layers.map((path) => {
      const digest = view.blobOf(path);
      if (!digest) throw invalidArgument(`invalid archive: layer ${path} named in manifest.json is missing from the archive`);
      return { digest, size: view.blobSize(digest), mediaType: MEDIA.dockerLayer };
    });
    const config = view.readBlob(configDigest);
    const plan = plans.get(configDigest) ?? {
      configDigest,
      config,
      diffIds: diffIdsOf(configDigest, config, layers.length),
      names: [],
      manifestDigest: manifestOfConfig.get(configDigest) ?? '',
      layers,
    };
    for (const tag of e.RepoTags ?? []) {
      const n = normalizeOrThrow(tag);
      if (!plan.names.includes(n)) plan.names.push(n);
    }
    plans.set(configDigest, plan);
  }
  return [...plans.values()];
}

/** The images an archive holds. Throws invalid_argument naming what is wrong or missing. */
export function planImages(view: ArchiveView): ImagePlan[] {
  const manifestJson = view.meta('manifest.json');
  const indexJson = view.meta('index.json');
  let plans: ImagePlan[];
  if (manifestJson) plans = planFromManifestJson(view, manifestJson, indexJson);
  else if (indexJson) plans = planFromIndex(view, indexJson);
  else throw invalidArgument('invalid archive: neither manifest.json nor index.json found (not a docker save or OCI layout archive)');
  if (plans.length === 0) throw invalidArgument('invalid archive: it holds no image');
  return plans;
}

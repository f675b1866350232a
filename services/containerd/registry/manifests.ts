/**
 * Manifests as a registry serves them: Docker v2 schema 2 and OCI image manifests, Docker manifest
 * lists and OCI image indexes — their media types, size limits, digests checked against what was
 * asked or announced, and the documents validated before anything is fetched on their word.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from '../../../common/errors.js';
import { MEDIA } from '../manifest.js';

/** distribution refuses manifests over 4 MiB; nothing larger is one. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** An image config is a JSON document; this bounds what is read on its descriptor's word. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** More layers than an overlay mount could ever stack is not an image. */
const MAX_LAYERS = 1000;

/** What a pull asks for, in order of preference (indexes first, so a platform can be chosen). */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerManifestList, MEDIA.ociManifest, MEDIA.dockerManifest] as const;
export const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerManifestList];
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];

export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const CONFIG_TYPES = [DOCKER_CONFIG, MEDIA.ociConfig];
/** Layer media types tersane-unpack takes (it detects the compression itself). */
export const LAYER_TYPES: readonly string[] = [MEDIA.dockerLayerGzip, MEDIA.dockerLayer, MEDIA.ociLayer, MEDIA.ociLayerGzip, MEDIA.ociLayerZstd];

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface IndexDoc {
  mediaType: string;
  manifests: Descriptor[];
}

export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function descriptor(d: unknown, what: string, mediaTypeDefault?: string): Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (typeof x !== 'object' || x === null) throw invalidArgument(`${what} is not a descriptor`);
  if (typeof x.digest !== 'string' || !DIGEST.test(x.digest)) {
    throw invalidArgument(`${what} has an unsupported or invalid digest ${JSON.stringify(x.digest ?? null)}`);
  }
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) throw invalidArgument(`${what} has an invalid size`);
  const mediaType = typeof x.mediaType === 'string' && x.mediaType ? x.mediaType : mediaTypeDefault;
  if (!mediaType) throw invalidArgument(`${what} has no media type`);
  return { ...(x as Descriptor), mediaType };
}

/** The media type of a fetched document: its own field, else the Content-Type it came with. */
function mediaTypeOf(doc: { mediaType?: unknown; manifests?: unknown }, contentType: string | undefined): string {
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  const ct = (contentType ?? '').split(';')[0].trim();
  if (ct && ct !== 'application/json' && ct !== 'application/octet-stream') return ct;
  return Array.isArray(doc.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
}

export type Parsed = { kind: 'index'; index: IndexDoc } | { kind: 'manifest'; manifest: ImageManifest };

/** Parses a manifest or index; `what` names it in errors ("manifest for x:latest"). */
export function parseManifest(body: Buffer, contentType: string | undefined, what: string): Parsed {
  let doc: any;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidArgument(`${what} is not a JSON object`);
  if (doc.schemaVersion === 1) {
    throw invalidArgument(`${what} is a Docker Image Format v1 (schema 1) manifest, which is no longer supported: push it again with a current client`);
  }
  if (doc.schemaVersion !== 2) throw invalidArgument(`${what} has unsupported schemaVersion ${JSON.stringify(doc.schemaVersion ?? null)}`);
  const mediaType = mediaTypeOf(doc, contentType);
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalidArgument(`${what} is an index without manifests`);
    const manifests = (doc.manifests as unknown[]).map((m, i) => descriptor(m, `entry ${i + 1} of ${what}`));
    return { kind: 'index', index: { mediaType, manifests } };
  }
  if (!IMAGE_MANIFEST_TYPES.includes(mediaType)) throw invalidArgument(`${what} has unsupported media type ${mediaType}`);
  const config = descriptor(doc.config, `the config of ${what}`, mediaType === MEDIA.dockerManifest ? DOCKER_CONFIG : MEDIA.ociConfig);
  if (!CONFIG_TYPES.includes(config.mediaType)) {
    throw invalidArgument(`${what} is not a container image: its config is ${config.mediaType}`);
  }
  if (!Array.isArray(doc.layers)) throw invalidArgument(`${what} has no layers list`);
  if (doc.layers.length > MAX_LAYERS) throw invalidArgument(`${what} has ${doc.layers.length} layers, more than ${MAX_LAYERS}`);
  const layers = (doc.layers as unknown[]).map((l, i) => {
    const d = descriptor(l, `layer ${i + 1} of ${what}`);
    if (!LAYER_TYPES.includes(d.mediaType)) throw invalidArgument(`layer ${i + 1} of ${what} has unsupported media type ${d.mediaType}`);
    return d;
  });
  return { kind: 'manifest', manifest: { mediaType, config, layers } };
}

/** The image config's facts a pull checks: its diff ids (one per layer) and its platform. */
export function parseConfig(body: Buffer, layerCount: number, what: string): { diffIds: string[]; os: string; architecture: string; variant?: string } {
  let doc: any;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  const ids = doc?.rootfs?.diff_ids;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(ids) || !ids.every((d: unknown) => typeof d === 'string' && DIGEST.test(d))) {
    throw invalidArgument(`${what} has no valid rootfs.diff_ids`);
  }
  if (ids.length !== layerCount) throw invalidArgument(`${what} lists ${ids.length} diff ids for ${layerCount} layers`);
  return { diffIds: ids, os: String(doc.os ?? ''), architecture: String(doc.architecture ?? ''), variant: doc.variant ? String(doc.variant) : undefined };
}

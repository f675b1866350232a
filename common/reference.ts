/**
 * Docker image references: parsing, normalization and the "familiar" short form.
 *
 *   busybox                      → docker.io/library/busybox:latest      (familiar: busybox:latest)
 *   localhost:5000/team/app:1.0  → localhost:5000/team/app:1.0
 *   busybox@sha256:…             → docker.io/library/busybox@sha256:…
 *
 * The grammar is distribution's reference grammar: lowercase path components separated by "/",
 * an optional registry (a component with a "." or ":" or "localhost"), a tag of up to 128 word
 * characters, and a digest.
 */
import { invalidArgument } from './errors.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface Reference {
  /** Registry host[:port], normalized (docker.io for Docker Hub). */
  registry: string;
  /** Repository path without registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;
const NAME_MAX = 255;

/** True for a full image id (64 hex, with or without "sha256:"). */
export function isFullId(text: string): boolean {
  return /^(sha256:)?[a-f0-9]{64}$/.test(text);
}

/** Parses a reference; throws invalid_argument with Docker's wording when it is not one. */
export function parseReference(text: string): Reference {
  if (text === '' || /\s/.test(text)) throw invalidArgument(`invalid reference format`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalidArgument(`invalid reference format`);
    if (digest.startsWith('sha256:') && !SHA256_DIGEST.test(digest)) throw invalidArgument(`invalid reference format`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalidArgument(`invalid reference format`);
  }
  let registry = DEFAULT_REGISTRY;
  const parts = rest.split('/');
  const first = parts[0];
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!HOST.test(first)) throw invalidArgument(`invalid reference format`);
    registry = first === 'index.docker.io' ? DEFAULT_REGISTRY : first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => p === '')) throw invalidArgument(`invalid reference format`);
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      if (COMPONENT.test(p.toLowerCase())) {
        const shown = registry === DEFAULT_REGISTRY && parts.length === 1 ? ['library', ...parts] : parts;
        throw invalidArgument(`invalid reference format: repository name (${shown.join('/')}) must be lowercase`);
      }
      throw invalidArgument(`invalid reference format`);
    }
  }
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  const path = parts.join('/');
  if (path.length > NAME_MAX) throw invalidArgument(`invalid reference format: repository name must not be more than ${NAME_MAX} characters`);
  return { registry, path, tag, digest };
}

/** Fills in the default tag when neither tag nor digest is given. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: DEFAULT_TAG };
}

/** The repository name: registry/path. */
export function repositoryOf(ref: Reference): string {
  return `${ref.registry}/${ref.path}`;
}

/** The fully qualified string: docker.io/library/busybox:latest. */
export function formatReference(ref: Reference): string {
  return repositoryOf(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The normalized name with the default tag: what an image is stored under. */
export function normalizeName(text: string): string {
  return formatReference(withDefaultTag(parseReference(text)));
}

/** Docker's short form: docker.io/library/busybox:latest → busybox:latest. */
export function familiarName(full: string): string {
  let s = full;
  if (s.startsWith(`${DEFAULT_REGISTRY}/`)) {
    s = s.slice(DEFAULT_REGISTRY.length + 1);
    if (s.startsWith('library/') && !s.slice('library/'.length).includes('/')) s = s.slice('library/'.length);
  }
  return s;
}

/** The familiar repository name (without tag or digest). */
export function familiarRepository(ref: Reference): string {
  return familiarName(repositoryOf(ref));
}

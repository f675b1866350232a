/**
 * `docker commit` (POST /commit): the new image's config from the container's Config (or the one
 * the request carries) with the `--change` instructions applied and Docker's commit merge, a
 * history entry, the parent image's platform and history; containerd makes the layer and records
 * the image (Images.Commit). The container is paused meanwhile when asked (Docker's default).
 * Events: the image's `tag` (when named) and the container's `commit`.
 *
 * @example
 *   const id = await commits.commit({ container: 'c1', repo: 'img', tag: '', changes: ['CMD ["cat","/hello"]'], … });
 */
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { conflict, EngineError, invalidArgument } from '../../common/errors.js';
import type { CommitRequest__Output } from '../../common/proto-types/tersane/daemon/v1/CommitRequest.js';
import { familiarName, formatReference, parseReference } from '../../common/reference.js';
import { nowNs } from '../../common/time.js';
import { goTime } from './archive.js';
import { applyChanges } from './commitChanges.js';
import type { DockerConfig } from './createConfig.js';
import { recordContainerEvent, recordImageEvent } from './dockerEvents.js';
import { parsedConfig, type LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };

/** The image reference a commit is named by (Docker's RepoTagReference): repo[:tag], tag default latest. */
export function commitReference(repo: string, tag: string): string {
  if (!repo) return '';
  const ref = parseReference(repo);
  if (ref.digest) throw invalidArgument(`refusing to create a tag with a digest reference`);
  if (tag && !/^[\w][\w.-]{0,127}$/.test(tag)) throw invalidArgument(`invalid tag format`);
  return formatReference({ ...ref, tag: tag || ref.tag || 'latest' });
}

/**
 * Docker's commit merge: what the new config leaves empty comes from the container's config
 * (only matters when the request brought a config of its own).
 */
export function mergeCommitConfig(user: DockerConfig, container: DockerConfig): DockerConfig {
  const c: DockerConfig = { ...user };
  if (!c.User) c.User = container.User;
  if (!c.ExposedPorts || Object.keys(c.ExposedPorts).length === 0) c.ExposedPorts = container.ExposedPorts;
  else c.ExposedPorts = { ...(container.ExposedPorts ?? {}), ...c.ExposedPorts };
  if (!c.Env || c.Env.length === 0) c.Env = container.Env;
  else {
    const keys = new Set(c.Env.map((e) => e.split('=', 1)[0]));
    c.Env = [...c.Env, ...(container.Env ?? []).filter((e) => !keys.has(e.split('=', 1)[0]))];
  }
  c.Labels = { ...(container.Labels ?? {}), ...(c.Labels ?? {}) };
  if (!c.Entrypoint || c.Entrypoint.length === 0) {
    if (!c.Cmd || c.Cmd.length === 0) c.Cmd = container.Cmd;
    if (c.Entrypoint === null || c.Entrypoint === undefined) c.Entrypoint = container.Entrypoint;
  }
  if (!c.Healthcheck && container.Healthcheck) c.Healthcheck = container.Healthcheck;
  if (!c.WorkingDir) c.WorkingDir = container.WorkingDir;
  if (!c.Volumes || Object.keys(c.Volumes).length === 0) c.Volumes = container.Volumes;
  else c.Volumes = { ...c.Volumes, ...(container.Volumes ?? {}) };
  if (!c.StopSignal) c.StopSignal = container.StopSignal;
  return c;
}

function engineVersion(prefix: string): string {
  try {
    return (JSON.parse(readFileSync(join(prefix, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function requestConfig(raw: Buffer): Partial<DockerConfig> | undefined {
  const text = raw.toString('utf8').trim();
  if (text === '' || text === 'null') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument('invalid JSON: the config must be a JSON object');
  return value as Partial<DockerConfig>;
}

export class ContainerCommits {
  private readonly version: string;

  constructor(private readonly d: LifecycleDeps) {
    this.version = engineVersion(d.cfg.prefix);
  }

  async commit(req: CommitRequest__Output): Promise<string> {
    const { store, containerd, bus } = this.d;
    const row = findContainer(store, req.container);
    if (row.status === 'dead') throw conflict(`You cannot commit container ${row.id} which is Dead`);
    if (row.status === 'removing') throw conflict(`You cannot commit container ${row.id} which is being removed`);
    const name = commitReference(req.repo, req.tag);
    const containerConfig = parsedConfig(row);
    const given = requestConfig(req.config_json ?? Buffer.alloc(0));
    const base: DockerConfig = given ? ({ ...(given as DockerConfig) } as DockerConfig) : containerConfig;
    const newConfig = mergeCommitConfig(applyChanges(base, req.changes ?? []), containerConfig);

    const parent = await containerd.images.call('Get', { ref: row.image_id });
    const parentDoc = JSON.parse(parent.config.toString('utf8')) as Record<string, unknown>;
    const ns = nowNs();
    const created = goTime(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
    const history: Record<string, unknown> = { created };
    if (req.author) history.author = req.author;
    history.created_by = (containerConfig.Cmd ?? []).join(' ');
    if (req.comment) history.comment = req.comment;
    const config: Record<string, unknown> = {
      architecture: parentDoc.architecture || GO_ARCH[arch()] || arch(),
      config: newConfig,
      container: row.id,
      container_config: containerConfig,
      created,
      docker_version: this.version,
      history: Array.isArray(parentDoc.history) ? parentDoc.history : [],
      os: parentDoc.os || 'linux',
    };
    if (req.author) config.author = req.author;
    if (parentDoc.variant) config.variant = parentDoc.variant;
    if (parentDoc['os.version']) config['os.version'] = parentDoc['os.version'];
    if (parentDoc['os.features']) config['os.features'] = parentDoc['os.features'];

    // Docker pauses a running container while its layer is read (unless --pause=false).
    const pause = req.pause && row.status === 'running';
    if (pause) await containerd.tasks.call('Pause', { container_id: row.id });
    let image;
    try {
      image = await containerd.images.call('Commit', {
        container_id: row.id,
        config: Buffer.from(JSON.stringify(config)),
        history: Buffer.from(JSON.stringify(history)),
        name,
      });
    } finally {
      if (pause) {
        await containerd.tasks.call('Resume', { container_id: row.id }).catch((err: unknown) => {
          if (!(err instanceof EngineError && err.kind === 'not_found')) this.d.log.warn('cannot resume the container after its commit', { id: row.id, err });
        });
      }
    }
    const imageRef = name ? familiarName(name) : '';
    store.tx(() => {
      if (name) recordImageEvent(bus, 'tag', image.id, imageRef, newConfig.Labels ?? {});
      recordContainerEvent(bus, 'commit', row, { comment: req.comment, imageID: image.id, imageRef });
    });
    return image.id;
  }
}

/**
 * Docker's registry commands over containerd's registry client: `docker pull` and `docker push`
 * (containerd's progress rendered as Docker's JSON messages, so the CLI draws its bars; pull and
 * push events), and `docker login` (POST /auth). Credentials pass through per request, never kept.
 *
 * @example
 *   for await (const msg of registry.pull({ fromImage: 'busybox', tag: 'latest', platform: '', auth })) write(msg);
 */
import { invalidArgument } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import { streamError } from '../../common/grpc.js';
import type { RegistryAuth } from '../../common/proto-types/tersane/common/v1/RegistryAuth.js';
import type { PullProgress__Output } from '../../common/proto-types/tersane/containerd/v1/PullProgress.js';
import type { PushProgress__Output } from '../../common/proto-types/tersane/containerd/v1/PushProgress.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from '../../common/reference.js';
import type { ContainerdClients } from '../containerd/client.js';
import { recordImageEvent } from './dockerEvents.js';
import { progressBar } from './images.js';
import type { ContainerStore } from './store.js';

const DIGEST_TAG = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export interface PullRequest {
  fromImage: string;
  tag: string;
  platform: string;
  auth?: RegistryAuth;
}

export interface PushRequest {
  name: string;
  tag: string;
  auth?: RegistryAuth;
}

type Progress = Pick<PullProgress__Output, 'id' | 'status' | 'current' | 'total' | 'layer'>;

/** One progress line as Docker's JSON message. */
export function progressMessage(p: Progress): Record<string, unknown> {
  if (!p.layer) return p.id ? { status: p.status, id: p.id } : { status: p.status };
  if (p.total > 0 || p.current > 0) {
    return { status: p.status, progressDetail: { current: p.current, total: p.total }, progress: progressBar(p.current, p.total), id: p.id };
  }
  return { status: p.status, progressDetail: {}, id: p.id };
}

/**
 * The reference a pull names, as moby reads fromImage and tag: a tag that is a digest makes a
 * canonical reference; a tag replaces one given in fromImage.
 */
export function pullReference(fromImage: string, tag: string): string {
  const ref = parseReference(fromImage);
  if (tag) {
    if (DIGEST_TAG.test(tag)) return formatReference({ ...ref, tag: undefined, digest: tag });
    parseReference(`${formatReference({ ...ref, tag: undefined, digest: undefined })}:${tag}`);
    return formatReference({ ...ref, tag, digest: undefined });
  }
  if (!ref.tag && !ref.digest) throw invalidArgument('pulling every tag of a repository (docker pull --all-tags) is not supported; name a tag');
  return formatReference(ref);
}

function labelsOf(config: Buffer | undefined): Record<string, string> {
  try {
    return (JSON.parse(config?.toString('utf8') ?? '{}').config?.Labels ?? {}) as Record<string, string>;
  } catch {
    return {};
  }
}

export class RegistryService {
  constructor(
    private readonly containerd: ContainerdClients,
    private readonly store: ContainerStore,
    private readonly bus: EventBus,
  ) {}

  /** `docker pull`: Docker's JSON messages; the pull event once the image is stored. */
  async *pull(req: PullRequest, signal?: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const ref = pullReference(req.fromImage, req.tag);
    const images = this.containerd.images;
    await images.ready();
    const call = images.raw.Pull({ ref, platform: req.platform, auth: req.auth }, images.metadata());
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const m of call as AsyncIterable<PullProgress__Output>) {
        if (m.pulled) {
          const shown = familiarName(m.pulled.name);
          let labels: Record<string, string> = {};
          try {
            labels = labelsOf((await images.call('Get', { ref: m.pulled.id })).config);
          } catch {
            // removed meanwhile: the event goes without labels
          }
          this.store.tx(() => recordImageEvent(this.bus, 'pull', shown, shown, labels));
          continue;
        }
        yield progressMessage(m);
      }
    } catch (err) {
      throw streamError('containerd', err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  /** `docker push`: Docker's JSON messages, the aux message per tag, the push event at the end. */
  async *push(req: PushRequest, signal?: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    const parsed = parseReference(req.name);
    if (parsed.digest) throw invalidArgument('cannot push a digest reference');
    if (parsed.tag && req.tag) throw invalidArgument('invalid reference format');
    const tag = req.tag || parsed.tag;
    if (tag) parseReference(`${formatReference({ ...parsed, tag: undefined })}:${tag}`);
    const name = formatReference({ ...parsed, tag });
    const images = this.containerd.images;
    await images.ready();
    const call = images.raw.Push({ name, auth: req.auth }, images.metadata());
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const m of call as AsyncIterable<PushProgress__Output>) {
        if (m.pushed) {
          yield { progressDetail: {}, aux: { Tag: m.pushed.tag, Digest: m.pushed.digest, Size: m.pushed.size } };
          continue;
        }
        yield progressMessage(m);
      }
    } catch (err) {
      throw streamError('containerd', err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
    const shown = familiarName(tag ? name : formatReference(withDefaultTag({ ...parsed, tag: undefined })).replace(/:latest$/, ''));
    this.store.tx(() => recordImageEvent(this.bus, 'push', shown, shown));
  }

  /** POST /auth: Docker's answer when the registry takes the credentials. */
  async login(auth: RegistryAuth): Promise<Record<string, unknown>> {
    const res = await this.containerd.images.call('Login', auth);
    return { IdentityToken: res.identity_token ?? '', Status: res.status };
  }
}


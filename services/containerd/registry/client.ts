/**
 * A client of one repository on one registry (the OCI distribution spec, v1.1): the /v2/ ping that
 * learns the registry's scheme and auth, manifests, blobs, uploads (monolithic and chunked),
 * cross-repository mounts. Each request carries the Authorization its scopes need; a 401 is
 * answered once with a fresh token (or credentials), then it is the caller's error.
 *
 * @example
 *   const repo = await openRepository({ registry: '127.0.0.1:5000', path: 'x/app', actions: ['pull'] }, creds, settings);
 *   const m = await repo.manifest('latest', MANIFEST_ACCEPT);
 */
import type { Readable } from 'node:stream';
import { EngineError, internal, unauthenticated } from '../../../common/errors.js';
import { AuthSession, type Credentials } from './auth.js';
import { registryError } from './errors.js';
import { isInsecure, registryHost } from './hosts.js';
import { requestError, send, type HttpSettings, type Request, type Response } from './http.js';

export interface RegistrySettings {
  timeoutMs: number;
  /** Insecure registry entries beyond the default loopback ranges. */
  insecure: readonly string[];
}

export interface RepositoryRef {
  /** The reference's registry: docker.io, 127.0.0.1:5000. */
  registry: string;
  /** Repository path: library/busybox. */
  path: string;
  /** pull, or pull and push. */
  actions: Array<'pull' | 'push'>;
  /** Other repositories of the same registry to read from (cross-repository mounts). */
  mountFrom?: string[];
}

/** How a registry was reached: its base URL and the session of credentials used with it. */
export interface Endpoint {
  base: URL;
  http: HttpSettings;
}

/**
 * Reaches a registry: GET /v2/ over HTTPS (unverified for an insecure registry, which falls back
 * to plain HTTP when the server speaks no TLS). Answers the endpoint and the ping's response
 * (200, or 401 with the challenge).
 */
export async function ping(registry: string, settings: RegistrySettings, signal?: AbortSignal): Promise<{ endpoint: Endpoint; res: Response }> {
  const host = registryHost(registry);
  const insecure = await isInsecure(registry, settings.insecure);
  const attempt = async (scheme: 'https' | 'http') => {
    const endpoint: Endpoint = { base: new URL(`${scheme}://${host}`), http: { timeoutMs: settings.timeoutMs, tlsInsecure: insecure } };
    const res = await send({ method: 'GET', url: new URL('/v2/', endpoint.base), signal }, endpoint.http);
    return { endpoint, res };
  };
  try {
    return await attempt('https');
  } catch (err) {
    // An insecure registry is tried over plain HTTP after any HTTPS failure (as Docker does); the
    // error told is then plain HTTP's.
    if (!insecure || (err as EngineError).kind === 'cancelled') throw err;
    return attempt('http');
  }
}

export class Repository {
  private constructor(
    readonly ref: RepositoryRef,
    readonly endpoint: Endpoint,
    readonly auth: AuthSession,
  ) {}

  /** Opens a repository: pings the registry and learns how it authenticates. */
  static async open(ref: RepositoryRef, creds: Credentials, settings: RegistrySettings, signal?: AbortSignal): Promise<Repository> {
    const { endpoint, res } = await ping(ref.registry, settings, signal);
    const auth = new AuthSession(creds, endpoint.http);
    if (res.status === 401) {
      auth.learn(res.challenges);
      await res.drain();
    } else if (res.status >= 200 && res.status < 300) {
      await res.drain();
    } else if (res.status !== 404) {
      // 404: a registry without the ping endpoint still serves the rest.
      throw await registryError(res, (t) => requestError('GET', res.url, t));
    } else {
      await res.drain();
    }
    return new Repository(ref, endpoint, auth);
  }

  /** The token scopes requests on this repository need. */
  get scopes(): string[] {
    const out = [`repository:${this.ref.path}:${this.ref.actions.join(',')}`];
    for (const from of this.ref.mountFrom ?? []) if (from !== this.ref.path) out.push(`repository:${from}:pull`);
    return out;
  }

  url(path: string): URL {
    return new URL(path, this.endpoint.base);
  }

  /**
   * One request with authorization; a 401 is retried once with a fresh token learned from its
   * challenge (unless the body is a stream, which cannot be sent twice).
   */
  async request(req: Request): Promise<Response> {
    const withAuth = async (): Promise<Request> => {
      const authorization = await this.auth.authorization(this.scopes, req.signal);
      return authorization ? { ...req, headers: { ...req.headers, Authorization: authorization } } : req;
    };
    let res = await send(await withAuth(), this.endpoint.http);
    if (res.status === 401 && (req.body === undefined || Buffer.isBuffer(req.body))) {
      const hadScheme = this.auth.scheme;
      const learned = this.auth.learn(res.challenges);
      this.auth.invalidate(this.scopes);
      // Retrying only helps when there is something new to send: a token for the scopes asked, or
      // credentials for a scheme first seen now.
      if (learned && (this.auth.scheme === 'bearer' || hadScheme !== this.auth.scheme || this.auth.hasPassword)) {
        await res.drain();
        res = await send(await withAuth(), this.endpoint.http);
      }
    }
    if (res.status === 401 && this.auth.scheme === 'basic' && !this.auth.hasPassword) {
      // Docker's words for a registry that wants a password nobody gave.
      await res.drain();
      throw unauthenticated(requestError(req.method, req.url, 'no basic auth credentials'));
    }
    return res;
  }

  // ---- reads --------------------------------------------------------------------------------------

  async manifest(reference: string, accept: readonly string[], signal?: AbortSignal): Promise<Response> {
    return this.request({ method: 'GET', url: this.url(`/v2/${this.ref.path}/manifests/${reference}`), headers: { Accept: accept.join(', ') }, signal });
  }

  async blob(digest: string, signal?: AbortSignal): Promise<Response> {
    return this.request({ method: 'GET', url: this.url(`/v2/${this.ref.path}/blobs/${digest}`), signal });
  }

  /** True when the repository has the blob (HEAD 200). */
  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request({ method: 'HEAD', url: this.url(`/v2/${this.ref.path}/blobs/${digest}`), signal });
    await res.drain();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.refusal(res);
  }

  // ---- writes -------------------------------------------------------------------------------------

  /**
   * Starts an upload, asking the registry to mount the blob from `from` when given. Answers
   * 'mounted' when the registry linked the blob, or the upload URL to send it to.
   */
  async startUpload(digest?: string, from?: string, signal?: AbortSignal): Promise<'mounted' | URL> {
    const url = this.url(`/v2/${this.ref.path}/blobs/uploads/`);
    if (digest && from) {
      url.searchParams.set('mount', digest);
      url.searchParams.set('from', from);
    }
    const res = await this.request({ method: 'POST', url, signal });
    await res.drain();
    if (res.status === 201 && digest && from) return 'mounted';
    if (res.status !== 202) throw await this.refusal(res);
    return this.location(res, url);
  }

  private location(res: Response, from: URL): URL {
    const loc = res.headers.location;
    if (!loc) throw internal(requestError('POST', from, 'the registry gave no upload location'));
    return new URL(loc, from);
  }

  /** Sends a whole blob in one PUT (monolithic upload). */
  async putBlob(location: URL, digest: string, body: Readable, size: number, signal?: AbortSignal): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.request({
      method: 'PUT',
      url,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body,
      signal,
    });
    await res.drain();
    if (res.status !== 201) throw await this.refusal(res);
  }

  /** Sends one chunk of a chunked upload (PATCH with Content-Range); answers the next location. */
  async patchChunk(location: URL, body: Readable, start: number, length: number, signal?: AbortSignal): Promise<URL> {
    const res = await this.request({
      method: 'PATCH',
      url: location,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(length),
        'Content-Range': `${start}-${start + length - 1}`,
      },
      body,
      signal,
    });
    await res.drain();
    if (res.status !== 202) throw await this.refusal(res);
    return this.location(res, location);
  }

  /** Closes a chunked upload: PUT with the digest and no body. */
  async finishUpload(location: URL, digest: string, signal?: AbortSignal): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.request({ method: 'PUT', url, headers: { 'Content-Type': 'application/octet-stream' }, signal });
    await res.drain();
    if (res.status !== 201) throw await this.refusal(res);
  }

  /** Puts a manifest under a tag (or digest); answers the digest the registry gave it. */
  async putManifest(reference: string, mediaType: string, body: Buffer, signal?: AbortSignal): Promise<string | undefined> {
    const url = this.url(`/v2/${this.ref.path}/manifests/${reference}`);
    const res = await this.request({ method: 'PUT', url, headers: { 'Content-Type': mediaType }, body, signal });
    await res.drain();
    if (res.status !== 201) throw await this.refusal(res);
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : undefined;
  }

  /** A refusal as an error; a 401 after the retry says the credentials were not good enough. */
  async refusal(res: Response): Promise<EngineError> {
    const err = await registryError(res);
    return res.status === 401 ? unauthenticated(err.message) : err;
  }
}

/**
 * Registry authentication (the distribution spec's token auth, and basic auth): the registry's
 * WWW-Authenticate challenge says how; a Bearer challenge sends the client to a token service
 * (realm, service) with the scopes it needs (`repository:<name>:pull[,push]`), authenticating there
 * with the user's password (basic), refresh token (identitytoken) or anonymously; a Basic challenge
 * takes the password on every request. Tokens are kept per scope for their lifetime, in memory.
 *
 * @example
 *   const auth = new AuthSession({ username: 'u', password: 'p' }, http);
 *   auth.learn(res.challenges);
 *   headers.Authorization = await auth.authorization(['repository:x/app:pull']);
 */
import { unauthenticated } from '../../../common/errors.js';
import { registryError } from './errors.js';
import { send, type HttpSettings } from './http.js';

/** Tokens without expires_in live 60 s (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** A token is renewed this long before it expires. */
const TOKEN_EXPIRY_MARGIN_MS = 5_000;
/** Token answers are small JSON documents. */
const MAX_TOKEN_BODY = 1024 * 1024;
/** The client id Docker sends to token services. */
const CLIENT_ID = 'docker';

export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses WWW-Authenticate values: `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`. */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    const s = value;
    while (i < s.length) {
      const scheme = /^\s*,?\s*([A-Za-z][\w-]*)/.exec(s.slice(i));
      if (!scheme) break;
      i += scheme[0].length;
      const params: Record<string, string> = {};
      for (;;) {
        const m = /^\s*,?\s*([A-Za-z][\w-]*)\s*=\s*/.exec(s.slice(i));
        if (!m) break;
        // A following scheme starts with a token not followed by "=": stop there.
        i += m[0].length;
        let v = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            v += s[i++];
          }
          i++;
        } else {
          const t = /^[^,\s]*/.exec(s.slice(i))![0];
          v = t;
          i += t.length;
        }
        params[m[1].toLowerCase()] = v;
      }
      out.push({ scheme: scheme[1].toLowerCase(), params });
    }
  }
  return out;
}

/** The scopes a challenge asks for beyond the ones the client chose (insufficient_scope). */
function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}

interface Token {
  value: string;
  expiresAt: number;
}

export class AuthSession {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Token>();
  /** A refresh token the token service issued (returned to `docker login`). */
  refreshToken?: string;

  constructor(
    readonly creds: Credentials,
    private readonly http: HttpSettings,
  ) {}

  get hasPassword(): boolean {
    return Boolean(this.creds.username && this.creds.password);
  }

  /** Remembers the scheme a registry asked for (from a 401's WWW-Authenticate headers). */
  learn(values: readonly string[]): boolean {
    const all = parseChallenges(values);
    const pick = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (!pick) return false;
    this.challenge = pick;
    return true;
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** Forgets the token of these scopes (the registry refused it). */
  invalidate(scopes: readonly string[]): void {
    this.tokens.delete(scopeKey(scopes));
  }

  /** The Authorization header for a request needing `scopes`, or undefined while none is asked. */
  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.creds.registryToken) return `Bearer ${this.creds.registryToken}`;
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.hasPassword) return undefined;
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    }
    if (c.scheme !== 'bearer') return undefined;
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now() + TOKEN_EXPIRY_MARGIN_MS) return `Bearer ${cached.value}`;
    const token = await this.fetchToken(c, scopes, signal);
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  /** Asks the token service of a Bearer challenge for a token covering `scopes`. */
  private async fetchToken(c: Challenge, scopes: readonly string[], signal?: AbortSignal): Promise<Token> {
    const realm = c.params.realm;
    if (!realm) throw unauthenticated('unauthorized: the registry asked for a token but named no token service (realm)');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw unauthenticated(`unauthorized: the registry's token service ${JSON.stringify(realm)} is not a URL`);
    }
    const service = c.params.service ?? '';
    let res;
    if (this.creds.identityToken) {
      // OAuth2 refresh-token grant, as Docker uses an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.creds.identityToken, service, client_id: CLIENT_ID });
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await send(
        { method: 'POST', url, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), signal },
        this.http,
      );
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.hasPassword) {
        url.searchParams.set('account', this.creds.username!);
        url.searchParams.set('client_id', CLIENT_ID);
        url.searchParams.set('offline_token', 'true');
        headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
      }
      res = await send({ method: 'GET', url, headers, signal }, this.http);
    }
    if (res.status !== 200) {
      const err = await registryError(res);
      throw res.status === 401 || res.status === 403 ? unauthenticated(err.message) : err;
    }
    let doc: { token?: string; access_token?: string; expires_in?: number; refresh_token?: string };
    try {
      doc = JSON.parse((await res.bytes(MAX_TOKEN_BODY, 'token answer')).toString('utf8'));
    } catch {
      throw unauthenticated(`unauthorized: the token service at ${url.origin}${url.pathname} did not answer with JSON`);
    }
    const value = doc.token || doc.access_token;
    if (!value || typeof value !== 'string') throw unauthenticated(`unauthorized: the token service at ${url.origin}${url.pathname} gave no token`);
    if (doc.refresh_token) this.refreshToken = doc.refresh_token;
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    return { value, expiresAt: Date.now() + seconds * 1000 };
  }
}

/**
 * What a registry says when it refuses: the distribution spec's error body
 * ({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}) rendered as Docker renders
 * it ("manifest unknown: manifest unknown"), and the engine's error kind for the HTTP status.
 */
import { EngineError, type ErrorKind } from '../../../common/errors.js';
import type { Response } from './http.js';

/** Error bodies are small; anything longer is not one. */
const MAX_ERROR_BODY = 64 * 1024;

interface ErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
  /** Token services (Docker Hub's among them) answer {"details": "..."}. */
  details?: string;
}

/** "MANIFEST_UNKNOWN" → "manifest unknown", as distribution's errcode prints a code. */
function codeText(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

/** Docker's wording for an error body, or for a status when the body says nothing usable. */
export function errorText(status: number, statusText: string, body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as ErrorBody;
    const list = (doc.errors ?? []).filter((e) => e && (e.code || e.message));
    if (list.length === 1) {
      const e = list[0];
      return e.code ? `${codeText(e.code)}: ${e.message ?? codeText(e.code)}` : String(e.message);
    }
    if (list.length > 1) return `errors:\n${list.map((e) => `${codeText(e.code ?? 'unknown')}: ${e.message ?? ''}`).join('\n')}\n`;
    if (typeof doc.details === 'string' && doc.details) return `${status === 401 ? 'unauthorized: ' : ''}${doc.details}`;
  } catch {
    // not JSON
  }
  if (status === 401) return 'unauthorized: authentication required';
  if (status === 403) return 'denied: requested access to the resource is denied';
  return `received unexpected HTTP status: ${status} ${statusText}`.trim();
}

export function kindOfStatus(status: number): ErrorKind {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'permission_denied';
  if (status === 404) return 'not_found';
  if (status === 400) return 'invalid_argument';
  if (status === 429 || status === 502 || status === 503) return 'unavailable';
  return 'internal';
}

/** The registry's refusal as an error (the body is read, bounded, and consumed). */
export async function registryError(res: Response, prefix?: (text: string) => string): Promise<EngineError> {
  let body: Buffer = Buffer.alloc(0);
  try {
    body = await res.bytes(MAX_ERROR_BODY, 'error body');
  } catch {
    // an unreadable or oversized error body: the status says enough
  }
  const text = errorText(res.status, res.statusText, body);
  return new EngineError(kindOfStatus(res.status), prefix ? prefix(text) : text);
}

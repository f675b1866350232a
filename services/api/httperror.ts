/**
 * Every error the api answers, in Docker's shape: a status from the one mapping of error kinds
 * (common/errors.ts httpStatusOf) and the body `{"message": "..."}` as application/json. Errors of
 * Fastify itself (a body too large, a malformed request) keep their 4xx status; anything else is a
 * 500 whose message is the error's message alone (never a stack).
 *
 * @example
 *   const { status, body } = errorResponse(notFound('No such container: x'));
 *   // status 404, body '{"message":"No such container: x"}\n'
 */
import { STATUS_CODES } from 'node:http';
import { EngineError, httpStatusOf } from '../../common/errors.js';

export interface ErrorResponse {
  status: number;
  /** JSON text with Docker's trailing newline (Go's json.Encoder). */
  body: string;
}

/** Docker's answer for a path or method it has no route for. */
export const PAGE_NOT_FOUND = 'page not found';

interface FrameworkError {
  statusCode?: number;
  code?: string;
  message: string;
}

export function statusOf(err: unknown): number {
  if (err instanceof EngineError) return httpStatusOf(err);
  const fw = err as FrameworkError;
  if (typeof fw?.statusCode === 'number' && fw.statusCode >= 400 && fw.statusCode < 500) return fw.statusCode;
  return 500;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export function errorResponse(err: unknown): ErrorResponse {
  return { status: statusOf(err), body: JSON.stringify({ message: messageOf(err) }) + '\n' };
}

/** A whole HTTP/1.1 error response for a connection the HTTP server no longer owns (hijacked). */
export function rawErrorResponse(err: unknown, headers: Record<string, string>): string {
  const { status, body } = errorResponse(err);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  return head + body;
}

/**
 * The engine's errors: a small closed set of kinds, mapped once to gRPC status codes (between
 * layers) and once to HTTP status codes (at the api's edge). Messages are what the user reads —
 * for Docker's own errors, Docker's own wording — and cross every layer unchanged.
 *
 * @example
 *   throw notFound(`No such container: ${ref}`);
 */
import * as grpc from '@grpc/grpc-js';

export type ErrorKind =
  | 'not_found'
  | 'conflict'
  | 'failed_precondition'
  | 'invalid_argument'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'permission_denied'
  | 'unauthenticated'
  | 'cancelled'
  | 'not_implemented'
  | 'internal';

export class EngineError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export const notFound = (msg: string) => new EngineError('not_found', msg);
export const conflict = (msg: string) => new EngineError('conflict', msg);
export const failedPrecondition = (msg: string) => new EngineError('failed_precondition', msg);
export const invalidArgument = (msg: string) => new EngineError('invalid_argument', msg);
export const unavailable = (msg: string) => new EngineError('unavailable', msg);
export const deadlineExceeded = (msg: string) => new EngineError('deadline_exceeded', msg);
export const internal = (msg: string) => new EngineError('internal', msg);
/** Docker's 501: a feature the configuration rules out (reading logs of `--log-driver none`). */
export const notImplemented = (msg: string) => new EngineError('not_implemented', msg);
/** Docker's 403 (a read-only rootfs or volume for `docker cp`). */
export const permissionDenied = (msg: string) => new EngineError('permission_denied', msg);
/** Credentials missing or refused (a registry's 401): HTTP 401, as Docker answers a failed login. */
export const unauthenticated = (msg: string) => new EngineError('unauthenticated', msg);

const GRPC_CODE: Record<ErrorKind, grpc.status> = {
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  cancelled: grpc.status.CANCELLED,
  not_implemented: grpc.status.UNIMPLEMENTED,
  internal: grpc.status.INTERNAL,
};

const KIND_OF_CODE = new Map<number, ErrorKind>(
  Object.entries(GRPC_CODE).map(([kind, code]) => [code, kind as ErrorKind]),
);

const HTTP_STATUS: Record<ErrorKind, number> = {
  not_found: 404,
  conflict: 409,
  failed_precondition: 409,
  invalid_argument: 400,
  unavailable: 503,
  deadline_exceeded: 504,
  permission_denied: 403,
  unauthenticated: 401,
  cancelled: 499,
  not_implemented: 501,
  internal: 500,
};

/** Metadata key set on every status a tersane server returns, to tell it from transport failures. */
export const ENGINE_ERROR_METADATA = 'tersane-error';

export function asEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof Error) return new EngineError('internal', err.message);
  return new EngineError('internal', String(err));
}

/**
 * The longest message a status carries. A status travels in HTTP/2 trailers, which gRPC bounds
 * (8 KiB by default, and a message is percent-encoded there: up to 3 bytes per byte): a longer
 * one — an error quoting 70 KB of a client's input — broke the call and the connection it was on,
 * so every message is cut to this (in UTF-8 bytes) first.
 */
export const MAX_STATUS_MESSAGE_BYTES = 2000;

export function boundedMessage(message: string): string {
  if (Buffer.byteLength(message) <= MAX_STATUS_MESSAGE_BYTES) return message;
  let cut = message.slice(0, MAX_STATUS_MESSAGE_BYTES - 3);
  while (Buffer.byteLength(cut) > MAX_STATUS_MESSAGE_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** The status a gRPC handler returns for any thrown value. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const e = asEngineError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ENGINE_ERROR_METADATA, e.kind);
  return { code: GRPC_CODE[e.kind], details: boundedMessage(e.message), metadata };
}

/**
 * The EngineError for a failed gRPC call to `layer`. A status the server produced keeps its kind
 * and message; a transport failure (the layer is down or went away) becomes `unavailable` naming
 * the layer, which the api answers with 503.
 */
export function fromServiceError(layer: string, err: grpc.ServiceError): EngineError {
  const fromServer = err.metadata?.get(ENGINE_ERROR_METADATA).length > 0;
  if (fromServer) return new EngineError(KIND_OF_CODE.get(err.code) ?? 'internal', err.details);
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED && /connection|socket|closed/i.test(err.details)) {
    return unavailable(`${layerTitle(layer)} is unavailable: ${err.details || 'connection failed'}`);
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return deadlineExceeded(`${layerTitle(layer)} did not answer in time`);
  return new EngineError(KIND_OF_CODE.get(err.code) ?? 'internal', `${layer}: ${err.details || err.message}`);
}

export function httpStatusOf(err: unknown): number {
  return HTTP_STATUS[asEngineError(err).kind];
}

/** How error messages name a layer: the user sees "tersane containerd is unavailable: …". */
export function layerTitle(layer: string): string {
  return `tersane ${layer}`;
}

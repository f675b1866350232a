/**
 * gRPC between the layers, over unix sockets: loading the contracts in proto/, serving a layer's
 * services, and calling the layer below with promises, bounded waits and errors that name the
 * layer.
 *
 * @example
 *   const shim = loadContract<ShimProto>('shim').tersane.shim.v1;
 *   const server = await serve(cfg.socket('shim'), [[shim.Shim.service, handlers]]);
 *   const client = connect('shim', cfg.socket('shim'), shim.Shim, cfg.layerWaitMs);
 *   const task = await client.call('GetTask', { id });
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from './config.js';
import { fromServiceError, toServiceError, unavailable } from './errors.js';
import { serviceMetrics } from './metrics.js';
import { contextFromMetadata, currentTraceMetadata, inSpan, isTracing, SpanKind } from './tracing.js';

/** The options proto-loader-gen-types was run with (package.json build:proto): keep them equal. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Messages can carry image configs and inspect documents; chunks of tars are far smaller. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // A restarted layer should be found again quickly, not after grpc's default back-off (up to 120 s).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  // A call that fails is the caller's to retry (it knows whether that is safe); grpc's retry
  // machinery would only buffer every message of every call for nothing.
  'grpc.enable_retries': 0,
};

export function loadContract<T>(name: 'shim' | 'containerd' | 'daemon'): T {
  const protoDir = join(loadConfig().prefix, 'proto');
  const definition = protoLoader.loadSync(join(protoDir, `${name}.proto`), { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  return grpc.loadPackageDefinition(definition) as unknown as T;
}

/**
 * Serves `services` on a unix socket (mode 0600: only root talks to a layer), replacing a stale
 * socket file left by a killed predecessor.
 */
export async function serve(
  socketPath: string,
  services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>,
): Promise<grpc.Server> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  for (const [definition, implementation] of services) server.addService(definition, instrument(definition, implementation));
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  chmodSync(socketPath, 0o600);
  return server;
}

/** Stops accepting calls, lets running ones finish for up to graceMs, then cuts the rest. */
export function shutdown(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Wraps every method of a service so each call is timed (tersane_grpc_server_handling_seconds by
 * service, method and code) and, with tracing on, runs in a span that continues the caller's trace.
 */
function instrument(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const impl = implementation[name] as (...args: any[]) => void;
    if (!impl) continue;
    const service = method.path.split('/')[1].split('.').pop()!;
    const label = { service, method: name };
    if (!method.requestStream && !method.responseStream) {
      wrapped[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const t0 = process.hrtime.bigint();
        const run = (done: () => void) =>
          impl(call, (err: grpc.ServiceError | null, value: unknown) => {
            observeServer(label, t0, err?.code ?? grpc.status.OK);
            done();
            callback(err, value);
          });
        if (!isTracing()) return run(() => undefined);
        void inSpan(`${service}/${name}`, () => new Promise<void>((resolve) => run(resolve)), {
          parent: contextFromMetadata(call.metadata),
          kind: SpanKind.SERVER,
        });
      };
    } else {
      wrapped[name] = (call: NodeJS.EventEmitter & { metadata: grpc.Metadata }, ...rest: unknown[]) => {
        const t0 = process.hrtime.bigint();
        let code: number = grpc.status.OK;
        call.on('error', (err: grpc.ServiceError) => (code = err?.code ?? grpc.status.UNKNOWN));
        call.on('cancelled', () => (code = grpc.status.CANCELLED));
        const observed = new Promise<void>((resolve) =>
          call.once('close', () => {
            observeServer(label, t0, code);
            resolve();
          }),
        );
        if (!isTracing()) return impl(call, ...rest);
        void inSpan(`${service}/${name}`, () => {
          impl(call, ...rest);
          return observed;
        }, { parent: contextFromMetadata(call.metadata), kind: SpanKind.SERVER });
      };
    }
  }
  return wrapped;
}

function observeServer(label: { service: string; method: string }, t0: bigint, code: number): void {
  serviceMetrics()?.grpcServerSeconds.observe({ ...label, code: grpc.status[code] ?? String(code) }, Number(process.hrtime.bigint() - t0) / 1e9);
}

// ---- handlers -----------------------------------------------------------------------------------

/** Adapts an async function to a unary handler; any thrown error becomes the right status. */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}

/**
 * Ends a failed server stream with the error's status. grpc-js sends a stream's status from its
 * 'error' listener (then ends it); destroy(err) would skip that and leave the client waiting.
 */
function failStream(call: { emit(event: 'error', err: Error): boolean }, err: unknown): void {
  const e = err as Error | undefined;
  call.emit('error', Object.assign(new Error(String(e?.message ?? err)), toServiceError(err)));
}

/** Adapts an async function that writes to a server stream; resolves = end of stream. */
export function serverStream<Req, Res>(
  fn: (req: Req, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    fn(call.request, call).then(
      () => call.end(),
      (err) => failStream(call, err),
    );
  };
}

/** Adapts an async function over a bidirectional stream; resolves = end of stream. */
export function duplex<Req, Res>(fn: (call: grpc.ServerDuplexStream<Req, Res>) => Promise<void>): grpc.handleBidiStreamingCall<Req, Res> {
  return (call) => {
    fn(call).then(
      () => call.end(),
      (err) => failStream(call, err),
    );
  };
}

/** Adapts an async function consuming a client stream. */
export function clientStream<Req, Res>(fn: (call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}

/** The first message of a client stream, or undefined when the stream ends or is cancelled first. */
export function firstMessage<T>(call: grpc.ServerDuplexStream<T, unknown>): Promise<T | undefined> {
  return new Promise((resolve) => {
    const onData = (m: T) => {
      cleanup();
      resolve(m);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = () => {
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('cancelled', onEnd);
    };
    call.on('data', onData);
    call.on('end', onEnd);
    call.on('cancelled', onEnd);
  });
}

// ---- clients ------------------------------------------------------------------------------------

type Callback<R> = (err: grpc.ServiceError | null, value?: R) => void;

/** The unary methods of a generated client, as promise-returning functions. */
type UnaryMethods<C> = {
  [K in keyof C as C[K] extends (arg: any, callback: Callback<any>) => grpc.ClientUnaryCall ? K : never]: C[K] extends (
    arg: infer A,
    callback: Callback<infer R>,
  ) => grpc.ClientUnaryCall
    ? (arg: A) => Promise<R>
    : never;
} & Record<string, (arg: any) => Promise<any>>;

export interface CallOptions {
  /** Milliseconds the call itself may take; none by default (waits such as WaitTask are long). */
  timeoutMs?: number;
}

export interface LayerClient<C extends grpc.Client> {
  readonly layer: string;
  readonly raw: C;
  /** Calls a unary method; waits up to the configured bound for the layer to be reachable. */
  call<K extends keyof UnaryMethods<C>>(
    method: K,
    arg: Parameters<UnaryMethods<C>[K]>[0],
    opts?: CallOptions,
  ): ReturnType<UnaryMethods<C>[K]>;
  /** Waits (bounded) until the layer is reachable; throws `unavailable` naming it otherwise. */
  ready(): Promise<void>;
  /** Metadata carrying the current trace context, for streaming calls made on `raw`. */
  metadata(): grpc.Metadata;
  close(): void;
}

/**
 * A client of `layer` on `socketPath`. Calls made while the layer is down wait up to waitMs for it
 * to come back (a restart takes well under that), then fail with 503-mapped `unavailable`.
 */
export function connect<C extends grpc.Client>(
  layer: string,
  socketPath: string,
  ctor: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => C,
  waitMs: number,
): LayerClient<C> {
  const raw = new ctor(`unix://${socketPath}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const ready = () =>
    new Promise<void>((resolve, reject) => {
      raw.waitForReady(Date.now() + waitMs, (err) =>
        err ? reject(unavailable(`tersane ${layer} is unavailable: no answer on ${socketPath} within ${waitMs} ms`)) : resolve(),
      );
    });
  const client: LayerClient<C> = {
    layer,
    raw,
    ready,
    metadata: currentTraceMetadata,
    close: () => raw.close(),
    call: (async (method: string, arg: unknown, opts: CallOptions = {}) => {
      // waitForReady answers only on a later turn of the event loop (setImmediate), even when
      // connected: asked first, the channel's own state saves each call that turn.
      if (raw.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) await ready();
      const fn = (raw as unknown as Record<string, Function>)[method];
      const options: grpc.CallOptions = opts.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {};
      const invoke = () =>
        new Promise((resolve, reject) => {
          const t0 = process.hrtime.bigint();
          fn.call(raw, arg, currentTraceMetadata(), options, (err: grpc.ServiceError | null, value: unknown) => {
            const code = err ? (grpc.status[err.code] ?? String(err.code)) : 'OK';
            serviceMetrics()?.grpcClientSeconds.observe({ target: layer, method, code }, Number(process.hrtime.bigint() - t0) / 1e9);
            if (err) reject(fromServiceError(layer, err));
            else resolve(value);
          });
        });
      // No client span: the callee's server span, a child of the caller's, marks the hop (half
      // the spans, and tracing's cost with them).
      return invoke();
    }) as LayerClient<C>['call'],
  };
  return client;
}

/** Turns a failed stream's error into the EngineError naming the layer. */
export function streamError(layer: string, err: unknown): Error {
  const e = err as grpc.ServiceError;
  return typeof e?.code === 'number' ? fromServiceError(layer, e) : (err as Error);
}

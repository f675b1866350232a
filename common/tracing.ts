/**
 * OpenTelemetry tracing across the layers: one trace per API request, a span per layer and step,
 * the context carried in gRPC metadata and events (W3C traceparent) and into the monitor's
 * environment. Exported over OTLP http/protobuf when the standard OTEL_EXPORTER_OTLP_* variables
 * name an endpoint; otherwise off, and then every helper here is a plain call.
 *
 * @example
 *   const info = await inSpan('containerd.snapshot.prepare', async (span) => prepare(...));
 */
import * as grpc from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

const enabled = tracingEnabled();
let shutdownFn: (() => Promise<void>) | undefined;
/** Extra providers for spans measured here on behalf of another component (the C runtime). */
const foreignTracers = new Map<string, { tracer: ReturnType<typeof trace.getTracer>; shutdown: () => Promise<void> }>();

export function isTracing(): boolean {
  return enabled;
}

/** Starts the SDK for this process (service.name tersane-<layer>); a no-op when tracing is off. */
export async function startTracing(layer: string): Promise<void> {
  if (!enabled) return;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const sdk = new NodeSDK({
    serviceName: `tersane-${layer}`,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    instrumentations: [],
    // Traces only: metrics are Prometheus's (common/metrics.ts), logs go to the journal.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  shutdownFn = () => sdk.shutdown();
}

export async function stopTracing(): Promise<void> {
  await shutdownFn?.().catch(() => undefined);
  for (const f of foreignTracers.values()) await f.shutdown().catch(() => undefined);
}

/**
 * A tracer whose spans carry another service.name: the shim records the runtime's create and
 * start, measured by the monitor, as spans of `tersane-runtime`.
 */
export async function foreignTracer(serviceName: string): Promise<ReturnType<typeof trace.getTracer> | undefined> {
  if (!enabled) return undefined;
  const existing = foreignTracers.get(serviceName);
  if (existing) return existing.tracer;
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const tracer = provider.getTracer('tersane');
  foreignTracers.set(serviceName, { tracer, shutdown: () => provider.shutdown() });
  return tracer;
}

const tracer = () => trace.getTracer('tersane');

/**
 * Runs fn in a span that is a child of `parent` (default: the active context). With tracing off,
 * fn runs as is with a non-recording span.
 */
export async function inSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T>,
  opts: { parent?: Context; kind?: SpanKind; attributes?: Record<string, string | number | boolean> } = {},
): Promise<T> {
  if (!enabled) return fn(trace.wrapSpanContext(INVALID));
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

const INVALID = { traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 };

/** The context a caller sent in gRPC metadata (traceparent), or the root context. */
export function contextFromMetadata(md: grpc.Metadata): Context {
  if (!enabled) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const v = md.get(key)[0];
    if (typeof v === 'string') carrier[key] = v;
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The context of an HTTP request's traceparent header, or the root context. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  if (!enabled) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** gRPC metadata carrying the active span's context (empty when tracing is off). */
export function currentTraceMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  if (!enabled) return md;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  for (const [k, v] of Object.entries(carrier)) md.set(k, v);
  return md;
}

/** The active traceparent, for events and for the monitor's TRACEPARENT. */
export function currentTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

export { context, SpanKind, trace, type Context, type Span };

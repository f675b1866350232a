/**
 * Trace context across the layers (W3C traceparent in gRPC metadata, in events and in the
 * monitor's environment). Tracing is off unless the standard OTEL_* variables turn it on; off, this
 * costs one branch per call.
 */
import * as grpc from '@grpc/grpc-js';
import { context, propagation, trace } from '@opentelemetry/api';

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

const enabled = tracingEnabled();

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

export { trace };

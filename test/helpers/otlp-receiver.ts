/**
 * A small OTLP/HTTP trace receiver for tests: accepts POST /v1/traces (http/protobuf), decodes the
 * ExportTraceServiceRequest and keeps the spans with their service.name.
 */
import { createServer, type Server } from 'node:http';
import protobuf from 'protobufjs';

// The part of opentelemetry-proto's trace and common messages the tests read (field numbers as
// in opentelemetry/proto/collector/trace/v1 and trace/v1, common/v1, resource/v1).
const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
}
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
`;

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
}

export interface OtlpReceiver {
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const root = protobuf.parse(OTLP_PROTO, { keepCase: true }).root;
  const Request = root.lookupType('otlp.ExportTraceServiceRequest');
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const msg = Request.toObject(Request.decode(Buffer.concat(chunks)), { longs: String }) as any;
      for (const rs of msg.resource_spans ?? []) {
        const attrs = rs.resource?.attributes ?? [];
        const service = attrs.find((a: any) => a.key === 'service.name')?.value?.string_value ?? '';
        for (const ss of rs.scope_spans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: Buffer.from(s.trace_id ?? []).toString('hex'),
              spanId: Buffer.from(s.span_id ?? []).toString('hex'),
              parentSpanId: Buffer.from(s.parent_span_id ?? []).toString('hex'),
              name: s.name,
              startNs: BigInt(s.start_time_unix_nano ?? 0),
              endNs: BigInt(s.end_time_unix_nano ?? 0),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * One `docker run` yields, for its start request, one trace whose spans come from the api, the
 * daemon, containerd, the shim and the runtime, each with its service.name, correctly parented,
 * exported over OTLP/HTTP (protobuf) because the standard OTEL_* variables say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

const SERVICES = ['tersane-api', 'tersane-daemon', 'tersane-containerd', 'tersane-shim', 'tersane-runtime'];

describe('tracing across the layers', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    await stack.loadImage('busybox');
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('gives the start of a docker run one trace from api to runtime', async () => {
    expect((await stack.docker(['run', '--rm', 'busybox', 'true'])).code).toBe(0);

    // The trace that holds the runtime's start: the start request's.
    let trace: ReceivedSpan[] = [];
    for (let i = 0; i < 100 && trace.length === 0; i++) {
      await sleep(100);
      const start = receiver.spans.find((s) => s.service === 'tersane-runtime' && s.name === 'runtime start');
      if (start) {
        await sleep(500); // the upper layers' spans end after the runtime's
        trace = receiver.spans.filter((s) => s.traceId === start.traceId);
      }
    }
    expect(trace.length, 'no runtime span arrived').toBeGreaterThan(0);
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(SERVICES));

    // One root, from the api, and every other span's parent is in the same trace.
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const roots = trace.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId));
    expect(roots.map((r) => r.service)).toEqual(['tersane-api']);
    expect(roots[0].name).toMatch(/start/);

    // Each layer's span descends from the layer above it.
    const ancestry = (s: ReceivedSpan): string[] => {
      const out: string[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p.service);
      return out;
    };
    for (const name of ['runtime create', 'runtime start']) {
      const runtimeSpan = trace.find((s) => s.service === 'tersane-runtime' && s.name === name)!;
      expect(runtimeSpan, name).toBeDefined();
      expect(new Set(ancestry(runtimeSpan))).toEqual(new Set(['tersane-shim', 'tersane-containerd', 'tersane-daemon', 'tersane-api']));
      // Real timestamps, measured around the runtime, inside the shim's span.
      const parent = byId.get(runtimeSpan.parentSpanId)!;
      expect(runtimeSpan.endNs).toBeGreaterThan(runtimeSpan.startNs);
      expect(runtimeSpan.startNs).toBeGreaterThanOrEqual(parent.startNs);
      expect(runtimeSpan.endNs).toBeLessThanOrEqual(parent.endNs);
    }
  });
});

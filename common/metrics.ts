/**
 * Prometheus metrics (prom-client): one registry per service, served on a loopback HTTP endpoint
 * (TERSANE_METRICS_ADDR, e.g. 127.0.0.1:9323; `tersane up` picks free ports per stack). Every
 * metric carries the `layer` label. The metrics shared by every layer are defined here; a layer's
 * own are made with its `registry`.
 *
 * Names follow Prometheus conventions: units in names (_seconds, _bytes), counters end in _total,
 * label values come from small closed sets (never ids or user strings).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Millisecond-fine buckets from 0.5 ms to 10 s: container starts live between 5 and 200 ms. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5,
  5, 10,
];

/** The phases of a container start, bottom to top (the `phase` label's closed set). */
export type StartPhase =
  | 'api'
  | 'daemon'
  | 'containerd_snapshot'
  | 'containerd_spec'
  | 'containerd_task'
  | 'shim_monitor'
  | 'runtime_create'
  | 'runtime_start';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly grpcServerSeconds: Histogram<'service' | 'method' | 'code'>;
  readonly grpcClientSeconds: Histogram<'target' | 'method' | 'code'>;
  readonly natsPublishFailures: Counter;
  readonly natsReconnects: Counter;
  readonly startPhaseSeconds: Histogram<'phase'>;

  constructor(readonly layer: string) {
    this.registry.setDefaultLabels({ layer });
    collectDefaultMetrics({ register: this.registry, prefix: '' });
    const registers = [this.registry];
    this.grpcServerSeconds = new Histogram({
      name: 'tersane_grpc_server_handling_seconds',
      help: 'Time a gRPC method took to handle a call, by service, method and status code.',
      labelNames: ['service', 'method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.grpcClientSeconds = new Histogram({
      name: 'tersane_grpc_client_handling_seconds',
      help: 'Time a gRPC call to the layer below took, by target layer, method and status code.',
      labelNames: ['target', 'method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.natsPublishFailures = new Counter({
      name: 'tersane_nats_publish_failures_total',
      help: 'Event publishes to NATS that failed (the event stays in the outbox and is retried).',
      registers,
    });
    this.natsReconnects = new Counter({
      name: 'tersane_nats_reconnects_total',
      help: 'Reconnections to NATS.',
      registers,
    });
    this.startPhaseSeconds = new Histogram({
      name: 'tersane_container_start_phase_seconds',
      help: 'Time each phase of a container start took (api, daemon, containerd snapshot/spec/task, shim monitor, runtime create/start).',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** Exposes how many events wait in the outbox (read at scrape time). */
  watchOutbox(count: () => number): void {
    new Gauge({
      name: 'tersane_events_outbox_pending',
      help: 'Events recorded but not yet published to NATS.',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  /** Records a phase measured as wall-clock ns (as the monitor reports them). */
  observePhaseNs(phase: StartPhase, beginNs: number | bigint, endNs: number | bigint): void {
    const d = Number(endNs) - Number(beginNs);
    if (Number(beginNs) > 0 && d >= 0) this.startPhaseSeconds.observe({ phase }, d / 1e9);
  }
}

/** Parses host:port of a metrics endpoint; loopback unless the operator says otherwise. */
export function parseMetricsAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : '127.0.0.1';
  const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid metrics address ${JSON.stringify(addr)}`);
  return { host, port };
}

/** Serves GET /metrics from the registry. */
export async function serveMetrics(metrics: ServiceMetrics, addr: string): Promise<Server> {
  const { host, port } = parseMetricsAddr(addr);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}

let current: ServiceMetrics | undefined;

/** The metrics of the service this process runs (set once by runService). */
export function serviceMetrics(): ServiceMetrics | undefined {
  return current;
}

export function setServiceMetrics(m: ServiceMetrics): void {
  current = m;
}

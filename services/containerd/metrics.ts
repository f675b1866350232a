/**
 * containerd's own Prometheus metrics: image pulls (bytes fetched, durations, outcomes).
 */
import { Counter, Histogram } from 'prom-client';
import { serviceMetrics } from '../../common/metrics.js';

/** Pulls take from under a second (everything cached) to minutes (large images). */
const PULL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export type PullOutcome = 'success' | 'failure';

export class ContainerdMetrics {
  readonly pullBytes: Counter;
  readonly pullSeconds: Histogram<'outcome'>;

  constructor() {
    const registers = [serviceMetrics()!.registry];
    this.pullBytes = new Counter({
      name: 'tersane_image_pull_bytes_total',
      help: 'Bytes of blobs fetched from registries (verified or not).',
      registers,
    });
    this.pullSeconds = new Histogram({
      name: 'tersane_image_pull_seconds',
      help: 'Time an image pull took, by outcome.',
      labelNames: ['outcome'],
      buckets: PULL_BUCKETS,
      registers,
    });
    for (const outcome of ['success', 'failure'] as const) this.pullSeconds.zero({ outcome });
  }
}

let metrics: ContainerdMetrics | undefined;

/** containerd's metrics, registered once per process on first use. */
export function containerdMetrics(): ContainerdMetrics | undefined {
  if (!metrics && serviceMetrics()) metrics = new ContainerdMetrics();
  return metrics;
}

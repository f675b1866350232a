/**
 * The daemon's own Prometheus metrics: containers by Docker state, start failures by reason, and
 * its phase of a container start (the `daemon` phase of tersane_container_start_phase_seconds).
 */
import { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '../../common/metrics.js';
import type { EngineError } from '../../common/errors.js';
import type { ContainerStore } from './store.js';

/** Docker's states: the gauge's closed label set. */
const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'] as const;

/** Why a start failed: a closed set derived from the error's kind, never the message. */
export type StartFailureReason = 'runtime' | 'invalid' | 'not_found' | 'unavailable' | 'conflict' | 'other';
const REASONS: StartFailureReason[] = ['runtime', 'invalid', 'not_found', 'unavailable', 'conflict', 'other'];

export class DaemonMetrics {
  private readonly startFailures: Counter<'reason'>;

  constructor(
    private readonly service: ServiceMetrics,
    store: ContainerStore,
  ) {
    const registers = [service.registry];
    new Gauge({
      name: 'tersane_containers',
      help: 'Containers by Docker state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
        for (const row of store.all()) if (counts.has(row.status)) counts.set(row.status, counts.get(row.status)! + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.startFailures = new Counter({
      name: 'tersane_container_start_failures_total',
      help: 'Container starts that failed, by reason.',
      labelNames: ['reason'],
      registers,
    });
    // Every reason exists from the start, so rates and alerts have a series to work on.
    for (const reason of REASONS) this.startFailures.inc({ reason }, 0);
  }

  startSucceeded(seconds: number): void {
    this.service.startPhaseSeconds.observe({ phase: 'daemon' }, seconds);
  }

  startFailed(err: EngineError): void {
    const reason: StartFailureReason =
      err.kind === 'failed_precondition' || err.kind === 'internal'
        ? 'runtime'
        : err.kind === 'invalid_argument'
          ? 'invalid'
          : err.kind === 'not_found' || err.kind === 'unavailable' || err.kind === 'conflict'
            ? err.kind
            : 'other';
    this.startFailures.inc({ reason });
  }
}

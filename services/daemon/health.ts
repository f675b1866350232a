/**
 * Health checks (HEALTHCHECK, --health-*): while a container with a probe runs, the daemon runs the
 * probe as an exec on Docker's schedule and keeps State.Health {Status, FailingStreak, Log (last
 * 5)} in the container's row, announcing each status change as Docker's `health_status: <status>`
 * event. As Docker's monitor:
 *   - a start sets `starting` with a streak of 0; the first probe comes one interval later (the
 *     start interval while `starting` within the start period);
 *   - exit code 0 is healthy (streak 0); anything else adds to the streak — except while still
 *     `starting` inside the start period — and `retries` failures in a row make it unhealthy;
 *   - a probe past its timeout is killed and counts as a failure (exit -1);
 *   - when the container stops or is paused the monitor stops and the status becomes unhealthy;
 *     unpausing resumes it; a restarted daemon resumes every running container's.
 *
 * @example
 *   const health = new HealthMonitor(deps, execs);
 *   lifecycle.observers.push((id, change) => health.change(id, change));
 */
import { formatRfc3339Nano, nowNs } from '../../common/time.js';
import { recordContainerEvent } from './dockerEvents.js';
import type { HealthConfig } from './createConfig.js';
import type { ExecService } from './execs.js';
import { parsedConfig, type LifecycleDeps, type StateChange } from './lifecycle.js';
import type { ContainerRow } from './store.js';

/** Docker's defaults (daemon/health.go). */
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 30_000;
export const DEFAULT_START_PERIOD_MS = 0;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_PROBE_RETRIES = 3;
/** Output kept of one probe, and probes kept in the log. */
export const MAX_OUTPUT_BYTES = 4096;
export const MAX_LOG_ENTRIES = 5;
const NS_PER_MS = 1_000_000;

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

/** The probe's argv, or undefined when there is none (no healthcheck, NONE, an unknown kind). */
export function probeCommand(hc: HealthConfig | null | undefined, shell: string[] | null | undefined): string[] | undefined {
  const test = hc?.Test;
  if (!test || test.length === 0) return undefined;
  switch (test[0]) {
    case 'CMD':
      return test.length > 1 ? test.slice(1) : undefined;
    case 'CMD-SHELL':
      return [...(shell && shell.length ? shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
    default:
      return undefined;
  }
}

/** Go's time.Duration String() of a whole number of milliseconds: "30s", "1m30s", "500ms". */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = +(totalS % 60).toFixed(3);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

const nsToMs = (ns: number | undefined, fallback: number) => (ns && ns > 0 ? Math.floor(ns / NS_PER_MS) : fallback);

interface Settings {
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

function settingsOf(row: ContainerRow): Settings | undefined {
  const config = parsedConfig(row);
  const hc = config.Healthcheck;
  const cmd = probeCommand(hc, config.Shell);
  if (!hc || !cmd) return undefined;
  return {
    cmd,
    intervalMs: nsToMs(hc.Interval, DEFAULT_PROBE_INTERVAL_MS),
    timeoutMs: nsToMs(hc.Timeout, DEFAULT_PROBE_TIMEOUT_MS),
    startPeriodMs: nsToMs(hc.StartPeriod, DEFAULT_START_PERIOD_MS),
    startIntervalMs: nsToMs(hc.StartInterval, DEFAULT_START_INTERVAL_MS),
    retries: hc.Retries && hc.Retries > 0 ? hc.Retries : DEFAULT_PROBE_RETRIES,
  };
}

/** One probe's result applied to the state (Docker's handleProbeResult). */
export function applyResult(h: HealthState, r: HealthResult, s: Pick<Settings, 'retries' | 'startPeriodMs'>, startedAtMs: number): HealthState {
  const next: HealthState = { ...h, Log: [...h.Log, r].slice(-MAX_LOG_ENTRIES) };
  if (r.ExitCode === 0) {
    next.FailingStreak = 0;
    next.Status = 'healthy';
    return next;
  }
  const inStartPeriod = h.Status === 'starting' && Date.parse(r.Start) - startedAtMs < s.startPeriodMs;
  if (!inStartPeriod) {
    next.FailingStreak = h.FailingStreak + 1;
    if (next.FailingStreak >= s.retries) next.Status = 'unhealthy';
  }
  return next;
}

interface Monitor {
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

export class HealthMonitor {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly d: Pick<LifecycleDeps, 'store' | 'bus' | 'log'>,
    private readonly execs: Pick<ExecService, 'run'>,
  ) {}

  /** A lifecycle observer. */
  change(id: string, change: StateChange): void {
    if (change === 'start') this.begin(id, true);
    else if (change === 'unpause') this.begin(id, false);
    else this.end(id, change !== 'remove');
  }

  /** After a daemon restart: every running container's monitor, its last status kept. */
  resumeAll(): void {
    for (const row of this.d.store.list()) if (row.status === 'running') this.begin(row.id, false);
  }

  stopAll(): void {
    for (const id of [...this.monitors.keys()]) this.end(id, false);
  }

  private state(row: ContainerRow): HealthState | undefined {
    return row.health ? (JSON.parse(row.health) as HealthState) : undefined;
  }

  private save(row: ContainerRow, h: HealthState, before: HealthStatus | undefined): void {
    this.d.store.tx(() => {
      this.d.store.update(row.id, { health: JSON.stringify(h) });
      if (before !== undefined && before !== h.Status) recordContainerEvent(this.d.bus, `health_status: ${h.Status}`, row);
    });
  }

  private begin(id: string, reset: boolean): void {
    this.end(id, false);
    const row = this.d.store.get(id);
    if (!row) return;
    const settings = settingsOf(row);
    if (!settings) return;
    const current = this.state(row);
    if (reset || !current) this.save(row, { Status: 'starting', FailingStreak: 0, Log: current?.Log ?? [] }, undefined);
    const monitor: Monitor = { stopped: false };
    this.monitors.set(id, monitor);
    const startedAtMs = Date.parse(row.started_at);
    const interval = () => {
      const now = this.d.store.get(id);
      const status = now ? this.state(now)?.Status : undefined;
      if (Date.now() - startedAtMs >= settings.startPeriodMs) return settings.intervalMs;
      return status === 'starting' ? settings.startIntervalMs : settings.intervalMs;
    };
    const schedule = () => {
      if (monitor.stopped) return;
      monitor.timer = setTimeout(() => void probe(), interval());
      monitor.timer.unref();
    };
    const probe = async () => {
      if (monitor.stopped) return;
      const start = formatRfc3339Nano(nowNs());
      let result: HealthResult;
      try {
        const r = await this.execs.run(id, settings.cmd, { timeoutMs: settings.timeoutMs, maxOutput: MAX_OUTPUT_BYTES });
        const end = formatRfc3339Nano(nowNs());
        if (r.timedOut) {
          const limit = goDuration(settings.timeoutMs);
          result = { Start: start, End: end, ExitCode: -1, Output: r.output ? `Health check exceeded timeout (${limit}): ${r.output}` : `Health check exceeded timeout (${limit})` };
        } else if (r.startError !== undefined) {
          result = { Start: start, End: end, ExitCode: -1, Output: r.startError };
        } else result = { Start: start, End: end, ExitCode: r.exitCode, Output: r.output };
      } catch (err) {
        result = { Start: start, End: formatRfc3339Nano(nowNs()), ExitCode: -1, Output: (err as Error).message };
      }
      if (monitor.stopped) return;
      const row = this.d.store.get(id);
      const h = row && this.state(row);
      if (!row || !h || row.status !== 'running') return;
      this.save(row, applyResult(h, result, settings, startedAtMs), h.Status);
      schedule();
    };
    schedule();
  }

  /** Stops the monitor; `unhealthy`: the container stopped or paused (Docker then says unhealthy). */
  private end(id: string, unhealthy: boolean): void {
    const monitor = this.monitors.get(id);
    if (!monitor) return;
    this.monitors.delete(id);
    monitor.stopped = true;
    clearTimeout(monitor.timer);
    if (!unhealthy) return;
    const row = this.d.store.get(id);
    const h = row && this.state(row);
    // Docker changes the status without an event here.
    if (row && h && h.Status !== 'unhealthy') this.save(row, { ...h, Status: 'unhealthy' }, undefined);
  }
}

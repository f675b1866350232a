/**
 * How every layer runs as a process: configuration, logger, its own database, the event bus, its
 * pid file, readiness (systemd's READY=1 when started by systemd) and a graceful stop on SIGTERM.
 * A layer's entry point (services/<layer>/main.ts) only wires its parts together:
 *
 * @example
 *   runService({
 *     layer: 'shim',
 *     migrations: SHIM_MIGRATIONS,
 *     async start(ctx) { ...reconcile, serve...; return { stop: async () => {...} }; },
 *   });
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type Config, type Layer } from './config.js';
import { openDatabase, type Db } from './db.js';
import { EventBus } from './events.js';
import { createLogger, type Logger } from './log.js';
import { serveMetrics, ServiceMetrics, setServiceMetrics } from './metrics.js';
import { startTracing, stopTracing } from './tracing.js';

export interface ServiceContext {
  layer: Layer;
  config: Config;
  log: Logger;
  db: Db;
  events: EventBus;
  metrics: ServiceMetrics;
}

export interface RunningService {
  /** Stops serving and releases what the layer holds; containers are never touched. */
  stop(): Promise<void>;
}

export interface ServiceDefinition {
  layer: Layer;
  /** The layer's schema, append-only (see common/db.ts). */
  migrations: readonly string[];
  /** Reconciles with reality, then serves; resolves once the layer answers requests. */
  start(ctx: ServiceContext): Promise<RunningService>;
}

/** Bounded so a stuck stop never keeps systemd or the supervisor waiting. */
const STOP_GRACE_MS = 5000;

export function runService(def: ServiceDefinition): void {
  const config = loadConfig();
  const log = createLogger(def.layer, config.logLevel);
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception; exiting', { err: err.stack ?? String(err) });
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    log.error('unhandled rejection; exiting', { err: (err as Error)?.stack ?? String(err) });
    process.exit(70);
  });
  // A broken client socket must never take a layer down.
  process.on('SIGPIPE', () => undefined);

  void (async () => {
    const t0 = Date.now();
    mkdirSync(config.runDir, { recursive: true, mode: 0o755 });
    mkdirSync(config.layerState(def.layer), { recursive: true, mode: 0o700 });
    const pidFile = config.pidFile(def.layer);
    writeFileSync(pidFile, `${process.pid}\n`);

    await startTracing(def.layer);
    const metrics = new ServiceMetrics(def.layer);
    setServiceMetrics(metrics);
    const db = openDatabase(join(config.layerState(def.layer), `${def.layer}.db`), def.migrations);
    const pending = db.prepare('SELECT count(*) AS n FROM outbox');
    metrics.watchOutbox(() => (pending.get() as { n: number }).n);
    const events = new EventBus(db, def.layer, config.natsUrl, log, {
      publishFailures: () => metrics.natsPublishFailures.inc(),
      reconnects: () => metrics.natsReconnects.inc(),
    });
    events.start();
    if (config.metricsAddr) {
      try {
        const server = await serveMetrics(metrics, config.metricsAddr);
        writeScrapeTarget(config, def.layer, server.address() as AddressInfo);
      } catch (err) {
        // Metrics matter to operators but never enough to keep a layer from serving.
        log.error('cannot serve metrics', { addr: config.metricsAddr, err });
      }
    }
    const ctx: ServiceContext = { layer: def.layer, config, log, db, events, metrics };

    let running: RunningService;
    try {
      running = await def.start(ctx);
    } catch (err) {
      log.error('failed to start', { err: (err as Error).stack ?? String(err) });
      process.exit(1);
    }
    // startupMs: this layer's own start (reconciliation included); sinceExecMs: from exec, module loading included.
    log.info('ready', { pid: process.pid, startupMs: Date.now() - t0, sinceExecMs: Math.round(process.uptime() * 1000) });
    notifySystemd('READY=1');

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      notifySystemd('STOPPING=1');
      const timer = setTimeout(() => process.exit(0), STOP_GRACE_MS);
      try {
        await running.stop();
        await events.close();
        await stopTracing();
        db.close();
      } catch (err) {
        log.warn('error while stopping', { err });
      }
      clearTimeout(timer);
      rmSync(pidFile, { force: true });
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  })();
}

/**
 * Announces this layer's metrics endpoint to Prometheus: deploy/prometheus/prometheus.yml reads
 * <runDir>/metrics/*.json (file-based service discovery), so the scrape configuration needs no
 * ports of its own and follows each stack's endpoints.
 */
function writeScrapeTarget(config: Config, layer: Layer, addr: AddressInfo): void {
  const dir = join(config.runDir, 'metrics');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const tmp = join(dir, `.${layer}.json`);
  writeFileSync(tmp, JSON.stringify([{ targets: [`${host}:${addr.port}`], labels: { job: `tersane-${layer}` } }]) + '\n');
  renameSync(tmp, join(dir, `${layer}.json`));
}

/** Tells systemd about readiness when it started us as Type=notify (NotifyAccess=all). */
function notifySystemd(state: string): void {
  if (!process.env.NOTIFY_SOCKET) return;
  // Node cannot send unix datagrams; systemd's own tool can.
  spawn('systemd-notify', [state], { stdio: 'ignore' }).on('error', () => undefined).unref();
}

/**
 * Debian's prometheus, started with the project's own scrape configuration and alert rules
 * (deploy/prometheus/), against a live stack running containers: every layer is scraped, and every
 * PromQL expression of the Grafana dashboard and of the alert rules is valid and returns data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO, sleep, startStack, type Stack } from '../helpers/stack.js';

const PROMETHEUS = '/usr/bin/prometheus';
const LAYERS = ['shim', 'containerd', 'daemon', 'api'];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('Prometheus with the project’s scrape configuration', () => {
  let stack: Stack;
  let prom: ChildProcess;
  let dir: string;
  let base: string;
  let stopLoad = false;
  let load: Promise<void>;

  const query = async (expr: string): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> => {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as never;
  };

  beforeAll(async () => {
    stack = await startStack();
    await stack.loadImage('busybox');
    await stack.dockerOk(['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '1000']);
    // One start that fails, so failures are counted too.
    await stack.docker(['run', '--rm', 'busybox', '/no/such/command']);
    // Containers keep starting while Prometheus scrapes, so rates have something to see.
    load = (async () => {
      while (!stopLoad) await stack.docker(['run', '--rm', 'busybox', 'true']);
    })();

    dir = mkdtempSync('/tmp/tsn-prom-');
    // The project's files, with only the discovery path pointed at this stack's run directory.
    const config = readFileSync(join(REPO, 'deploy/prometheus/prometheus.yml'), 'utf8').replace(
      '/run/tersane/metrics/*.json',
      join(stack.cfg.runDir, 'metrics', '*.json'),
    );
    expect(config).toContain(stack.cfg.runDir);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    copyFileSync(join(REPO, 'deploy/prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prom = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    // Every layer up, and enough scrapes (5 s apart) for rates over them.
    for (let i = 0; i < 120; i++) {
      await sleep(500);
      const up = await query('up{job=~"tersane-.*"} == 1').catch(() => undefined);
      if (up?.data?.result.length === LAYERS.length) break;
    }
    await sleep(12_000);
  }, 180_000);

  afterAll(async () => {
    stopLoad = true;
    await load;
    prom?.kill('SIGTERM');
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes every layer', async () => {
    const r = await query('up{job=~"tersane-.*"}');
    const jobs = (r.data!.result as Array<{ metric: { job: string }; value: [number, string] }>).map((s) => [s.metric.job, s.value[1]]);
    expect(jobs.sort()).toEqual(LAYERS.map((l) => [`tersane-${l}`, '1']).sort());
  });

  it('answers every expression of the Grafana dashboard with data', async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/tersane-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      const r = await query(expr);
      expect(r.status, `${expr}: ${r.error}`).toBe('success');
      expect(r.data!.result.length, `no data for ${expr}`).toBeGreaterThan(0);
    }
  });

  it('evaluates every alert rule, and their expressions have data', async () => {
    const res = (await (await fetch(`${base}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; query: string; health: string; lastError?: string }> }> };
    };
    const rules = res.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
      // An alert's comparison filters its series away while all is well; as a `bool` comparison
      // the same expression keeps them, which shows the operands exist.
      const asBool = rule.query.replace(/\s(>|<|==|!=|>=|<=)\s(?!bool)/, ' $1 bool ');
      expect(asBool).not.toBe(rule.query);
      const r = await query(asBool);
      expect(r.status, `${rule.name}: ${r.error}`).toBe('success');
      expect(r.data!.result.length, `no data for ${rule.name}: ${asBool}`).toBeGreaterThan(0);
    }
  });

  it('counts starts per phase and containers per state', async () => {
    const phases = await query('sum by (phase) (tersane_container_start_phase_seconds_count)');
    const seen = (phases.data!.result as Array<{ metric: { phase: string } }>).map((s) => s.metric.phase).sort();
    expect(seen).toEqual(
      ['api', 'containerd_snapshot', 'containerd_spec', 'containerd_task', 'daemon', 'runtime_create', 'runtime_start', 'shim_monitor'].sort(),
    );
    const running = await query('tersane_containers{state="running"}');
    expect(Number((running.data!.result[0] as { value: [number, string] }).value[1])).toBeGreaterThanOrEqual(1);
    const failures = await query('sum(tersane_container_start_failures_total)');
    expect(Number((failures.data!.result[0] as { value: [number, string] }).value[1])).toBeGreaterThanOrEqual(1);
  });
});

/**
 * `npm run chaos [-- --seconds N --workers N]`: the chaos suite at full length, printing its figures.
 * Exits non-zero on any bad result or orphan.
 */
import { formatReport, runChaos } from './chaos.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const report = await runChaos({
  durationMs: arg('seconds', 180) * 1000,
  workers: arg('workers', 6),
  killMinMs: 2000,
  killMaxMs: 5000,
  log: (line) => console.log(`  ${line}`),
});
console.log(formatReport(report));
process.exit(report.bad.length || report.orphans.length ? 1 : 0);

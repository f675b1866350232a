/**
 * The chaos suite's short version for CI (`npm run chaos` runs it longer): concurrent lifecycles
 * while random components are SIGKILLed; no wrong answer, no hang, no orphan.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from './chaos.js';

describe('chaos', () => {
  it('keeps every answer right and leaves no orphan while layers are killed', async () => {
    const report = await runChaos({ durationMs: 30_000, workers: 4, killMinMs: 2000, killMaxMs: 4000 });
    console.log(formatReport(report));
    expect(report.bad).toEqual([]);
    expect(report.orphans).toEqual([]);
    expect(Object.values(report.kills).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
    expect(report.completed).toBeGreaterThan(0);
  }, 400_000);
});

import { describe, expect, it } from 'vitest';
import { applyResult, goDuration, MAX_LOG_ENTRIES, probeCommand, type HealthResult, type HealthState } from './health.js';

const result = (exitCode: number, startMs = 10_000): HealthResult => ({
  Start: new Date(startMs).toISOString(),
  End: new Date(startMs + 5).toISOString(),
  ExitCode: exitCode,
  Output: '',
});
const STARTED_AT = 0;

describe('probeCommand', () => {
  it('runs CMD as given and CMD-SHELL through the shell (the image’s SHELL if it has one)', () => {
    expect(probeCommand({ Test: ['CMD', 'curl', '-f', 'http://x/'] }, null)).toEqual(['curl', '-f', 'http://x/']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'test -f /ok'] }, null)).toEqual(['/bin/sh', '-c', 'test -f /ok']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'exit 0'] }, ['/bin/ash', '-e', '-c'])).toEqual(['/bin/ash', '-e', '-c', 'exit 0']);
  });
  it('has none for NONE, an empty test, or a kind Docker does not know', () => {
    expect(probeCommand({ Test: ['NONE'] }, null)).toBeUndefined();
    expect(probeCommand({ Test: [] }, null)).toBeUndefined();
    expect(probeCommand({ Test: ['WHAT', 'x'] }, null)).toBeUndefined();
    expect(probeCommand(undefined, null)).toBeUndefined();
  });
});

describe('applyResult (Docker’s handleProbeResult)', () => {
  const starting: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  const settings = { retries: 2, startPeriodMs: 0 };

  it('is healthy on exit 0 and resets the streak', () => {
    expect(applyResult({ ...starting, FailingStreak: 1 }, result(0), settings, STARTED_AT)).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
  });
  it('becomes unhealthy after `retries` failures in a row', () => {
    const one = applyResult({ ...starting, Status: 'healthy' }, result(1), settings, STARTED_AT);
    expect(one).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    expect(applyResult(one, result(1), settings, STARTED_AT)).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
  });
  it('does not count failures while starting inside the start period', () => {
    const s = applyResult(starting, result(1, 10_000), { retries: 1, startPeriodMs: 60_000 }, STARTED_AT);
    expect(s).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(applyResult(starting, result(1, 70_000), { retries: 1, startPeriodMs: 60_000 }, STARTED_AT)).toMatchObject({ Status: 'unhealthy' });
  });
  it('keeps the last five results', () => {
    let s = starting;
    for (let i = 0; i < 8; i++) s = applyResult(s, { ...result(0), Output: String(i) }, settings, STARTED_AT);
    expect(s.Log.map((r) => r.Output)).toEqual(['3', '4', '5', '6', '7']);
    expect(s.Log).toHaveLength(MAX_LOG_ENTRIES);
  });
});

describe('goDuration', () => {
  it('prints as Go’s time.Duration does', () => {
    expect(goDuration(30_000)).toBe('30s');
    expect(goDuration(1000)).toBe('1s');
    expect(goDuration(500)).toBe('500ms');
    expect(goDuration(90_000)).toBe('1m30s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
    expect(goDuration(1500)).toBe('1.5s');
  });
});

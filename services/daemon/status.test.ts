import { describe, expect, it } from 'vitest';
import { humanDuration, statusString } from './status.js';

describe('humanDuration (go-units)', () => {
  it.each([
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1000, '1 second'],
    [59_999, '59 seconds'],
    [60_000, 'About a minute'],
    [119_000, 'About a minute'],
    [120_000, '2 minutes'],
    [59 * 60_000, '59 minutes'],
    [60 * 60_000, 'About an hour'],
    [89 * 60_000, 'About an hour'],
    [90 * 60_000, '2 hours'],
    [47 * 3_600_000, '47 hours'],
    [48 * 3_600_000, '2 days'],
    [14 * 24 * 3_600_000, '2 weeks'],
    [60 * 24 * 3_600_000, '2 months'],
    [2 * 365 * 24 * 3_600_000, '2 years'],
  ])('%i ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('statusString', () => {
  const now = 1_000_000_000;
  it('says Up, Exited, Created like docker ps', () => {
    expect(statusString({ status: 'running', exitCode: 0, startedAtMs: now - 3000, finishedAtMs: undefined }, now)).toBe('Up 3 seconds');
    expect(statusString({ status: 'exited', exitCode: 3, startedAtMs: now - 5000, finishedAtMs: now - 2000 }, now)).toBe('Exited (3) 2 seconds ago');
    expect(statusString({ status: 'created', exitCode: 0, startedAtMs: undefined, finishedAtMs: undefined }, now)).toBe('Created');
    expect(statusString({ status: 'created', exitCode: 127, startedAtMs: undefined, finishedAtMs: undefined }, now)).toBe('Created');
    expect(statusString({ status: 'paused', exitCode: 0, startedAtMs: now - 61_000, finishedAtMs: undefined }, now)).toBe('Up About a minute (Paused)');
    expect(statusString({ status: 'removing', exitCode: 0, startedAtMs: now, finishedAtMs: now }, now)).toBe('Removal In Progress');
    expect(statusString({ status: 'dead', exitCode: 0, startedAtMs: now, finishedAtMs: now }, now)).toBe('Dead');
  });
});

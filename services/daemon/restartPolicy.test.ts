import { describe, expect, it } from 'vitest';
import { INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, RestartManager, shouldRestart, shouldRestartAtBoot } from './restartPolicy.js';

const facts = (o: Partial<{ exitCode: number; manuallyStopped: boolean; restartCount: number; ranMs: number }> = {}) => ({
  exitCode: 1,
  manuallyStopped: false,
  restartCount: 0,
  ranMs: 0,
  ...o,
});

describe('restart policies', () => {
  it("decide as Docker's restart manager does", () => {
    expect(shouldRestart({ Name: 'no', MaximumRetryCount: 0 }, facts())).toBe(false);
    expect(shouldRestart({ Name: 'always', MaximumRetryCount: 0 }, facts({ exitCode: 0 }))).toBe(true);
    expect(shouldRestart({ Name: 'always', MaximumRetryCount: 0 }, facts({ manuallyStopped: true }))).toBe(false);
    expect(shouldRestart({ Name: 'unless-stopped', MaximumRetryCount: 0 }, facts({ exitCode: 0 }))).toBe(true);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 0 }, facts({ exitCode: 0 }))).toBe(false);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 0 }, facts({ restartCount: 99 }))).toBe(true);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, facts({ restartCount: 1 }))).toBe(true);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, facts({ restartCount: 2 }))).toBe(false);
  });

  it('backs off exponentially up to a minute, and resets after a long run', () => {
    const m = new RestartManager();
    const always = { Name: 'always', MaximumRetryCount: 0 };
    const delays = Array.from({ length: 12 }, () => m.next('c', always, facts()));
    expect(delays.slice(0, 4)).toEqual([INITIAL_BACKOFF_MS, 200, 400, 800]);
    expect(delays[11]).toBe(MAX_BACKOFF_MS);
    expect(m.next('c', always, facts({ ranMs: 10_000 }))).toBe(INITIAL_BACKOFF_MS);
    expect(m.next('c', { Name: 'no', MaximumRetryCount: 0 }, facts())).toBeUndefined();
  });

  it('cancels a scheduled restart', async () => {
    const m = new RestartManager();
    let ran = 0;
    m.schedule('c', 20, () => ran++);
    expect(m.cancel('c')).toBe(true);
    m.schedule('d', 10, () => ran++);
    await new Promise((r) => setTimeout(r, 50));
    expect(ran).toBe(1);
  });
});

describe('restart at the engine start (Docker restore)', () => {
  const facts = { exitCode: 0, manuallyStopped: true, restartCount: 0 };
  it('brings back `always` even after a user stop, `unless-stopped` only when not stopped by the user', () => {
    expect(shouldRestartAtBoot({ Name: 'always', MaximumRetryCount: 0 }, facts)).toBe(false);
    expect(shouldRestartAtBoot({ Name: 'always', MaximumRetryCount: 0 }, { ...facts, manuallyStopped: false })).toBe(true);
    expect(shouldRestartAtBoot({ Name: 'unless-stopped', MaximumRetryCount: 0 }, facts)).toBe(false);
    expect(shouldRestartAtBoot({ Name: 'unless-stopped', MaximumRetryCount: 0 }, { ...facts, manuallyStopped: false })).toBe(true);
    expect(shouldRestartAtBoot({ Name: 'no', MaximumRetryCount: 0 }, { ...facts, manuallyStopped: false })).toBe(false);
  });
  it('counts on-failure retries from RestartCount', () => {
    const p = { Name: 'on-failure', MaximumRetryCount: 2 };
    expect(shouldRestartAtBoot(p, { exitCode: 3, manuallyStopped: false, restartCount: 1 })).toBe(true);
    expect(shouldRestartAtBoot(p, { exitCode: 3, manuallyStopped: false, restartCount: 2 })).toBe(false);
    expect(shouldRestartAtBoot(p, { exitCode: 0, manuallyStopped: false, restartCount: 0 })).toBe(false);
  });
});

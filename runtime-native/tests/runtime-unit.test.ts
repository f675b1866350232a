/**
 * The runtime's C unit tests (runtime-native/tests/runtime_*_test.c: JSON, config parsing, the
 * cgroup v1/v2 writers against stand-in directories, the v2 device filter program), built by
 * `make runtime-unit-tests` and run here so CI runs them.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_DIR } from './runtime-harness.js';

const tests = readdirSync(join(NATIVE_DIR, 'tests')).filter((f) => /^runtime_.*_test\.c$/.test(f)).map((f) => f.replace(/\.c$/, ''));

describe('C unit tests', () => {
  it('build', () => {
    const m = spawnSync('make', ['-s', '-C', NATIVE_DIR, 'runtime-unit-tests'], { encoding: 'utf8' });
    expect(m.stderr).toBe('');
    expect(m.status).toBe(0);
  });
  for (const t of tests) {
    it(t, () => {
      const r = spawnSync(join(NATIVE_DIR, 'build', 'tests', t), [], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) console.error(r.stdout + r.stderr);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/\d+ checks, 0 failed/);
      expect(r.status).toBe(0);
    });
  }
});

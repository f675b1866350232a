/**
 * The systemd units in deploy/systemd/ pass `systemd-analyze verify`, and say what resilience needs:
 * the shim's unit never kills the monitors and containers when it restarts or stops, every layer
 * restarts by itself, and no layer is bound to another's lifetime.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUnit } from '../../cli/units.js';
import { REPO } from '../helpers/stack.js';

const UNITS = ['nats', 'shim', 'containerd', 'daemon', 'api'].map((c) => join(REPO, 'deploy/systemd', `tersane-${c}.service`));

function directive(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

describe('systemd units', () => {
  it('pass systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('keep containers alive across a shim restart and restart every layer', () => {
    for (const unit of UNITS) {
      const text = readFileSync(unit, 'utf8');
      expect(directive(text, 'Restart'), unit).toEqual(['always']);
      // Wants/After, never BindsTo/Requires: a restart below must not take a layer down with it.
      expect(directive(text, 'BindsTo').concat(directive(text, 'Requires')), unit).toEqual([]);
      expect(parseUnit(text).execStart, unit).toBeTruthy();
    }
    const shim = readFileSync(UNITS[1], 'utf8');
    expect(directive(shim, 'KillMode')).toEqual(['process']);
    expect(directive(shim, 'Delegate')).toEqual(['yes']);
    for (const unit of UNITS.slice(1)) expect(directive(readFileSync(unit, 'utf8'), 'Type'), unit).toEqual(['notify']);
  });
});

import { describe, expect, it } from 'vitest';
import { expandCommand, loadUnitCommand, parseUnit } from './units.js';
import { LAYERS } from '../common/config.js';

describe('systemd units', () => {
  it('parses Environment and ExecStart of the Service section', () => {
    const unit = parseUnit(`[Unit]\nEnvironment=NOT=this\n[Service]\nEnvironment=A=1 "B=two words"\nEnvironment=C=3\nExecStart=-/bin/x \${A} $B\n`);
    expect(unit.environment).toEqual({ A: '1', B: 'two words', C: '3' });
    expect(expandCommand(unit.execStart, unit.environment)).toEqual(['/bin/x', '1', 'two', 'words']);
  });

  it('gives every layer a command from its unit, with overrides applied', () => {
    const prefix = new URL('..', import.meta.url).pathname;
    for (const layer of LAYERS) {
      const cmd = loadUnitCommand(prefix, layer, { TERSANE_PREFIX: '/opt/t' });
      expect(cmd.argv).toEqual(['/usr/bin/env', 'node', `/opt/t/dist/services/${layer}/main.js`]);
      expect(cmd.env.TERSANE_NATS_URL).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    }
    const nats = loadUnitCommand(prefix, 'nats', { TERSANE_NATS_PORT: '5555', TERSANE_NATS_STORE: '/x/nats' });
    expect(nats.argv).toEqual(['/usr/sbin/nats-server', '--jetstream', '--addr', '127.0.0.1', '--port', '5555', '--store_dir', '/x/nats']);
  });
});

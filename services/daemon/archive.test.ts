import { describe, expect, it } from 'vitest';
import { dockerPathStat, GO_MODE, goFileMode, goTime } from './archive.js';

describe("Docker's ContainerPathStat", () => {
  it('carries Go FileMode bits', () => {
    expect(goFileMode(0o100644)).toBe(0o644);
    expect(goFileMode(0o040755)).toBe(GO_MODE.dir + 0o755);
    expect(goFileMode(0o120777)).toBe(GO_MODE.symlink + 0o777);
    expect(goFileMode(0o041777)).toBe(GO_MODE.dir + GO_MODE.sticky + 0o777);
    expect(goFileMode(0o104755)).toBe(GO_MODE.setuid + 0o755);
    expect(goFileMode(0o020620)).toBe(GO_MODE.device + GO_MODE.charDevice + 0o620);
    expect(goFileMode(0o010644)).toBe(GO_MODE.namedPipe + 0o644);
  });

  it('writes times as Go marshals them (RFC 3339, fraction without trailing zeros)', () => {
    expect(goTime(1704067200, 0)).toBe('2024-01-01T00:00:00Z');
    expect(goTime(1704067200, 120000000)).toBe('2024-01-01T00:00:00.12Z');
    expect(goTime(1704067200, 1)).toBe('2024-01-01T00:00:00.000000001Z');
  });

  it('is the document the CLI decodes', () => {
    expect(dockerPathStat({ name: 'link', size: 4, mode: 0o120777, mtime_sec: 1704067200, mtime_nsec: 0, link_target: '/etc/passwd' })).toEqual({
      name: 'link',
      size: 4,
      mode: GO_MODE.symlink + 0o777,
      mtime: '2024-01-01T00:00:00Z',
      linkTarget: '/etc/passwd',
    });
  });
});

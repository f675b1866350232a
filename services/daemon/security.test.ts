import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTraversable, securityOptions, setDaemonSecurity, userNamespaceOf } from './security.js';
import { parseSecurityOpt } from './spec.js';
import { freeRange, mappingsOf, resolveRemap, subordinateRanges } from './userns.js';

const dir = mkdtempSync(join(tmpdir(), 'tsn-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(subuid: string, subgid: string) {
  const f = { passwd: join(dir, 'passwd'), group: join(dir, 'group'), subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  writeFileSync(f.passwd, 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  writeFileSync(f.group, 'root:x:0:\nalice:x:1000:\nstaff:x:50:\n');
  writeFileSync(f.subuid, subuid);
  writeFileSync(f.subgid, subgid);
  return f;
}

describe('userns-remap ranges (/etc/subuid, /etc/subgid)', () => {
  it('maps container ids through the ranges in order, by user name or uid', () => {
    const f = files('alice:200000:65536\n1000:300000:1000\nbob:100000:65536\n', 'staff:400000:65536\n');
    const r = resolveRemap('alice:staff', f);
    expect(r.uidMappings).toEqual([{ container_id: 0, host_id: 200000, size: 65536 }, { container_id: 65536, host_id: 300000, size: 1000 }]);
    expect(r.gidMappings).toEqual([{ container_id: 0, host_id: 400000, size: 65536 }]);
    expect(resolveRemap('1000:50', f).user).toBe('alice');
  });

  it("refuses unknown users and missing ranges in Docker's words", () => {
    const f = files('alice:200000:65536\n', '');
    expect(() => resolveRemap('nobody-here', f)).toThrow('Error during uid lookup for "nobody-here": user: unknown user nobody-here');
    expect(() => resolveRemap('alice:nogroup', f)).toThrow('unknown group nogroup');
    expect(() => resolveRemap('alice', f)).toThrow('no subgid ranges found for group "alice"');
  });

  it('finds a free range above every one taken', () => {
    expect(freeRange('')).toBe(100000);
    expect(freeRange('a:100000:65536\n')).toBe(165536);
    expect(freeRange('a:300000:10\nb:100000:65536\n')).toBe(165536);
    expect(freeRange('a:100000:65536\nb:165536:65536\n')).toBe(231072);
    expect(subordinateRanges('x:1:2\nbad line\nx:a:b\n', { name: 'x', id: 5 })).toEqual([{ start: 1, size: 2 }]);
    expect(mappingsOf([{ start: 10, size: 5 }, { start: 100, size: 1 }])).toEqual([{ container_id: 0, host_id: 10, size: 5 }, { container_id: 5, host_id: 100, size: 1 }]);
  });
});

describe('daemon security options', () => {
  const remap = { user: 'u', group: 'g', uidMappings: [{ container_id: 0, host_id: 100000, size: 65536 }], gidMappings: [{ container_id: 0, host_id: 100000, size: 65536 }] };
  const h = (over = {}) => ({ UsernsMode: '', Privileged: false, NetworkMode: 'bridge', PidMode: '', ...over });

  it("lists Docker's SecurityOptions for what is on", () => {
    expect(securityOptions(false, { noNewPrivileges: false })).toEqual(['name=seccomp,profile=builtin']);
    expect(securityOptions(true, { noNewPrivileges: true, remap })).toEqual(['name=seccomp,profile=builtin', 'name=userns', 'name=cgroupns', 'name=no-new-privileges']);
  });

  it('remaps every container but --userns=host, and refuses what cannot be remapped', () => {
    const sec = { noNewPrivileges: false, remap };
    expect(userNamespaceOf(h(), sec)).toEqual({ uid: remap.uidMappings, gid: remap.gidMappings });
    expect(userNamespaceOf(h({ UsernsMode: 'host' }), sec)).toBeUndefined();
    expect(userNamespaceOf(h(), { noNewPrivileges: false })).toBeUndefined();
    expect(() => userNamespaceOf(h({ Privileged: true }), sec)).toThrow('privileged mode is incompatible with user namespaces');
    expect(userNamespaceOf(h({ Privileged: true, UsernsMode: 'host' }), sec)).toBeUndefined();
    expect(() => userNamespaceOf(h({ NetworkMode: 'host' }), sec)).toThrow("cannot share the host's network namespace when user namespaces are enabled");
    expect(() => userNamespaceOf(h({ PidMode: 'host' }), sec)).toThrow('cannot share the host PID namespace when user namespaces are enabled');
    expect(() => userNamespaceOf(h({ UsernsMode: 'private' }), sec)).toThrow('invalid USER mode: private');
  });

  it('no-new-privileges: unset, on, or an explicit false that overrides the daemon default', () => {
    expect(parseSecurityOpt([]).noNewPrivileges).toBeUndefined();
    expect(parseSecurityOpt(['no-new-privileges']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpt(['no-new-privileges=false']).noNewPrivileges).toBe(false);
    expect(parseSecurityOpt(['no-new-privileges:true']).noNewPrivileges).toBe(true);
    expect(() => parseSecurityOpt(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2: "no-new-privileges=maybe"');
    expect(parseSecurityOpt(['seccomp=unconfined']).seccomp).toBe('unconfined');
    setDaemonSecurity({ noNewPrivileges: false });
  });

  it('makes the way to a directory searchable, never listable', () => {
    const d = join(dir, 'a', 'b', 'c');
    mkdirSync(d, { recursive: true, mode: 0o700 });
    ensureTraversable(d);
    for (const p of [join(dir, 'a'), join(dir, 'a', 'b'), d]) expect(statSync(p).mode & 0o777).toBe(0o701);
    expect(readFileSync(join(dir, 'passwd'), 'utf8')).toContain('alice');
  });
});

/**
 * The runtime's own hardening, on bundles (the stack-level suite is test/security/escape.test.ts):
 * the seccomp filter compiled once and cached as BPF under the runtime root, a cache file that is
 * not the runtime's own ignored; the container process never sees a descriptor of the runtime, a
 * working directory through /proc/self/fd refused; create, run and exec running from a copy of the
 * binary that cannot be opened for writing.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeccomp } from '../../services/containerd/seccomp/index.js';
import { DEFAULT_CAPABILITIES } from '../../services/containerd/spec.js';
import { RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
beforeAll(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
});
afterAll(async () => {
  await h.cleanup();
});

const id = () => `hd${Math.random().toString(16).slice(2, 10)}`;

describe('seccomp filter cache', () => {
  it("compiles Docker's default profile once and loads it from the cache after", async () => {
    const profile = JSON.parse(JSON.stringify(defaultSeccomp(DEFAULT_CAPABILITIES)));
    const b = await h.bundle(['sh', '-c', 'grep ^Seccomp: /proc/self/status; mount -t tmpfs x /tmp 2>&1; echo mount=$?'], (c) => {
      c.linux.seccomp = profile;
    });
    const first = h.run(['run', '--bundle', b.dir, id()]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('Seccomp:\t2');
    expect(first.stdout).toContain('mount=');
    expect(first.stdout).not.toContain('mount=0');
    const cache = join(h.root, 'seccomp');
    const files = readdirSync(cache);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.bpf$/);
    const bytes = readFileSync(join(cache, files[0]));
    // the same again comes from the cache: same file, same result
    const second = h.run(['run', '--bundle', b.dir, id()]);
    expect(second.stdout).toBe(first.stdout);
    expect(readdirSync(cache)).toEqual(files);
    expect(readFileSync(join(cache, files[0]))).toEqual(bytes);
  });

  it('ignores a cache file it did not write the way it writes them (mode, content)', async () => {
    const b = await h.bundle(['sh', '-c', 'mkdir /tmp/x; echo mkdir=$?'], (c) => {
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
    });
    expect(h.run(['run', '--bundle', b.dir, id()]).stdout).toBe('mkdir=1\n');
    const cache = join(h.root, 'seccomp');
    // a world-writable file is never trusted; nor one whose contents are not a filter
    for (const f of readdirSync(cache)) {
      writeFileSync(join(cache, f), Buffer.alloc(64, 0));
      chmodSync(join(cache, f), 0o666);
    }
    expect(h.run(['run', '--bundle', b.dir, id()]).stdout).toBe('mkdir=1\n');
  });
});

describe('what the container process gets from the runtime', () => {
  it('no descriptor but its stdio, and no working directory through /proc/self/fd', async () => {
    const b = await h.bundle(['sh', '-c', 'ls /proc/self/fd; readlink /proc/self/cwd']);
    const r = h.run(['run', '--bundle', b.dir, id()]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2', '3', '/']);
    for (const n of [3, 4, 5, 6, 7, 8]) {
      const bad = await h.bundle(['pwd'], (c) => {
        c.process.cwd = `/proc/self/fd/${n}`;
      });
      const out = h.run(['run', '--bundle', bad.dir, id()]);
      expect(out.status, `cwd /proc/self/fd/${n}: ${out.stdout}`).not.toBe(0);
      expect(out.stderr).toMatch(/process\.cwd/);
    }
    // a working directory that does not exist is made inside the root, `..` and all
    const made = await h.bundle(['pwd'], (c) => {
      c.process.cwd = '/../../a/../b/c';
    });
    expect(h.run(['run', '--bundle', made.dir, id()]).stdout).toBe('/b/c\n');
  });

  it('runs setup from a copy of the runtime binary that cannot be opened for writing (CVE-2019-5736)', async () => {
    const out = join(h.root, 'hook-out');
    // a createRuntime hook is a child of the runtime: what it finds as its parent's executable is
    // what a process of the container would find in /proc/<runtime pid>/exe
    const script = `{ readlink /proc/$PPID/exe; if ( exec 3>>/proc/$PPID/exe ) 2>/dev/null; then echo writable; else echo refused; fi; } > ${out}`;
    const b = await h.bundle(['true'], (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', script] }] };
    });
    const r = h.run(['run', '--bundle', b.dir, id()]);
    expect(r.status, r.stderr).toBe(0);
    const [exe, verdict] = readFileSync(out, 'utf8').trim().split('\n');
    expect(verdict).toBe('refused');
    // not the binary on disk: a detached read-only mount of it ("/"), or a sealed memfd
    expect(exe === '/' || exe.startsWith('/memfd:')).toBe(true);
    const sealed = h.run(['run', '--bundle', b.dir, id()], { env: { ...process.env, TERSANE_RUNTIME_SEALED_COPY: '1' } });
    expect(sealed.status, sealed.stderr).toBe(0);
    const [exe2, verdict2] = readFileSync(out, 'utf8').trim().split('\n');
    expect(exe2).toMatch(/^\/memfd:tersane-runtime/);
    expect(verdict2).toBe('refused');
  });
});

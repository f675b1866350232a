/**
 * Test side of tersane-runtime: run it (or runc) with a state root of its own, build busybox
 * bundles shaped for a test, and look for anything a container left behind (state directory,
 * cgroup directories in every hierarchy, mounts of the bundle).
 *
 * @example
 *   const h = new RuntimeHarness(TERSANE_RUNTIME);
 *   const b = await h.bundle(['sh', '-c', 'echo hi']);
 *   const r = h.run(['run', '--bundle', b.dir, 'c1']);   // { status, stdout, stderr, … }
 *   expect(h.leftovers(b, 'c1')).toEqual([]);
 *   await h.cleanup();
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxBundle, TERSANE_RUNTIME as BUNDLE_RUNTIME, type Bundle } from './bundle.js';

export const RUNC = '/usr/sbin/runc';

/** runtime-native/build/tersane-runtime, whether this module runs from source or from dist/. */
function findRuntime(): string {
  if (existsSync(BUNDLE_RUNTIME)) return BUNDLE_RUNTIME;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'runtime-native', 'build', 'tersane-runtime');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return BUNDLE_RUNTIME;
}

export const TERSANE_RUNTIME = findRuntime();
/** runtime-native/ itself (its Makefile, tests/ and build/). */
export const NATIVE_DIR = dirname(dirname(existsSync(TERSANE_RUNTIME) ? realpathSync(TERSANE_RUNTIME) : TERSANE_RUNTIME));

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The cgroup hierarchies of this host: every directory under /sys/fs/cgroup that is a cgroup mount. */
export function cgroupRoots(): string[] {
  const roots: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const line of mounts) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountpoint = line.split(' ')[4];
    if (mountpoint.startsWith('/sys/fs/cgroup')) roots.push(mountpoint);
  }
  return roots;
}

/**
 * Everything the runtime may have left of container `id` made from bundle `b`: its state
 * directory, its cgroup directory in any hierarchy, any mount of the bundle. With `parents`, also
 * the parent cgroup directories made for it (a failed create must leave none; a deleted container
 * leaves its parents, as runc does, for the next container of the same upper layer).
 */
export function leftovers(root: string, b: Bundle, id: string, parents = false): string[] {
  const found: string[] = [];
  if (existsSync(join(root, id))) found.push(`state dir ${join(root, id)}`);
  const mine = parents ? `/${b.cgroupsPath.split('/').filter(Boolean)[0]}` : b.cgroupsPath;
  for (const r of cgroupRoots()) {
    const d = join(r, mine);
    if (existsSync(d)) found.push(`cgroup ${d}`);
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(b.dir)) found.push(`mount ${line}`);
  }
  return found;
}

export class RuntimeHarness {
  readonly root: string;
  private bundles: Bundle[] = [];
  private ids = new Set<string>();
  private seq = 0;

  constructor(readonly bin: string = TERSANE_RUNTIME, readonly globalArgs: string[] = []) {
    this.root = mkdtempSync(join(tmpdir(), bin === RUNC ? 'tn-runc-root-' : 'tn-rt-root-'));
  }

  /** A busybox bundle (runc spec's shape, a cgroupsPath of its own) with `args`, then `edit`. */
  async bundle(args: string[], edit?: (config: any) => void): Promise<Bundle> {
    const b = await makeBusyboxBundle({ args });
    this.bundles.push(b);
    if (edit) {
      edit(b.config);
      b.save();
    }
    return b;
  }

  /** Runs the runtime synchronously: `--root <own root> [global args] …args`. Its stdout and
   * stderr go to files, not pipes: a container it leaves running inherits them, and a pipe would
   * keep the call waiting for the container's end. */
  run(args: string[], opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): RunResult {
    if (args[0] === 'create' || args[0] === 'run') this.ids.add(args[args.length - 1]);
    const n = this.seq++;
    const outPath = join(this.root, `.out-${n}`);
    const errPath = join(this.root, `.err-${n}`);
    const out = openSync(outPath, 'w+');
    const err = openSync(errPath, 'w+');
    try {
      const r = spawnSync(this.bin, ['--root', this.root, ...this.globalArgs, ...args], {
        encoding: 'utf8', timeout: opts.timeout ?? 60_000, input: opts.input ?? '', env: opts.env ?? process.env,
        stdio: ['pipe', out, err],
      });
      if (r.error) throw r.error;
      return { status: r.status, signal: r.signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
    } finally {
      closeSync(out);
      closeSync(err);
      rmSync(outPath, { force: true });
      rmSync(errPath, { force: true });
    }
  }

  /** The same, in the background; resolves when it exits. */
  spawn(args: string[]): { done: Promise<RunResult>; pid: number } {
    if (args[0] === 'create' || args[0] === 'run') this.ids.add(args[args.length - 1]);
    const child = spawn(this.bin, ['--root', this.root, ...this.globalArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<RunResult>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
    return { done, pid: child.pid ?? -1 };
  }

  state(id: string): any {
    const r = this.run(['state', id]);
    if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Waits until `state` reports `status` (or throws after `ms`). */
  async waitStatus(id: string, status: string, ms = 10_000): Promise<any> {
    const end = Date.now() + ms;
    for (;;) {
      const r = this.run(['state', id]);
      const s = r.status === 0 ? JSON.parse(r.stdout) : { status: `none (${r.stderr.trim()})` };
      if (s.status === status) return s;
      if (Date.now() > end) throw new Error(`${id}: status ${s.status}, wanted ${status}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  leftovers(b: Bundle, id: string, parents = false): string[] {
    return leftovers(this.root, b, id, parents);
  }

  /** Force-deletes every container this harness touched, removes bundles and the root. */
  async cleanup(): Promise<void> {
    for (const id of this.ids) spawnSync(this.bin, ['--root', this.root, 'delete', '--force', id], { encoding: 'utf8' });
    for (const b of this.bundles) await b.cleanup();
    try {
      if (statSync(this.root).isDirectory()) {
        for (const e of readdirSync(this.root)) rmSync(join(this.root, e), { recursive: true, force: true });
      }
    } catch {
      /* already gone */
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Splits the output of a script that prints `== name` before each section. */
export function sections(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  let cur = '';
  for (const line of out.split('\n')) {
    const m = /^== (.*)$/.exec(line);
    if (m) {
      cur = m[1];
      res[cur] = '';
    } else if (cur) {
      res[cur] += line + '\n';
    }
  }
  return res;
}

/** /proc/self/mountinfo reduced to "mountpoint fstype per-mount-options super-options" lines. */
export function reduceMountinfo(text: string): string[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    return `${f[4]} ${f[sep + 1]} ${f[5]} ${f[sep + 3]}`;
  });
}

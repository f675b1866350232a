/**
 * Images the security tests build for themselves (with the repo's tar tooling, loaded with
 * `docker load`): busybox plus the escape probe (runtime-native/tests/escape_probe.c) at
 * /usr/local/bin/escape_probe, and mount destinations that are symlinks out of the root:
 *
 *   /data      → <hostTarget>               (absolute: the host path, if a runtime followed it)
 *   /data-rel  → ../../../../../<hostTarget>  (climbing)
 *   /dev/shm   → <hostTarget>               (under /dev, which the runtime mounts over)
 *
 * @example
 *   await stack.docker(['load'], { input: probeImage({ hostTarget }).tar });
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxLayer } from './busybox.js';
import { dockerArchive, type BuiltImage } from '../../images/build.js';
import { TarWriter } from '../../services/containerd/tar.js';
import { REPO } from '../helpers/stack.js';

export const PROBE_IMAGE = 'tersane-escape-probe:latest';
export const PROBE_IN_IMAGE = '/usr/local/bin/escape_probe';
const NATIVE_DIR = join(REPO, 'runtime-native');
const MTIME = Date.parse('2024-01-01T00:00:00Z') / 1000;

/** Builds the probe binary (make target security-test-tools) and returns its path. */
export function buildProbe(): string {
  const m = spawnSync('make', ['-s', '-C', NATIVE_DIR, 'security-test-tools'], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`make security-test-tools: ${m.stderr}`);
  return join(NATIVE_DIR, 'build', 'tests', 'escape_probe');
}

export function probeImage(opts: { hostTarget: string }): BuiltImage {
  const probe = readFileSync(buildProbe());
  const w = new TarWriter();
  const meta = { mtime: MTIME, uid: 0, gid: 0 };
  const climb = '../../../../..' + opts.hostTarget;
  const layer = Buffer.concat([
    ...w.dir('usr/local', { ...meta, mode: 0o755 }),
    ...w.dir('usr/local/bin', { ...meta, mode: 0o755 }),
    ...w.file('usr/local/bin/escape_probe', probe, { ...meta, mode: 0o755 }),
    ...w.symlink('data', opts.hostTarget, meta),
    ...w.symlink('data-rel', climb, meta),
    ...w.dir('dev', { ...meta, mode: 0o755 }),
    ...w.symlink('dev/shm', opts.hostTarget, meta),
    ...w.end(),
  ]);
  const [repo, tag] = PROBE_IMAGE.split(':');
  return dockerArchive([buildBusyboxLayer(), layer], { repo, tag }, { cmd: ['sh'], createdBy: 'tersane test/security: escape probe' });
}

/**
 * A whole block device of the host (from /sys/block, lsblk's list) that the host's root can open
 * read-only — disks first, then zram and loop devices (a sandbox may keep even root off its disk) —
 * and its major:minor.
 */
export function hostBlockDevice(): { name: string; major: number; minor: number } {
  const rank = (n: string) => (/^(loop|zram|ram|nbd|sr)/.test(n) ? (/^zram/.test(n) ? 1 : 2) : 0);
  const names = readdirSync('/sys/block').sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) {
    try {
      closeSync(openSync(`/dev/${name}`, 'r'));
    } catch {
      continue;
    }
    const [major, minor] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
    return { name, major, minor };
  }
  throw new Error('no block device under /sys/block that the host can open');
}

/**
 * Test fixture: an OCI bundle on a busybox-static rootfs, shaped like `runc spec`'s default config
 * (the same namespaces, mounts, capabilities, masked and read-only paths), so the same bundle can be
 * run by tersane-runtime and by runc and their results compared.
 *
 * @example
 *   const b = await makeBusyboxBundle({ args: ['sh', '-c', 'id'] });
 *   // run it, then: await b.cleanup();
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const BUSYBOX = '/bin/busybox';
export const NATIVE_BUILD = new URL('../build/', import.meta.url).pathname;
export const TERSANE_RUNTIME = join(NATIVE_BUILD, 'tersane-runtime');
export const TERSANE_MONITOR = join(NATIVE_BUILD, 'tersane-monitor');

/** Docker's and runc's default capability set. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT',
  'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export interface Bundle {
  dir: string;
  rootfs: string;
  /** A cgroup path of the bundle's own, unique per bundle, so tests can run side by side. */
  cgroupsPath: string;
  config: any;
  /** Rewrites config.json from `config`. */
  save(): void;
  cleanup(): Promise<void>;
}

/** Builds a rootfs holding busybox and a symlink for each of its applets, plus passwd/group. */
export function makeBusyboxRootfs(rootfs: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home']) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  execFileSync('chmod', ['0755', join(rootfs, 'bin/busybox')]);
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const path of applets) {
    if (path === 'bin/busybox') continue;
    try {
      symlinkSync('/bin/busybox', join(rootfs, path));
    } catch {
      /* an applet listed twice */
    }
  }
  writeFileSync(join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(rootfs, 'etc/group'),
    'root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nnogroup:x:65534:\n');
  execFileSync('chmod', ['1777', join(rootfs, 'tmp')]);
}

/** The default config of `runc spec`, with a unique cgroupsPath and the given process args. */
export function defaultConfig(args: string[], cgroupsPath: string): any {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'tersane',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export async function makeBusyboxBundle(opts: { args?: string[]; parent?: string } = {}): Promise<Bundle> {
  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), 'tn-bundle-'));
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const cgroupsPath = `/tersane-test-${randomBytes(4).toString('hex')}/ctr`;
  const config = defaultConfig(opts.args ?? ['sh'], cgroupsPath);
  const bundle: Bundle = {
    dir,
    rootfs,
    cgroupsPath,
    config,
    save() {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(bundle.config, null, 2));
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
      removeCgroupTree(cgroupsPath.split('/').filter(Boolean)[0]);
    },
  };
  bundle.save();
  return bundle;
}

/** Removes /sys/fs/cgroup/<controller>/<top> (depth first) in every hierarchy, v1 and v2. */
export function removeCgroupTree(top: string): void {
  if (!top) return;
  try {
    execFileSync('sh', ['-c', `for d in /sys/fs/cgroup/*/${top} /sys/fs/cgroup/${top}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done; true`]);
  } catch {
    /* best effort: a leftover is reported by the tests that look for leftovers */
  }
}

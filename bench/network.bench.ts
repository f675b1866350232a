/**
 * Issue 5's benchmark: what networking costs a container start, tersane against Docker Engine (the
 * default bridge's `docker run --rm` is run-path.bench.ts's row), and what it carries:
 *
 *   - `docker run --rm` on a user-defined bridge network, and `docker run -d -p 80` (a published
 *     ephemeral port: namespace, veth, DNAT rules) through the real CLI, side by side as ratios;
 *   - container-to-container TCP throughput through a bridge (busybox dd | nc, 256 MiB: nc copies in
 *     1 KiB reads, so the figure is nc's ceiling as much as the bridge's — the same on both engines);
 *   - the kernel work of one container's network alone, by the three ways considered: tersane-net
 *     (rtnetlink from one process), ip(8) commands, and the CNI reference plugins — the measured
 *     reason for the choice (services/daemon/network/README.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../common/config.js';
import { formatCidr, formatIp, hostAt } from '../services/daemon/network/ipv4.js';
import { USER_POOL } from '../services/daemon/network/manager.js';
import { HostRegistry } from '../services/daemon/network/registry.js';
import { median, timeSync, type Row, type Section } from './lib.js';
import { onBothEngines, type Engine } from './engines.js';

const RUNS = 10;
const KERNEL_RUNS = 20;
/** Bytes sent through the bridge for the throughput figure. */
const THROUGHPUT_MIB = 256;
const CNI_PATH = '/usr/lib/cni';

interface EngineFigures {
  userNet: number;
  publish: number;
  throughput: number;
}

function measureEngine(e: Engine): EngineFigures {
  e.docker(['network', 'create', 'benchnet']);
  try {
    const runUser = () => e.docker(['run', '--rm', '--network', 'benchnet', 'busybox', 'true']);
    runUser();
    const userNet = median(Array.from({ length: RUNS }, () => timeSync(runUser)));
    const publish = median(
      Array.from({ length: RUNS }, (_, i) => {
        const ms = timeSync(() => e.docker(['run', '-d', '--name', `pub${i}`, '-p', '80', 'busybox', 'sleep', '60']));
        e.docker(['rm', '-f', `pub${i}`]);
        return ms;
      }),
    );
    // busybox nc -l closes when its stdin ends: a never-ending stdin keeps the sink open. The sender
    // writes through a fifo so dd's end marks the end of the transfer (nc waits for the peer after).
    e.docker(['run', '-d', '--name', 'sink', '--network', 'benchnet', 'busybox', 'sh', '-c', 'sleep 1000 | nc -l -p 5000 > /dev/null']);
    try {
      const script = [
        'sleep 0.5; mkfifo /tmp/f; nc sink 5000 < /tmp/f & nc=$!',
        't0=$(cut -d" " -f1 /proc/uptime)',
        `dd if=/dev/zero bs=65536 count=${THROUGHPUT_MIB * 16} > /tmp/f 2>/dev/null`,
        't1=$(cut -d" " -f1 /proc/uptime); kill $nc; echo "$t0 $t1"',
      ].join('; ');
      const [t0, t1] = e.docker(['run', '--rm', '--network', 'benchnet', 'busybox', 'sh', '-c', script]).trim().split(' ').map(Number);
      return { userNet, publish, throughput: (THROUGHPUT_MIB * 1048576 * 8) / (t1 - t0) / 1e9 };
    } finally {
      e.docker(['rm', '-f', 'sink']);
    }
  } finally {
    e.docker(['network', 'rm', 'benchnet']);
  }
}

function must(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, env: opts.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** One container's namespace + veth + address + route, made and unmade, three ways (ms per start and per stop). */
function measureKernel(): Row[] {
  const dir = mkdtempSync('/tmp/tn-netbench-');
  const registry = new HostRegistry(dir);
  const tag = Math.floor(Math.random() * 0xfffff).toString(16).padStart(5, '0');
  const bridge = `tnbench${tag}`;
  const net = registry.exclusive(() => {
    for (let i = 0; ; i++) {
      const c = { ip: (hostAt({ ip: 0x0a5c0000, prefix: 14 }, 0) + (255 - i) * 256) >>> 0, prefix: USER_POOL.prefix };
      if (!registry.subnetOverlapping(c)) {
        registry.reserveSubnet(c, 'bench');
        return c;
      }
    }
  });
  const gw = formatIp(hostAt(net, 1));
  const prefix = net.prefix;
  const helper = loadConfig().nativeBinary('tersane-net');
  const ns = (i: number) => join(dir, `ns${i}`);
  const addr = (i: number) => `${formatIp(hostAt(net, 10 + i))}/${prefix}`;
  const veth = (k: string, i: number) => `tvb${tag}${k}${i}`.slice(0, 15);
  const rows: Row[] = [];
  try {
    must(helper, ['bridge-create', `name=${bridge}`, `addr=${gw}/${prefix}`]);
    const time = (up: (i: number) => void, down: (i: number) => void) => {
      const ups: number[] = [];
      const downs: number[] = [];
      for (let i = 0; i < KERNEL_RUNS; i++) {
        ups.push(timeSync(() => up(i)));
        downs.push(timeSync(() => down(i)));
      }
      return { up: median(ups), down: median(downs) };
    };
    const ours = time(
      (i) => must(helper, ['netns-create', `path=${ns(i)}`, 'veth-create', `netns=${ns(i)}`, `bridge=${bridge}`, `host=${veth('a', i)}`, 'name=eth0', `addr=${addr(i)}`, `mac=02:42:0a:00:00:${(i + 16).toString(16)}`, `gw=${gw}`]),
      (i) => must(helper, ['netns-delete', `path=${ns(i)}`]),
    );
    const ip = time(
      (i) => {
        writeFileSync(ns(i), '');
        must('unshare', [`--net=${ns(i)}`, 'true']);
        must('ip', ['link', 'add', veth('b', i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i)]);
        must('ip', ['link', 'set', veth('b', i), 'master', bridge, 'up']);
        must('nsenter', [`--net=${ns(i)}`, 'ip', '-b', '-'], { input: `link set lo up\nlink set eth0 up\naddr add ${addr(i)} dev eth0\nroute add default via ${gw}\n` });
      },
      (i) => {
        must('umount', [ns(i)]);
        rmSync(ns(i));
      },
    );
    let cni: { up: number; down: number } | undefined;
    if (spawnSync('test', ['-x', join(CNI_PATH, 'bridge')]).status === 0) {
      const conf = (type: string, extra: object) => JSON.stringify({ cniVersion: '1.0.0', name: `bench${tag}`, type, ...extra });
      const bridgeConf = conf('bridge', { bridge, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: formatCidr(net), gateway: gw }]], dataDir: join(dir, 'ipam') } });
      const env = (cmd: string, i: number, ifname: string) => ({ ...process.env, CNI_COMMAND: cmd, CNI_CONTAINERID: `bench${i}`, CNI_NETNS: ns(i), CNI_IFNAME: ifname, CNI_PATH });
      cni = time(
        (i) => {
          writeFileSync(ns(i), '');
          must('unshare', [`--net=${ns(i)}`, 'true']);
          must(join(CNI_PATH, 'loopback'), [], { input: conf('loopback', {}), env: env('ADD', i, 'lo') });
          must(join(CNI_PATH, 'bridge'), [], { input: bridgeConf, env: env('ADD', i, 'eth0') });
        },
        (i) => {
          must(join(CNI_PATH, 'bridge'), [], { input: bridgeConf, env: env('DEL', i, 'eth0') });
          must('umount', [ns(i)]);
          rmSync(ns(i));
        },
      );
    }
    const note = 'namespace + veth on a bridge + address + default route';
    rows.push({ name: `tersane-net (one process, rtnetlink): start (median of ${KERNEL_RUNS})`, ours: ours.up, unit: 'ms', note });
    rows.push({ name: `tersane-net: stop (namespace unbound; the kernel frees its veths)`, ours: ours.down, unit: 'ms' });
    rows.push({ name: `ip(8) commands (4 processes): start`, ours: ip.up, unit: 'ms', note: 'the alternative considered' });
    rows.push({ name: `ip(8): stop (umount)`, ours: ip.down, unit: 'ms' });
    if (cni) {
      rows.push({ name: `CNI bridge + host-local + loopback plugins: start`, ours: cni.up, unit: 'ms', note: 'the alternative considered (portmap adds more for -p)' });
      rows.push({ name: `CNI: stop (bridge DEL, umount)`, ours: cni.down, unit: 'ms' });
    }
  } finally {
    for (let i = 0; i < KERNEL_RUNS; i++) {
      spawnSync('umount', ['-l', ns(i)]);
      for (const k of ['a', 'b']) spawnSync('ip', ['link', 'del', veth(k, i)]);
    }
    spawnSync(helper, ['bridge-delete', `name=${bridge}`]);
    registry.exclusive(() => registry.releaseSubnet(formatCidr(net)));
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export const sections: Section[] = [
  {
    title: 'network: docker run on a user-defined bridge, docker run -d -p, bridge TCP throughput (real docker CLI)',
    async run(): Promise<Row[]> {
      const { ours, ref } = await onBothEngines((e) => measureEngine(e));
      const row = (name: string, key: keyof EngineFigures, unit: string): Row => ({
        name,
        ours: ours[key],
        reference: ref?.[key],
        referenceName: 'Docker Engine',
        unit,
      });
      return [
        row(`docker run --rm --network benchnet busybox true (median of ${RUNS})`, 'userNet', 'ms'),
        row(`docker run -d -p 80 busybox sleep 60 (median of ${RUNS})`, 'publish', 'ms'),
        { ...row(`container → container TCP through the bridge (busybox dd | nc, ${THROUGHPUT_MIB} MiB)`, 'throughput', 'Gbit/s'), note: 'higher is better; busybox nc copies 1 KiB at a time' },
      ];
    },
  },
  {
    title: 'network: one container’s namespace and veth — tersane-net against ip(8) and the CNI plugins',
    async run(): Promise<Row[]> {
      return measureKernel();
    },
  },
];

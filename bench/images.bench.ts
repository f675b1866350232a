/**
 * Image layer unpacking: tersane-unpack on a ~50 MB (uncompressed) image of 5 gzip layers, against
 * GNU tar (`tar -xzf`, which also runs gzip) as the reference, in MB/s of uncompressed layer bytes.
 * tersane-unpack does more than tar: it hashes every byte (the diff id) and resolves every path
 * with openat2 in the destination's root. A third row decompresses in Node (zlib) and pipes the
 * raw tar to tersane-unpack, to show where decompression is cheaper.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { median, mustRun, timeAsync, timeSync, type Row, type Section } from './lib.js';
import { loadConfig } from '../common/config.js';
import { TarWriter } from '../services/containerd/tar.js';

const LAYERS = 5;
const LAYER_BYTES = 7 * 1024 * 1024;
const RUNS = 5;

/** A layer like a real one: many files of varied size, text-like content that gzip compresses ~3x. */
function makeLayer(seed: number): Buffer {
  const w = new TarWriter();
  const parts: Buffer[] = [];
  const words = ['lorem', 'ipsum', 'container', 'layer', 'overlay', 'snapshot', 'digest', 'manifest', 'runtime', 'namespace'];
  let total = 0;
  let n = 0;
  let x = seed * 7919 + 1;
  const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
  for (let d = 0; total < LAYER_BYTES; d++) {
    parts.push(...w.dir(`usr/share/l${seed}/d${d}`));
    for (let f = 0; f < 40 && total < LAYER_BYTES; f++, n++) {
      const size = 512 + (rand() % 64) * 1024;
      const text: string[] = [];
      let len = 0;
      while (len < size) {
        const wd = `${words[rand() % words.length]}${rand() % 1000} `;
        text.push(wd);
        len += wd.length;
      }
      const data = Buffer.from(text.join('')).subarray(0, size);
      parts.push(...w.file(`usr/share/l${seed}/d${d}/f${f}`, data, { mode: 0o644 }));
      total += data.length;
    }
  }
  parts.push(...w.end());
  return Buffer.concat(parts);
}

/**
 * On this machine's ext4 the creation of a file costs ~0.5 ms whoever creates it, so the disk rows
 * mostly measure the filesystem; the tmpfs rows show the unpackers' own cost.
 */
async function unpackThroughput(base: string, where: string): Promise<Row[]> {
  const unpack = loadConfig().nativeBinary('tersane-unpack');
  const dir = mkdtempSync(join(base, 'tn-bench-images-'));
  try {
    const layers = Array.from({ length: LAYERS }, (_, i) => makeLayer(i + 1));
    const rawBytes = layers.reduce((s, l) => s + l.length, 0);
    const files = layers.map((l, i) => {
      const f = join(dir, `layer${i}.tar.gz`);
      writeFileSync(f, gzipSync(l, { level: 6 }));
      return f;
    });
    const gzBytes = files.reduce((s, f) => s + Number(mustRun('stat', ['-c', '%s', f]).trim()), 0);
    const fresh = (name: string) => {
      const d = join(dir, name);
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d);
      return d;
    };
    const ours: number[] = [];
    const tar: number[] = [];
    const nodeGunzip: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Destinations are emptied before each timing: removing the last run's files is not unpacking.
      const dests = (kind: string) => files.map((_, i) => fresh(`${kind}-${i}`));
      const oursDirs = dests('ours');
      const tarDirs = dests('tar');
      const nodeDirs = dests('node');
      spawnSync('sync');
      ours.push(timeSync(() => {
        files.forEach((f, i) => {
          const r = spawnSync('sh', ['-c', `exec "$0" --dir "$1" < "$2" > /dev/null`, unpack, oursDirs[i], f]);
          if (r.status !== 0) throw new Error(`tersane-unpack failed: ${r.stderr}`);
        });
      }));
      spawnSync('sync');
      tar.push(timeSync(() => {
        files.forEach((f, i) => mustRun('tar', ['-xzf', f, '-C', tarDirs[i]]));
      }));
      spawnSync('sync');
      nodeGunzip.push(await timeAsync(async () => {
        for (const [i, f] of files.entries()) {
          const child = spawn(unpack, ['--dir', nodeDirs[i], '--compression', 'none'], { stdio: ['pipe', 'ignore', 'inherit'] });
          const done = new Promise<void>((res, rej) => child.on('close', (c) => (c === 0 ? res() : rej(new Error(`exit ${c}`)))));
          await pipeline(createReadStream(f), createGunzip(), child.stdin);
          await done;
        }
      }));
    }
    const mb = rawBytes / 1e6;
    const mbps = (ms: number) => mb / (ms / 1000);
    const m = { ours: median(ours), tar: median(tar), node: median(nodeGunzip) };
    return [
      {
        name: `${where}: unpack ${LAYERS} gzip layers, ${mb.toFixed(1)} MB (${(gzBytes / 1e6).toFixed(1)} MB gzip), median of ${RUNS}`,
        ours: mbps(m.ours),
        reference: mbps(m.tar),
        referenceName: 'tar -xzf',
        unit: 'MB/s',
        note: 'higher is better; tersane-unpack also computes the diff id and resolves paths with openat2',
      },
      {
        name: `${where}: same, gunzip in Node piped to tersane-unpack --compression none`,
        ours: mbps(m.node),
        reference: mbps(m.ours),
        referenceName: 'zlib inside tersane-unpack',
        unit: 'MB/s',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sections: Section[] = [
  {
    title: 'Images: layer unpack throughput (tersane-unpack vs GNU tar)',
    run: async () => [...(await unpackThroughput(tmpdir(), 'disk (ext4)')), ...(await unpackThroughput('/dev/shm', 'tmpfs'))],
  },
];

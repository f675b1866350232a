/**
 * `docker pull` of a ~50 MB, 5-layer image (busybox and four layers of random data, gzip) from a
 * local docker-registry (distribution 2.8) on 127.0.0.1: tersane against Docker Engine (Debian's
 * docker.io, plain HTTP to 127.0.0.0/8 as Docker allows by default), side by side, median of 3
 * cold pulls each (the image and its layers removed between runs), plus the layer data each engine
 * lands per second of pull.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readTar, TarWriter } from '../services/containerd/tar.js';
import { IMAGES } from '../test/helpers/stack.js';
import { pushImage, putBlob, sha256, startRegistry, type Registry } from '../test/registry/registry.js';
import { dockerEngineInstalled, startDockerEngine, startTersane, type Engine } from './engines.js';
import { median, timeAsync, type Row, type Section } from './lib.js';

const RUNS = 3;
const DATA_LAYERS = 4;
const FILES_PER_LAYER = 12;
const FILE_BYTES = 1024 * 1024;
const TARGET_RATIO = 0.7;

async function busyboxLayer(): Promise<Buffer> {
  for await (const e of readTar((async function* () { yield readFileSync(join(IMAGES, 'busybox.tar')); })())) {
    const parts: Buffer[] = [];
    for await (const p of e.data) parts.push(p);
    if (e.name.endsWith('layer.tar')) return Buffer.concat(parts);
  }
  throw new Error('busybox.tar has no layer');
}

/** Pushes the benchmark image; answers its reference and its uncompressed size. */
async function pushBenchImage(reg: Registry): Promise<{ ref: string; tarBytes: number; blobBytes: number }> {
  const tars = [await busyboxLayer()];
  for (let l = 0; l < DATA_LAYERS; l++) {
    const w = new TarWriter();
    const parts: Buffer[] = [...w.dir(`data${l}`, { mode: 0o755 })];
    for (let f = 0; f < FILES_PER_LAYER; f++) parts.push(...w.file(`data${l}/f${f}.bin`, randomBytes(FILE_BYTES), { mode: 0o644 }));
    parts.push(...w.end());
    tars.push(Buffer.concat(parts));
  }
  const layers = [];
  let blobBytes = 0;
  for (const tar of tars) {
    const gz = gzipSync(tar, { level: 6 });
    const pushed = await putBlob(reg, 'bench/pull', gz);
    blobBytes += gz.length;
    layers.push({ blob: gz, diffId: sha256(tar), digest: pushed.digest, size: pushed.size });
  }
  await pushImage(reg, 'bench/pull', '1', layers);
  return { ref: `${reg.host}/bench/pull:1`, tarBytes: tars.reduce((s, t) => s + t.length, 0), blobBytes };
}

/** Median milliseconds of RUNS cold pulls. */
async function coldPulls(engine: Engine, ref: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    times.push(await timeAsync(async () => engine.docker(['pull', '-q', ref])));
    engine.docker(['rmi', ref]);
  }
  return median(times);
}

export const sections: Section[] = [
  {
    title: 'Images: docker pull of a ~50 MB, 5-layer image from a local registry (tersane vs Docker Engine)',
    async run(): Promise<Row[]> {
      const reg = await startRegistry();
      const engines: Engine[] = [];
      try {
        const image = await pushBenchImage(reg);
        const tersane = await startTersane();
        engines.push(tersane);
        const ours = await coldPulls(tersane, image.ref);
        let docker: number | undefined;
        if (dockerEngineInstalled()) {
          const d = await startDockerEngine();
          engines.push(d);
          docker = await coldPulls(d, image.ref);
        }
        const mb = image.tarBytes / 1e6;
        const rows: Row[] = [
          {
            name: `pull ${mb.toFixed(1)} MB in 5 layers (${(image.blobBytes / 1e6).toFixed(1)} MB gzip), median of ${RUNS} cold pulls`,
            ours,
            reference: docker,
            referenceName: 'Docker Engine',
            unit: 'ms',
            targetRatio: docker === undefined ? undefined : TARGET_RATIO,
            note: docker === undefined ? 'Docker Engine not installed: no reference' : 'lower is better',
          },
          {
            name: 'layer data landed per second of pull (download, verify, unpack)',
            ours: mb / (ours / 1000),
            reference: docker === undefined ? undefined : mb / (docker / 1000),
            referenceName: 'Docker Engine',
            unit: 'MB/s',
            note: 'higher is better',
          },
        ];
        return rows;
      } finally {
        for (const e of engines.reverse()) await e.stop();
        await reg.stop();
      }
    },
  },
];

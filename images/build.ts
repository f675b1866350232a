/**
 * Builds the test images from Debian packages as docker-archive tarballs (`docker load` format),
 * byte for byte the same for the same inputs, so the same busybox gives the same image id.
 *
 *   node dist/images/build.js --out images/out     → images/out/busybox.tar (busybox:latest)
 *                                                    images/out/nginx.tar   (nginx:latest, nginx.ts)
 *
 * busybox: /bin/busybox from busybox-static, a symlink per applet as `busybox --list-full` names
 * them, /etc/passwd (root, daemon, nobody), /etc/group, /tmp (1777), /root, /home; Cmd ["sh"].
 * The build is skipped when the output exists and its inputs (the busybox binary, this builder's
 * format version) have not changed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TarWriter } from '../services/containerd/tar.js';
import { writeNginx } from './nginx.js';

/** Bumped whenever the produced bytes change for the same busybox. */
const FORMAT_VERSION = 1;
const BUSYBOX = '/bin/busybox';
/** A fixed creation time: the image id depends only on the contents. */
const CREATED = '2024-01-01T00:00:00Z';
const MTIME = Date.parse(CREATED) / 1000;
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
].join('\n') + '\n';
const GROUP = ['root:x:0:', 'daemon:x:1:', 'wheel:x:10:root', 'nogroup:x:65534:'].join('\n') + '\n';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The busybox root filesystem as one deterministic layer tar. */
export function busyboxLayer(busybox: Buffer, applets: string[]): Buffer {
  const w = new TarWriter();
  const parts: Buffer[] = [];
  const meta = { mtime: MTIME, uid: 0, gid: 0 };
  const dirs: Array<[string, number]> = [
    ['bin', 0o755], ['etc', 0o755], ['home', 0o755], ['root', 0o700], ['sbin', 0o755], ['tmp', 0o1777],
    ['usr', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755],
  ];
  for (const [d, mode] of dirs) parts.push(...w.dir(d, { ...meta, mode }));
  parts.push(...w.file('bin/busybox', busybox, { ...meta, mode: 0o755 }));
  const links = [...new Set(applets)].filter((a) => a !== 'bin/busybox' && /^(bin|sbin|usr\/bin|usr\/sbin)\/[^/]+$/.test(a)).sort();
  for (const link of links) parts.push(...w.symlink(link, '/bin/busybox', meta));
  parts.push(...w.file('etc/group', Buffer.from(GROUP), { ...meta, mode: 0o644 }));
  parts.push(...w.file('etc/passwd', Buffer.from(PASSWD), { ...meta, mode: 0o644 }));
  parts.push(...w.end());
  return Buffer.concat(parts);
}

export interface BuiltImage {
  tar: Buffer;
  id: string;
}

/** What an image's config says beyond its Cmd (each key is left out when not given). */
export interface ImageConfigExtras {
  env?: string[];
  exposedPorts?: string[];
  volumes?: string[];
  stopSignal?: string;
  /** The history's created_by. */
  createdBy?: string;
}

/**
 * A legacy docker-archive (manifest.json, <config>.json, <layer>/layer.tar, repositories) of one or
 * more layers (bottom first).
 */
export function dockerArchive(layer: Buffer | Buffer[], tag: { repo: string; tag: string }, config: { cmd: string[] } & ImageConfigExtras): BuiltImage {
  const layers = Array.isArray(layer) ? layer : [layer];
  const diffIds = layers.map((l) => `sha256:${sha256(l)}`);
  const runConfig: Record<string, unknown> = { Env: config.env ?? [PATH_ENV], Cmd: config.cmd };
  if (config.exposedPorts) runConfig.ExposedPorts = Object.fromEntries(config.exposedPorts.map((p) => [p, {}]));
  if (config.volumes) runConfig.Volumes = Object.fromEntries(config.volumes.map((v) => [v, {}]));
  if (config.stopSignal) runConfig.StopSignal = config.stopSignal;
  const createdBy = config.createdBy ?? 'tersane images/build.ts: busybox-static';
  const imageConfig = {
    architecture: 'amd64',
    config: runConfig,
    created: CREATED,
    history: layers.map(() => ({ created: CREATED, created_by: createdBy })),
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configBytes = Buffer.from(JSON.stringify(imageConfig));
  const configHex = sha256(configBytes);
  // The v1 layer ids: any stable 64-hex names; these are the chain ids.
  const layerIds: string[] = [];
  for (const d of diffIds) layerIds.push(layerIds.length === 0 ? sha256(d) : sha256(`${layerIds[layerIds.length - 1]} ${d}`));
  const manifest = [{ Config: `${configHex}.json`, RepoTags: [`${tag.repo}:${tag.tag}`], Layers: layerIds.map((id) => `${id}/layer.tar`) }];
  const top = layerIds[layerIds.length - 1];
  const repositories = { [tag.repo]: { [tag.tag]: top } };
  const w = new TarWriter();
  const meta = { mtime: MTIME };
  const parts: Buffer[] = [...w.file(`${configHex}.json`, configBytes, meta)];
  layerIds.forEach((id, i) => {
    const v1 = { id, ...(i > 0 ? { parent: layerIds[i - 1] } : {}), created: CREATED, container_config: { Cmd: null }, os: 'linux' };
    parts.push(
      ...w.dir(id, meta),
      ...w.file(`${id}/VERSION`, Buffer.from('1.0'), meta),
      ...w.file(`${id}/json`, Buffer.from(JSON.stringify(v1)), meta),
      ...w.file(`${id}/layer.tar`, layers[i], meta),
    );
  });
  parts.push(...w.file('manifest.json', Buffer.from(JSON.stringify(manifest)), meta), ...w.file('repositories', Buffer.from(JSON.stringify(repositories)), meta), ...w.end());
  return { tar: Buffer.concat(parts), id: `sha256:${configHex}` };
}

export function buildBusybox(): BuiltImage {
  const busybox = readFileSync(BUSYBOX);
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return dockerArchive(busyboxLayer(busybox, applets), { repo: 'busybox', tag: 'latest' }, { cmd: ['sh'] });
}

function main(): void {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const out = resolve(i >= 0 && args[i + 1] ? args[i + 1] : 'images/out');
  if (!existsSync(BUSYBOX)) {
    console.error(`images: ${BUSYBOX} not found: install the busybox-static package`);
    process.exit(1);
  }
  mkdirSync(out, { recursive: true });
  const target = join(out, 'busybox.tar');
  const stamp = `${target}.inputs`;
  const inputs = `format ${FORMAT_VERSION}\nbusybox ${sha256(readFileSync(BUSYBOX))}\n`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs) {
    console.error(`images: ${target} is up to date`);
  } else {
    const image = buildBusybox();
    writeFileSync(`${target}.tmp`, image.tar);
    renameSync(`${target}.tmp`, target);
    writeFileSync(stamp, inputs);
    console.error(`images: wrote ${target} (busybox:latest, ${image.id})`);
  }
  writeNginx(out);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();

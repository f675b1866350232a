/**
 * Test helpers for driving containerd over gRPC: a load from a tar in memory (in chunks, as the
 * daemon streams it), an export into memory, and snapshots of what containerd keeps on disk and
 * in its database, to compare before and after.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../../common/config.js';
import { streamError } from '../../common/grpc.js';
import type { LoadProgress__Output } from '../../common/proto-types/tersane/containerd/v1/LoadProgress.js';
import type { ContainerdClients } from '../../services/containerd/client.js';

export const LOAD_CHUNK = 64 * 1024;

/** Streams `tar` into Images.Load; resolves with every progress message, rejects with the error. */
export function load(c: ContainerdClients, tar: Buffer, chunk = LOAD_CHUNK): Promise<LoadProgress__Output[]> {
  return new Promise((resolve, reject) => {
    const call = c.images.raw.Load(c.images.metadata());
    const out: LoadProgress__Output[] = [];
    call.on('data', (m: LoadProgress__Output) => out.push(m));
    call.on('error', (err) => reject(streamError('containerd', err)));
    call.on('end', () => resolve(out));
    (async () => {
      for (let off = 0; off < tar.length; off += chunk) {
        if (!call.write({ data: tar.subarray(off, off + chunk) })) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    })().catch(reject);
  });
}

export function exportImages(c: ContainerdClients, refs: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = c.images.raw.Export({ refs }, c.images.metadata());
    const parts: Buffer[] = [];
    call.on('data', (m: { data: Buffer }) => parts.push(m.data));
    call.on('error', (err) => reject(streamError('containerd', err)));
    call.on('end', () => resolve(Buffer.concat(parts)));
  });
}

/** What containerd holds: blob files, snapshot dirs, ingest files, bundles, and its rows. */
export function stateOf(cfg: Config): Record<string, string[]> {
  const dir = cfg.layerState('containerd');
  const ls = (p: string) => (existsSync(p) ? readdirSync(p).sort() : []);
  const db = new Database(join(dir, 'containerd.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = (sql: string) => (db.prepare(sql).all() as object[]).map((r) => JSON.stringify(r));
    return {
      blobs: ls(join(dir, 'content', 'blobs', 'sha256')),
      ingest: ls(join(dir, 'content', 'ingest')),
      snapshots: ls(join(dir, 'snapshots')),
      bundles: ls(join(dir, 'bundles')),
      images: rows('SELECT id FROM images ORDER BY id'),
      names: rows('SELECT name, image_id FROM image_names ORDER BY name'),
      layers: rows('SELECT image_id, idx, chain_id FROM image_layers ORDER BY image_id, idx'),
      snapshotRows: rows('SELECT id, kind, chain_id FROM snapshots ORDER BY id'),
      containers: rows('SELECT id FROM containers ORDER BY id'),
    };
  } finally {
    db.close();
  }
}

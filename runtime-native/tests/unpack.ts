/**
 * Test helpers for tersane-unpack: run it on a tar in memory, and craft headers the writer would
 * never produce (base-256 sizes, GNU long names).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK, headerBlock, type EntryHeader } from '../../services/containerd/tar.js';

export const TERSANE_UNPACK = new URL('../build/tersane-unpack', import.meta.url).pathname;

export interface UnpackRun {
  code: number;
  stdout: string;
  stderr: string;
  result?: { diff_id: string; size: number; tar_size: number; compression: string };
}

export function unpack(input: Buffer, dest: string, args: string[] = []): UnpackRun {
  const r = spawnSync(TERSANE_UNPACK, ['--dir', dest, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  const out: UnpackRun = { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  if (out.code === 0) out.result = JSON.parse(r.stdout);
  return out;
}

/** A header whose size field is the given raw bytes (checksum recomputed). */
export function headerWithSizeBytes(h: EntryHeader, size: Buffer): Buffer {
  const b = headerBlock(h);
  size.copy(b, 124, 0, 12);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** A GNU long-name ('L') or long-link ('K') record for the entry that follows. */
export function gnuLong(kind: 'L' | 'K', text: string): Buffer[] {
  const data = Buffer.from(text + '\0');
  return [headerBlock({ name: '././@LongLink', type: 'file', size: data.length, typeFlag: kind }), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)];
}

/** Every path under dir with its type, size and content hash: what "nothing changed" compares. */
export function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      const h = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16) : '';
      out.push(`${join(rel, n)} ${st.mode.toString(8)} ${st.size} ${st.nlink} ${h}`);
      if (st.isDirectory()) walk(p, join(rel, n));
    }
  };
  walk(dir, '');
  return out;
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

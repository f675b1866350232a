/**
 * Reading a container's json-file log, as the monitor writes it (runtime-native/monitor/PROTOCOL.md):
 * one JSON object per line, {"log":"…","stream":"stdout","time":"RFC3339Nano"}, rotated to
 * FILE.1 … FILE.N-1 (FILE.N-1 oldest). Docker's filters: tail (counted over all streams, applied
 * first), since/until, stdout/stderr; follow watches for appends and rotation and ends once the
 * container has stopped and the log is drained.
 *
 * @example
 *   for await (const e of readLog(paths.log, { follow: true, tail: 10, ... }, () => running(id))) send(e);
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseRfc3339Nano } from '../../common/time.js';

export interface LogEntryOut {
  stream: 'stdout' | 'stderr';
  line: Buffer;
  time: string;
}

export interface LogReadOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Unix ns; 0 for unbounded. */
  sinceNs: bigint;
  untilNs: bigint;
  /** Last N entries; negative for all. */
  tail: number;
  signal?: AbortSignal;
}

const CHUNK = 64 * 1024;
/** How often a follower looks again when no file event woke it (rotation, exit, missed events). */
export const FOLLOW_POLL_MS = 250;

/** The log's files, oldest first: FILE.(N-1) … FILE.1, FILE. */
export async function logFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a)
    .map((n) => join(dir, `${base}.${n}`));
  return names.includes(base) ? [...rotated, path] : rotated;
}

interface Position {
  file: number;
  offset: number;
}

/**
 * Where reading starts so that exactly the last `n` complete lines follow. A line is complete
 * once its newline is written; a last line still being written is not counted.
 */
async function tailPosition(files: string[], n: number): Promise<Position> {
  let needed = n;
  for (let f = files.length - 1; f >= 0; f--) {
    const fh = await open(files[f], 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      let pos = (await fh.stat()).size;
      const buf = Buffer.alloc(CHUNK);
      let seenNewline = false;
      while (pos > 0) {
        const len = Math.min(CHUNK, pos);
        pos -= len;
        await fh.read(buf, 0, len, pos);
        for (let i = len - 1; i >= 0; i--) {
          if (buf[i] !== 0x0a) continue;
          // The newline that ends the file's last complete line starts nothing.
          if (!seenNewline) {
            seenNewline = true;
            continue;
          }
          if (--needed === 0) return { file: f, offset: pos + i + 1 };
        }
      }
      // The file's first line starts at 0 (if the file holds any complete line).
      if (seenNewline && --needed === 0) return { file: f, offset: 0 };
    } finally {
      await fh.close();
    }
  }
  return { file: 0, offset: 0 };
}

interface RawLine {
  log: string;
  stream: string;
  time: string;
}

function parseLine(line: string): RawLine | undefined {
  try {
    const doc = JSON.parse(line) as RawLine;
    if (typeof doc.log !== 'string' || typeof doc.time !== 'string') return undefined;
    return doc;
  } catch {
    return undefined;
  }
}

/**
 * The log's entries after Docker's filters. `running()` tells a follower whether more output can
 * come; the follower ends when it says no and the files are drained.
 */
export async function* readLog(path: string, opts: LogReadOptions, running: () => boolean): AsyncGenerator<LogEntryOut> {
  for await (const batch of readLogBatches(path, opts, running)) yield* batch;
}

/** At most this many lines (or bytes of them) go out together. */
export const BATCH_LINES = 1024;
export const BATCH_BYTES = 256 * 1024;

/**
 * readLog's entries in batches: what one read of the log brings, cut at BATCH_LINES/BATCH_BYTES;
 * a follower gets what it has before it waits for more.
 */
export async function* readLogBatches(path: string, opts: LogReadOptions, running: () => boolean): AsyncGenerator<LogEntryOut[]> {
  if (opts.tail === 0 && !opts.follow) return;
  let files = await logFiles(path);
  let pos: Position = { file: 0, offset: 0 };
  if (opts.tail > 0) pos = await tailPosition(files, opts.tail);
  else if (opts.tail === 0) pos = { file: files.length - 1, offset: files.length > 0 ? (await stat(files[files.length - 1])).size : 0 };

  // The time is only read when --since or --until asks: parsing it costs as much as the line.
  const bounded = opts.sinceNs > 0n || opts.untilNs > 0n;
  const accept = (raw: RawLine): 'skip' | 'take' | 'stop' => {
    if (bounded) {
      let ns: bigint;
      try {
        ns = parseRfc3339Nano(raw.time);
      } catch {
        return 'skip';
      }
      if (opts.sinceNs > 0n && ns < opts.sinceNs) return 'skip';
      if (opts.untilNs > 0n && ns > opts.untilNs) return 'stop';
    }
    if (raw.stream === 'stderr' ? !opts.stderr : !opts.stdout) return 'skip';
    return 'take';
  };

  let batch: LogEntryOut[] = [];
  let batchBytes = 0;
  /** The batch so far, emptied (for a yield). */
  const takeBatch = (): LogEntryOut[] => {
    const out = batch;
    batch = [];
    batchBytes = 0;
    return out;
  };
  /** Adds a line; 'stop' past --until; a full batch when one is ready to go out. */
  const add = (text: string): 'stop' | LogEntryOut[] | undefined => {
    const raw = parseLine(text);
    if (!raw) return undefined;
    const verdict = accept(raw);
    if (verdict === 'stop') return 'stop';
    if (verdict === 'skip') return undefined;
    const line = Buffer.from(raw.log, 'utf8');
    batch.push({ stream: raw.stream === 'stderr' ? 'stderr' : 'stdout', line, time: raw.time });
    batchBytes += line.length;
    return batch.length >= BATCH_LINES || batchBytes >= BATCH_BYTES ? takeBatch() : undefined;
  };

  // Rotated files are complete: read them through.
  for (; pos.file < files.length - 1; pos = { file: pos.file + 1, offset: 0 }) {
    const fh = await open(files[pos.file], 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      for await (const line of linesFrom(fh, pos.offset)) {
        const r = add(line.text);
        if (r === 'stop') {
          if (batch.length) yield takeBatch();
          return;
        }
        if (r) yield r;
      }
    } finally {
      await fh.close();
    }
  }

  // The live file: read to its end, then (following) wait for more, switching files on rotation.
  let fh = files.length > 0 ? await open(path, 'r').catch(() => undefined) : undefined;
  let offset = fh ? pos.offset : 0;
  let pending = '';
  const waker = opts.follow ? new Waker(dirname(path)) : undefined;
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      if (!fh) fh = await open(path, 'r').catch(() => undefined);
      if (fh) {
        const drained = await readAvailable(fh, offset, pending);
        offset = drained.offset;
        pending = drained.pending;
        for (const text of drained.lines) {
          const r = add(text);
          if (r === 'stop') {
            if (batch.length) yield takeBatch();
            return;
          }
          if (r) yield r;
        }
      }
      if (batch.length) yield takeBatch();
      if (!opts.follow) return;
      // Rotated? The path now names a new file: finish the old one (done above), then switch.
      const current = await stat(path).catch(() => undefined);
      const mine = fh ? await fh.stat().catch(() => undefined) : undefined;
      if (fh && current && mine && current.ino !== mine.ino) {
        const rest = await readAvailable(fh, offset, pending);
        for (const text of rest.lines) {
          const r = add(text);
          if (r && r !== 'stop') yield r;
        }
        if (batch.length) yield takeBatch();
        await fh.close();
        fh = undefined;
        offset = 0;
        pending = '';
        continue;
      }
      if (!running()) {
        // One more pass: output written just before the exit is in the file by now.
        if (fh) {
          const last = await readAvailable(fh, offset, pending);
          for (const text of last.lines) {
            const r = add(text);
            if (r && r !== 'stop') yield r;
          }
          if (batch.length) yield takeBatch();
        }
        return;
      }
      if (opts.untilNs > 0n && BigInt(Date.now()) * 1_000_000n > opts.untilNs) return;
      await waker!.wait(FOLLOW_POLL_MS, opts.signal);
    }
  } finally {
    waker?.close();
    await fh?.close().catch(() => undefined);
  }
}

async function readAvailable(fh: FileHandle, offset: number, pending: string): Promise<{ offset: number; pending: string; lines: string[] }> {
  const lines: string[] = [];
  const buf = Buffer.alloc(CHUNK);
  let text = pending;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
    text += buf.subarray(0, bytesRead).toString('utf8');
    const parts = text.split('\n');
    text = parts.pop()!;
    lines.push(...parts.filter((p) => p !== ''));
  }
  return { offset, pending: text, lines };
}

async function* linesFrom(fh: FileHandle, offset: number): AsyncGenerator<{ text: string }> {
  const buf = Buffer.alloc(CHUNK);
  let pos = offset;
  let rest = '';
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    rest += buf.subarray(0, bytesRead).toString('utf8');
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p !== '') yield { text: p };
  }
  if (rest !== '') yield { text: rest };
}

/** Wakes a follower on any change in the log's directory, or after a timeout. */
class Waker {
  private watcher?: FSWatcher;
  private wake?: () => void;

  constructor(dir: string) {
    try {
      this.watcher = watch(dir, () => this.wake?.());
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify (or the dir is gone): polling alone.
    }
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
  }
}

import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLog, type LogReadOptions } from './logs.js';

let dir: string;
let log: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tersane-logs-'));
  log = join(dir, 'c-json.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const t = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000000001Z`;
const ns = (s: number) => BigInt(Date.parse(`2026-01-01T00:00:${String(s).padStart(2, '0')}Z`)) * 1_000_000n + 1n;
const line = (text: string, s: number, stream = 'stdout') => JSON.stringify({ log: `${text}\n`, stream, time: t(s) }) + '\n';

const opts = (o: Partial<LogReadOptions> = {}): LogReadOptions => ({ follow: false, stdout: true, stderr: true, sinceNs: 0n, untilNs: 0n, tail: -1, ...o });

async function collect(o: Partial<LogReadOptions>, running = () => false): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readLog(log, opts(o), running)) out.push(`${e.stream}:${e.line.toString().trimEnd()}`);
  return out;
}

describe('json-file log reading', () => {
  beforeEach(() => {
    // Rotated: .2 oldest, then .1, then the live file.
    writeFileSync(`${log}.2`, line('one', 1) + line('two', 2, 'stderr'));
    writeFileSync(`${log}.1`, line('three', 3) + line('four', 4));
    writeFileSync(log, line('five', 5, 'stderr') + line('six', 6));
  });

  it('reads rotated files oldest first', async () => {
    expect(await collect({})).toEqual(['stdout:one', 'stderr:two', 'stdout:three', 'stdout:four', 'stderr:five', 'stdout:six']);
  });

  it('tails across files', async () => {
    expect(await collect({ tail: 3 })).toEqual(['stdout:four', 'stderr:five', 'stdout:six']);
    expect(await collect({ tail: 2 })).toEqual(['stderr:five', 'stdout:six']);
    expect(await collect({ tail: 5 })).toEqual(['stderr:two', 'stdout:three', 'stdout:four', 'stderr:five', 'stdout:six']);
    expect(await collect({ tail: 100 })).toHaveLength(6);
    expect(await collect({ tail: 0 })).toEqual([]);
  });

  it('filters by stream, since and until', async () => {
    expect(await collect({ stderr: false })).toEqual(['stdout:one', 'stdout:three', 'stdout:four', 'stdout:six']);
    expect(await collect({ stdout: false })).toEqual(['stderr:two', 'stderr:five']);
    expect(await collect({ sinceNs: ns(4) })).toEqual(['stdout:four', 'stderr:five', 'stdout:six']);
    expect(await collect({ untilNs: ns(2) })).toEqual(['stdout:one', 'stderr:two']);
  });

  it('does not count a line still being written', async () => {
    appendFileSync(log, '{"log":"partial');
    expect(await collect({ tail: 1 })).toEqual(['stdout:six']);
  });

  it('follows appends and a rotation, and ends once the container stopped', async () => {
    let running = true;
    const got: string[] = [];
    const reader = (async () => {
      for await (const e of readLog(log, opts({ follow: true, tail: 1 }), () => running)) got.push(e.line.toString().trimEnd());
    })();
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(log, line('seven', 7));
    await new Promise((r) => setTimeout(r, 400));
    expect(got).toEqual(['six', 'seven']);
    appendFileSync(log, line('eight', 8));
    renameSync(log, `${log}.1`);
    writeFileSync(log, line('nine', 9));
    await new Promise((r) => setTimeout(r, 400));
    appendFileSync(log, line('ten', 10));
    running = false;
    await reader;
    expect(got).toEqual(['six', 'seven', 'eight', 'nine', 'ten']);
  });
});

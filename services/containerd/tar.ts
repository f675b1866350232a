/**
 * A small tar writer and a streaming tar reader (ustar, PAX, GNU long names), for `docker load`
 * input, `docker save` output, the test images and the tests' hostile archives. Layer tars
 * themselves are unpacked by runtime-native's tersane-unpack, not here.
 *
 * @example
 *   const w = new TarWriter();
 *   const tar = Buffer.concat([...w.file('etc/hostname', Buffer.from('x\n')), ...w.end()]);
 *   for await (const entry of readTar(chunks)) { for await (const piece of entry.data) ... }
 */

export const BLOCK = 512;

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

const TYPE_FLAG: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

export interface EntryHeader {
  name: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default 0 (deterministic output). */
  mtime?: number;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** Extended attributes, written as PAX SCHILY.xattr.<name> records. */
  xattrs?: Record<string, Buffer | string>;
}

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0');
}

function writeString(buf: Buffer, offset: number, width: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  bytes.copy(buf, offset, 0, Math.min(bytes.length, width));
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<len> <key>=<value>\n" where len counts the whole record, itself included.
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

function padding(size: number): Buffer {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  return Buffer.alloc(pad);
}

/** One 512-byte ustar header block, with its checksum. Fields that do not fit are the caller's to
 * move into PAX records (TarWriter does). `rawSize` writes a size field verbatim (tests). */
export function headerBlock(h: EntryHeader & { rawSize?: string; typeFlag?: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, h.name);
  writeString(b, 100, 8, octal(h.mode ?? (h.type === 'dir' ? 0o755 : 0o644), 8));
  writeString(b, 108, 8, octal(h.uid ?? 0, 8));
  writeString(b, 116, 8, octal(h.gid ?? 0, 8));
  writeString(b, 124, 12, h.rawSize ?? octal(h.size ?? 0, 12));
  writeString(b, 136, 12, octal(Math.floor(h.mtime ?? 0), 12));
  b.fill(0x20, 148, 156);
  b.write(h.typeFlag ?? TYPE_FLAG[h.type], 156, 'latin1');
  writeString(b, 157, 100, h.linkname ?? '');
  b.write('ustar\u000000', 257, 'latin1');
  writeString(b, 265, 32, h.uname ?? '');
  writeString(b, 297, 32, h.gname ?? '');
  if (h.type === 'char' || h.type === 'block') {
    writeString(b, 329, 8, octal(h.devmajor ?? 0, 8));
    writeString(b, 337, 8, octal(h.devminor ?? 0, 8));
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  writeString(b, 148, 8, octal(sum, 7) + '\0');
  return b;
}

/** Writes archives entry by entry; each method returns the blocks to emit, in order. */
export class TarWriter {
  /** The header (with a PAX header before it when a name, link or xattr needs one). */
  header(h: EntryHeader): Buffer[] {
    const out: Buffer[] = [];
    const records: Buffer[] = [];
    let name = h.name;
    let linkname = h.linkname ?? '';
    if (Buffer.byteLength(name) > 100) {
      records.push(paxRecord('path', Buffer.from(name)));
      name = name.slice(0, 99);
    }
    if (Buffer.byteLength(linkname) > 100) {
      records.push(paxRecord('linkpath', Buffer.from(linkname)));
      linkname = linkname.slice(0, 99);
    }
    for (const [key, value] of Object.entries(h.xattrs ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      records.push(paxRecord(`SCHILY.xattr.${key}`, Buffer.isBuffer(value) ? value : Buffer.from(value)));
    }
    if (records.length > 0) out.push(...this.pax(records, h.name));
    out.push(headerBlock({ ...h, name, linkname }));
    return out;
  }

  /** A PAX extended header ('x') carrying `records` for the entry that follows. */
  pax(records: Buffer[], forName = 'entry'): Buffer[] {
    const body = Buffer.concat(records);
    const safe = `PaxHeaders/${forName.split('/').pop() ?? 'entry'}`.slice(0, 99);
    return [headerBlock({ name: safe, type: 'file', size: body.length, typeFlag: 'x' }), body, padding(body.length)];
  }

  file(name: string, data: Buffer, h: Partial<EntryHeader> = {}): Buffer[] {
    return [...this.header({ ...h, name, type: 'file', size: data.length }), data, padding(data.length)];
  }

  dir(name: string, h: Partial<EntryHeader> = {}): Buffer[] {
    return this.header({ ...h, name: name.endsWith('/') ? name : `${name}/`, type: 'dir' });
  }

  symlink(name: string, target: string, h: Partial<EntryHeader> = {}): Buffer[] {
    return this.header({ mode: 0o777, ...h, name, type: 'symlink', linkname: target });
  }

  hardlink(name: string, target: string, h: Partial<EntryHeader> = {}): Buffer[] {
    return this.header({ ...h, name, type: 'hardlink', linkname: target });
  }

  /** Padding after `size` bytes of file data streamed separately. */
  padding(size: number): Buffer {
    return padding(size);
  }

  /** The end-of-archive marker: two zero blocks. */
  end(): Buffer[] {
    return [Buffer.alloc(BLOCK * 2)];
  }
}

// ---- reading ------------------------------------------------------------------------------------

export interface TarEntry {
  name: string;
  type: EntryType | 'other';
  typeFlag: string;
  size: number;
  mode: number;
  linkname: string;
  mtime: number;
  /** The entry's data, in pieces; must be read to its end (or abandoned with the whole stream). */
  data: AsyncIterable<Buffer>;
}

export class TarFormatError extends Error {}

/** Pulls exact byte counts out of a stream of chunks. */
class Reader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    if (next.value.length > 0) {
      this.pending.push(next.value);
      this.pendingBytes += next.value.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && (await this.more()));
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const take = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(take.length);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return take;
  }

  /** Up to n bytes in the pieces they arrive in; ends early only at the end of the stream. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pendingBytes === 0 && !(await this.more())) return;
      const head = this.pending[0];
      if (head.length <= left) {
        this.pending.shift();
        this.pendingBytes -= head.length;
        left -= head.length;
        yield head;
      } else {
        this.pending[0] = head.subarray(left);
        this.pendingBytes -= left;
        yield head.subarray(0, left);
        left = 0;
      }
    }
  }

  async rest(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    while (await this.more()) {
      this.pending = [];
      this.pendingBytes = 0;
    }
  }
}

function parseNumber(field: Buffer): number {
  if (field[0] & 0x80) {
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
    return v + (field[0] & 0x3f) * 256 ** (field.length - 1);
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError('invalid number in tar header');
  return parseInt(text, 8);
}

function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    const len = Number(body.subarray(pos, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(len) || len <= space - pos || pos + len > body.length) {
      throw new TarFormatError('invalid PAX header record');
    }
    const record = body.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq < 0) throw new TarFormatError('invalid PAX header record');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Files larger than this in a `docker load` archive are taken for a corrupt header. */
export const MAX_ENTRY_SIZE = 2 ** 40;

/**
 * The entries of a tar stream, in order. Throws TarFormatError on a stream that is not a tar, is
 * truncated, or has a corrupt header. Each entry's data must be consumed before asking for the next.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new Reader(source[Symbol.asyncIterator]());
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let sawAny = false;
  for (;;) {
    const h = await r.read(BLOCK);
    if (h.length === 0) {
      if (!sawAny) throw new TarFormatError('empty input: not a tar archive');
      if (pax || longName || longLink) throw new TarFormatError('unexpected end of archive (truncated tar)');
      return;
    }
    if (h.length < BLOCK) throw new TarFormatError('unexpected end of archive (truncated tar)');
    if (h.every((b) => b === 0)) {
      await r.rest();
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    let stored: number;
    try {
      stored = parseNumber(h.subarray(148, 156));
    } catch {
      throw new TarFormatError(sawAny ? 'invalid tar header checksum (corrupt archive)' : 'not a tar archive');
    }
    if (stored !== sum) throw new TarFormatError(sawAny ? 'invalid tar header checksum (corrupt archive)' : 'not a tar archive');
    sawAny = true;
    const typeFlag = String.fromCharCode(h[156] || 0x30);
    let size = parseNumber(h.subarray(124, 136));
    if (pax?.has('size')) size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ENTRY_SIZE) {
      throw new TarFormatError(`invalid tar header: entry size ${size} is absurd`);
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
      if (size > 1 << 20) throw new TarFormatError('invalid tar header: metadata record too large');
      const body = await r.read(size + pad);
      if (body.length < size + pad) throw new TarFormatError('unexpected end of archive (truncated tar)');
      const data = body.subarray(0, size);
      if (typeFlag === 'x') pax = new Map([...(pax ?? []), ...parsePax(data)]);
      else if (typeFlag === 'L') longName = cString(data);
      else if (typeFlag === 'K') longLink = cString(data);
      continue;
    }
    const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
    let name = cString(h.subarray(0, 100));
    const prefix = ustar ? cString(h.subarray(345, 500)) : '';
    if (prefix) name = `${prefix}/${name}`;
    name = pax?.get('path') ?? longName ?? name;
    const linkname = pax?.get('linkpath') ?? longLink ?? cString(h.subarray(157, 257));
    pax = longName = longLink = undefined;
    const type: TarEntry['type'] =
      (Object.entries(TYPE_FLAG).find(([, f]) => f === typeFlag)?.[0] as EntryType | undefined) ??
      (typeFlag === '7' ? 'file' : 'other');
    let consumed = false;
    const data = (async function* () {
      let got = 0;
      for await (const piece of r.pieces(size)) {
        got += piece.length;
        yield piece;
      }
      if (got < size) throw new TarFormatError(`unexpected end of archive in ${name} (truncated tar)`);
      const p = await r.read(pad);
      if (p.length < pad) throw new TarFormatError('unexpected end of archive (truncated tar)');
      consumed = true;
    })();
    yield {
      name,
      type,
      typeFlag,
      size,
      mode: parseNumber(h.subarray(100, 108)),
      linkname,
      mtime: parseNumber(h.subarray(136, 148)),
      data,
    };
    if (!consumed) for await (const _ of data) void _;
  }
}

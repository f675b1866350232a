/**
 * Docker's detach keys for attached terminals: a comma-separated key sequence ("ctrl-p,ctrl-q",
 * the default) that, typed on stdin of a container with a tty, ends the attachment without
 * stopping the container. The keys are held back while a prefix of the sequence is being typed and
 * passed on when the sequence breaks, as moby/term's escape proxy does.
 *
 * @example
 *   const d = new DetachDetector(parseDetachKeys('ctrl-p,ctrl-q'));
 *   d.feed(Buffer.from('ls\x10'));   // { forward: 'ls', detached: false } ("\x10" is held)
 *   d.feed(Buffer.from('\x11'));     // { forward: '', detached: true }
 */
import { invalidArgument } from '../../common/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-@" is 0, "ctrl-a" 1 … "ctrl-z" 26, then "ctrl-[" "ctrl-\" "ctrl-]" "ctrl-^" "ctrl-_". */
const CTRL_NAMES = ['ctrl-@', ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `ctrl-${c}`), 'ctrl-[', 'ctrl-\\', 'ctrl-]', 'ctrl-^', 'ctrl-_'];

/** The bytes of a detach-key sequence; Docker's 400 for one it cannot read. */
export function parseDetachKeys(keys: string): Buffer {
  const spec = keys === '' ? DEFAULT_DETACH_KEYS : keys;
  const codes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0) & 0xff);
      continue;
    }
    const ctrl = CTRL_NAMES.indexOf(key);
    if (ctrl >= 0) codes.push(ctrl);
    else if (key === 'DEL') codes.push(127);
    else throw invalidArgument(`Invalid detach keys (${keys}) provided`);
  }
  return Buffer.from(codes);
}

export class DetachDetector {
  /** How many bytes of the sequence have been typed (and held back) so far. */
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to pass on to the container, and whether the sequence was completed. */
  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detached: false };
    let plainFrom = -1;
    const parts: Buffer[] = [];
    const flushPlain = (end: number) => {
      if (plainFrom >= 0) parts.push(chunk.subarray(plainFrom, end));
      plainFrom = -1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === this.keys[this.matched]) {
        flushPlain(i);
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.concat(parts), detached: true };
        }
        continue;
      }
      if (this.matched > 0) {
        // The sequence broke: what was held goes through, then this byte is looked at afresh.
        parts.push(this.keys.subarray(0, this.matched));
        this.matched = 0;
        if (b === this.keys[0]) {
          this.matched = 1;
          if (this.keys.length === 1) return { forward: Buffer.concat(parts), detached: true };
          continue;
        }
      }
      if (plainFrom < 0) plainFrom = i;
    }
    flushPlain(chunk.length);
    return { forward: parts.length === 1 ? parts[0] : Buffer.concat(parts), detached: false };
  }
}

/**
 * Docker's detach-key sequences ("ctrl-p,ctrl-q", "ctrl-a,x", "DEL"): their bytes, as moby/term's
 * ToBytes reads them. The daemon keeps an exec's keys as bytes (its inspect shows them base64).
 *
 * @example
 *   parseDetachKeys('ctrl-p,ctrl-q');   // <Buffer 10 11>
 */

/** "ctrl-@" is 0, "ctrl-a" 1 … "ctrl-z" 26, then "ctrl-[" "ctrl-\" "ctrl-]" "ctrl-^" "ctrl-_". */
const CTRL_NAMES = ['ctrl-@', ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `ctrl-${c}`), 'ctrl-[', 'ctrl-\\', 'ctrl-]', 'ctrl-^', 'ctrl-_'];
const DEL = 127;

/** Throws on a key it cannot read; the caller words the error as its API does. */
export function parseDetachKeys(keys: string): Buffer {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0) & 0xff);
      continue;
    }
    const ctrl = CTRL_NAMES.indexOf(key.toLowerCase());
    if (ctrl >= 0) codes.push(ctrl);
    else if (key === 'DEL') codes.push(DEL);
    else throw new Error(`unknown character: '${key}'`);
  }
  return Buffer.from(codes);
}

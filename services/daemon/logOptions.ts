/**
 * The json-file log driver's options as Docker reads them when it opens the log (at the container's
 * start, not its create): max-size by go-units' FromHumanSize (decimal: 10k = 10000 bytes, "10m",
 * "1.5g", "512kb", "1mib"), max-file by Atoi, compress by ParseBool — each refusal in Docker's words.
 *
 * @example
 *   jsonFileLimits({ 'max-size': '10k', 'max-file': '3' }); // { maxSize: 10000, maxFiles: 3 }
 */
import { invalidArgument } from '../../common/errors.js';

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** go-units FromHumanSize: "44kB", "17MB", "1.5g", "100" (bytes), with Docker's errors. */
export function fromHumanSize(text: string): number {
  let sep = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if ('01234567890. '.includes(text[i])) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw invalidArgument(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  let sfx = text.slice(sep + 1);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) throw invalidArgument(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  let size = Number(num);
  if (size < 0) throw invalidArgument(`invalid size: '${text}'`);
  if (sfx === '') return Math.trunc(size);
  const bad = () => invalidArgument(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = DECIMAL[sfx[0]];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

function goParseBool(text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw invalidArgument(`strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
}

/**
 * The rotation limits of a json-file log: max-size in bytes (0 = unlimited) and max-file (≥ 1).
 * Throws Docker's error for a value it would refuse when opening the log.
 */
export function jsonFileLimits(opts: Record<string, string>): { maxSize: number; maxFiles: number } {
  let maxSize = 0;
  if ('max-size' in opts) {
    maxSize = fromHumanSize(opts['max-size']);
    if (maxSize <= 0) throw invalidArgument('max-size must be a positive number');
  }
  let maxFiles = 1;
  if ('max-file' in opts) {
    const text = opts['max-file'];
    if (!/^[+-]?\d+$/.test(text)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
    maxFiles = Number(text);
    if (maxFiles < 1) throw invalidArgument('max-file cannot be less than 1');
  }
  if ('compress' in opts && goParseBool(opts.compress)) {
    if (maxFiles === 1 || maxSize === 0) throw invalidArgument('compress cannot be true when max-file is less than 2 or max-size is not set');
    // The monitor writes rotated files as they are; gzip of rotated logs is not implemented.
    throw invalidArgument('compress is not supported by this engine\'s json-file log: rotated files are kept uncompressed (use compress=false)');
  }
  return { maxSize, maxFiles };
}

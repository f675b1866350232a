/**
 * Query parameters as Docker reads them: the first value of a key, booleans the way moby's
 * httputils.BoolValue reads them ("", "0", "no", "false", "none" are false; anything else true),
 * integers with a 400 on bad input, and the `filters` JSON in both of Docker's formats.
 *
 * @example
 *   boolValue({ all: '1' }, 'all');                       // true
 *   normalizeFilters('{"status":{"running":true}}');      // '{"status":["running"]}'
 */
import { invalidArgument } from '../../common/errors.js';

/** A parsed query string: a key repeated in the URL holds an array. */
export type Query = Record<string, string | string[] | undefined>;

/** The first value of `key`, or undefined when absent (Go's r.Form.Get returns ""). */
export function first(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of `key`, in order. */
export function all(q: Query, key: string): string[] {
  const v = q[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

const FALSE_WORDS = new Set(['', '0', 'no', 'false', 'none']);

export function parseBool(text: string): boolean {
  return !FALSE_WORDS.has(text.trim().toLowerCase());
}

/** moby's httputils.BoolValue: an absent key is false. */
export function boolValue(q: Query, key: string): boolean {
  const v = first(q, key);
  return v === undefined ? false : parseBool(v);
}

/** moby's httputils.BoolValueOrDefault: an absent (or empty) key takes the default. */
export function boolOrDefault(q: Query, key: string, fallback: boolean): boolean {
  const v = first(q, key);
  return v === undefined || v === '' ? fallback : parseBool(v);
}

const INT = /^[+-]?\d+$/;

/** Go's strconv.Atoi on a present, non-empty value; undefined when absent or empty. */
export function intValue(q: Query, key: string): number | undefined {
  const v = first(q, key);
  if (v === undefined || v === '') return undefined;
  if (!INT.test(v)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

/** Go's strconv.Atoi on a value that must be there ("" and absent are invalid syntax). */
export function requiredInt(q: Query, key: string): number {
  const n = intValue(q, key);
  if (n === undefined) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(first(q, key) ?? '')}: invalid syntax`);
  return n;
}

/** intValue bounded to what a proto int32 carries. */
export function int32Value(q: Query, key: string): number | undefined {
  const n = intValue(q, key);
  if (n !== undefined && (n > 2 ** 31 - 1 || n < -(2 ** 31))) {
    throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(first(q, key))}: value out of range`);
  }
  return n;
}

/**
 * Docker's `filters` parameter, in either of its formats — `{"key":{"value":true}}` (current) or
 * `{"key":["value"]}` (legacy) — as the legacy format the daemon contract takes, or "" for none.
 * Anything else is Docker's 400 "invalid filter".
 */
export function normalizeFilters(text: string | undefined): string {
  if (text === undefined || text === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument('invalid filter');
  }
  if (parsed === null) return '';
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument('invalid filter');
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null) {
      out[key] = [];
    } else if (Array.isArray(value)) {
      if (!value.every((v) => typeof v === 'string')) throw invalidArgument('invalid filter');
      out[key] = [...new Set(value as string[])];
    } else if (typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (!entries.every(([, v]) => typeof v === 'boolean')) throw invalidArgument('invalid filter');
      out[key] = entries.map(([k]) => k);
    } else {
      throw invalidArgument('invalid filter');
    }
  }
  return Object.keys(out).length ? JSON.stringify(out) : '';
}

/**
 * A `since`/`until` of the logs endpoint: Unix seconds with an optional fraction ("1700000000",
 * "1700000000.5", "1700000000.000000001"), as the CLI sends after converting durations and dates.
 * Returns nanoseconds, 0 for absent.
 */
export function parseUnixTimestamp(value: string | undefined, key: string): bigint {
  if (value === undefined || value === '') return 0n;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (!m) throw invalidArgument(`invalid value for "${key}": ${JSON.stringify(value)} is not a Unix timestamp`);
  const seconds = BigInt(m[1]);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return seconds * 1_000_000_000n + (seconds < 0n ? -frac : frac);
}

/** Docker's `tail`: a count of lines, "all" or anything unparsable meaning every line (-1). */
export function parseTail(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) return -1;
  const n = Number(value);
  return n > 2 ** 31 - 1 ? -1 : n;
}

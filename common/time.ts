/**
 * Time in nanoseconds and RFC 3339 with nanoseconds, the format of Docker's logs, events and
 * inspect output ("2026-11-28T13:31:00.123456789Z").
 */

// Wall clock in ns: Date gives ms; hrtime gives a monotonic ns offset from a fixed origin.
const originWallNs = BigInt(Date.now()) * 1_000_000n;
const originMono = process.hrtime.bigint();

export function nowNs(): bigint {
  return originWallNs + (process.hrtime.bigint() - originMono);
}

export function formatRfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

export function nowRfc3339Nano(): string {
  return formatRfc3339Nano(nowNs());
}

/** Parses RFC 3339 (any fraction length, Z or ±hh:mm) to ns; NaN-free: throws on bad input. */
export function parseRfc3339Nano(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new Error(`invalid RFC 3339 time: ${JSON.stringify(text)}`);
  const seconds = Date.parse(m[1] + (m[3] === 'Z' ? 'Z' : m[3]));
  if (Number.isNaN(seconds)) throw new Error(`invalid RFC 3339 time: ${JSON.stringify(text)}`);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + frac;
}

/** Docker's zero time, used for times that never happened (FinishedAt of a running container). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

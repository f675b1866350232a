/**
 * IPv4 addresses and CIDR blocks as unsigned 32-bit numbers: parsing, formatting, containment and
 * overlap, the arithmetic every IPAM decision rests on. Pure functions (ipv4.test.ts).
 *
 * @example
 *   const s = parseCidr('10.92.3.0/24')!;     // { ip: 0x0a5c0300, prefix: 24 }
 *   overlaps(s, parseCidr('10.92.0.0/16')!);  // true
 *   formatIp(hostAt(s, 1));                   // "10.92.3.1"
 */

export interface Cidr {
  /** The address as written (host bits may be set). */
  ip: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** "a.b.c.d" → number, or undefined when it is not a dotted quad. */
export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** "a.b.c.d/len" → Cidr, or undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) return undefined;
  return { ip, prefix: Number(len) };
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The network address of a block. */
export function base(c: Cidr): number {
  return (c.ip & mask(c.prefix)) >>> 0;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(base(c))}/${c.prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.prefix)) >>> 0 === base(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (base(a) & mask(p)) >>> 0 === (base(b) & mask(p)) >>> 0;
}

/** The address at `offset` from the block's network address. */
export function hostAt(c: Cidr, offset: number): number {
  return (base(c) + offset) >>> 0;
}

/** Docker's MAC for an IPv4 endpoint: 02:42 then the address's four bytes. */
export function macFor(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Platforms (os/architecture/variant) as Docker's --platform names them, normalized the way
 * containerd's platforms package does (x86_64 → amd64, aarch64 → arm64, arm64's v8 is its default
 * variant), and the choice of a manifest from an index: an exact match, else one without a variant
 * or with a compatible one.
 *
 * @example
 *   parsePlatform('linux/arm64/v8') // { os: 'linux', architecture: 'arm64' }
 *   formatPlatform(hostPlatform())  // 'linux/amd64' on x86-64
 */
import { arch } from 'node:os';
import { invalidArgument } from '../../../common/errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'android', 'ios', 'plan9', 'js', 'wasip1']);
const COMPONENT = /^[A-Za-z0-9_-]+$/;

/** Architecture aliases and their implied variant. */
function normalizeArch(architecture: string, variant: string | undefined): { architecture: string; variant?: string } {
  const a = architecture.toLowerCase();
  const v = variant?.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? undefined : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? undefined : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: v ? (/^\d+$/.test(v) ? `v${v}` : v) : 'v7' };
    default:
      return { architecture: a, variant: v };
  }
}

export function normalizePlatform(p: { os?: string; architecture?: string; variant?: string }): Platform {
  const { architecture, variant } = normalizeArch(p.architecture ?? '', p.variant || undefined);
  const out: Platform = { os: (p.os ?? '').toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

/** The engine's own platform. */
export function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', loong64: 'loong64' };
  return normalizePlatform({ os: 'linux', architecture: map[arch()] ?? arch() });
}

/** Parses Docker's --platform: os/arch[/variant], an os alone, or an architecture alone. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw invalidArgument(`"${text}": unknown operating system or architecture: invalid argument`);
    }
  }
  if (parts.length > 3) throw invalidArgument(`"${text}": cannot parse platform specifier: invalid argument`);
  if (parts.length === 1) {
    const one = parts[0].toLowerCase();
    return KNOWN_OS.has(one) ? normalizePlatform({ os: one, architecture: hostPlatform().architecture }) : normalizePlatform({ os: 'linux', architecture: one });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** How well `have` serves `want`: 2 exact, 1 compatible, 0 not at all. */
export function matchScore(want: Platform, have: { os?: string; architecture?: string; variant?: string } | undefined): number {
  if (!have) return 0;
  const h = normalizePlatform(have);
  if (h.os !== want.os || h.architecture !== want.architecture) return 0;
  if ((h.variant ?? '') === (want.variant ?? '')) return 2;
  // arm: a v7 machine runs v6 and v5 images.
  if (want.architecture === 'arm' && want.variant && h.variant) {
    return Number(h.variant.replace(/^v/, '')) < Number(want.variant.replace(/^v/, '')) ? 1 : 0;
  }
  // No variant wanted (amd64, arm64): any variant of the architecture will do, after an exact one.
  return want.variant ? 0 : 1;
}

/** The best entry of an index for `want`, or undefined. */
export function pickPlatform<T extends { platform?: { os?: string; architecture?: string; variant?: string } }>(entries: readonly T[], want: Platform): T | undefined {
  let best: T | undefined;
  let score = 0;
  for (const e of entries) {
    const s = matchScore(want, e.platform);
    if (s > score) {
      best = e;
      score = s;
    }
  }
  return best;
}

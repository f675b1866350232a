/**
 * Warnings about how the api itself is reached (plain TCP, a TCP listener it refused), which
 * `docker info` shows beside the daemon's own in Warnings, as dockerd lists its listeners'.
 *
 * @example
 *   setApiWarnings(tcp.warnings);
 *   info.Warnings = [...(info.Warnings ?? []), ...apiWarnings()];
 */
let current: string[] = [];

export function setApiWarnings(warnings: string[]): void {
  current = [...warnings];
}

export function apiWarnings(): readonly string[] {
  return current;
}

/** The daemon's /info document (JSON) with the api's warnings added; the bytes as they were without any. */
export function withApiWarnings(info: Buffer): Buffer | Record<string, unknown> {
  if (current.length === 0) return info;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(info.toString('utf8')) as Record<string, unknown>;
  } catch {
    return info;
  }
  const own = Array.isArray(doc.Warnings) ? (doc.Warnings as string[]) : [];
  doc.Warnings = [...own, ...current];
  return doc;
}

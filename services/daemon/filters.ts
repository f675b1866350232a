/**
 * Docker's `filters` query parameter: a JSON object of name → values, in the current form
 * ({"status":["running"]}) or the pre-1.22 form ({"status":{"running":true}}), with Docker's
 * validation of the filter names each endpoint accepts.
 *
 * @example
 *   const f = parseFilters('{"label":["a=b"]}', ['label', 'name']);
 *   f.get('label'); // ["a=b"]
 */
import { invalidArgument } from '../../common/errors.js';

export class Filters {
  constructor(private readonly args: Map<string, string[]>) {}

  get(name: string): string[] {
    return this.args.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.get(name).length > 0;
  }

  get empty(): boolean {
    return this.args.size === 0;
  }

  /** True when no value is given for `name`, or one of them matches. */
  matchAny(name: string, test: (value: string) => boolean): boolean {
    const values = this.get(name);
    return values.length === 0 || values.some(test);
  }

  /**
   * Docker's label filter: each value "key" or "key=value" (or "key!=value" for the negation
   * used by prune) must hold for the labels; all values must match.
   */
  matchLabels(name: string, labels: Record<string, string> | null | undefined): boolean {
    const have = labels ?? {};
    return this.get(name).every((want) => {
      const ne = want.indexOf('!=');
      if (ne > 0) {
        const key = want.slice(0, ne);
        return !(key in have) || have[key] !== want.slice(ne + 2);
      }
      const eq = want.indexOf('=');
      if (eq < 0) return want in have;
      const key = want.slice(0, eq);
      return key in have && have[key] === want.slice(eq + 1);
    });
  }

  /** Throws Docker's `invalid filter 'x'` for names outside `accepted`. */
  validate(accepted: readonly string[]): this {
    for (const name of this.args.keys()) {
      if (!accepted.includes(name)) throw invalidArgument(`invalid filter '${name}'`);
    }
    return this;
  }
}

export function parseFilters(json: string | undefined, accepted?: readonly string[]): Filters {
  const args = new Map<string, string[]>();
  if (json && json.trim() !== '') {
    let doc: unknown;
    try {
      doc = JSON.parse(json);
    } catch (err) {
      throw invalidArgument(`invalid filter: ${(err as Error).message}`);
    }
    if (doc === null) return new Filters(args);
    if (typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument('invalid filter: filters must be a JSON object');
    for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
      let values: string[];
      if (Array.isArray(value)) values = value.map(String);
      else if (value && typeof value === 'object') {
        values = Object.entries(value as Record<string, unknown>)
          .filter(([, on]) => on === true)
          .map(([v]) => v);
      } else throw invalidArgument(`invalid filter: the values of '${name}' must be a list`);
      if (values.length > 0) args.set(name, values);
    }
  }
  const filters = new Filters(args);
  return accepted ? filters.validate(accepted) : filters;
}

/** Docker's boolean filter values ("true"/"1" and "false"/"0"); throws on anything else. */
export function boolFilterValue(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidArgument(`invalid filter '${name}=${value}'`);
}

/** Docker's `until`/`since`-style timestamps: unix seconds (with fraction), RFC 3339, or a Go duration ago. */
export function parseTimestampFilter(value: string, nowMs: number = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const duration = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(value);
  if (duration) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return nowMs - Number(duration[1]) * unit[duration[2]];
  }
  const t = Date.parse(value);
  if (!Number.isNaN(t)) return t;
  throw invalidArgument(`invalid filter: cannot parse time ${JSON.stringify(value)}`);
}

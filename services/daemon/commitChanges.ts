/**
 * `docker commit --change`: Dockerfile instructions applied to a container's config, as Docker's
 * BuildFromConfig applies them — only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME,
 * STOPSIGNAL, ONBUILD and HEALTHCHECK are allowed; JSON ("exec") or shell form for CMD and
 * ENTRYPOINT; `$VAR` / `${VAR}` / `${VAR:-default}` / `${VAR:+alt}` expanded from the config's Env in
 * ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME and STOPSIGNAL; quotes and backslash escapes as the
 * Dockerfile shell lexer treats them. Errors in Docker's wording.
 *
 * @example
 *   applyChanges(config, ['CMD ["cat","/hello"]', 'ENV A=1 B="two words"']);
 */
import { invalidArgument } from '../../common/errors.js';
import type { DockerConfig, HealthConfig } from './createConfig.js';
import { parseSignal } from './signals.js';

const ALLOWED = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface Instruction {
  /** Lower case, as Docker's parser keeps it. */
  cmd: string;
  /** `--name=value` flags before the arguments. */
  flags: Map<string, string>;
  /** The rest of the line after the instruction and its flags. */
  rest: string;
  /** The whole logical line as written. */
  original: string;
}

/** The logical lines of a Dockerfile fragment: comments and blank lines dropped, `\` continuations joined. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  const finish = (line: string) => {
    const original = line.trim();
    if (original === '') return;
    const m = /^(\S+)\s*(.*)$/s.exec(original)!;
    let rest = m[2];
    const flags = new Map<string, string>();
    for (;;) {
      const f = /^--([A-Za-z0-9-]+)(?:=(\S*))?\s*/.exec(rest);
      if (!f) break;
      flags.set(f[1], f[2] ?? '');
      rest = rest.slice(f[0].length);
    }
    out.push({ cmd: m[1].toLowerCase(), flags, rest: rest.trim(), original });
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    // Comments (also inside a continuation) are dropped.
    if (/^\s*#/.test(line)) continue;
    const cont = /\\\s*$/.exec(line);
    if (cont) {
      pending += line.slice(0, cont.index);
      continue;
    }
    finish(pending + line);
    pending = '';
  }
  if (pending !== '') finish(pending);
  return out;
}

function lookupEnv(env: readonly string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const eq = env[i].indexOf('=');
    if (eq >= 0 && env[i].slice(0, eq) === name) return env[i].slice(eq + 1);
  }
  return undefined;
}

/** The Dockerfile lexer's ProcessWord: quotes removed, escapes applied, variables expanded. */
export function processWord(word: string, env: readonly string[]): string {
  let out = '';
  let i = 0;
  const variable = (): string => {
    // At a "$": ${...} or $NAME, else a literal "$".
    if (word[i + 1] === '{') {
      const close = word.indexOf('}', i + 2);
      if (close < 0) throw invalidArgument(`missing '}' in ${JSON.stringify(word)}`);
      const body = word.slice(i + 2, close);
      i = close + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])(.*))?$/s.exec(body);
      if (!m) throw invalidArgument(`bad substitution: \${${body}}`);
      const value = lookupEnv(env, m[1]);
      const colon = body.length > m[1].length && body[m[1].length] === ':';
      if (m[2] === '-') return value === undefined || (colon && value === '') ? processWord(m[3], env) : value;
      if (m[2] === '+') return value === undefined || (colon && value === '') ? '' : processWord(m[3], env);
      return value ?? '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i + 1));
    if (!m) {
      i++;
      return '$';
    }
    i += 1 + m[0].length;
    return lookupEnv(env, m[0]) ?? '';
  };
  while (i < word.length) {
    const c = word[i];
    if (c === '\\') {
      out += word[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const close = word.indexOf("'", i + 1);
      if (close < 0) throw invalidArgument(`unexpected end of statement while looking for matching single-quote`);
      out += word.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= word.length) throw invalidArgument(`unexpected end of statement while looking for matching double-quote`);
        const d = word[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < word.length && '"\\$`'.includes(word[i + 1])) {
          out += word[i + 1];
          i += 2;
        } else if (d === '$') {
          out += variable();
        } else {
          out += d;
          i++;
        }
      }
    } else if (c === '$') {
      out += variable();
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Splits on unquoted, unescaped whitespace, keeping quotes and escapes (the parser's parseWords). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = '';
    } else if (c === '\\') {
      cur += c + (text[i + 1] ?? '');
      i++;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (/\s/.test(c)) {
      if (cur) words.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur) words.push(cur);
  return words;
}

/** KEY=VALUE pairs of ENV and LABEL (or the legacy `KEY VALUE` form). */
function nameValues(ins: Instruction, env: readonly string[]): Array<[string, string]> {
  const name = ins.cmd.toUpperCase();
  const words = splitWords(ins.rest);
  if (words.length === 0) throw invalidArgument(`${name} requires at least one argument`);
  if (!words[0].includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(ins.rest);
    if (!m) throw invalidArgument(`${name} must have two arguments`);
    return [[processWord(m[1], env), processWord(m[2], env)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw invalidArgument(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = processWord(w.slice(0, eq), env);
    if (key === '') throw invalidArgument(`${name} names can not be blank`);
    return [key, processWord(w.slice(eq + 1), env)] as [string, string];
  });
}

/** CMD/ENTRYPOINT/HEALTHCHECK CMD arguments: a JSON string array, or the shell form. */
function commandLine(rest: string, shell: string[] | null | undefined): { args: string[]; json: boolean } {
  if (rest.startsWith('[')) {
    try {
      const v = JSON.parse(rest) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { args: v as string[], json: true };
    } catch {
      /* not JSON: the shell form */
    }
  }
  return { args: [...(shell && shell.length ? shell : DEFAULT_SHELL), rest], json: false };
}

/** Docker's nat.ParsePortSpecs keys ("80/tcp"), ranges expanded. */
export function exposedPorts(spec: string): string[] {
  const [range, proto = 'tcp'] = spec.split('/');
  if (!/^(tcp|udp|sctp)$/i.test(proto)) throw invalidArgument(`invalid proto: ${proto}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!m) throw invalidArgument(`invalid containerPort: ${range}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 1 || start > 65535 || end < 1 || end > 65535) throw invalidArgument(`invalid containerPort: ${range}`);
  if (end < start) throw invalidArgument(`invalid range specified for container port: ${range}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== text.length || pos === 0) throw invalidArgument(`time: invalid duration "${text}"`);
  return Math.round(total);
}

function healthcheck(ins: Instruction, shell: string[] | null | undefined): HealthConfig {
  const known = new Set(['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
  for (const f of ins.flags.keys()) if (!known.has(f)) throw invalidArgument(`Unknown flag: ${f}`);
  const m = /^(\S+)\s*(.*)$/s.exec(ins.rest);
  if (!m) throw invalidArgument('HEALTHCHECK requires at least one argument');
  const type = m[1].toUpperCase();
  if (type === 'NONE') {
    if (m[2] !== '' || ins.flags.size > 0) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw invalidArgument(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const cmd = commandLine(m[2], shell);
  const hc: HealthConfig = { Test: cmd.json ? ['CMD', ...cmd.args] : ['CMD-SHELL', m[2]] };
  const duration = (flag: string) => {
    const v = ins.flags.get(flag);
    if (v === undefined || v === '') return 0;
    const ns = parseGoDuration(v);
    if (ns < 0) throw invalidArgument(`Interval "${flag}" cannot be negative`);
    return ns;
  };
  if (duration('interval')) hc.Interval = duration('interval');
  if (duration('timeout')) hc.Timeout = duration('timeout');
  if (duration('start-period')) hc.StartPeriod = duration('start-period');
  if (duration('start-interval')) hc.StartInterval = duration('start-interval');
  const retries = ins.flags.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^-?\d+$/.test(retries)) throw invalidArgument(`strconv.ParseInt: parsing "${retries}": invalid syntax`);
    if (Number(retries) < 0) throw invalidArgument('--retries cannot be negative');
    hc.Retries = Number(retries);
  }
  return hc;
}

/** Docker's BuildFromConfig: the config with the instructions applied, in order. */
export function applyChanges(base: DockerConfig, changes: readonly string[]): DockerConfig {
  if (changes.length === 0) return base;
  const instructions = parseInstructions(changes.join('\n'));
  for (const ins of instructions) if (!ALLOWED.has(ins.cmd)) throw invalidArgument(`${ins.cmd} is not a valid change command`);
  const c: DockerConfig = structuredClone(base);
  let cmdSet = false;
  for (const ins of instructions) {
    const name = ins.cmd.toUpperCase();
    const env = c.Env ?? [];
    if (ins.cmd !== 'healthcheck' && ins.flags.size > 0) throw invalidArgument(`Unknown flag: ${[...ins.flags.keys()][0]}`);
    switch (ins.cmd) {
      case 'env':
        for (const [k, v] of nameValues(ins, env)) {
          // Replaced where it was (the first entry with that key), else appended.
          const list = [...(c.Env ?? [])];
          const at = list.findIndex((e) => e.split('=', 1)[0] === k);
          if (at >= 0) list[at] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
          c.Env = list;
        }
        break;
      case 'label':
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of nameValues(ins, env)) c.Labels[k] = v;
        break;
      case 'cmd': {
        c.Cmd = commandLine(ins.rest, c.Shell).args;
        cmdSet = true;
        break;
      }
      case 'entrypoint': {
        c.Entrypoint = ins.rest === '' ? null : commandLine(ins.rest, c.Shell).args;
        if (!cmdSet) c.Cmd = null;
        break;
      }
      case 'expose': {
        const words = splitWords(ins.rest).map((w) => processWord(w, env));
        if (words.length === 0) throw invalidArgument(`${name} requires at least one argument`);
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const w of words) for (const p of exposedPorts(w)) c.ExposedPorts[p] = {};
        break;
      }
      case 'user':
      case 'stopsignal':
      case 'workdir': {
        if (ins.rest === '') throw invalidArgument(`${name} requires exactly one argument`);
        const value = processWord(ins.rest, env);
        if (ins.cmd === 'user') c.User = value;
        else if (ins.cmd === 'stopsignal') {
          parseSignal(value);
          c.StopSignal = value;
        } else c.WorkingDir = value.startsWith('/') ? value : joinClean(c.WorkingDir || '/', value);
        break;
      }
      case 'volume': {
        const json = ins.rest.startsWith('[') ? tryJsonList(ins.rest) : undefined;
        const list = json ?? splitWords(ins.rest);
        if (list.length === 0) throw invalidArgument(`${name} requires at least one argument`);
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const raw of list) {
          const v = processWord(raw, env).trim();
          if (v === '') throw invalidArgument('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        break;
      }
      case 'onbuild': {
        const trigger = /^\S+/.exec(ins.rest)?.[0]?.toUpperCase();
        if (!trigger) throw invalidArgument(`${name} requires at least one argument`);
        if (trigger === 'ONBUILD') throw invalidArgument('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw invalidArgument(`${trigger} isn't allowed as an ONBUILD trigger`);
        c.OnBuild = [...(c.OnBuild ?? []), ins.original.replace(/^\s*ONBUILD\s*/i, '')];
        break;
      }
      case 'healthcheck':
        c.Healthcheck = healthcheck(ins, c.Shell);
        break;
    }
  }
  return c;
}

function tryJsonList(text: string): string[] | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function joinClean(dir: string, rel: string): string {
  const out: string[] = [];
  for (const part of `${dir}/${rel}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

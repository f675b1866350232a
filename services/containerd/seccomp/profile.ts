/**
 * Seccomp profiles in Docker's JSON format (what `docker run --security-opt seccomp=FILE` sends),
 * and their conversion into the OCI runtime spec's `linux.seccomp` for one container — the way
 * Docker converts them: the native architecture's entry of `archMap` (or `architectures` as given),
 * and each syscall group kept only when its `includes` hold and its `excludes` do not (capabilities
 * of the container's bounding set, the native architecture, the kernel version).
 *
 * @example
 *   const profile = parseProfile(jsonText);            // Docker's errors for a bad document
 *   const oci = toOciSeccomp(profile, { caps, arch: nativeArch(), kernel: kernelVersion() });
 */
import { release } from 'node:os';
import { invalidArgument } from '../../../common/errors.js';

export interface DockerSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface DockerFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSyscallRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: DockerSeccompArg[] | null;
  comment?: string;
  includes?: DockerFilter;
  excludes?: DockerFilter;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  listenerPath?: string;
  listenerMetadata?: string;
  flags?: string[];
  syscalls?: DockerSyscallRule[];
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

/** What a profile is converted against. */
export interface Target {
  /** The container's capability (bounding) set, CAP_ names. */
  caps: readonly string[];
  /** Go's GOARCH-style name of the native architecture (amd64, arm64, …). */
  arch: string;
  /** The running kernel's version, [major, minor, patch]. */
  kernel: readonly number[];
}

export const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
];
const OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
const MAX_ERRNO = 4095;
/** A syscall takes at most six arguments. */
const MAX_ARG_INDEX = 5;

/** Go's GOARCH → the libseccomp architecture the default profile's archMap is keyed by. */
const NATIVE_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32', mipsle: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

/** This machine's architecture in Docker's (Go's) naming. */
export function nativeArch(arch: string = process.arch, little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return 'x86';
    case 'ppc64':
      return little ? 'ppc64le' : 'ppc64';
    case 'mipsel':
      return 'mipsle';
    default:
      return arch;
  }
}

/** "6.18.44-fc" → [6, 18, 44]. */
export function parseKernelVersion(text: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  if (!m) throw invalidArgument(`Decoding seccomp profile failed: invalid kernel version ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function kernelVersion(): number[] {
  return parseKernelVersion(release());
}

function atLeast(kernel: readonly number[], min: string): boolean {
  const want = parseKernelVersion(min);
  for (let i = 0; i < 3; i++) {
    if ((kernel[i] ?? 0) !== want[i]) return (kernel[i] ?? 0) > want[i];
  }
  return true;
}

// ---- parsing a user's profile (Go's encoding/json semantics, Docker's messages) -----------------

const fail = (msg: string) => invalidArgument(`Decoding seccomp profile failed: ${msg}`);

function goType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

function typeError(v: unknown, field: string, type: string): Error {
  return fail(`json: cannot unmarshal ${goType(v)} into Go struct field ${field} of type ${type}`);
}

/** Go matches JSON keys to struct fields case-insensitively; unknown keys are ignored. */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function optString(obj: Record<string, unknown>, name: string, path: string): string | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(v, `${path}.${name}`, 'string');
  return v;
}

function optUint(obj: Record<string, unknown>, name: string, path: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw typeError(v, `${path}.${name}`, 'uint');
  return v;
}

function optStrings(obj: Record<string, unknown>, name: string, path: string): string[] | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(v, `${path}.${name}`, '[]string');
  for (const s of v) if (typeof s !== 'string') throw typeError(s, `${path}.${name}`, 'string');
  return v as string[];
}

function optObject(obj: Record<string, unknown>, name: string, path: string, type: string): Record<string, unknown> | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, `${path}.${name}`, type);
  return v as Record<string, unknown>;
}

function parseFilter(obj: Record<string, unknown>, name: string, path: string): DockerFilter | undefined {
  const f = optObject(obj, name, path, 'seccomp.Filter');
  if (!f) return undefined;
  const p = `${path}.${name}`;
  return { caps: optStrings(f, 'caps', p), arches: optStrings(f, 'arches', p), minKernel: optString(f, 'minKernel', p) };
}

function checkAction(action: string, where: string): void {
  if (!ACTIONS.includes(action)) throw invalidArgument(`seccomp profile: ${where}: unknown action "${action}"`);
}

/**
 * A profile in Docker's JSON format, checked the way Docker's decoder checks it, plus what the
 * runtime would refuse later (unknown actions, operators, architectures), so a bad profile fails
 * `docker create` with a clear message and nothing behind.
 */
export function parseProfile(text: string): DockerSeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw fail(`json: cannot unmarshal ${goType(doc)} into Go value of type seccomp.Seccomp`);
  const o = doc as Record<string, unknown>;
  const P = 'Seccomp';
  const profile: DockerSeccompProfile = {
    defaultAction: optString(o, 'defaultAction', P) ?? '',
    defaultErrnoRet: optUint(o, 'defaultErrnoRet', P, MAX_ERRNO),
    architectures: optStrings(o, 'architectures', P),
    listenerPath: optString(o, 'listenerPath', P),
    listenerMetadata: optString(o, 'listenerMetadata', P),
    flags: optStrings(o, 'flags', P),
  };
  const archMap = field(o, 'archMap');
  if (archMap !== undefined && archMap !== null) {
    if (!Array.isArray(archMap)) throw typeError(archMap, `${P}.archMap`, '[]seccomp.Architecture');
    profile.archMap = archMap.map((a) => {
      if (a === null || typeof a !== 'object' || Array.isArray(a)) throw typeError(a, `${P}.archMap`, 'seccomp.Architecture');
      const entry = a as Record<string, unknown>;
      return { architecture: optString(entry, 'architecture', 'Architecture') ?? '', subArchitectures: optStrings(entry, 'subArchitectures', 'Architecture') ?? null };
    });
  }
  const syscalls = field(o, 'syscalls');
  if (syscalls !== undefined && syscalls !== null) {
    if (!Array.isArray(syscalls)) throw typeError(syscalls, `${P}.syscalls`, '[]*seccomp.Syscall');
    profile.syscalls = syscalls.map((s, i) => {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) throw typeError(s, `${P}.syscalls`, 'seccomp.Syscall');
      const r = s as Record<string, unknown>;
      const SP = 'Syscall';
      const rule: DockerSyscallRule = {
        name: optString(r, 'name', SP),
        names: optStrings(r, 'names', SP),
        action: optString(r, 'action', SP) ?? '',
        errnoRet: optUint(r, 'errnoRet', SP, MAX_ERRNO),
        comment: optString(r, 'comment', SP),
        includes: parseFilter(r, 'includes', SP),
        excludes: parseFilter(r, 'excludes', SP),
      };
      const args = field(r, 'args');
      if (args !== undefined && args !== null) {
        if (!Array.isArray(args)) throw typeError(args, `${SP}.args`, '[]*seccomp.Arg');
        rule.args = args.map((a) => {
          if (a === null || typeof a !== 'object' || Array.isArray(a)) throw typeError(a, `${SP}.args`, 'seccomp.Arg');
          const arg = a as Record<string, unknown>;
          const index = optUint(arg, 'index', 'Arg', MAX_ARG_INDEX) ?? 0;
          const op = optString(arg, 'op', 'Arg') ?? '';
          if (!OPERATORS.includes(op)) throw invalidArgument(`seccomp profile: syscalls[${i}].args: unknown operator "${op}"`);
          const valueTwo = optUint(arg, 'valueTwo', 'Arg');
          return { index, value: optUint(arg, 'value', 'Arg') ?? 0, ...(valueTwo !== undefined ? { valueTwo } : {}), op };
        });
      }
      checkAction(rule.action, `syscalls[${i}]`);
      return rule;
    });
  }
  if (profile.defaultAction !== '') checkAction(profile.defaultAction, 'defaultAction');
  for (const f of profile.flags ?? []) if (!FLAGS.includes(f)) throw invalidArgument(`seccomp profile: unknown flag "${f}"`);
  if (profile.listenerPath) throw invalidArgument('seccomp profile: listenerPath (SCMP_ACT_NOTIFY) is not supported');
  for (const a of [...(profile.architectures ?? []), ...(profile.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])]) {
    if (!/^SCMP_ARCH_[A-Z0-9_]+$/.test(a)) throw invalidArgument(`seccomp profile: unknown architecture "${a}"`);
  }
  return profile;
}

// ---- conversion into the OCI spec ---------------------------------------------------------------

function kept(rule: DockerSyscallRule, t: Target): boolean {
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.length && ex.arches.includes(t.arch)) return false;
    if (ex.caps?.length && ex.caps.some((c) => t.caps.includes(c))) return false;
    if (ex.minKernel && atLeast(t.kernel, ex.minKernel)) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(t.arch)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => t.caps.includes(c))) return false;
    if (inc.minKernel && !atLeast(t.kernel, inc.minKernel)) return false;
  }
  return true;
}

/**
 * `linux.seccomp` for a container, or undefined when the profile has no default action and no
 * syscalls (Docker reads that as "no filter").
 */
export function toOciSeccomp(profile: DockerSeccompProfile, t: Target): OciSeccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (!profile.defaultAction) throw invalidArgument('seccomp profile: defaultAction is required');
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const architectures = [...(profile.architectures ?? [])];
  const native = NATIVE_ARCH[t.arch];
  const entry = native ? profile.archMap?.find((a) => a.architecture === native) : undefined;
  if (entry) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
  if (architectures.length) out.architectures = architectures;
  if (profile.flags?.length) out.flags = [...profile.flags];
  const syscalls: OciSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!kept(rule, t)) continue;
    if (rule.name && rule.names?.length) throw invalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
    const names = rule.name ? [rule.name] : [...(rule.names ?? [])];
    if (names.length === 0) continue;
    const call: OciSyscall = { names, action: rule.action };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}), op: a.op }));
    syscalls.push(call);
  }
  out.syscalls = syscalls;
  return out;
}

/**
 * Signal names and numbers as Docker accepts them (moby/sys/signal): a name in any case with or
 * without "SIG" (KILL, sigterm, SIGRTMIN+3), or a decimal number; 0 is not a signal.
 *
 * @example
 *   parseSignal('term');   // 15
 *   parseSignal('9');      // 9
 */
import { invalidArgument } from '../../common/errors.js';

/** Linux x86_64 signal numbers. */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18,
  STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27,
  WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, UNUSED: 31,
};

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export const SIGKILL = 9;
export const SIGTERM = 15;

/** Parses a signal; throws Docker's `invalid signal: X` for anything else. */
export function parseSignal(text: string): number {
  const raw = text.trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0 || n > SIGRTMAX) throw invalidArgument(`invalid signal: ${text}`);
    return n;
  }
  const name = raw.toUpperCase().replace(/^SIG/, '');
  if (name in SIGNALS) return SIGNALS[name];
  const rt = /^RTM(IN|AX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'IN' ? SIGRTMIN : SIGRTMAX;
    const offset = rt[3] ? Number(rt[3]) * (rt[2] === '-' ? -1 : 1) : 0;
    const n = base + offset;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw invalidArgument(`invalid signal: ${text}`);
}

/** The name Docker shows for a signal number ("SIGTERM"), or the number itself. */
export function signalName(n: number): string {
  for (const [name, value] of Object.entries(SIGNALS)) if (value === n) return `SIG${name}`;
  if (n >= SIGRTMIN && n <= SIGRTMAX) return n === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${n - SIGRTMIN}`;
  return String(n);
}

/**
 * Reads the systemd units in deploy/systemd/ so `tersane up` starts each component with exactly the
 * command line and environment systemd would use: what the tests run is what production runs.
 *
 * Supported: `Environment=` (several per line, "quoted" values), `ExecStart=` with systemd's
 * ${VAR} and $VAR expansion (whole-word $VAR splits on spaces, as systemd does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../common/config.js';

export interface UnitCommand {
  unit: string;
  argv: string[];
  env: Record<string, string>;
  restart: Pick<ParsedUnit, 'restartSecMs' | 'startLimitBurst' | 'startLimitIntervalMs'>;
}

export function unitFile(prefix: string, component: Component): string {
  return join(prefix, 'deploy', 'systemd', `tersane-${component}.service`);
}

/** Splits a systemd value into words, honouring double and single quotes. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export interface ParsedUnit {
  execStart: string;
  environment: Record<string, string>;
  /** Restart= timing, as systemd applies it: RestartSec, and the start limit over an interval. */
  restartSecMs: number;
  startLimitBurst: number;
  startLimitIntervalMs: number;
}

/** systemd's time spans as used in our units: "200ms", "5s", "1min", or bare seconds. */
export function parseTimeSpanMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(value.trim());
  if (!m) throw new Error(`unsupported time span ${JSON.stringify(value)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'min' || m[2] === 'm' ? n * 60_000 : n * 1000;
}

export function parseUnit(text: string): ParsedUnit {
  const environment: Record<string, string> = {};
  let execStart = '';
  // systemd's defaults.
  let restartSecMs = 100;
  let startLimitBurst = 5;
  let startLimitIntervalMs = 10_000;
  let section = '';
  // Continuation lines end with a backslash.
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === 'Unit') {
      if (key === 'StartLimitBurst') startLimitBurst = Number(value);
      else if (key === 'StartLimitIntervalSec') startLimitIntervalMs = parseTimeSpanMs(value);
      continue;
    }
    if (section !== 'Service') continue;
    if (key === 'RestartSec') restartSecMs = parseTimeSpanMs(value);
    else if (key === 'Environment') {
      for (const w of words(value)) {
        const i = w.indexOf('=');
        if (i > 0) environment[w.slice(0, i)] = w.slice(i + 1);
      }
    } else if (key === 'ExecStart') {
      execStart = value.replace(/^[-@:+!]+/, '');
    }
  }
  if (!execStart) throw new Error('unit has no ExecStart');
  return { execStart, environment, restartSecMs, startLimitBurst, startLimitIntervalMs };
}

/** Expands ${VAR} inside words and a whole-word $VAR into its space-separated words. */
export function expandCommand(execStart: string, env: Record<string, string>): string[] {
  const argv: string[] = [];
  for (const w of words(execStart)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) {
      argv.push(...(env[whole[1]] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    argv.push(w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? ''));
  }
  return argv;
}

/**
 * The command of a component's unit, with `overrides` (root, prefix, ports) applied on top of the
 * unit's own Environment= lines.
 */
export function loadUnitCommand(prefix: string, component: Component, overrides: Record<string, string>): UnitCommand {
  const unit = unitFile(prefix, component);
  const { execStart, environment, ...restart } = parseUnit(readFileSync(unit, 'utf8'));
  const env = { ...environment, ...overrides };
  return { unit, argv: expandCommand(execStart, env), env, restart };
}

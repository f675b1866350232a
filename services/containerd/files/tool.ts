/**
 * Running runtime-native's tersane-archive: its exit statuses become EngineErrors, its stdout is
 * the caller's to stream (a tar, a JSON line, changes), and it is killed when the caller gives up.
 *
 * @example
 *   const run = runArchive(bin, ['stat', '--root', dir, '/etc']);
 *   const line = await run.text(); // throws not_found when /etc is not there
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { EngineError, internal, invalidArgument, notFound, permissionDenied } from '../../../common/errors.js';

/** tersane-archive's exit statuses (runtime-native/archive/main.c). */
export const EXIT = { fail: 1, usage: 2, notFound: 3, notDir: 4, readOnly: 5, rootGone: 6 } as const;

/** What is held of the tool's output until its reader takes it (back-pressure beyond). */
const STDOUT_BUFFER = 256 * 1024;

/** The container stopped while the tool looked at its running root: look again, once, stopped. */
export class RootGoneError extends Error {}

export interface ArchiveRun {
  child: ChildProcess;
  stdout: Readable;
  stdin: Writable;
  /** Resolves when the tool exited 0; rejects with the EngineError its status and message say. */
  done: Promise<void>;
  /** The whole stdout as text, once the tool succeeded. */
  text(): Promise<string>;
  kill(): void;
}

function errorOf(code: number | null, signal: NodeJS.Signals | null, stderr: string): Error {
  const line = stderr.trim().split('\n').pop()?.replace(/^tersane-archive: /, '') || `exit ${code ?? signal}`;
  switch (code) {
    case EXIT.notFound:
      return notFound(line);
    case EXIT.notDir:
      return invalidArgument(line);
    case EXIT.readOnly:
      return permissionDenied(line);
    case EXIT.rootGone:
      return new RootGoneError(line);
    case EXIT.fail:
      return invalidArgument(line);
    default:
      return internal(`tersane-archive: ${line}`);
  }
}

export function runArchive(binary: string, args: string[], opts: { stdin?: boolean } = {}): ArchiveRun {
  const child = spawn(binary, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(internal(`cannot run ${binary}: ${e.message}`)));
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(errorOf(code, signal, stderr))));
  });
  done.catch(() => undefined);
  // Taken at once: Node discards a child's output nobody listens to by the time it exits.
  const stdout = child.stdout!.pipe(new PassThrough({ highWaterMark: STDOUT_BUFFER }));
  return {
    child,
    stdout,
    stdin: child.stdin!,
    done,
    async text() {
      let out = '';
      stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      await done;
      return out;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** True for the errors a caller turns into Docker's own wording (not a failure of the engine). */
export function isUserError(err: unknown): boolean {
  return err instanceof EngineError && err.kind !== 'internal';
}

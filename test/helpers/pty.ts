/**
 * A command run in a real pseudo-terminal for a test to type into and read from, as a user's
 * terminal would be. Python's pty module (python3 is part of every Debian install the engine runs
 * on) forks the command on a new pty and relays: the terminal's output comes back raw, the test's
 * keystrokes and window-size changes go in (a size change is set on the pty, which sends SIGWINCH to
 * the foreground process, and the command is sent one more for good measure).
 *
 * @example
 *   const t = spawnPty(['docker', 'run', '-it', 'busybox', 'sh'], { env, rows: 30, cols: 100 });
 *   await t.waitFor(/# $/);
 *   t.write('stty size\r');
 *   await t.waitFor(/30 100/);
 *   t.resize(40, 120);
 *   t.write('\x10\x11');      // ctrl-p ctrl-q
 *   expect(await t.exited).toBe(0);
 */
import { spawn } from 'node:child_process';

/** The relay, run by python3 -c. Protocol on its stdin: one JSON object per line. */
const DRIVER = String.raw`
import fcntl, json, os, pty, select, signal, struct, sys, termios, base64
rows, cols = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
inbuf = b''
out = sys.stdout.buffer
stdin = sys.stdin.buffer.raw
alive = True
status = None
while True:
    fds = [fd] + ([stdin] if alive else [])
    try:
        r, _, _ = select.select(fds, [], [], 0.2)
    except InterruptedError:
        continue
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            out.write(data); out.flush()
        elif status is not None:
            break
    if stdin in r:
        chunk = os.read(stdin.fileno(), 65536)
        if not chunk:
            alive = False
        inbuf += chunk
        while b'\n' in inbuf:
            line, inbuf = inbuf.split(b'\n', 1)
            msg = json.loads(line)
            if msg['t'] == 'in':
                os.write(fd, base64.b64decode(msg['d']))
            elif msg['t'] == 'size':
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', msg['rows'], msg['cols'], 0, 0))
                try:
                    os.kill(pid, signal.SIGWINCH)
                except ProcessLookupError:
                    pass
    if status is None:
        wpid, ws = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = os.waitstatus_to_exitcode(ws)
    if status is not None and fd not in r:
        # The command is gone, maybe between this round's select and its waitpid: what it wrote
        # last is still in the terminal, and is read to the end (EOF or EIO) before leaving.
        while select.select([fd], [], [], 0.05)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out.write(data); out.flush()
        break
sys.stderr.write(json.dumps({'exit': status}) + '\n')
`;

export interface PtySession {
  /** Everything the terminal showed so far. */
  readonly output: () => string;
  write(keys: string): void;
  /** Sets the terminal's size (the command gets SIGWINCH). */
  resize(rows: number, cols: number): void;
  /** Waits until the output after `from` (an offset into output()) matches. */
  waitFor(pattern: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  /** The command's exit code. */
  readonly exited: Promise<number>;
  kill(): void;
}

export function spawnPty(argv: string[], opts: { env?: NodeJS.ProcessEnv; rows?: number; cols?: number } = {}): PtySession {
  const child = spawn('python3', ['-c', DRIVER, String(opts.rows ?? 24), String(opts.cols ?? 80), ...argv], {
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number>((resolve) => {
    child.on('close', () => {
      const line = err.trim().split('\n').pop() ?? '';
      let code = -1;
      try {
        code = JSON.parse(line).exit ?? -1;
      } catch {
        /* the relay itself failed: -1, and its stderr is in the error of a waitFor */
      }
      for (const w of [...waiters]) w();
      resolve(code);
    });
  });
  const send = (msg: object) => {
    if (!child.stdin.destroyed) child.stdin.write(JSON.stringify(msg) + '\n');
  };
  return {
    output: () => out,
    write: (keys) => send({ t: 'in', d: Buffer.from(keys, 'utf8').toString('base64') }),
    resize: (rows, cols) => send({ t: 'size', rows, cols }),
    exited,
    kill: () => child.kill('SIGKILL'),
    waitFor(pattern, o = {}) {
      const from = o.from ?? 0;
      const timeoutMs = o.timeoutMs ?? 20_000;
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.slice(from).match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null && child.stdout.readableEnded) {
            done();
            reject(new Error(`the command ended before ${pattern} appeared; output: ${JSON.stringify(out.slice(from))} ${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; output: ${JSON.stringify(out.slice(from))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

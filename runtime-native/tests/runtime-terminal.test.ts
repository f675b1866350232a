/**
 * Terminals: with process.terminal and --console-socket the runtime hands the pty master over the
 * socket (SCM_RIGHTS); reading it shows the container's output, and the window size set on the
 * master (TIOCSWINSZ) is what `stty size` reports inside, before and after a resize. Without a
 * console socket, `run` in the foreground relays the terminal itself; exec -t likewise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NATIVE_DIR, RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

const RECVTTY = join(NATIVE_DIR, 'build', 'tests', 'runtime_recvtty');

let h: RuntimeHarness;
beforeAll(() => {
  const m = spawnSync('make', ['-s', '-C', NATIVE_DIR, 'runtime-test-tools'], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`make runtime-test-tools: ${m.stderr}`);
  h = new RuntimeHarness(TERSANE_RUNTIME);
});
afterAll(async () => {
  await h.cleanup();
});

/** Starts the console-socket receiver; resolves once it listens. */
function recvtty(sock: string, sizes: number[]): { ready: Promise<void>; done: Promise<{ out: string; err: string; status: number | null }> } {
  const p = spawn(RECVTTY, [sock, ...sizes.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => {
    err += d;
    if (err.includes('listening')) readyResolve();
  });
  const done = new Promise<{ out: string; err: string; status: number | null }>((resolve) => p.on('close', (status) => resolve({ out, err, status })));
  return { ready, done };
}

describe('terminal', () => {
  it('--console-socket receives the pty master; output and window size follow it', async () => {
    const script = 'stty size; tty; echo next; read line; echo "got $line"; stty size; ls -l /dev/console | cut -c1-10';
    const b = await h.bundle(['sh', '-c', script], (c) => (c.process.terminal = true));
    const sock = join(b.dir, 'console.sock');
    const rt = recvtty(sock, [33, 111, 44, 122]);
    await rt.ready;
    const c = h.run(['create', '--bundle', b.dir, '--console-socket', sock, 'tty1']);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    expect(h.run(['start', 'tty1']).status).toBe(0);
    const res = await rt.done;
    expect(res.err).toContain('received /dev/pts/0');
    // the terminal echoes what is typed ("go"), and turns \n into \r\n
    expect(res.out).toBe('33 111\r\n/dev/pts/0\r\nnext\r\ngo\r\ngot go\r\n44 122\r\ncrw--w----\r\n');
    await h.waitStatus('tty1', 'stopped');
    expect(h.run(['delete', 'tty1']).status).toBe(0);
    expect(h.leftovers(b, 'tty1')).toEqual([]);
  });

  it('consoleSize in the config is the initial size', async () => {
    const b = await h.bundle(['stty', 'size'], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 12, width: 34 };
    });
    const sock = join(b.dir, 'console.sock');
    const rt = recvtty(sock, [0, 0]);
    await rt.ready;
    expect(h.run(['run', '-d', '--bundle', b.dir, '--console-socket', sock, 'tty2']).status).toBe(0);
    const res = await rt.done;
    expect(res.out).toBe('12 34\r\n');
  });

  it('a terminal without --console-socket is an error for create, one line, nothing left', async () => {
    const b = await h.bundle(['true'], (c) => (c.process.terminal = true));
    const r = h.run(['create', '--bundle', b.dir, 'tty3']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/process\.terminal/);
    expect(h.leftovers(b, 'tty3', true)).toEqual([]);
  });

  it('run in the foreground relays the terminal; exec -t gets a terminal of its own', async () => {
    const b = await h.bundle(['sh', '-c', 'tty; echo hello'], (c) => (c.process.terminal = true));
    const r = h.run(['run', '--bundle', b.dir, 'tty4']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('/dev/pts/0\r\nhello\r\n');
    expect(h.leftovers(b, 'tty4')).toEqual([]);

    const b2 = await h.bundle(['sleep', '1000']);
    expect(h.run(['run', '-d', '--bundle', b2.dir, 'tty5']).status).toBe(0);
    const e = h.run(['exec', '-t', 'tty5', 'sh', '-c', 'tty; exit 5']);
    expect(e.status).toBe(5);
    expect(e.stdout).toBe('/dev/pts/0\r\n');
    const n = h.run(['exec', 'tty5', 'sh', '-c', 'tty; true']);
    expect(n.stdout).toBe('not a tty\n');
    expect(h.run(['delete', '--force', 'tty5']).status).toBe(0);
  });
});

/**
 * Terminals through the real docker CLI, in a real pty driven by the test: typing into `docker run
 * -it busybox sh` gets answers, `stty size` follows the window (the first size comes with the
 * create, later ones as resizes), Ctrl-P Ctrl-Q (or --detach-keys) detaches and `docker attach`
 * returns to the same shell; `docker exec -it` likewise; `docker run -i` with piped stdin that ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { spawnPty } from '../helpers/pty.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

/** busybox ash's prompt, which asks the terminal where the cursor is (DSR) right after it. */
const PROMPT = /# (?:\x1b\[6n)?$/;
const CTRL_P_CTRL_Q = '\x10\x11';

describe('docker run -it', () => {
  it('answers what is typed, follows the window size, detaches with Ctrl-P Ctrl-Q and attaches again', async () => {
    const t = spawnPty(['docker', 'run', '-it', '--name', 'tty1', 'busybox', 'sh'], { env: stack.env, rows: 30, cols: 100 });
    await t.waitFor(PROMPT);
    const mark = t.output().length;
    t.write('echo $((6*7)); stty size\r');
    await t.waitFor(/42\r\n30 100\r\n/, { from: mark });

    // Each SIGWINCH makes the CLI send the window's size (CLI → api → daemon → containerd → shim →
    // monitor); its own first resize after the start may still be on its way and land later, as
    // with Docker, so the window is resized (to the same size) until the shell sees it.
    let size = '';
    for (let i = 0; i < 25 && size !== '40 120'; i++) {
      t.resize(40, 120);
      const from = t.output().length;
      t.write('stty size\r');
      size = (await t.waitFor(/(\d+ \d+)\r\n/, { from }))[1];
      if (size !== '40 120') await new Promise((r) => setTimeout(r, 200));
    }
    expect(size).toBe('40 120');

    // A mark in this shell, to know the attach comes back to the same one. The keys go once the
    // shell has taken it: the CLI drops whatever it reads together with the detach keys.
    const marked = t.output().length;
    t.write('export MARK=same-shell-$$\r');
    await t.waitFor(/same-shell-\$\$\r\n[^]*# (?:\x1b\[6n)?$/, { from: marked });
    t.write(CTRL_P_CTRL_Q);
    expect(await t.exited).toBe(0);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Running}}', 'tty1'])).toBe('true');

    const a = spawnPty(['docker', 'attach', 'tty1'], { env: stack.env, rows: 30, cols: 100 });
    // Attaching to a shell waiting at its prompt shows nothing until something is typed.
    await new Promise((r) => setTimeout(r, 500));
    a.write('echo $MARK\r');
    await a.waitFor(/same-shell-\d+\r\n/);
    a.write('exit 3\r');
    expect(await a.exited).toBe(3);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'tty1'])).toBe('exited 3');
    await stack.dockerOk(['rm', 'tty1']);
  });

  it('detaches with --detach-keys and passes Ctrl-P through when it is not the sequence', async () => {
    const t = spawnPty(['docker', 'run', '-it', '--name', 'tty2', '--detach-keys', 'ctrl-a,x', 'busybox', 'sh'], { env: stack.env });
    await t.waitFor(PROMPT);
    // Ctrl-P Ctrl-Q are ordinary keys now: the shell gets them and stays attached.
    t.write(CTRL_P_CTRL_Q);
    t.write('echo still-here\r');
    await t.waitFor(/still-here\r\n/);
    t.write('\x01x');
    expect(await t.exited).toBe(0);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Running}}', 'tty2'])).toBe('true');
    await stack.dockerOk(['rm', '-f', 'tty2']);
  });

  it('gives `stty size` the client’s size from the first moment', async () => {
    const t = spawnPty(['docker', 'run', '-it', '--rm', 'busybox', 'stty', 'size'], { env: stack.env, rows: 33, cols: 111 });
    await t.waitFor(/33 111/);
    expect(await t.exited).toBe(0);
  });
});

describe('docker exec -it', () => {
  it('runs a shell in a terminal of the client’s size and detaches leaving the container running', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'ex-tty', 'busybox', 'sleep', '1000']);
    const t = spawnPty(['docker', 'exec', '-it', 'ex-tty', 'sh'], { env: stack.env, rows: 25, cols: 90 });
    await t.waitFor(PROMPT);
    const mark = t.output().length;
    t.write('stty size; tty\r');
    await t.waitFor(/25 90\r\n\/dev\/pts\/\d+\r\n/, { from: mark });
    t.write('exit 4\r');
    expect(await t.exited).toBe(4);

    const d = spawnPty(['docker', 'exec', '-it', 'ex-tty', 'sh'], { env: stack.env });
    await d.waitFor(PROMPT);
    d.write(CTRL_P_CTRL_Q);
    // The CLI reports a detach from an exec as Docker's does: the message and status 1.
    expect(await d.exited).toBe(1);
    expect(d.output()).toContain('read escape sequence');
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Running}}', 'ex-tty'])).toBe('true');
    await stack.dockerOk(['rm', '-f', 'ex-tty']);
  });
});

describe('docker run -i', () => {
  it('passes piped stdin and closes it at its end', async () => {
    const r = await stack.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo eof-seen'], { input: 'one\ntwo\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('one\ntwo\neof-seen\n');
  });

  it('takes piped stdin into an exec and ends it there too', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'ex-in', 'busybox', 'sleep', '1000']);
    const r = await stack.docker(['exec', '-i', 'ex-in', 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/ +/g, '')).toBe('3\ndone\n');
    await stack.dockerOk(['rm', '-f', 'ex-in']);
  });
});

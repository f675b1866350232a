/**
 * tersane-spawner through the shim's LineServer: a program run with exactly the environment and
 * arguments asked, its status and last output lines answered (escaped), requests side by side, a
 * program past the timeout killed, and a bad request answered without harm to the server.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../common/config.js';
import { LineServer } from '../../common/line-server.js';

const spawner = new LineServer(loadConfig({}).nativeBinary('tersane-spawner'), ['--timeout', '2', '/bin/sh'], { name: 'tersane-spawner', timeoutMs: 10_000 });
afterAll(() => spawner.close());

const sh = (script: string, env: string[] = []) => spawner.request([String(env.length), ...env, '-c', script]);

describe('tersane-spawner', () => {
  it('runs the program with exactly the environment asked and answers its status and last lines', async () => {
    expect(await sh('echo first; echo "$GREETING $0"; echo oops >&2; exit 3', ['GREETING=hello'])).toEqual(['3', 'hello /bin/sh', 'oops']);
    expect(await sh('env | wc -l')).toEqual(['0', '1', '']);
  });

  it('gives the program its three streams and nothing else of the server’s', async () => {
    // The shell's own descriptors, looked at with builtins only (a command or a pipeline would
    // open some of its own while it looks).
    expect(await sh('n=3; while [ $n -lt 1024 ]; do [ -e /proc/$$/fd/$n ] && printf "%s " $n; n=$((n+1)); done; echo none-above-2')).toEqual(['0', 'none-above-2', '']);
  });

  it('escapes tabs, newlines and backslashes in what it answers', async () => {
    const [status, out] = await sh(`printf 'a\\tb\\\\c\\n'`);
    expect(status).toBe('0');
    expect(out).toBe('a\\tb\\\\c');
  });

  it('runs requests side by side, each answered as its program ends', async () => {
    const order: string[] = [];
    await Promise.all([sh('sleep 0.4; echo slow').then(([, o]) => order.push(o)), sh('echo fast').then(([, o]) => order.push(o))]);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('kills a program still running after the timeout', async () => {
    const [status, , err] = await sh('sleep 30');
    expect(status).toBe('137');
    expect(err).toContain('killed after the timeout');
  });

  it('answers a malformed request with 127 and goes on serving', async () => {
    expect((await spawner.request(['2', 'A=1']))[0]).toBe('127');
    expect(await sh('echo still')).toEqual(['0', 'still', '']);
  });
});

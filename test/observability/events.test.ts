/**
 * `docker events` backed by NATS JetStream: a `docker run --rm`'s life in order, replayed with
 * --since after the daemon was SIGKILLed and restarted, and a live subscriber that rides through a
 * daemon restart without losing or repeating an event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

/** `index` gives "" for an attribute an event does not carry (a field access would print "<no value>"). */
const FORMAT = '{{.Type}} {{.Action}} {{index .Actor.Attributes "name"}} {{index .Actor.Attributes "exitCode"}}';

describe('docker events', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.loadImage('busybox');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** "container die ev1 4" → "die 4": the actions of one container, with the exit code of a die. */
  const lifeOf = (lines: string[], name: string) =>
    lines
      .map((l) => l.split(' '))
      .filter(([type, , n]) => type === 'container' && n === name)
      .map(([, action, , exitCode]) => (exitCode ? `${action} ${exitCode}` : action));

  it('replays a docker run --rm with --since, also after the daemon was killed', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    expect((await stack.docker(['run', '--rm', '--name', 'ev1', 'busybox', 'sh', '-c', 'exit 4'])).code).toBe(4);
    const r = stack.tersane(['restart', 'daemon', '--kill']);
    expect(r.code, r.stderr).toBe(0);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const out = await stack.dockerOk(['events', '--since', String(since), '--until', String(until), '--format', FORMAT, '--filter', 'container=ev1']);
    const life = lifeOf(out.split('\n'), 'ev1').filter((l) => !l.startsWith('attach'));
    expect(life).toEqual(['create', 'start', 'die 4', 'destroy']);
  });

  it('a live subscriber loses and repeats nothing across a daemon restart', async () => {
    const events = spawn('docker', ['events', '--format', FORMAT, '--filter', 'type=container'], { env: stack.env });
    let text = '';
    events.stdout.on('data', (d) => (text += d));
    await sleep(1000);
    await stack.dockerOk(['run', '--rm', '--name', 'before', 'busybox', 'true']);
    expect(stack.tersane(['restart', 'daemon', '--kill']).code).toBe(0);
    await stack.dockerOk(['run', '--rm', '--name', 'after', 'busybox', 'sh', '-c', 'exit 2']).catch(() => undefined);
    for (let i = 0; i < 50 && !/destroy after/.test(text); i++) await sleep(100);
    events.kill('SIGTERM');
    const lines = text.split('\n').filter(Boolean);
    expect(lifeOf(lines, 'before').filter((l) => !l.startsWith('attach'))).toEqual(['create', 'start', 'die 0', 'destroy']);
    expect(lifeOf(lines, 'after').filter((l) => !l.startsWith('attach'))).toEqual(['create', 'start', 'die 2', 'destroy']);
  });
});

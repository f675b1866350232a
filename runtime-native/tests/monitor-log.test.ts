/**
 * tersane-monitor's json-file log: Docker's exact line format and escaping, cutting long lines,
 * size rotation, and a log that keeps flowing when an attached client does not read.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACH_STDOUT, monitorRuntimes, MonitorTask, type TaskOptions } from './monitor-client.js';

const runtimes = await monitorRuntimes();

describe.each(runtimes)('tersane-monitor log with $name', ({ path: runtime }) => {
  const tasks: MonitorTask[] = [];
  afterEach(async () => {
    for (const t of tasks.splice(0)) await t.cleanup();
  });
  async function run(opts: TaskOptions): Promise<MonitorTask> {
    const t = await MonitorTask.prepare(runtime, opts);
    tasks.push(t);
    await t.launchOk();
    const c = await t.connect();
    await c.start();
    await c.exited;
    return t;
  }

  it('writes Docker json-file lines with Docker escaping', async () => {
    // tab, <>&, quote, backslash, \r, a control byte, U+2028, valid UTF-8 and an invalid byte.
    const t = await run({ args: ['sh', '-c', `printf 'a\\tb<>&"\\\\\\r\\001\\342\\200\\250ü\\377z\\n'; printf 'no newline'`] });
    const lines = readFileSync(t.logPath, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    const m = /^\{"log":"(.*)","stream":"stdout","time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)"\}$/.exec(lines[0]);
    expect(m).not.toBeNull();
    expect(m![1]).toBe('a\\u0009b\\u003c\\u003e\\u0026\\"\\\\\\r\\u0001\\u2028ü\\ufffdz\\n');
    expect(JSON.parse(lines[1]).log).toBe('no newline');
  });

  it('cuts a line at 16 KiB', async () => {
    const t = await run({ args: ['sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" x; echo'] });
    const logs = t.logEntries().map((e) => e.log);
    expect(logs.map((l) => l.length)).toEqual([16384, 16384, 40000 - 32768 + 1]);
    expect(logs[2].endsWith('x\n')).toBe(true);
  });

  it('rotates at --log-max-size and keeps --log-max-files files', async () => {
    const t = await run({
      args: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo "line $i padding padding padding padding"; i=$((i+1)); done'],
      logMaxSize: 4000,
      logMaxFiles: 3,
    });
    for (const f of [t.logPath, `${t.logPath}.1`, `${t.logPath}.2`]) {
      expect(existsSync(f)).toBe(true);
      expect(statSync(f).size).toBeLessThanOrEqual(4000);
    }
    expect(existsSync(`${t.logPath}.3`)).toBe(false);
    const newest = t.logEntries().map((e) => e.log);
    expect(newest[newest.length - 1]).toBe('line 299 padding padding padding padding\n');
    // The three files hold consecutive lines, oldest in .2.
    const all = [...t.logEntries(`${t.logPath}.2`), ...t.logEntries(`${t.logPath}.1`), ...t.logEntries()].map((e) => e.log);
    const first = Number(/line (\d+)/.exec(all[0])![1]);
    all.forEach((l, i) => expect(l).toBe(`line ${first + i} padding padding padding padding\n`));
  });

  it('with one file, starts the file over', async () => {
    const t = await run({ args: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i+1)); done'], logMaxSize: 500 });
    expect(statSync(t.logPath).size).toBeLessThanOrEqual(500);
    expect(existsSync(`${t.logPath}.1`)).toBe(false);
    expect(t.logEntries().pop()!.log).toBe('line 99\n');
  });

  it('keeps the log whole while an attached client does not read', async () => {
    const t = await MonitorTask.prepare(runtime, { args: ['sh', '-c', `yes ${'y'.repeat(98)} | head -n 80000; echo done`] });
    tasks.push(t);
    await t.launchOk();
    const stuck = await t.connect();
    await stuck.attach(ATTACH_STDOUT);
    (stuck as any).sock.pause();   // never reads again
    const c = await t.connect();
    await c.start();
    const exit = await t.waitExitFile(60_000);
    expect(exit.exit_code).toBe(0);
    const logs = t.logEntries();
    expect(logs.length).toBe(80001);
    expect(logs[logs.length - 1].log).toBe('done\n');
    stuck.close();
    c.close();
  });
});

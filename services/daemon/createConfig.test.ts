import { describe, expect, it } from 'vitest';
import { commandLine, cpuQuota, entrypointAndArgs, logLimits, mergeImageConfig, parseCreateBody, parseRamSize, processEnv } from './createConfig.js';

const body = (extra: Record<string, unknown> = {}, host: Record<string, unknown> = {}) =>
  JSON.stringify({ Image: 'busybox', ...extra, HostConfig: host });

const busybox = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=image'], Cmd: ['sh'], Labels: { from: 'image', both: 'image' } };

describe('parseCreateBody', () => {
  it('fills Docker defaults into HostConfig', () => {
    const { hostConfig, config } = parseCreateBody(body({ Cmd: ['echo', 'hi'] }));
    expect(hostConfig.NetworkMode).toBe('bridge');
    expect(hostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
    expect(hostConfig.LogConfig).toEqual({ Type: 'json-file', Config: {} });
    expect(hostConfig.ShmSize).toBe(64 * 1024 * 1024);
    expect(config.Cmd).toEqual(['echo', 'hi']);
    expect(config.Labels).toEqual({});
  });

  it('accepts a string Cmd (old clients)', () => {
    expect(parseCreateBody(body({ Cmd: 'date' })).config.Cmd).toEqual(['date']);
  });

  it.each([
    [{ WorkingDir: 'rel' }, {}, "the working directory 'rel' is invalid, it needs to be an absolute path"],
    [{ Env: ['=x'] }, {}, 'invalid environment variable: =x'],
    [{}, { RestartPolicy: { Name: 'sometimes' } }, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
    [{}, { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    [{}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, 'invalid restart policy: maximum retry count cannot be negative'],
    [{}, { AutoRemove: true, RestartPolicy: { Name: 'always' } }, "can't create 'AutoRemove' container with restart policy"],
    [{}, { Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    [{}, { MemorySwap: 100 * 1024 * 1024 }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [{}, { CpuPeriod: 10 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
    [{}, { OomScoreAdj: 2000 }, 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    [{}, { CapAdd: ['NOT_A_CAP'] }, 'unknown capability: "CAP_NOT_A_CAP"'],
    [{}, { LogConfig: { Type: 'splunky' } }, "logger: no log driver named 'splunky' is registered"],
    [{}, { LogConfig: { Type: 'json-file', Config: { colour: 'red' } } }, "unknown log opt 'colour' for json-file log driver"],
    [{ StopSignal: 'SIGNOPE' }, {}, 'invalid signal: SIGNOPE'],
  ])('rejects %j %j', (cfg, host, message) => {
    expect(() => parseCreateBody(body(cfg, host))).toThrow(message);
  });

  it('rejects bodies that are not JSON objects', () => {
    expect(() => parseCreateBody('')).toThrow(/EOF/);
    expect(() => parseCreateBody('{')).toThrow(/invalid JSON/);
  });
});

describe('mergeImageConfig (Docker merge)', () => {
  const parsed = (extra: Record<string, unknown>) => parseCreateBody(body(extra)).config;

  it('takes the image Cmd when the user gives neither Cmd nor Entrypoint', () => {
    const c = mergeImageConfig(parsed({}), busybox);
    expect(c.Cmd).toEqual(['sh']);
    expect(entrypointAndArgs(c)).toEqual({ path: 'sh', args: [] });
  });

  it("merges Env by key, the user's winning, image's appended", () => {
    const c = mergeImageConfig(parsed({ Env: ['A=user', 'B=user'] }), busybox);
    expect(c.Env).toEqual(['A=user', 'B=user', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  });

  it("keeps the image's entrypoint unless the user gives one; cmd replaces the image's cmd", () => {
    const img = { Entrypoint: ['/entry.sh'], Cmd: ['default'] };
    const c = mergeImageConfig(parsed({ Cmd: ['arg'] }), img);
    expect(entrypointAndArgs(c)).toEqual({ path: '/entry.sh', args: ['arg'] });
    const d = mergeImageConfig(parsed({ Entrypoint: ['/other'] }), img);
    expect(entrypointAndArgs(d)).toEqual({ path: '/other', args: [] });
  });

  it('an explicit empty entrypoint drops the image entrypoint', () => {
    const img = { Entrypoint: ['/entry.sh'], Cmd: ['default'] };
    const c = mergeImageConfig(parsed({ Entrypoint: [''], Cmd: ['echo', 'x'] }), img);
    expect(c.Entrypoint).toBeNull();
    expect(entrypointAndArgs(c)).toEqual({ path: 'echo', args: ['x'] });
    expect(() => mergeImageConfig(parsed({ Entrypoint: [''] }), img)).toThrow('No command specified');
  });

  it('merges labels (user wins), WorkingDir, User, StopSignal, Volumes', () => {
    const c = mergeImageConfig(parsed({ Labels: { both: 'user' } }), { ...busybox, WorkingDir: '/w', User: 'nobody', StopSignal: 'SIGQUIT', Volumes: { '/data': {} } });
    expect(c.Labels).toEqual({ both: 'user', from: 'image' });
    expect(c.WorkingDir).toBe('/w');
    expect(c.User).toBe('nobody');
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.Volumes).toEqual({ '/data': {} });
  });

  it('fails with no command at all', () => {
    expect(() => mergeImageConfig(parsed({}), {})).toThrow('No command specified');
  });
});

describe('helpers', () => {
  it('builds the process env like Docker: PATH, HOSTNAME, TERM, then the config', () => {
    expect(processEnv({ ...parseCreateBody(body({ Tty: true, Hostname: 'h', Env: ['PATH=/x', 'A=1'] })).config })).toEqual([
      'PATH=/x',
      'HOSTNAME=h',
      'TERM=xterm',
      'A=1',
    ]);
  });

  it('parses json-file limits', () => {
    expect(logLimits({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } })).toEqual({ maxSize: 10_000_000, maxFiles: 3 });
    expect(logLimits({ Type: 'json-file', Config: {} })).toEqual({ maxSize: 0, maxFiles: 1 });
    expect(parseRamSize('1.5k')).toBe(1536);
    // Docker accepts max-file without max-size (it has no effect), and checks values only at start.
    expect(() => parseCreateBody(body({}, { LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } }))).not.toThrow();
    expect(() => parseCreateBody(body({}, { LogConfig: { Type: 'json-file', Config: { 'max-size': 'abc' } } }))).not.toThrow();
  });

  it('turns NanoCpus into a CFS quota', () => {
    const { hostConfig } = parseCreateBody(body({}, { NanoCpus: 1_500_000_000 }));
    expect(cpuQuota(hostConfig)).toEqual({ quota: 150_000, period: 100_000 });
  });

  it("renders docker ps's Command", () => {
    expect(commandLine('sh', ['-c', 'exit 3'])).toBe("sh -c 'exit 3'");
    expect(commandLine('sleep', [])).toBe('sleep');
  });
});

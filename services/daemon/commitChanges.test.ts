import { describe, expect, it } from 'vitest';
import { applyChanges, exposedPorts, parseGoDuration, processWord } from './commitChanges.js';
import type { DockerConfig } from './createConfig.js';

const base = (): DockerConfig => ({
  Hostname: 'abc',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: ['PATH=/usr/bin:/bin', 'HOME=/root'],
  Cmd: ['sh'],
  Image: 'busybox',
  Volumes: null,
  WorkingDir: '/srv',
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
});

describe('applyChanges (docker commit --change)', () => {
  it('takes CMD and ENTRYPOINT in JSON or shell form', () => {
    expect(applyChanges(base(), ['CMD ["cat","/hello"]']).Cmd).toEqual(['cat', '/hello']);
    expect(applyChanges(base(), ['CMD echo $HOME']).Cmd).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    const c = applyChanges(base(), ['ENTRYPOINT ["top","-b"]']);
    expect(c.Entrypoint).toEqual(['top', '-b']);
    expect(c.Cmd).toBeNull(); // an ENTRYPOINT without a CMD in the same changes drops the old CMD
    expect(applyChanges(base(), ['CMD ["-n"]', 'ENTRYPOINT ["ls"]']).Cmd).toEqual(['-n']);
  });

  it('sets ENV (both forms, expanding variables) and LABEL', () => {
    const c = applyChanges(base(), ['ENV PATH=$PATH:/opt/bin A="two words" B=${HOME}/x', 'ENV LEGACY some value', 'LABEL a=1 "b c"=d']);
    expect(c.Env).toEqual(['PATH=/usr/bin:/bin:/opt/bin', 'HOME=/root', 'A=two words', 'B=/root/x', 'LEGACY=some value']);
    expect(c.Labels).toEqual({ a: '1', 'b c': 'd' });
  });

  it('sets EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    const c = applyChanges(base(), [
      'EXPOSE 80 8000-8001/udp',
      'USER nobody:nogroup',
      'WORKDIR sub/dir',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'STOPSIGNAL SIGINT',
      'ONBUILD RUN echo hi',
      'HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/',
    ]);
    expect(c.ExposedPorts).toEqual({ '80/tcp': {}, '8000/udp': {}, '8001/udp': {} });
    expect(c.User).toBe('nobody:nogroup');
    expect(c.WorkingDir).toBe('/srv/sub/dir');
    expect(c.Volumes).toEqual({ '/data': {}, '/logs': {}, '/cache': {} });
    expect(c.StopSignal).toBe('SIGINT');
    expect(c.OnBuild).toEqual(['RUN echo hi']);
    expect(c.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 5e9, Retries: 2 });
  });

  it('refuses what Docker refuses, in its words', () => {
    expect(() => applyChanges(base(), ['RUN echo'])).toThrow('run is not a valid change command');
    expect(() => applyChanges(base(), ['FROM busybox'])).toThrow('from is not a valid change command');
    expect(() => applyChanges(base(), ['ENV'])).toThrow('ENV requires at least one argument');
    expect(() => applyChanges(base(), ['ENV ONLYKEY'])).toThrow('ENV must have two arguments');
    expect(() => applyChanges(base(), ['VOLUME [""]'])).toThrow('VOLUME specified can not be an empty string');
    expect(() => applyChanges(base(), ['STOPSIGNAL NOPE'])).toThrow('invalid signal: NOPE');
    expect(() => applyChanges(base(), ['ONBUILD ONBUILD RUN x'])).toThrow('Chaining ONBUILD');
    expect(() => applyChanges(base(), ['EXPOSE abc'])).toThrow('invalid containerPort: abc');
    expect(() => applyChanges(base(), ['USER'])).toThrow('USER requires exactly one argument');
  });

  it('leaves the config alone without changes, and does not modify its input', () => {
    const b = base();
    expect(applyChanges(b, [])).toBe(b);
    applyChanges(b, ['ENV X=1']);
    expect(b.Env).toEqual(['PATH=/usr/bin:/bin', 'HOME=/root']);
  });
});

describe('the Dockerfile word lexer', () => {
  it('expands, unquotes and unescapes', () => {
    const env = ['A=x', 'E='];
    expect(processWord('"$A y"', env)).toBe('x y');
    expect(processWord("'$A'", env)).toBe('$A');
    expect(processWord('\\$A', env)).toBe('$A');
    expect(processWord('${E:-dflt}${A:+alt}${NOPE}', env)).toBe('dfltalt');
  });
  it('parses ports and durations', () => {
    expect(exposedPorts('53/udp')).toEqual(['53/udp']);
    expect(parseGoDuration('1m30s')).toBe(90e9);
    expect(() => parseGoDuration('5x')).toThrow('time: invalid duration "5x"');
  });
});

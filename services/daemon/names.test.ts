import { describe, expect, it } from 'vitest';
import { generateName, newContainerId, shortId, validateName } from './names.js';
import { parseSignal, signalName } from './signals.js';

describe('container names', () => {
  it('accepts Docker-valid names and stores them with a leading slash', () => {
    expect(validateName('ctr1')).toBe('/ctr1');
    expect(validateName('/ctr1')).toBe('/ctr1');
    expect(validateName('a.b_c-d')).toBe('/a.b_c-d');
  });

  it("rejects what Docker rejects, in Docker's words", () => {
    for (const bad of ['a', '-abc', 'a b', 'ctr/1', '', '//x', 'é1']) {
      expect(() => validateName(bad)).toThrow(`Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
  });

  it('generates adjective_surname, with a digit on retries', () => {
    expect(generateName(0)).toMatch(/^[a-z]+_[a-z]+$/);
    expect(generateName(3)).toMatch(/^[a-z]+_[a-z]+\d$/);
    const picks = [0, 0, 7];
    expect(generateName(1, () => picks.shift()!)).toMatch(/^agile_abel7$/);
  });

  it('makes 64-hex ids whose short form is never all digits', () => {
    for (let i = 0; i < 200; i++) {
      const id = newContainerId();
      expect(id).toMatch(/^[a-f0-9]{64}$/);
      expect(id.slice(0, 12)).not.toMatch(/^\d{12}$/);
    }
    expect(shortId('sha256:0123456789abcdef')).toBe('0123456789ab');
    expect(shortId('abc')).toBe('abc');
  });
});

describe('signals', () => {
  it('parses names in any case, with or without SIG, and numbers', () => {
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('sigterm')).toBe(15);
    expect(parseSignal('SIGUSR1')).toBe(10);
    expect(parseSignal('1')).toBe(1);
    expect(parseSignal('RTMIN+3')).toBe(37);
    expect(signalName(15)).toBe('SIGTERM');
  });

  it("rejects unknown signals and 0 with Docker's message", () => {
    expect(() => parseSignal('NOPE')).toThrow('invalid signal: NOPE');
    expect(() => parseSignal('0')).toThrow('invalid signal: 0');
    expect(() => parseSignal('65')).toThrow('invalid signal: 65');
  });
});

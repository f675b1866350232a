import { describe, expect, it } from 'vitest';
import { parsePsOutput, validatePsArgs } from './top.js';

const PS_EF = [
  'UID          PID    PPID  C STIME TTY          TIME CMD',
  'root           1       0  0 10:00 ?        00:00:01 /sbin/init',
  'root         100       1  0 10:01 ?        00:00:00 sleep 1000',
  'root         101     100  0 10:01 ?        00:00:00 sh -c echo a  b',
  '',
].join('\n');

describe('parsePsOutput (Docker’s)', () => {
  it('keeps the rows of the container’s pids, the command with its spaces as the last column', () => {
    expect(parsePsOutput(PS_EF, [100, 101])).toEqual({
      Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      Processes: [
        ['root', '100', '1', '0', '10:01', '?', '00:00:00', 'sleep 1000'],
        ['root', '101', '100', '0', '10:01', '?', '00:00:00', 'sh -c echo a b'],
      ],
    });
  });
  it('keeps thread rows ("-" as PID) under a process of the container', () => {
    const out = ['PID TID CMD', '100 - sleep', '- 100 -', '- 102 -', '200 - other', '- 200 -', ''].join('\n');
    expect(parsePsOutput(out, [100]).Processes).toEqual([['100', '-', 'sleep'], ['-', '100', '-'], ['-', '102', '-']]);
  });
  it('needs a PID column', () => {
    expect(() => parsePsOutput('COMMAND\nsleep\n', [1])).toThrow("Couldn't find PID field in ps output");
  });
});

describe('validatePsArgs', () => {
  it('refuses renaming a column to PID', () => {
    expect(() => validatePsArgs('-o user= -o comm=PID')).toThrow('specifying "comm=PID" is not allowed');
    expect(() => validatePsArgs('-o pid=PID')).not.toThrow();
    expect(() => validatePsArgs('aux')).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { eventMatches, parseEventFilters, parseEventTime, toWire } from './docker-events.js';
import type { DockerEvent } from '../../common/proto-types/tersane/events/v1/DockerEvent.js';

const start: DockerEvent = {
  Type: 'container',
  Action: 'start',
  Actor: { ID: 'abcdef0123', Attributes: { name: 'ctr1', image: 'busybox:latest', tier: 'web' } },
  scope: 'local',
  time: 1700000000,
  timeNano: 1700000000123456789,
};
const tag: DockerEvent = { Type: 'image', Action: 'tag', Actor: { ID: 'sha256:aa', Attributes: { name: 'busybox:v2' } }, scope: 'local', time: 1, timeNano: 1 };

describe('docker events filters', () => {
  it('parses both filter encodings and refuses unknown keys', () => {
    expect(parseEventFilters('{"type":["container"]}')).toEqual({ type: ['container'] });
    expect(parseEventFilters('{"event":{"start":true}}')).toEqual({ event: ['start'] });
    expect(() => parseEventFilters('{"colour":["red"]}')).toThrow("invalid filter 'colour'");
    expect(() => parseEventFilters('nope')).toThrow('invalid filter');
  });

  it('matches like Docker', () => {
    const m = (f: string, ev: DockerEvent) => eventMatches(parseEventFilters(f), ev);
    expect(m('{"type":["container"],"event":["start"]}', start)).toBe(true);
    expect(m('{"event":["die"]}', start)).toBe(false);
    expect(m('{"container":["ctr1"]}', start)).toBe(true);
    expect(m('{"container":["abc"]}', start)).toBe(true);
    expect(m('{"container":["ctr1"]}', tag)).toBe(false);
    expect(m('{"image":["busybox"]}', start)).toBe(true);
    expect(m('{"image":["busybox"]}', tag)).toBe(true);
    expect(m('{"label":["tier=web"]}', start)).toBe(true);
    expect(m('{"label":["tier=db"]}', start)).toBe(false);
    expect(m('{"label":["tier"]}', start)).toBe(true);
    expect(m('{"event":["exec_start"]}', { ...start, Action: 'exec_start: sh -c true' })).toBe(true);
  });

  it('writes the legacy fields older clients read', () => {
    const wire = toWire({ ...start, timeNano: '1700000000123456789' });
    expect(JSON.parse(wire)).toMatchObject({ status: 'start', id: 'abcdef0123', from: 'busybox:latest', Type: 'container', time: 1700000000 });
    expect(wire).toContain('"timeNano":1700000000123456789}');
  });

  it('parses since/until as Docker sends them', () => {
    expect(parseEventTime('1700000000.5', 'since')).toBe(1700000000500000000n);
    expect(parseEventTime('1700000000', 'since')).toBe(1700000000000000000n);
    expect(parseEventTime('2023-11-14T22:13:20Z', 'since')).toBe(1700000000000000000n);
    expect(() => parseEventTime('yesterday', 'since')).toThrow('invalid value for since');
  });
});

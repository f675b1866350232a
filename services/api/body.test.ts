import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkJsonContentType, parseJsonObject, readBody } from './body.js';

describe('JSON request bodies', () => {
  it("checks Content-Type as moby's CheckForJSON does", () => {
    expect(() => checkJsonContentType(undefined, false)).not.toThrow();
    expect(() => checkJsonContentType('application/json', true)).not.toThrow();
    expect(() => checkJsonContentType('application/json; charset=utf-8', true)).not.toThrow();
    expect(() => checkJsonContentType('text/plain', true)).toThrow("unsupported Content-Type header (text/plain): must be 'application/json'");
    expect(() => checkJsonContentType(undefined, true)).toThrow('unsupported Content-Type header');
    expect(() => checkJsonContentType('garbage', true)).toThrow('malformed Content-Type header (garbage)');
  });

  it('reads a body and refuses one over the limit', async () => {
    expect((await readBody(Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]), 100)).toString()).toBe('{"a":1}');
    await expect(readBody(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100)).rejects.toThrow('request body is too large');
  });

  it('wants one JSON object and says what is wrong otherwise', () => {
    const m = { empty: 'invalid JSON: got EOF while reading request body' };
    expect(parseJsonObject('{"Image":"busybox"}', m)).toEqual({ Image: 'busybox' });
    expect(() => parseJsonObject('', m)).toThrow('invalid JSON: got EOF while reading request body');
    expect(() => parseJsonObject('{"Image":', m)).toThrow(/^invalid JSON: /);
    expect(() => parseJsonObject('[1]', m)).toThrow('not an array');
    expect(() => parseJsonObject('null', m)).toThrow('not null');
    expect(() => parseJsonObject('null', { ...m, null: 'config cannot be empty in order to create a container' })).toThrow('config cannot be empty');
    try {
      parseJsonObject('{', m);
    } catch (err) {
      expect((err as { kind: string }).kind).toBe('invalid_argument');
    }
  });
});

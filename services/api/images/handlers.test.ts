import { describe, expect, it } from 'vitest';
import { jsonStreamError, splitImagePath } from './handlers.js';

describe('image paths', () => {
  it('splits the action off names that hold slashes, ports and digests', () => {
    expect(splitImagePath('busybox/json', ['json'])).toEqual({ name: 'busybox', action: 'json' });
    expect(splitImagePath('localhost:5000/team/app:1/json', ['json', 'history'])).toEqual({ name: 'localhost:5000/team/app:1', action: 'json' });
    expect(splitImagePath('busybox@sha256:abc/history', ['json', 'history'])).toEqual({ name: 'busybox@sha256:abc', action: 'history' });
    expect(splitImagePath('busybox/frobnicate', ['json'])).toBeUndefined();
    expect(splitImagePath('json', ['json'])).toBeUndefined();
    expect(splitImagePath('/json', ['json'])).toBeUndefined();
  });

  it("words an in-stream error as Docker's JSON messages do", () => {
    expect(JSON.parse(jsonStreamError('invalid archive'))).toEqual({ errorDetail: { message: 'invalid archive' }, error: 'invalid archive' });
    expect(jsonStreamError('x').endsWith('\n')).toBe(true);
  });
});

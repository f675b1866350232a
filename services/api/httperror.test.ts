import { describe, expect, it } from 'vitest';
import { conflict, failedPrecondition, internal, invalidArgument, notFound, unavailable } from '../../common/errors.js';
import { errorResponse, rawErrorResponse } from './httperror.js';

describe('errors in Docker shape', () => {
  it('maps each error kind to its status with {"message": ...}', () => {
    const cases: Array<[Error, number]> = [
      [notFound('No such container: x'), 404],
      [conflict('Conflict. The container name "/a" is already in use'), 409],
      [failedPrecondition('cannot remove a running container'), 409],
      [invalidArgument('invalid filter'), 400],
      [unavailable('tersane daemon is unavailable: down'), 503],
      [internal('boom'), 500],
    ];
    for (const [err, status] of cases) {
      const r = errorResponse(err);
      expect(r.status).toBe(status);
      expect(JSON.parse(r.body)).toEqual({ message: err.message });
    }
  });

  it("keeps a framework's 4xx, and never shows a stack", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(errorResponse(tooLarge).status).toBe(413);
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const r = errorResponse(bug);
    expect(r.status).toBe(500);
    expect(r.body).not.toContain('at ');
  });

  it('writes a whole raw response for hijacked connections', () => {
    const text = rawErrorResponse(notFound('No such container: x'), { 'Api-Version': '1.50' });
    expect(text.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
    expect(text).toContain('Api-Version: 1.50\r\n');
    expect(text).toContain('Content-Type: application/json\r\n');
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ message: 'No such container: x' });
  });
});

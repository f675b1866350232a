import { describe, expect, it } from 'vitest';
import { attachHead, parseAttachParams } from './attach.js';

describe('attach', () => {
  it("writes Docker's 101 head: multiplexed media type from API 1.42 for containers without a tty", () => {
    const head = attachHead(true, false, '1.50');
    expect(head.startsWith('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n')).toBe(true);
    expect(head).toContain('Api-Version: 1.50\r\n');
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(attachHead(true, false, '1.41')).toContain('Content-Type: application/vnd.docker.raw-stream\r\n');
    expect(attachHead(true, true, '1.50')).toContain('Content-Type: application/vnd.docker.raw-stream\r\n');
  });

  it('writes 200 with the raw media type to clients that did not ask for an upgrade', () => {
    const head = attachHead(false, false, '1.50');
    expect(head.startsWith('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n')).toBe(true);
    expect(head).not.toContain('Upgrade');
  });

  it('reads the query as Docker does, detach keys included', () => {
    const p = parseAttachParams('ctr1', { stream: '1', stdin: 'true', stdout: '1', stderr: '0', detachKeys: 'ctrl-x' });
    expect(p).toMatchObject({ id: 'ctr1', stream: true, logs: false, stdin: true, stdout: true, stderr: false });
    expect([...p.detachKeys]).toEqual([24]);
    expect([...parseAttachParams('c', {}).detachKeys]).toEqual([16, 17]);
    expect(() => parseAttachParams('c', { detachKeys: 'ctrl-' })).toThrow('Invalid detach keys (ctrl-) provided');
  });
});

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import { answerLocally, DnsServer, parseQuestion, reverseName, type DnsDirectory } from './dns.js';

function query(name: string, type: number, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([0, type >> 8, type & 255, 0, 1]);
  return Buffer.concat([header, ...labels, tail]);
}

const dir: DnsDirectory = {
  lookup: (n) => (n === 'web' || n === 'alias1' ? ['10.92.0.2'] : []),
  reverse: (ip) => (ip === '10.92.0.2' ? 'web' : undefined),
  upstreams: () => [],
};

describe('embedded DNS', () => {
  it('reads the question', () => {
    expect(parseQuestion(query('web', 1))).toMatchObject({ name: 'web', type: 1, cls: 1 });
    expect(parseQuestion(Buffer.from([1, 2, 3]))).toBeUndefined();
  });

  it('answers A for a container name and alias, with the query id and question', () => {
    for (const name of ['web', 'WEB', 'alias1']) {
      const r = answerLocally(query(name, 1, 0xbeef), dir)!;
      expect(r.readUInt16BE(0)).toBe(0xbeef);
      expect(r.readUInt16BE(2) & 0x8000).toBe(0x8000); // a response
      expect(r.readUInt16BE(2) & 0x000f).toBe(0); // NOERROR
      expect(r.readUInt16BE(6)).toBe(1); // one answer
      expect([...r.subarray(r.length - 4)]).toEqual([10, 92, 0, 2]);
    }
  });

  it('answers "no data" for AAAA of a container name and leaves other names to the upstream', () => {
    const r = answerLocally(query('web', 28), dir)!;
    expect(r.readUInt16BE(6)).toBe(0);
    expect(answerLocally(query('example.org', 1), dir)).toBeUndefined();
  });

  it('answers PTR for a container address', () => {
    expect(reverseName('2.0.92.10.in-addr.arpa')).toBe('10.92.0.2');
    const r = answerLocally(query('2.0.92.10.in-addr.arpa', 12), dir)!;
    expect(r.readUInt16BE(6)).toBe(1);
    expect(r.toString('latin1')).toContain('web');
  });
});

describe('the resolver socket', () => {
  it('answers over UDP and TCP on one port; names it does not know fail without upstreams', async () => {
    const server = await DnsServer.start('127.0.0.1', () => dir, createLogger('daemon', 'error'));
    try {
      const udp = await new Promise<Buffer>((resolve) => {
        const s = createSocket('udp4');
        s.on('message', (m) => {
          s.close();
          resolve(m);
        });
        s.send(query('web', 1, 7), server.port, '127.0.0.1');
      });
      expect([...udp.subarray(udp.length - 4)]).toEqual([10, 92, 0, 2]);
      const tcp = await new Promise<Buffer>((resolve) => {
        const q = query('alias1', 1, 8);
        const c = connect(server.port, '127.0.0.1', () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
        let buf = Buffer.alloc(0);
        c.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            c.destroy();
            resolve(buf.subarray(2));
          }
        });
      });
      expect(tcp.readUInt16BE(0)).toBe(8);
      expect([...tcp.subarray(tcp.length - 4)]).toEqual([10, 92, 0, 2]);
      const unknown = await new Promise<Buffer>((resolve) => {
        const s = createSocket('udp4');
        s.on('message', (m) => {
          s.close();
          resolve(m);
        });
        s.send(query('nowhere.example', 1, 9), server.port, '127.0.0.1');
      });
      expect(unknown.readUInt16BE(2) & 0x000f).toBe(2); // SERVFAIL: no upstream to ask
    } finally {
      server.close();
    }
  });
});

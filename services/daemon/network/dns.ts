/**
 * The embedded DNS resolver of user-defined networks (Docker's 127.0.0.11, here on the network's
 * gateway): one UDP and one TCP socket per network, served by the daemon, reached by the containers at
 * <gateway>:53 through a DNAT rule (firewall.ts) so the daemon needs no privileged port of its own
 * and never clashes with a resolver the host runs. Names of containers on the network (name,
 * aliases, short id) answer A queries from the daemon's records; every other name is forwarded to
 * the container's --dns servers or the host's resolvers, and their answer relayed as it came.
 *
 * @example
 *   const server = await DnsServer.start('10.92.0.1', directory, log);
 *   server.port; // the port the DNAT rule points at
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { connect as tcpConnect, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '../../../common/log.js';

/** TTL of the answers about containers (Docker's resolver answers 600). */
const LOCAL_TTL_S = 600;
/** How long a forwarded query waits for one upstream server before trying the next. */
const FORWARD_TIMEOUT_MS = 3000;
const TYPE_A = 1;
const TYPE_PTR = 12;
const CLASS_IN = 1;
const RCODE_SERVFAIL = 2;
/** Attempts at finding one port free for both the UDP and the TCP socket. */
const BIND_ATTEMPTS = 10;

export interface DnsDirectory {
  /** Addresses for a name on this network; empty when the name is not a container's. */
  lookup(name: string): string[];
  /** The name for an address on this network (PTR), if any. */
  reverse(ip: string): string | undefined;
  /** Where a query from `clientIp` goes when the name is not local ("ip" or "ip:port"). */
  upstreams(clientIp: string): string[];
}

export interface Question {
  name: string;
  type: number;
  cls: number;
  /** Byte offset just after the question section. */
  end: number;
}

/** Reads the first question of a query; undefined for anything malformed. */
export function parseQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= msg.length) return undefined;
    const len = msg[at];
    if (len === 0) {
      at++;
      break;
    }
    if (len > 63 || at + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (at + 4 > msg.length) return undefined;
  return { name: labels.join('.'), type: msg.readUInt16BE(at), cls: msg.readUInt16BE(at + 2), end: at + 4 };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

/** An answer to `query` with `rcode` and the given resource records (all for the question's name). */
export function reply(query: Buffer, q: Question, rcode: number, records: Array<{ type: number; data: Buffer }>): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const rd = query.readUInt16BE(2) & 0x0100;
  const opcode = query.readUInt16BE(2) & 0x7800;
  header.writeUInt16BE(0x8000 | opcode | rd | 0x0080 | rcode, 2); // QR, opcode, RD, RA, rcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map((r) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(r.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(LOCAL_TTL_S, 6);
    rr.writeUInt16BE(r.data.length, 10);
    return Buffer.concat([rr, r.data]);
  });
  return Buffer.concat([header, query.subarray(12, q.end), ...answers]);
}

/** The IPv4 address an in-addr.arpa name stands for. */
export function reverseName(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
}

/** Answers a query from the directory alone; undefined when it must be forwarded. */
export function answerLocally(query: Buffer, dir: DnsDirectory): Buffer | undefined {
  const q = parseQuestion(query);
  if (!q) return undefined;
  if (q.cls !== CLASS_IN) return undefined;
  const name = q.name.replace(/\.$/, '').toLowerCase();
  if (q.type === TYPE_PTR) {
    const ip = reverseName(name);
    const target = ip ? dir.reverse(ip) : undefined;
    return target ? reply(query, q, 0, [{ type: TYPE_PTR, data: encodeName(target) }]) : undefined;
  }
  const ips = dir.lookup(name);
  if (ips.length === 0) return undefined;
  // A container's name: its addresses for A, "no data" for any other type (never forwarded).
  const records = q.type === TYPE_A ? ips.map((ip) => ({ type: TYPE_A, data: Buffer.from(ip.split('.').map(Number)) })) : [];
  return reply(query, q, 0, records);
}

export class DnsServer {
  private constructor(
    private readonly socket: Socket,
    private readonly tcp: Server,
    readonly port: number,
    private readonly log: Logger,
  ) {}

  /** A resolver on `address`: UDP and TCP (answers too large for UDP) on the same kernel-chosen port. */
  static async start(address: string, dir: () => DnsDirectory, log: Logger): Promise<DnsServer> {
    let last: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: address, port: 0, exclusive: true }, () => resolve());
        });
        const port = (tcp.address() as { port: number }).port;
        const socket = createSocket({ type: 'udp4' });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind({ address, port, exclusive: true }, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        const server = new DnsServer(socket, tcp, port, log);
        socket.on('error', (err) => log.warn('DNS resolver socket error', { address, err: err.message }));
        socket.on('message', (msg, from) => void server.handle(msg, from, dir()));
        tcp.on('connection', (conn) => server.serveTcp(conn, dir));
        tcp.on('error', (err) => log.warn('DNS resolver TCP error', { address, err: err.message }));
        return server;
      } catch (err) {
        last = err;
        tcp.close();
      }
    }
    throw last;
  }

  private async answer(msg: Buffer, clientIp: string, dir: DnsDirectory, tcp: boolean): Promise<Buffer | undefined> {
    const local = answerLocally(msg, dir);
    if (local) return local;
    const q = parseQuestion(msg);
    if (!q) return undefined;
    const servers = dir.upstreams(clientIp);
    const upstream = tcp ? await forwardTcp(msg, servers) : await forward(msg, servers);
    return upstream ?? reply(msg, q, RCODE_SERVFAIL, []);
  }

  private async handle(msg: Buffer, from: RemoteInfo, dir: DnsDirectory): Promise<void> {
    try {
      const out = await this.answer(msg, from.address, dir, false);
      if (out) this.socket.send(out, from.port, from.address);
    } catch (err) {
      this.log.debug('DNS query failed', { err: (err as Error).message });
    }
  }

  /** DNS over TCP: each message with a two-byte length in front. */
  private serveTcp(conn: TcpSocket, dir: () => DnsDirectory): void {
    let buf = Buffer.alloc(0);
    conn.setTimeout(FORWARD_TIMEOUT_MS * 2, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.answer(Buffer.from(msg), conn.remoteAddress ?? '', dir(), true)
          .then((out) => {
            if (!out || conn.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            conn.write(Buffer.concat([len, out]));
          })
          .catch((err) => this.log.debug('DNS query over TCP failed', { err: (err as Error).message }));
      }
    });
  }

  close(): void {
    this.socket.close();
    this.tcp.close();
  }
}

/** Sends the query over TCP to each server in turn; the first answer, or undefined. */
async function forwardTcp(msg: Buffer, servers: string[]): Promise<Buffer | undefined> {
  for (const server of servers) {
    const answer = await new Promise<Buffer | undefined>((resolve) => {
      const conn = tcpConnect({ host: server, port: 53 });
      let buf = Buffer.alloc(0);
      const done = (v: Buffer | undefined) => {
        clearTimeout(timer);
        conn.destroy();
        resolve(v);
      };
      const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
      conn.on('error', () => done(undefined));
      conn.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        conn.write(Buffer.concat([len, msg]));
      });
      conn.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
    if (answer) return answer;
  }
  return undefined;
}

/** Sends the query to each server in turn; the first answer, or undefined when none answered. */
async function forward(msg: Buffer, servers: string[]): Promise<Buffer | undefined> {
  for (const server of servers) {
    const [host, port] = server.includes(':') && !server.includes('::') ? server.split(':') : [server, '53'];
    const answer = await new Promise<Buffer | undefined>((resolve) => {
      const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
      const done = (v: Buffer | undefined) => {
        clearTimeout(timer);
        s.close();
        resolve(v);
      };
      const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
      s.on('error', () => done(undefined));
      s.on('message', (m) => {
        if (m.length >= 2 && m.readUInt16BE(0) === msg.readUInt16BE(0)) done(m);
      });
      s.send(msg, Number(port), host);
    });
    if (answer) return answer;
  }
  return undefined;
}

/**
 * Drives a container's life over the Docker API alone (no CLI), as `docker run --rm` does:
 * create → wait (its response head means it is registered) → start → wait's result → remove.
 */
import { Agent, request } from 'node:http';

/** The newest API version both engines speak (Debian's Docker 20.10 stops at 1.41). */
const API_VERSION = '1.41';

export interface ApiAnswer {
  status: number;
  body: Promise<string>;
}

/** A keep-alive HTTP client of one unix socket. */
export class ApiClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly socketPath: string) {}

  /** Resolves once the answer's head is in; `body` resolves when it is complete. */
  send(method: string, path: string, json?: unknown): Promise<ApiAnswer> {
    const data = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
        },
        (res) => {
          const body = new Promise<string>((done, fail) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => done(text));
            res.on('error', fail);
          });
          resolve({ status: res.statusCode ?? 0, body });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

async function expectStatus(answer: Promise<ApiAnswer>, status: number, what: string): Promise<string> {
  const a = await answer;
  const body = await a.body;
  if (a.status !== status) throw new Error(`${what}: HTTP ${a.status} ${body}`);
  return body;
}

/** One container's whole life over the API; throws on any unexpected answer. */
export async function apiLifecycle(client: ApiClient, opts: { image?: string; cmd?: string[]; network?: string } = {}): Promise<void> {
  const created = await expectStatus(
    client.send('POST', `/v${API_VERSION}/containers/create`, {
      Image: opts.image ?? 'busybox',
      Cmd: opts.cmd ?? ['true'],
      HostConfig: { NetworkMode: opts.network ?? 'default' },
    }),
    201,
    'create',
  );
  const id = (JSON.parse(created) as { Id: string }).Id;
  const wait = await client.send('POST', `/v${API_VERSION}/containers/${id}/wait?condition=next-exit`);
  if (wait.status !== 200) throw new Error(`wait: HTTP ${wait.status} ${await wait.body}`);
  await expectStatus(client.send('POST', `/v${API_VERSION}/containers/${id}/start`), 204, 'start');
  await wait.body;
  await expectStatus(client.send('DELETE', `/v${API_VERSION}/containers/${id}`), 204, 'remove');
}

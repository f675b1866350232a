/**
 * A generator of malformed Docker API requests (test/security/fuzz.test.ts): random routes,
 * methods and API versions with invalid ids, names and references; create bodies with every known
 * field given a wrong type; malformed JSON; bad content types. Seeded, so a failure can be
 * replayed. Nothing it makes can succeed: every create names an image that does not exist, and no
 * request can reach a registry (pull, push and login are sent only references no parser accepts).
 *
 * @example
 *   const gen = new Fuzzer(seed);
 *   const req = gen.next(); // { method, path, headers, body }
 */

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** mulberry32: small, seeded, good enough to pick test inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An image that is not there: every create body ends on it, so none can succeed. */
export const MISSING_IMAGE = 'tersane-fuzz-missing:never';

const BAD_IDS = [
  '', 'x', '..', '.', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc', '..%2f..%2f', '%00', 'a%00b', '%ff%fe', '%', '%zz', "';--", '$(id)', '`id`',
  '\u00e9\u4e2d', 'A'.repeat(300), 'a'.repeat(2000), '0'.repeat(64), 'sha256:' + 'f'.repeat(64), 'sha256:zz', '-rf', '*', '?', '#',
  'UPPER', 'with space', 'tab%09', 'new%0aline', 'busybox%3Alatest%40sha256%3Ax',
];
/** References no parser accepts (so a pull can never start). */
const BAD_REFS = ['UPPERCASE', 'a b', ':tag', '@sha256:x', 'x@sha256:short', '-lead', 'a/../b', 'a//b', 'trailing/', 'a:tag:tag', '%', 'a'.repeat(300) + 'A'];
const VERSIONS = ['', '/v1.50', '/v1.24', '/v1.0', '/v0.1', '/v1.99', '/v2.0', '/vX', '/v1.', '/v-1.2', '/v1.50.1', '/v999999999999999999999.1'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'];
const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'garbage', '/', 'application/', ';;;', 'application/x-tar', 'multipart/form-data; boundary=x'];

/** Route templates of the Docker API (the ones that cannot reach the outside). */
const ROUTES: Array<[string, string]> = [
  ['GET', '/containers/json'], ['POST', '/containers/create'], ['GET', '/containers/{id}/json'], ['GET', '/containers/{id}/top'],
  ['GET', '/containers/{id}/logs'], ['GET', '/containers/{id}/changes'], ['GET', '/containers/{id}/export'], ['GET', '/containers/{id}/stats'],
  ['POST', '/containers/{id}/resize'], ['POST', '/containers/{id}/start'], ['POST', '/containers/{id}/stop'], ['POST', '/containers/{id}/restart'],
  ['POST', '/containers/{id}/kill'], ['POST', '/containers/{id}/update'], ['POST', '/containers/{id}/rename'], ['POST', '/containers/{id}/pause'],
  ['POST', '/containers/{id}/unpause'], ['POST', '/containers/{id}/attach'], ['POST', '/containers/{id}/wait'], ['DELETE', '/containers/{id}'],
  ['HEAD', '/containers/{id}/archive'], ['GET', '/containers/{id}/archive'], ['PUT', '/containers/{id}/archive'], ['POST', '/containers/{id}/exec'],
  ['GET', '/images/json'], ['GET', '/images/{id}/json'], ['GET', '/images/{id}/history'], ['DELETE', '/images/{id}'], ['POST', '/images/{id}/tag'],
  ['GET', '/images/{id}/get'], ['GET', '/images/get'], ['POST', '/images/load'], ['GET', '/networks'], ['GET', '/networks/{id}'],
  ['POST', '/networks/create'], ['DELETE', '/networks/{id}'], ['POST', '/networks/{id}/connect'], ['POST', '/networks/{id}/disconnect'],
  ['GET', '/volumes'], ['POST', '/volumes/create'], ['GET', '/volumes/{id}'], ['DELETE', '/volumes/{id}'], ['POST', '/exec/{id}/start'],
  ['POST', '/exec/{id}/resize'], ['GET', '/exec/{id}/json'], ['GET', '/info'], ['GET', '/version'], ['GET', '/_ping'], ['GET', '/system/df'],
  ['POST', '/commit'], ['GET', '/nonexistent'], ['GET', '/containers'], ['POST', '/containers/{id}/{id}'], ['GET', '/{id}'],
];

/** Query strings with wrong values for the parameters the routes take. */
const QUERIES = [
  '', '?all=maybe', '?limit=-1', '?limit=abc', '?limit=99999999999999999999', '?filters=%7B', '?filters=[]', '?filters={"status":["bogus"]}',
  '?filters={"label":5}', '?filters=' + encodeURIComponent('{"dangling":["maybe"]}'), '?t=-5', '?t=abc', '?signal=SIGBOGUS', '?signal=999', '?h=-1&w=abc',
  '?name=../../etc', '?name=%00', '?name=' + 'n'.repeat(300), '?name=with space', '?since=yesterday', '?until=abc', '?tail=abc', '?path=' + encodeURIComponent('../../../etc/passwd'),
  '?path=', '?path=relative', '?repo=UPPER&tag=x', '?container=nope', '?force=maybe&v=maybe', '?condition=bogus', '?stream=2&stdout=x', '?ps_args=--bogus%20x',
  '?names=' + encodeURIComponent(':::'), '?fromImage=UPPER',
];

/** A create body with every field the daemon reads, each of a correct type. */
export function validCreateBody(): Record<string, unknown> {
  return {
    Hostname: 'h', Domainname: 'd', User: 'root', AttachStdin: false, AttachStdout: true, AttachStderr: true, ExposedPorts: { '80/tcp': {} },
    Tty: false, OpenStdin: false, StdinOnce: false, Env: ['A=1'], Cmd: ['true'], Healthcheck: { Test: ['NONE'] }, Image: MISSING_IMAGE,
    Volumes: { '/v': {} }, WorkingDir: '/w', Entrypoint: ['sh'], NetworkDisabled: false, MacAddress: '', OnBuild: [], Labels: { a: 'b' },
    StopSignal: 'SIGTERM', StopTimeout: 5, Shell: ['sh', '-c'],
    HostConfig: {
      Binds: [], LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'bridge', PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false, CapAdd: [], CapDrop: [], CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: [], GroupAdd: [],
      IpcMode: 'private', OomScoreAdj: 0, PidMode: '', Privileged: false, ReadonlyRootfs: false, SecurityOpt: [], UTSMode: '', UsernsMode: '',
      ShmSize: 67108864, Sysctls: {}, Runtime: '', Init: false, CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
      CpuPeriod: 0, CpuQuota: 0, CpusetCpus: '', CpusetMems: '', Devices: [], MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: -1,
      OomKillDisable: false, PidsLimit: 0, Ulimits: [], Mounts: [], Tmpfs: {}, ConsoleSize: [24, 80],
    },
    NetworkingConfig: { EndpointsConfig: {} },
  };
}

/** Values of every wrong type (and some right types with wrong contents). */
const WRONG: unknown[] = [
  null, true, -1, 1.5, 1e308, -9007199254740993, 'string', '', '\u0000', [], [1, 2], ['a', 5], [null], {}, { a: 1 }, { a: [] },
  'x'.repeat(70_000), [[[[[[[[[[]]]]]]]]]], { Name: 5 }, [{ Name: 'nofile', Soft: 'a', Hard: [] }], NaN, 'SIGBOGUS', '../../../etc',
  '/proc/self/fd/3', 'seccomp={"defaultAction":5}', 'unconfined:also',
];

export class Fuzzer {
  readonly random: () => number;

  constructor(readonly seed: number) {
    this.random = prng(seed);
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)];
  }

  private path(template: string): string {
    return template.replace(/\{id\}/g, () => this.pick(BAD_IDS));
  }

  /** Every field of the create body, in turn given every wrong value. */
  *createBodies(): Generator<FuzzRequest> {
    const base = validCreateBody();
    const fields: Array<[string | null, string]> = [
      ...Object.keys(base).filter((k) => k !== 'HostConfig').map((k) => [null, k] as [null, string]),
      ...Object.keys(base.HostConfig as object).map((k) => ['HostConfig', k] as [string, string]),
    ];
    for (const [parent, key] of fields) {
      for (const value of WRONG) {
        // the image stays missing whatever else the body says
        if (key === 'Image' && typeof value === 'string' && value !== '') continue;
        const body = JSON.parse(JSON.stringify(base)) as Record<string, any>;
        if (parent) body[parent][key] = value;
        else body[key] = value;
        yield { method: 'POST', path: `/v1.50/containers/create?name=fuzz-${key}`, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
      }
    }
  }

  /** Malformed JSON, as bytes. */
  private junkBody(): Buffer {
    const shapes = [
      '{', '}', '[]', 'null', '"str"', '5', '{"Image":', '{"Image":"x",}', "{'Image':'x'}", '{"Image":"x"}{"Image":"y"}', '\uFEFF{}',
      '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', '['.repeat(100_000), '{"Cmd":["a\u0000b"],"Image":"' + MISSING_IMAGE + '"}',
      '{"__proto__":{"polluted":true},"Image":"' + MISSING_IMAGE + '"}', '{"constructor":{"prototype":{"x":1}}}', '{"Image":1e999}',
    ];
    if (this.random() < 0.15) return Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28]);
    return Buffer.from(this.pick(shapes));
  }

  /** One random malformed request. */
  next(): FuzzRequest {
    const r = this.random();
    if (r < 0.1) {
      // pull, push, login: only references nothing accepts
      const ref = encodeURIComponent(this.pick(BAD_REFS));
      const which = this.pick([`/images/create?fromImage=${ref}`, `/images/create?fromImage=${ref}&tag=${ref}`, `/images/${ref}/push`, `/images/${ref}/tag?repo=${ref}`]);
      return { method: 'POST', path: `${this.pick(VERSIONS)}${which}`, headers: {} };
    }
    const [method, template] = this.pick(ROUTES);
    const m = this.random() < 0.15 ? this.pick(METHODS) : method;
    const path = `${this.pick(VERSIONS)}${this.path(template)}${this.pick(QUERIES)}`;
    const headers: Record<string, string> = {};
    let body: Buffer | undefined;
    if (m === 'POST' || m === 'PUT' || this.random() < 0.1) {
      body = this.junkBody();
      if (this.random() < 0.8) headers['Content-Type'] = this.pick(CONTENT_TYPES);
    }
    if (this.random() < 0.1) headers['X-Registry-Auth'] = this.pick(['%%%', 'e30=', '!!!', 'eyJ1c2VybmFtZSI6NX0=', 'A'.repeat(5000)]);
    return { method: m, path, headers, body };
  }
}

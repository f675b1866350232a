/**
 * Networks and published ports through the real docker CLI: nginx published on loopback and on the
 * host's own address, ephemeral and -P ports, user-defined networks whose containers find each
 * other by name and alias (and are cut off from other networks), host/none/container modes, the
 * network files, Docker's errors for bad input — and that removing everything leaves nothing of
 * the stack's networking on the host, also after a daemon that was killed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootTag } from '../../common/config.js';
import { netNames } from '../../services/daemon/network/names.js';
import { api, eventually, freePort, holdPort, hostAddress, httpGet, stackNetState } from '../helpers/network.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
/** A /24 of this stack's own for the tests that choose a subnet (stacks run side by side). */
let subnetBase: string;

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
  await stack.loadImage('nginx');
  const t = parseInt(rootTag(stack.root).slice(0, 4), 16);
  subnetBase = `10.${240 + (t % 8)}.${(t >> 3) % 256}`;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const docker = (args: string[], timeoutMs = 60_000) => stack.docker(args, { timeoutMs });
const ok = (args: string[]) => stack.dockerOk(args, { timeoutMs: 60_000 });
const WELCOME = 'Welcome to nginx!';

describe('published ports', () => {
  it('-p HOST:80 serves nginx on 127.0.0.1 and on the host’s own address; docker port and ps show it', async () => {
    const port = await freePort();
    await ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'nginx']);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toContain(WELCOME);
    expect((await httpGet(`http://${hostAddress()}:${port}/`)).body).toContain(WELCOME);
    expect(await ok(['port', 'web'])).toBe(`80/tcp -> 0.0.0.0:${port}`);
    expect(await ok(['ps', '--filter', 'name=web', '--format', '{{.Ports}}'])).toBe(`0.0.0.0:${port}->80/tcp`);
    const settings = JSON.parse(await ok(['inspect', '--format', '{{json .NetworkSettings}}', 'web']));
    expect(settings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    expect(settings.IPAddress).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(settings.Networks.bridge).toMatchObject({ IPAddress: settings.IPAddress, Gateway: expect.stringMatching(/^10\./), MacAddress: expect.stringMatching(/^02:42:/) });
    expect(await ok(['ps', '-q', '--filter', `publish=${port}`])).not.toBe('');
    // The access log is the container's stdout.
    expect(await ok(['logs', 'web'])).toContain('"GET / HTTP/1.1" 200');
    await ok(['rm', '-f', 'web']);
  });

  it('-p 80 takes an ephemeral host port that docker port reports and that answers', async () => {
    await ok(['run', '-d', '--name', 'eph', '-p', '80', 'nginx']);
    const line = await ok(['port', 'eph', '80']);
    const m = /^0\.0\.0\.0:(\d+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect((await httpGet(`http://127.0.0.1:${m![1]}/`)).body).toContain(WELCOME);
    await ok(['rm', '-f', 'eph']);
  });

  it('-P publishes the image’s EXPOSE', async () => {
    await ok(['run', '-d', '--name', 'all', '-P', 'nginx']);
    const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(await ok(['port', 'all']));
    expect(m).not.toBeNull();
    expect((await httpGet(`http://127.0.0.1:${m![1]}/`)).body).toContain(WELCOME);
    await ok(['rm', '-f', 'all']);
  });

  it('a host port in use fails the start cleanly: the container stays created, nothing of its network remains', async () => {
    const held = await holdPort();
    try {
      const r = await docker(['run', '-d', '--name', 'clash', '-p', `${held.port}:80`, 'nginx']);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(`failed to bind host port for 0.0.0.0:${held.port}`);
      expect(r.stderr).toContain('address already in use');
      expect(await ok(['inspect', '--format', '{{.State.Status}} {{json .NetworkSettings.Ports}} [{{.NetworkSettings.IPAddress}}]', 'clash'])).toBe('created {} []');
      const state = stackNetState(stack);
      expect(state.rules.join('\n')).not.toContain(`--dport ${held.port}`);
      expect(state.registry).not.toContain(`port ${held.port}/tcp`);
      await ok(['rm', 'clash']);
    } finally {
      held.server.close();
    }
    // Published by another container of the engine: Docker's "port is already allocated".
    const port = await freePort();
    await ok(['run', '-d', '--name', 'first', '-p', `${port}:80`, 'nginx']);
    const r = await docker(['run', '-d', '--name', 'second', '-p', `${port}:80`, 'nginx']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`Bind for 0.0.0.0:${port} failed: port is already allocated`);
    await ok(['rm', '-f', 'first', 'second']);
  });
});

describe('user-defined networks', () => {
  it('containers reach each other by name and alias (ping, TCP, DNS); a container on another network cannot', async () => {
    await ok(['network', 'create', 'front']);
    await ok(['network', 'create', 'back']);
    await ok(['run', '-d', '--name', 'srv', '--network', 'front', '--network-alias', 'www', 'nginx']);
    const ip = await ok(['inspect', '--format', '{{.NetworkSettings.Networks.front.IPAddress}}', 'srv']);
    const script = [
      'ping -c1 -W2 srv >/dev/null && echo ping-name',
      'ping -c1 -W2 www >/dev/null && echo ping-alias',
      'nslookup srv | grep -q "Address: *' + ip + '" && echo dns',
      // A TCP connection to nginx by name (busybox nc; the retry covers nginx still starting).
      'for i in 1 2 3 4 5 6 7 8 9 10; do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc srv 80 | grep -q "Welcome to nginx" && echo tcp && break; sleep 0.5; done',
    ].join('; ');
    const r = await docker(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', script]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['ping-name', 'ping-alias', 'dns', 'tcp']);

    const other = await docker(['run', '--rm', '--network', 'back', 'busybox', 'sh', '-c', `ping -c1 -W1 srv; echo; ping -c1 -W1 ${ip} >/dev/null && echo reached || echo cut-off`]);
    expect(other.stderr + other.stdout).toContain("bad address 'srv'");
    expect(other.stdout).toContain('cut-off');
    const inspect = JSON.parse(await ok(['network', 'inspect', 'front']))[0];
    expect(inspect).toMatchObject({ Name: 'front', Driver: 'bridge', Scope: 'local', Internal: false, IPAM: { Driver: 'default' } });
    expect(Object.values(inspect.Containers)).toEqual([expect.objectContaining({ Name: 'srv', IPv4Address: expect.stringMatching(new RegExp(`^${ip.replace(/\./g, '\\.')}/`)) })]);

    const rm = await docker(['network', 'rm', 'front']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/error while removing network: network front has active endpoints \(name:"srv" id:"[0-9a-f]{12}"\)/);
    await ok(['rm', '-f', 'srv']);
    await ok(['network', 'rm', 'front', 'back']);
  });

  it('--subnet, --gateway, --ip, --internal, labels; connect and disconnect a running container', async () => {
    await ok(['network', 'create', '--subnet', `${subnetBase}.0/24`, '--gateway', `${subnetBase}.254`, '--internal', '--label', 'team=a', 'fixed']);
    expect(await ok(['network', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}'])).toBe('fixed');
    const r = await docker(['run', '--rm', '--network', 'fixed', '--ip', `${subnetBase}.7`, 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep inet; ip route']);
    expect(r.stdout).toContain(`inet ${subnetBase}.7/24`);
    expect(r.stdout).not.toContain('default via'); // internal: no way out
    await ok(['run', '-d', '--name', 'multi', 'busybox', 'sleep', '300']);
    await ok(['network', 'connect', '--alias', 'm2', 'fixed', 'multi']);
    // Seen from inside its namespace (joined with container:multi): a second interface on the new network.
    const addrs = await ok(['run', '--rm', '--network', 'container:multi', 'busybox', 'ip', '-4', '-o', 'addr']);
    expect(addrs).toContain(`inet ${subnetBase}.`);
    expect(addrs.split('\n').filter((l) => / eth\d+ /.test(l))).toHaveLength(2);
    await ok(['network', 'disconnect', 'fixed', 'multi']);
    expect(await ok(['inspect', '--format', '{{len .NetworkSettings.Networks}}', 'multi'])).toBe('1');
    await ok(['rm', '-f', 'multi']);
    await ok(['network', 'rm', 'fixed']);
  });

  it('bad input: overlapping or invalid subnets, aliases on the default bridge, --ip outside the subnet', async () => {
    await ok(['network', 'create', '--subnet', `${subnetBase}.0/24`, 'taken']);
    let r = await docker(['network', 'create', '--subnet', `${subnetBase}.128/25`, 'overlap']);
    expect(r.stderr).toContain('invalid pool request: Pool overlaps with other one on this address space');
    r = await docker(['network', 'create', '--subnet', '10.0.0.0/33', 'bad']);
    expect(r.stderr).toContain('invalid network config:\ninvalid subnet 10.0.0.0/33: invalid CIDR block notation');
    r = await docker(['network', 'create', '--subnet', '10.9.9.1/24', 'bad']);
    expect(r.stderr).toContain('invalid subnet 10.9.9.1/24: it should be 10.9.9.0/24');
    // The CLI refuses an alias on the default bridge itself; the engine does too.
    const alias = await api(stack, 'POST', '/v1.48/containers/create', {
      Image: 'busybox',
      Cmd: ['true'],
      NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['x'] } } },
    });
    expect(alias.status).toBe(400);
    expect(JSON.parse(alias.body).message).toBe('network-scoped alias is supported only for containers in user defined networks');
    r = await docker(['run', '--rm', '--network', 'taken', '--ip', '10.9.9.9', 'busybox', 'true']);
    expect(r.stderr).toContain('no configured subnet or ip-range contain the IP address 10.9.9.9');
    r = await docker(['network', 'rm', 'bridge']);
    expect(r.stderr).toContain('bridge is a pre-defined network and cannot be removed');
    expect(await ok(['network', 'ls', '--format', '{{.Name}}'])).not.toMatch(/overlap|bad/);
    expect(await ok(['ps', '-aq'])).toBe('');
    await ok(['network', 'rm', 'taken']);
  });
});

describe('network modes and the network files', () => {
  it('host, none and container:NAME', async () => {
    const host = await ok(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ip -o link | grep -c " lo:"; cat /etc/hostname']);
    expect(host.split('\n')[0]).toBe('1');
    const none = await ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ip -o link | wc -l']);
    expect(none).toBe('1');
    await ok(['run', '-d', '--name', 'owner', '--hostname', 'owner-host', 'busybox', 'sleep', '300']);
    const ip = await ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', 'owner']);
    const joined = await ok(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; hostname']);
    expect(joined).toContain(`inet ${ip}/`);
    expect(joined.split('\n')[1]).toBe('owner-host');
    const r = await docker(['run', '--rm', '--network', 'container:owner', '-p', '8080:80', 'busybox', 'true']);
    expect(r.stderr).toContain('conflicting options: port publishing and the container type network mode');
    await ok(['rm', '-f', 'owner']);
  });

  it('--hostname, --add-host and --dns shape /etc/hostname, /etc/hosts and /etc/resolv.conf', async () => {
    const out = await ok(['run', '--rm', '--hostname', 'box1', '--add-host', 'db.example:10.1.2.3', '--dns', '9.9.9.9', '--mac-address', '02:42:ac:11:00:99', 'busybox', 'sh', '-c',
      'cat /etc/hostname; grep -E "box1|db.example" /etc/hosts; cat /etc/resolv.conf; ip -4 -o addr show eth0; cat /sys/class/net/eth0/address']);
    const ip = /inet (\S+)\//.exec(out)![1];
    expect(out).toContain('box1\n');
    expect(out).toContain(`${ip}\tbox1`);
    expect(out).toContain('10.1.2.3\tdb.example');
    expect(out).toContain('nameserver 9.9.9.9');
    expect(out.split('\n').pop()).toBe('02:42:ac:11:00:99');
  });

  it('an IPv4-only network gives the container\'s interface no IPv6, as Docker does; loopback keeps ::1', async () => {
    const out = await ok(['run', '--rm', 'busybox', 'sh', '-c', 'cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; ip -6 -o addr show eth0 | wc -l; ip -6 -o addr show lo']);
    const [disabled, eth0Addresses, lo] = out.split('\n');
    expect(disabled).toBe('1');
    expect(eth0Addresses).toBe('0');
    expect(lo).toContain('inet6 ::1/128');
  });
});

describe('teardown leaves nothing', () => {
  it('after every container and network is removed: no veth, namespace, rule, lease or bridge of the stack', async () => {
    await ok(['network', 'create', 'tmpnet']);
    await ok(['run', '-d', '--name', 'p1', '--network', 'tmpnet', '-p', `${await freePort()}:80`, 'nginx']);
    await ok(['run', '-d', '--name', 'p2', '-p', '80', 'nginx']);
    const during = stackNetState(stack);
    expect(during.veths).toHaveLength(2);
    expect(during.netnsFiles).toHaveLength(2);
    expect(during.rules.some((l) => l.includes('DNAT --to-destination'))).toBe(true);
    await ok(['rm', '-f', 'p1', 'p2']);
    await ok(['network', 'rm', 'tmpnet']);
    const after = await eventually(() => stackNetState(stack), (s) => s.veths.length === 0);
    expect(after.veths).toEqual([]);
    expect(after.netnsFiles).toEqual([]);
    expect(after.registry.filter((r) => r.startsWith('port'))).toEqual([]);
    expect(after.rules.filter((l) => l.includes('--dport') && !l.includes('--dport 53'))).toEqual([]);
    expect(JSON.parse(await ok(['network', 'inspect', 'bridge']))[0].Containers).toEqual({});
    // The default bridge goes when the daemon stops with nothing on it: then nothing is left at all.
    expect(stack.tersane(['restart', 'daemon']).code).toBe(0);
    const idle = stackNetState(stack);
    const subnet = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Subnet;
    // The default network keeps its subnet reserved host-wide while the daemon runs; no device, no rule.
    expect(idle).toEqual({ veths: [], bridges: [], netnsFiles: [], rules: [], registry: [`subnet ${subnet}`] });
  });

  it('a daemon killed while containers run reconciles: stray veths, namespaces and leases are swept', async () => {
    const port = await freePort();
    await ok(['run', '-d', '--name', 'short', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'sleep 2']);
    await ok(['network', 'create', 'survivor']);
    await ok(['run', '-d', '--name', 'long', '--network', 'survivor', 'busybox', 'sleep', '300']);
    // Strays a crash could leave: a veth named like this stack's, a namespace file of no container.
    const names = netNames(stack.cfg);
    const stray = `${names.vethPrefix}dead0`.slice(0, 15);
    expect(spawnSync('ip', ['link', 'add', stray, 'type', 'veth', 'peer', 'name', `tq${stray.slice(-6)}`]).status).toBe(0);
    mkdirSync(names.netnsDir, { recursive: true });
    writeFileSync(join(names.netnsDir, '0'.repeat(64)), '');
    expect(stack.tersane(['restart', 'daemon', '--kill']).code).toBe(0);
    expect(await ok(['wait', 'short'])).toBe('0');
    const state = await eventually(() => stackNetState(stack), (s) => s.veths.length === 1);
    expect(state.veths).toHaveLength(1); // long's
    expect(state.netnsFiles).toEqual([await ok(['inspect', '--format', '{{.Id}}', 'long'])]);
    expect(state.rules.join('\n')).not.toContain(`--dport ${port}`);
    expect(state.registry).not.toContain(`port ${port}/tcp`);
    // The resolver of the surviving network answers again.
    expect((await docker(['run', '--rm', '--network', 'survivor', 'busybox', 'ping', '-c1', '-W2', 'long'])).code).toBe(0);
    await ok(['rm', '-f', 'short', 'long']);
    await ok(['network', 'rm', 'survivor']);
  });
});

import { describe, expect, it } from 'vitest';
import { jumpRules, presentJumps, renderRemoval, renderRules } from './firewall.js';

const chains = { fwd: 'TSN-abcd1234-FWD', dnat: 'TSN-abcd1234-DNAT', post: 'TSN-abcd1234-POST' };

describe('the stack’s iptables rules', () => {
  it('declares (so flushes) its chains and writes each network’s and binding’s rules', () => {
    const text = renderRules(
      chains,
      {
        networks: [
          { bridge: 'tnabcd1234-0', subnet: '10.88.0.0/20', gateway: '10.88.0.1', internal: false },
          { bridge: 'tnabcd1234-1', subnet: '10.92.0.0/24', gateway: '10.92.0.1', internal: true, dnsPort: 40000 },
        ],
        bindings: [
          { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.88.0.2', containerPort: 80 },
          { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.88.0.3', containerPort: 53 },
        ],
      },
      [],
    );
    const lines = text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['*filter', ':TSN-abcd1234-FWD - [0:0]']);
    expect(lines).toContain('-A TSN-abcd1234-POST -s 10.88.0.0/20 ! -o tnabcd1234-0 -j MASQUERADE');
    expect(lines).not.toContain('-A TSN-abcd1234-POST -s 10.92.0.0/24 ! -o tnabcd1234-1 -j MASQUERADE'); // internal
    expect(lines).toContain('-A TSN-abcd1234-FWD -i tnabcd1234-1 -j DROP');
    expect(lines).toContain('-A TSN-abcd1234-FWD -i tnabcd1234-0 -o tn+ -j DROP');
    expect(lines).toContain('-A TSN-abcd1234-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80');
    expect(lines).toContain('-A TSN-abcd1234-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.88.0.3:53');
    expect(lines).toContain('-A TSN-abcd1234-DNAT -d 10.92.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.92.0.1:40000');
    expect(lines).toContain('-A TSN-abcd1234-POST -s 127.0.0.0/8 -o tnabcd1234-0 -j MASQUERADE');
    // Published ports pass the filter before other bridges are cut off.
    expect(lines.indexOf('-A TSN-abcd1234-FWD -o tnabcd1234-0 -m conntrack --ctstate DNAT -j ACCEPT')).toBeLessThan(lines.indexOf('-A TSN-abcd1234-FWD -i tnabcd1234-0 -o tn+ -j DROP'));
    expect(text.endsWith('COMMIT\n')).toBe(true);
  });

  it('adds missing jumps (FORWARD first) and finds present ones in a dump', () => {
    const text = renderRules(chains, { networks: [], bindings: [] }, jumpRules(chains));
    expect(text).toContain('-I FORWARD 1 -j TSN-abcd1234-FWD');
    expect(text).toContain('-A OUTPUT -m addrtype --dst-type LOCAL -j TSN-abcd1234-DNAT');
    const dump = '*nat\n-A PREROUTING -m addrtype --dst-type LOCAL -j TSN-abcd1234-DNAT\n-A POSTROUTING -j TSN-other-POST\nCOMMIT\n';
    expect(presentJumps(chains, dump).map((j) => j.chain)).toEqual(['PREROUTING']);
    const removal = renderRemoval(chains, presentJumps(chains, dump));
    expect(removal).toContain('-D PREROUTING -m addrtype --dst-type LOCAL -j TSN-abcd1234-DNAT');
    expect(removal).toContain('-X TSN-abcd1234-POST');
  });
});

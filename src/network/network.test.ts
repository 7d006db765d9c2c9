import { describe, expect, it } from 'vitest';
import { pickIp, portsCollide } from './allocations';
import { linkEnv, parseExtraHost, parseLink } from './links';
import { checkNetworkFields, parseNetworkMode } from './mode';
import { normalizeExposed, parsePublish, validateBindings } from './ports';
import { gatewayOf, parseSubnet } from './subnet';

describe('parsePublish (docker run -p)', () => {
  it.each([
    ['80', ['80/tcp'], { '80/tcp': [{ hostIp: '', hostPort: '' }] }],
    ['8080:80', ['80/tcp'], { '80/tcp': [{ hostIp: '', hostPort: '8080' }] }],
    ['127.0.0.1:8080:80/udp', ['80/udp'], { '80/udp': [{ hostIp: '127.0.0.1', hostPort: '8080' }] }],
    ['127.0.0.1::80', ['80/tcp'], { '80/tcp': [{ hostIp: '127.0.0.1', hostPort: '' }] }],
    ['8000-8001:80-81', ['80/tcp', '81/tcp'], { '80/tcp': [{ hostIp: '', hostPort: '8000' }], '81/tcp': [{ hostIp: '', hostPort: '8001' }] }],
    ['9000-9010:80', ['80/tcp'], { '80/tcp': [{ hostIp: '', hostPort: '9000-9010' }] }],
  ])('%s', (spec, exposed, bindings) => {
    expect(parsePublish(spec)).toEqual({ exposed, bindings });
  });

  it.each(['80/sctp', 'x:80', '1.2.3:80:80', '8000-8002:80-81', '0', '70000', '1:2:3:4'])('refuses %s', (spec) => {
    expect(() => parsePublish(spec)).toThrow(/publish/);
  });

  it('normalizes exposed ports and ranges', () => {
    expect(normalizeExposed(['53/udp', '80', '8000-8001/tcp'], 'config.exposed_ports')).toEqual(['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  });

  it('checks bindings and names the field', () => {
    expect(() => validateBindings({ '80/tcp': [{ hostIp: 'nope', hostPort: '' }] }, 'host_config.port_bindings')).toThrow(/host_ip/);
    expect(validateBindings({ 80: [{ hostIp: '0.0.0.0', hostPort: '0' }] }, 'f')).toEqual({ '80/tcp': [{ hostIp: '', hostPort: '' }] });
  });
});

describe('allocation', () => {
  const subnet = parseSubnet('10.88.0.0/16');

  it('starts after the gateway and never hands out a taken address', () => {
    expect(gatewayOf(subnet)).toBe('10.88.0.1');
    expect(pickIp(subnet, new Set())).toBe('10.88.0.2');
    expect(pickIp(subnet, new Set(['10.88.0.2', '10.88.0.3']))).toBe('10.88.0.4');
  });

  it('wraps round from the hint, and a full subnet is ResourceExhausted', () => {
    const small = parseSubnet('10.1.1.0/29'); // .2 to .6
    expect(pickIp(small, new Set(['10.1.1.2']), '10.1.1.7')).toBe('10.1.1.6');
    expect(pickIp(small, new Set(['10.1.1.6']), '10.1.1.6')).toBe('10.1.1.2');
    expect(() => pickIp(small, new Set(['10.1.1.2', '10.1.1.3', '10.1.1.4', '10.1.1.5', '10.1.1.6']))).toThrow(/in use/);
  });

  it('hands out distinct addresses to many containers in a row', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 500; i++) taken.add(pickIp(subnet, taken));
    expect(taken.size).toBe(500);
  });

  it('ports collide on the same proto and port unless both name different addresses', () => {
    const a = { proto: 'tcp' as const, hostIp: '', hostPort: 80 };
    expect(portsCollide(a, { ...a, hostIp: '127.0.0.1' })).toBe(true);
    expect(portsCollide({ ...a, hostIp: '127.0.0.2' }, { ...a, hostIp: '127.0.0.1' })).toBe(false);
    expect(portsCollide(a, { ...a, proto: 'udp' })).toBe(false);
  });
});

describe('links', () => {
  it('parses name:alias', () => {
    expect(parseLink('db:alias')).toEqual({ target: 'db', alias: 'alias' });
    expect(parseLink('/db')).toEqual({ target: 'db', alias: 'db' });
    expect(() => parseLink('a:b:c')).toThrow(/host_config.links/);
    expect(parseExtraHost('x.local:10.0.0.1')).toEqual(['10.0.0.1', 'x.local']);
    expect(() => parseExtraHost('x.local')).toThrow(/extra_hosts/);
  });

  it('builds Docker\'s env', () => {
    expect(linkEnv('web', 'my-db', { name: 'db', ip: '10.88.0.5', exposed: ['6379/tcp', '53/udp'], env: ['PATH=/bin', 'A=b=c', 'HOME=/root'] })).toEqual([
      'MY_DB_PORT=udp://10.88.0.5:53',
      'MY_DB_PORT_53_UDP=udp://10.88.0.5:53', 'MY_DB_PORT_53_UDP_ADDR=10.88.0.5', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
      'MY_DB_PORT_6379_TCP=tcp://10.88.0.5:6379', 'MY_DB_PORT_6379_TCP_ADDR=10.88.0.5', 'MY_DB_PORT_6379_TCP_PORT=6379', 'MY_DB_PORT_6379_TCP_PROTO=tcp',
      'MY_DB_NAME=/web/my-db',
      'MY_DB_ENV_A=b=c',
    ]);
  });
});

describe('network modes', () => {
  it('parses the modes', () => {
    expect(parseNetworkMode('')).toEqual({ kind: 'bridge' });
    expect(parseNetworkMode('', true)).toEqual({ kind: 'none' });
    expect(parseNetworkMode('container:abc')).toEqual({ kind: 'container', ref: 'abc' });
    expect(() => parseNetworkMode('host', true)).toThrow(/network_disabled/);
    expect(() => parseNetworkMode('container:')).toThrow(/network_mode/);
  });

  it('refuses ports and links off the bridge', () => {
    expect(() => checkNetworkFields({ networkMode: 'host', networkDisabled: false, publishAllPorts: true })).toThrow(/port_bindings/);
    expect(() => checkNetworkFields({ networkMode: 'none', networkDisabled: false, links: ['a'] })).toThrow(/links/);
    expect(() => checkNetworkFields({ networkMode: 'container:x', networkDisabled: false, dns: ['1.1.1.1'] })).toThrow(/config.dns/);
    expect(() => checkNetworkFields({ networkDisabled: false, dns: ['x'] })).toThrow(/config.dns/);
  });
});

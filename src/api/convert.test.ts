// proto -> domain for a create: config.port_specs read as Docker 0.7 read them, and the stop timeout's bounds.
import { describe, expect, it } from 'vitest';
import { Config, HostConfig } from '../gen/berth/v1/containers';
import { configFromProto, hostConfigFromProto, portSpecs } from './convert';

const config = (patch: Partial<Config>) => Config.fromPartial({ image: 'busybox', cmd: ['true'], ...patch });

describe('portSpecs', () => {
  it('exposes every entry and publishes those with a host part', () => {
    expect(portSpecs(['80', '53/udp', '8080:81', '127.0.0.1:8443:443/tcp', '127.0.0.1::9000', '7000-7001:7000-7001'])).toEqual({
      exposed: ['80/tcp', '53/udp', '81/tcp', '443/tcp', '9000/tcp', '7000/tcp', '7001/tcp'],
      bindings: {
        '81/tcp': [{ hostIp: '', hostPort: '8080' }],
        '443/tcp': [{ hostIp: '127.0.0.1', hostPort: '8443' }],
        '9000/tcp': [{ hostIp: '127.0.0.1', hostPort: '' }],
        '7000/tcp': [{ hostIp: '', hostPort: '7000' }],
        '7001/tcp': [{ hostIp: '', hostPort: '7001' }],
      },
    });
  });

  it.each<[string, RegExp]>([
    ['abc', /^config\.port_specs "abc"/],
    ['0', /port 0 is out of range/],
    ['65536', /port 65536 is out of range/],
    ['80/sctp', /^config\.port_specs "80\/sctp"/],
    ['1.2.3.999:80:80', /invalid host IP/],
    ['1:2:3:4', /^config\.port_specs "1:2:3:4"/],
  ])('%j is INVALID_ARGUMENT naming config.port_specs', (spec, message) => {
    expect(() => portSpecs([spec])).toThrow(message);
  });
});

describe('configFromProto and hostConfigFromProto', () => {
  it('merge port_specs into exposed_ports and port_bindings', () => {
    const c = config({ portSpecs: ['8080:80', '22'], exposedPorts: ['443'] });
    expect(configFromProto(c).exposedPorts).toEqual(['22/tcp', '80/tcp', '443/tcp']);
    const h = HostConfig.fromPartial({ portBindings: { 80: { bindings: [{ hostIp: '', hostPort: '9080' }] } } });
    expect(hostConfigFromProto(h, c).portBindings).toEqual({ '80/tcp': [{ hostIp: '', hostPort: '9080' }, { hostIp: '', hostPort: '8080' }] });
    expect(hostConfigFromProto(undefined, c).portBindings).toEqual({ '80/tcp': [{ hostIp: '', hostPort: '8080' }] });
  });

  it('refuses published port_specs for a container without a network of its own', () => {
    expect(() => hostConfigFromProto(HostConfig.fromPartial({ networkMode: 'none' }), config({ portSpecs: ['8080:80'] }))).toThrow(/conflicts with network mode none/);
    expect(() => hostConfigFromProto(HostConfig.fromPartial({ networkMode: 'none' }), config({ portSpecs: ['80'] }))).not.toThrow();
  });

  it.each([-2, 2_147_484, 2 ** 31 - 1])('refuses stop_timeout %d', (stopTimeout) => {
    expect(() => configFromProto(config({ stopTimeout }))).toThrow(/^config\.stop_timeout /);
  });
});

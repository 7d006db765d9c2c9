import { describe, expect, it } from 'vitest';
import { networkConfig, networkHostConfig, portLines, portsText } from './network';

describe('run network flags', () => {
  it('-p and --expose become exposed ports and bindings', () => {
    const flags = { publish: ['8080:80', '53/udp'], expose: ['9000'], 'publish-all': true, network: 'bridge', link: ['db:d'], dns: ['10.0.0.1'], 'add-host': ['a:10.0.0.2'] };
    expect(networkConfig(flags)).toEqual({ exposedPorts: ['53/udp', '80/tcp', '9000/tcp'], dns: ['10.0.0.1'] });
    expect(networkHostConfig(flags)).toEqual({
      portBindings: { '80/tcp': { bindings: [{ hostIp: '', hostPort: '8080' }] }, '53/udp': { bindings: [{ hostIp: '', hostPort: '' }] } },
      publishAllPorts: true, networkMode: 'bridge', links: ['db:d'], extraHosts: ['a:10.0.0.2'],
    });
  });

  it('port lists bindings as docker port does', () => {
    const ports = { '80/tcp': { bindings: [{ hostIp: '0.0.0.0', hostPort: '49153' }] }, '53/udp': { bindings: [] } };
    expect(portLines(ports)).toEqual(['80/tcp -> 0.0.0.0:49153']);
    expect(portLines(ports, '80')).toEqual(['0.0.0.0:49153']);
  });
});

describe('portsText', () => {
  it('shows bindings as docker ps does, exposed-only ports alone, in port order', () => {
    expect(portsText({
      '80/tcp': { bindings: [{ hostIp: '0.0.0.0', hostPort: '8080' }, { hostIp: '127.0.0.1', hostPort: '9090' }] },
      '53/udp': { bindings: [] },
      '443/tcp': { bindings: [{ hostIp: '', hostPort: '8443' }] },
    })).toBe('53/udp, 0.0.0.0:8080->80/tcp, 127.0.0.1:9090->80/tcp, 0.0.0.0:8443->443/tcp');
    expect(portsText({})).toBe('');
  });
});

import { describe, expect, it } from 'vitest';
import { hostsFile, resolvConfFile } from './etc-files';

describe('resolvConfFile', () => {
  it('drops loopback nameservers and keeps the rest', () => {
    const out = resolvConfFile('search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions ndots:2\n');
    expect(out).toBe('search example.com\nnameserver 10.0.0.2\noptions ndots:2\n');
  });

  it('falls back to public servers when only loopback ones were there', () => {
    expect(resolvConfFile('nameserver 127.0.0.1\nnameserver ::1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});

describe('hostsFile', () => {
  it('has localhost and the container name', () => {
    const out = hostsFile('web', 'example.com');
    expect(out.split('\n')[0]).toBe('127.0.0.1\tlocalhost');
    expect(out).toContain('127.0.1.1\tweb.example.com web\n');
  });
});

describe('network /etc files', () => {
  it('points the name at the container IP and adds links and extra hosts', () => {
    const out = hostsFile('web', '', { ip: '10.88.0.2', entries: [['10.88.0.3', 'db abc db'], ['10.1.2.3', 'x.local']] });
    expect(out).toContain('10.88.0.2\tweb\n10.88.0.3\tdb abc db\n10.1.2.3\tx.local\n');
    expect(out).not.toContain('127.0.1.1');
  });

  it('--dns replaces the nameservers and keeps search and options', () => {
    expect(resolvConfFile('search x\nnameserver 10.0.0.2\noptions ndots:2\n', ['10.9.9.9'])).toBe('search x\noptions ndots:2\nnameserver 10.9.9.9\n');
  });
});

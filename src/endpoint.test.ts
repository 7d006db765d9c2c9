import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { grpcTarget, loadTls, parseEndpoint } from './endpoint';
import { resolveGroup } from './listen';

const FLAGS = { ca: '--tlscacert', cert: '--tlscert', key: '--tlskey' };

describe('parseEndpoint', () => {
  it.each([
    ['unix:///run/berth/berth.sock', { kind: 'unix', path: '/run/berth/berth.sock' }, 'unix:///run/berth/berth.sock'],
    ['tcp://127.0.0.1:2376', { kind: 'tcp', host: '127.0.0.1', port: 2376 }, '127.0.0.1:2376'],
    ['tcp://localhost:1', { kind: 'tcp', host: 'localhost', port: 1 }, 'localhost:1'],
    ['tcp://[::1]:65535', { kind: 'tcp', host: '[::1]', port: 65535 }, '[::1]:65535'],
  ])('%s', (address, endpoint, target) => {
    expect(parseEndpoint(address, '--listen')).toEqual(endpoint);
    expect(grpcTarget(parseEndpoint(address, '--listen'))).toBe(target);
  });

  it.each([
    ['unix://relative.sock', /the socket path must be absolute/],
    ['tcp://127.0.0.1', /tcp:\/\/HOST:PORT/],
    ['tcp://127.0.0.1:0', /port from 1 to 65535/],
    ['tcp://127.0.0.1:70000', /port from 1 to 65535/],
    ['tcp://a b:1', /tcp:\/\/HOST:PORT/],
    ['127.0.0.1:2376', /expected unix:\/\/\/PATH or tcp:\/\/HOST:PORT/],
    ['http://x:1', /expected unix/],
  ])('%s is refused, naming the flag and the address', (address, why) => {
    expect(() => parseEndpoint(address, '--listen')).toThrow(new RegExp(`^--listen "${address.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}": `));
    expect(() => parseEndpoint(address, '--listen')).toThrow(why);
  });
});

describe('loadTls', () => {
  it('is undefined with no file named', () => {
    expect(loadTls({}, FLAGS)).toBeUndefined();
  });

  it('names every missing flag when only some are given', () => {
    expect(() => loadTls({ cert: '/x' }, FLAGS)).toThrow('mutual TLS needs --tlscacert, --tlscert, --tlskey together: missing --tlscacert, --tlskey');
    expect(() => loadTls({ ca: '/x', cert: '/y' }, FLAGS)).toThrow(/missing --tlskey$/);
  });

  it('names the flag of a file it cannot read, and refuses what is not PEM', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tls-'));
    try {
      const junk = path.join(dir, 'junk.pem');
      fs.writeFileSync(junk, 'not a certificate');
      expect(() => loadTls({ ca: junk, cert: junk, key: path.join(dir, 'none') }, FLAGS)).toThrow(`--tlskey ${dir}/none: ENOENT`);
      expect(() => loadTls({ ca: junk, cert: junk, key: junk }, FLAGS)).toThrow(/^--tlscacert, --tlscert, --tlskey: /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveGroup', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-group-'));
  const groupFile = path.join(dir, 'group');
  fs.writeFileSync(groupFile, 'root:x:0:\nadm:x:4:syslog\nberth:x:998:alice,bob\n');

  it('finds a name, takes a number as the gid, and names an unknown group', () => {
    expect(resolveGroup('berth', groupFile)).toBe(998);
    expect(resolveGroup('adm', groupFile)).toBe(4);
    expect(resolveGroup('4242', groupFile)).toBe(4242);
    expect(() => resolveGroup('nosuch', groupFile)).toThrow(`--group "nosuch": no such group in ${groupFile}`);
    expect(() => resolveGroup('ber', groupFile)).toThrow(/no such group/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

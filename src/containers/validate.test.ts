import { describe, expect, it } from 'vitest';
import type { ContainerConfig } from './model';
import {
  checkContainerRef, MAX_STOP_TIMEOUT_SECONDS, mergeImageDefaults, parseLogConfig, validateConfig, validateName, validateSize, validateStopTimeout,
} from './validate';

const base: ContainerConfig = {
  hostname: '', domainname: '', user: '', env: [], cmd: ['true'], entrypoint: [], image: 'busybox',
  workingDir: '', networkDisabled: false, attachStdin: false, attachStdout: false, attachStderr: false,
  tty: false, openStdin: false, stdinOnce: false, stopSignal: '',
};

describe('validateConfig', () => {
  it('accepts a plain config', () => {
    expect(() => validateConfig({ ...base, hostname: 'web-1.example', user: 'berth:wheel', env: ['A=1', 'B='], workingDir: '/srv' })).not.toThrow();
    expect(() => validateConfig({ ...base, user: '4294967294:0' })).not.toThrow();
  });

  it.each<[Partial<ContainerConfig>, RegExp]>([
    [{ hostname: '-bad' }, /^config\.hostname "-bad"/],
    [{ hostname: 'h'.repeat(65) }, /^config\.hostname/],
    [{ domainname: 'a..b' }, /^config\.domainname/],
    [{ user: 'a:b:c' }, /^config\.user "a:b:c"/],
    [{ env: ['=x'] }, /^config\.env "=x"/],
    [{ env: ['NOEQUALS'] }, /^config\.env/],
    [{ env: ['A=\0'] }, /^config\.env/],
    [{ cmd: ['a\0b'] }, /^config\.cmd/],
    [{ workingDir: 'relative' }, /^config\.working_dir "relative"/],
    [{ entrypoint: ['/bin/\0sh'] }, /^config\.entrypoint/],
    [{ user: '4294967295' }, /^config\.user "4294967295": id 4294967295 is out of range/],
    [{ user: 'www:99999999999' }, /^config\.user "www:99999999999": id 99999999999 is out of range/],
    [{ labels: { '': 'x' } }, /^config\.labels ""/],
    [{ labels: { k: 'a\0' } }, /^config\.labels "k"/],
  ])('refuses %j naming the field', (patch, message) => {
    expect(() => validateConfig({ ...base, ...patch })).toThrow(message);
  });

  it('names the fields under the prefix it is given', () => {
    expect(() => validateConfig({ ...base, env: ['=x'] }, 'options')).toThrow(/^options\.env "=x"/);
    expect(() => validateConfig({ ...base, workingDir: 'rel' }, 'options')).toThrow(/^options\.working_dir "rel"/);
  });
});

describe('checkContainerRef', () => {
  it.each(['web', '/web', 'a', 'ab12', 'f'.repeat(64), 'my_app.1-x', 'n'.repeat(128)])('accepts %j', (ref) => {
    expect(() => checkContainerRef(ref, 'container_id')).not.toThrow();
  });

  it.each<[string, RegExp]>([
    ['', /^container_id "": a container id or name is required/],
    ['a\0b', /a container id or name is required/],
    ['../x', /^container_id "\.\.\/x": not a container id or name/],
    ['x/y', /not a container id or name/],
    ['..', /not a container id or name/],
    [' ', /not a container id or name/],
    ['n'.repeat(129), /not a container id or name/],
    ['a'.repeat(2000), /^container_id "a+\.\.\. \(2002 characters\): not a container id or name/],
  ])('refuses %j', (ref, message) => {
    expect(() => checkContainerRef(ref, 'container_id')).toThrow(message);
  });
});

describe('validateStopTimeout', () => {
  it.each([undefined, -1, 0, 10, MAX_STOP_TIMEOUT_SECONDS])('accepts %j', (s) => expect(validateStopTimeout(s, 'timeout_seconds')).toBe(s));
  it.each([-2, MAX_STOP_TIMEOUT_SECONDS + 1, 2 ** 31 - 1, 1.5])('refuses %j: a timer cannot wait that long', (s) => {
    expect(() => validateStopTimeout(s, 'timeout_seconds')).toThrow(/^timeout_seconds -?[\d.]+: must be -1 \(wait for ever\) or 0 to 2147483 seconds/);
  });
});

describe('validateName', () => {
  it.each(['web', 'my_app.1', 'A-b'])('accepts %s', (n) => expect(() => validateName(n)).not.toThrow());
  it.each(['x', '-lead', 'has space', 'slash/no', 'a'.repeat(129)])('refuses %j', (n) => expect(() => validateName(n)).toThrow(/^name /));
  it('names the field it is given', () => expect(() => validateName('../x', 'new_name')).toThrow(/^new_name "\.\.\/x"/));
});

describe('mergeImageDefaults', () => {
  const image = { env: ['PATH=/bin', 'A=image'], cmd: ['sh'], entrypoint: [], workingDir: '/img', user: 'berth' };

  it('takes the image defaults where the container says nothing', () => {
    const merged = mergeImageDefaults({ ...base, cmd: [] }, image);
    expect(merged).toMatchObject({ cmd: ['sh'], workingDir: '/img', user: 'berth', env: ['PATH=/bin', 'A=image'] });
  });

  it('lets container env override image env by key', () => {
    expect(mergeImageDefaults({ ...base, env: ['A=mine'] }, image).env).toEqual(['PATH=/bin', 'A=mine']);
  });

  it('drops the image cmd when the container sets its own entrypoint', () => {
    const merged = mergeImageDefaults({ ...base, cmd: [], entrypoint: ['/bin/echo'] }, image);
    expect(merged).toMatchObject({ entrypoint: ['/bin/echo'], cmd: [] });
  });

  it('takes the image stop signal unless the container names one, and drops one it cannot send', () => {
    expect(mergeImageDefaults(base, { ...image, stopSignal: 'SIGUSR1' }).stopSignal).toBe('SIGUSR1');
    expect(mergeImageDefaults({ ...base, stopSignal: 'SIGINT' }, { ...image, stopSignal: 'SIGUSR1' }).stopSignal).toBe('SIGINT');
    expect(mergeImageDefaults(base, { ...image, stopSignal: 'SIGNOPE' }).stopSignal).toBe('');
  });
});

describe('parseLogConfig', () => {
  it.each<[Record<string, string>, unknown]>([
    [{}, undefined],
    [{ 'max-size': '10m' }, { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 1 }],
    [{ 'max-size': '512k', 'max-file': '3' }, { maxSizeBytes: 512 * 1024, maxFiles: 3 }],
    [{ 'max-size': '4096' }, { maxSizeBytes: 4096, maxFiles: 1 }],
  ])('%j', (config, want) => expect(parseLogConfig('', config)).toEqual(want));

  it.each<[string, Record<string, string>, RegExp]>([
    ['syslog', {}, /log_config\.type "syslog"/],
    ['json-file', { 'max-size': 'big' }, /max-size/],
    ['', { 'max-size': '0' }, /max-size/],
    ['', { 'max-size': '1m', 'max-file': '0' }, /max-file/],
    ['', { 'max-file': '3' }, /needs max-size/],
    ['', { compress: 'true' }, /unknown json-file option/],
    ['', { 'max-size': '99999999999999g' }, /max-size"\] "99999999999999g": too large/],
  ])('%s %j is refused', (type, config, why) => expect(() => parseLogConfig(type, config)).toThrow(why));
});

describe('validateSize', () => {
  it('treats 0x0 as not given', () => expect(validateSize({ rows: 0, cols: 0 }, 'size')).toBeUndefined());
  it('keeps a real size', () => expect(validateSize({ rows: 40, cols: 120 }, 'size')).toEqual({ rows: 40, cols: 120 }));
  it.each([[{ rows: 0, cols: 80 }], [{ rows: 70000, cols: 80 }]])('%j is refused', (size) => expect(() => validateSize(size, 'size')).toThrow(/^size\./));
});

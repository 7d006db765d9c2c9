import { describe, expect, it } from 'vitest';
import { initialState, type ContainerRecord } from '../containers/model';
import { buildEnv, buildSpec, DEFAULT_PATH } from './plan';

const record: ContainerRecord = {
  id: 'a'.repeat(64), name: 'web', created: '2026-01-01T00:00:00Z', path: '/bin/echo', args: ['hi'],
  config: {
    hostname: '', domainname: 'example.com', user: 'berth', env: ['A=1'], cmd: ['/bin/echo', 'hi'], entrypoint: [],
    image: 'busybox', workingDir: '/srv', networkDisabled: false, attachStdin: false, attachStdout: true, attachStderr: true,
    tty: false, openStdin: false, stdinOnce: false, stopSignal: '',
  },
  hostConfig: {}, image: 'sha256:' + 'b'.repeat(64), state: initialState(),
};
const inputs = {
  rootfs: '/r/merged', logPath: '/c/x-json.log', hostnamePath: '/c/hostname', hostsPath: '/c/hosts', resolvConfPath: '/c/resolv.conf',
  user: { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/berth' }, lastSeq: 41,
};

describe('buildSpec', () => {
  const spec = buildSpec(record, inputs);

  it('runs path and args as the resolved user in the working dir', () => {
    expect(spec.args).toEqual(['/bin/echo', 'hi']);
    expect(spec.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(spec.cwd).toBe('/srv');
  });

  it('numbers log entries on from the last one and sizes the console 24x80 by default', () => {
    expect(spec.log).toEqual({ maxSizeBytes: 0, maxFiles: 1, firstSeq: 42 });
    expect(spec.consoleSize).toEqual({ rows: 24, cols: 80 });
    expect(spec.env).not.toContain('TERM=xterm');
    expect(buildSpec({ ...record, config: { ...record.config, tty: true } }, inputs).env).toContain('TERM=xterm');
  });

  it('asks the monitor for a durable exit unless the container is removed at its exit', () => {
    expect(spec.durableExit).toBeUndefined();
    expect(buildSpec({ ...record, hostConfig: { autoRemove: true } }, inputs).durableExit).toBe(false);
  });

  it('defaults the hostname to the short id', () => {
    expect(spec.hostname).toBe('aaaaaaaaaaaa');
    expect(spec.domainname).toBe('example.com');
  });

  it('mounts /proc first and /dev before its children, then the read-only /etc files', () => {
    const targets = spec.mounts.map((m) => m.target);
    expect(targets.indexOf('/proc')).toBe(0);
    expect(targets.indexOf('/dev')).toBeLessThan(targets.indexOf('/dev/pts'));
    expect(targets.slice(-3)).toEqual(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
    for (const m of spec.mounts.slice(-3)) expect(m.flags).toEqual(expect.arrayContaining(['bind', 'ro']));
    expect(spec.mounts.find((m) => m.target === '/sys')!.flags).toContain('ro');
  });
});

describe('buildEnv', () => {
  it('adds PATH, HOSTNAME and HOME before the config env', () => {
    expect(buildEnv(['A=1'], 'h', '/root')).toEqual([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=h', 'HOME=/root', 'A=1']);
  });

  it('keeps a PATH and HOME the config sets', () => {
    expect(buildEnv(['PATH=/x', 'HOME=/h'], 'h', '/root')).toEqual(['HOSTNAME=h', 'PATH=/x', 'HOME=/h']);
  });
});

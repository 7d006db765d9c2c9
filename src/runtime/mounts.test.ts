import { describe, expect, it } from 'vitest';
import { initialState, type ContainerRecord } from '../containers/model';
import { userMountOps } from './mounts';
import { buildSpec } from './plan';

describe('userMountOps', () => {
  it('binds rw mounts recursively and ro ones read-only; parents go first, equals keep their order', () => {
    const ops = userMountOps([
      { source: '/v/b', destination: '/data/sub', rw: true, kind: 'dir' },
      { source: '/v/a', destination: '/data', rw: false, kind: 'dir' },
      { source: '/f', destination: '/etc/app.conf', rw: false, kind: 'file' },
      { source: '/v/c', destination: '/cache', rw: true, kind: 'dir' },
    ]);
    expect(ops).toEqual([
      { source: '/v/a', target: '/data', fstype: '', data: '', kind: 'dir', flags: ['bind', 'ro'] },
      { source: '/v/c', target: '/cache', fstype: '', data: '', kind: 'dir', flags: ['bind', 'rec'] },
      { source: '/v/b', target: '/data/sub', fstype: '', data: '', kind: 'dir', flags: ['bind', 'rec'] },
      { source: '/f', target: '/etc/app.conf', fstype: '', data: '', kind: 'file', flags: ['bind', 'ro'] },
    ]);
  });
});

describe('buildSpec with volumes and binds', () => {
  const record: ContainerRecord = {
    id: 'a'.repeat(64), name: 'web', created: '2026-01-01T00:00:00Z', path: '/bin/true', args: [],
    config: {
      hostname: '', domainname: '', user: '', env: [], cmd: ['/bin/true'], entrypoint: [], image: 'busybox', workingDir: '',
      networkDisabled: false, attachStdin: false, attachStdout: true, attachStderr: true, tty: false, openStdin: false, stdinOnce: false, stopSignal: '',
    },
    hostConfig: {}, image: 'sha256:' + 'b'.repeat(64), state: initialState(),
  };
  const inputs = {
    rootfs: '/r', logPath: '/c/log', hostnamePath: '/c/hostname', hostsPath: '/c/hosts', resolvConfPath: '/c/resolv.conf',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, lastSeq: 0,
  };

  it('mounts them after ours; a bind over /etc/hosts replaces our own', () => {
    const spec = buildSpec(record, { ...inputs, mounts: [
      { source: '/my/hosts', destination: '/etc/hosts', rw: false, kind: 'file' },
      { source: '/vol', destination: '/dev/data', rw: true, kind: 'dir' },
    ] });
    const targets = spec.mounts.map((m) => m.target);
    expect(targets.filter((t) => t === '/etc/hosts')).toHaveLength(1);
    expect(spec.mounts.find((m) => m.target === '/etc/hosts')!.source).toBe('/my/hosts');
    expect(targets.indexOf('/dev/data')).toBeGreaterThan(targets.indexOf('/dev'));
    expect(targets.slice(-2)).toEqual(['/etc/hosts', '/dev/data']);
  });
});

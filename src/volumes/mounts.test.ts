import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors';
import { initialState, type ContainerRecord, type MountRecord } from '../containers/model';
import { planMounts, realizeMounts } from './mounts';
import { VolumeStore } from './store';

const other = (mounts: MountRecord[]): ContainerRecord => ({
  id: 'c'.repeat(64), name: 'src', created: '', path: 'true', args: [], image: 'sha256:x', state: initialState(),
  config: {
    hostname: '', domainname: '', user: '', env: [], cmd: [], entrypoint: [], image: 'busybox', workingDir: '', networkDisabled: false,
    attachStdin: false, attachStdout: false, attachStderr: false, tty: false, openStdin: false, stdinOnce: false, stopSignal: '',
  },
  hostConfig: { mounts },
});

describe('planMounts and realizeMounts', () => {
  let root = '';
  let store: VolumeStore;
  const shared: MountRecord = { type: 'volume', name: 'shared', source: '/v/shared/_data', destination: '/data', mode: '', rw: true };
  const bound: MountRecord = { type: 'bind', name: '', source: '/srv', destination: '/srv', mode: 'ro', rw: false };
  const findContainer = (ref: string) => {
    if (ref === 'src') return other([shared, bound]);
    throw new EngineError('NotFound', `container ${ref}: not found`);
  };
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mounts-'));
    store = new VolumeStore(root);
    await store.load();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('volumes-from first, binds over them, then an anonymous volume for each free volume path', async () => {
    const plan = await planMounts({ volumes: ['/data', '/cache/', '/srv'], binds: [`${root}:/data:ro`, 'named:/logs'], volumesFrom: 'src:ro' }, { findContainer });
    expect(plan).toEqual([
      { kind: 'bind', source: root, destination: '/data', mode: 'ro', rw: false },
      { kind: 'from', mount: { ...bound, mode: 'ro', rw: false } },
      { kind: 'named', name: 'named', destination: '/logs', mode: '', rw: true },
      { kind: 'anonymous', destination: '/cache' },
    ]);
    const claim = store.claim();
    const made = await realizeMounts(plan, store, claim);
    const anon = made.mounts[3].name;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(made.created.sort()).toEqual(['named', anon].sort());
    expect(made.fill).toEqual([{ name: 'named', destination: '/logs' }, { name: anon, destination: '/cache' }]);
    expect(made.mounts[3]).toEqual({ type: 'volume', name: anon, source: store.dataPath(anon), destination: '/cache', mode: '', rw: true });
    expect(store.isClaimed('named') && store.isClaimed(anon)).toBe(true);
    claim.release();
  });

  it('a missing volumes-from container is NotFound naming the field; a missing bind source InvalidArgument', async () => {
    await expect(planMounts({ volumes: [], binds: [], volumesFrom: 'nope' }, { findContainer })).rejects.toMatchObject({
      kind: 'NotFound', message: 'config.volumes_from "nope": container nope: not found',
    });
    await expect(planMounts({ volumes: [], binds: [`${root}/missing:/x`], volumesFrom: '' }, { findContainer })).rejects.toMatchObject({
      kind: 'InvalidArgument', message: expect.stringMatching(/^host_config\.binds ".*\/missing:\/x": bind source path .* does not exist/),
    });
  });

  it('a failure half way removes the volumes it made', async () => {
    // The anonymous volume is made, then the second one fails (a name the store refuses).
    const plan = [{ kind: 'anonymous' as const, destination: '/a' }, { kind: 'named' as const, name: 'x', destination: '/b', mode: '', rw: true }];
    await expect(realizeMounts(plan, store, store.claim())).rejects.toThrow(/^create volumes: name "x"/);
    expect(store.list()).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'volumes'))).toEqual([]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VolumeStore } from './store';

describe('VolumeStore', () => {
  let root = '';
  let store: VolumeStore;
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volumes-'));
    store = new VolumeStore(root);
    await store.load();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a volume whole: an empty 0755 _data and its record; the same name again is returned as it is', async () => {
    const { volume, created } = await store.create({ name: 'web-data', labels: { a: '1' } });
    expect(created).toBe(true);
    expect(volume).toMatchObject({ name: 'web-data', labels: { a: '1' }, anonymous: false });
    const data = store.dataPath('web-data');
    expect(data).toBe(path.join(root, 'volumes/web-data/_data'));
    expect(fs.statSync(data).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(path.join(root, 'volumes'))).toEqual(['web-data']);
    const again = await store.create({ name: 'web-data', labels: { b: '2' } });
    expect(again).toEqual({ volume, created: false });
  });

  it('gives anonymous volumes 64-hex names; concurrent creates of one name make it once', async () => {
    const anon = await store.create({ anonymous: true });
    expect(anon.volume.name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.volume.anonymous).toBe(true);
    const both = await Promise.all([store.create({ name: 'twice' }), store.create({ name: 'twice' })]);
    expect(both.map((b) => b.created).sort()).toEqual([false, true]);
  });

  it('finds by name: a missing one is NotFound, a malformed one InvalidArgument', async () => {
    await store.create({ name: 'here' });
    expect(store.find('here').name).toBe('here');
    expect(() => store.find('gone')).toThrow(expect.objectContaining({ kind: 'NotFound' }));
    for (const name of ['', '../x', 'a\0b', 'x']) expect(() => store.find(name)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });

  it.each(['x', '-a', '.a', 'a/b', 'a b', ''.padEnd(256, 'a')])('refuses the name %j', async (name) => {
    await expect(store.create({ name })).rejects.toThrow(/^name ".*": a volume name is 2 or more/);
    expect(fs.readdirSync(path.join(root, 'volumes'))).toEqual([]);
  });

  it('loads volumes back, dropping half-made and half-removed ones', async () => {
    await store.create({ name: 'kept', labels: { k: 'v' } });
    fs.writeFileSync(path.join(store.dataPath('kept'), 'f'), 'x');
    fs.mkdirSync(path.join(root, 'volumes/.tmp-abc/_data'), { recursive: true });
    fs.mkdirSync(path.join(root, 'volumes/.removing-old-123/_data'), { recursive: true });
    const again = new VolumeStore(root);
    await again.load();
    expect(again.list().map((v) => v.name)).toEqual(['kept']);
    expect(again.find('kept').labels).toEqual({ k: 'v' });
    expect(fs.readdirSync(path.join(root, 'volumes'))).toEqual(['kept']);
  });

  it('removes a volume and its files, returning their size; a missing one is NotFound', async () => {
    await store.create({ name: 'gone' });
    fs.writeFileSync(path.join(store.dataPath('gone'), 'f'), Buffer.alloc(1000));
    expect(await store.remove('gone')).toBe(1000);
    expect(store.get('gone')).toBeUndefined();
    expect(fs.readdirSync(path.join(root, 'volumes'))).toEqual([]);
    await expect(store.remove('gone')).rejects.toThrow('volume gone: not found');
  });

  it('claims hold names until released, once', async () => {
    const claim = store.claim();
    await store.create({ name: 'claimed', claim });
    expect(store.isClaimed('claimed')).toBe(true);
    claim.release();
    claim.release();
    expect(store.isClaimed('claimed')).toBe(false);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseVolumeFilters, VolumeService } from './service';
import { VolumeStore } from './store';

describe('parseVolumeFilters', () => {
  it('reads dangling, name and label filters', () => {
    expect(parseVolumeFilters(['dangling=1', 'name=web', 'label=a', 'label=b=c=d'])).toEqual({
      dangling: true, names: ['web'], labels: [['a', undefined], ['b', 'c=d']],
    });
  });

  it.each(['dangling=maybe', 'name=', 'size=1', 'label', '=x'])('refuses %j naming the field', (f) => {
    expect(() => parseVolumeFilters([f])).toThrow(`filters ${JSON.stringify(f)}`);
  });

  it('names an unknown key', () => {
    expect(() => parseVolumeFilters(['size=1'])).toThrow('filters "size=1": unknown key "size"');
    expect(() => parseVolumeFilters(['constructor=1'])).toThrow('unknown key "constructor"');
  });
});

describe('VolumeService', () => {
  let root = '';
  let svc: VolumeService;
  const users = new Map<string, string[]>();
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-volsvc-'));
    const store = new VolumeStore(root);
    await store.load();
    svc = new VolumeService(store, (name) => users.get(name) ?? []);
    users.clear();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists with filters; dangling means no container uses it', async () => {
    await svc.create('web-data', { tier: 'front' });
    await svc.create('db-data', { tier: 'back' });
    users.set('db-data', ['c'.repeat(64)]);
    const names = (f: string[]) => svc.list(parseVolumeFilters(f)).map((v) => v.name);
    expect(names([])).toEqual(['db-data', 'web-data']);
    expect(names(['dangling=true'])).toEqual(['web-data']);
    expect(names(['dangling=false'])).toEqual(['db-data']);
    expect(names(['name=web'])).toEqual(['web-data']);
    expect(names(['label=tier=back'])).toEqual(['db-data']);
    expect(names(['label=tier'])).toEqual(['db-data', 'web-data']);
    expect(svc.inspect('db-data')).toMatchObject({ usedBy: ['c'.repeat(64)], mountpoint: path.join(root, 'volumes/db-data/_data') });
  });

  it('refuses to remove a volume in use unless forced; prune skips those', async () => {
    await svc.create('busy', {});
    await svc.create('idle', {});
    users.set('busy', ['d'.repeat(64)]);
    await expect(svc.remove('busy', false)).rejects.toMatchObject({ kind: 'FailedPrecondition', message: 'remove volume busy: volume is in use by container dddddddddddd' });
    expect(await svc.prune()).toEqual({ removed: ['idle'], bytes: 0 });
    await svc.remove('busy', true);
    expect(svc.list(parseVolumeFilters([]))).toEqual([]);
  });
});

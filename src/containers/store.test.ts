// ContainerStore on a real temp dir: what loadAll keeps, drops and reports after a crash.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialState, type ContainerRecord } from './model';
import { ContainerStore } from './store';

let root: string;
beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-store-')); });
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const record = (id: string): ContainerRecord => ({
  id, name: `c-${id.slice(0, 4)}`, created: '2026-01-01T00:00:00Z', path: 'true', args: [],
  config: {
    hostname: '', domainname: '', user: '', env: [], cmd: ['true'], entrypoint: [], image: 'busybox', workingDir: '',
    networkDisabled: false, attachStdin: false, attachStdout: true, attachStderr: true, tty: false, openStdin: false, stdinOnce: false, stopSignal: '',
  },
  hostConfig: { autoRemove: true }, image: `sha256:${'b'.repeat(64)}`, state: initialState(),
});

describe('ContainerStore.loadAll', () => {
  it('keeps a whole container, and one without its state.json (as created); drops one without its config or hostconfig', async () => {
    const store = new ContainerStore(root);
    await store.loadAll();
    const ids = ['1', '2', '3', '4'].map((d) => d.repeat(64));
    for (const id of ids) await store.create(record(id));
    fs.rmSync(path.join(store.containerDir(ids[1]), 'hostconfig.json'));
    fs.rmSync(path.join(store.containerDir(ids[2]), 'state.json'));
    fs.rmSync(path.join(store.containerDir(ids[3]), 'config.json'));
    const { records, removals } = await new ContainerStore(root).loadAll();
    expect(records.map((r) => [r.id, r.hostConfig, r.state]).sort()).toEqual([[ids[0], { autoRemove: true }, initialState()], [ids[2], { autoRemove: true }, initialState()]]);
    expect(removals).toEqual([]);
    expect(fs.readdirSync(store.dir).sort()).toEqual([ids[0], ids[2]]);
  });

  it('a torn state.json (a write without fsync, then a power loss) keeps the container with a fresh state; a torn config drops it', async () => {
    const store = new ContainerStore(root);
    await store.loadAll();
    const [kept, dropped] = ['5', '6'].map((d) => d.repeat(64));
    await store.create({ ...record(kept), state: { ...initialState(), status: 'running', pid: 4242 } });
    await store.create(record(dropped));
    fs.writeFileSync(path.join(store.containerDir(kept), 'state.json'), '');
    fs.writeFileSync(path.join(store.containerDir(dropped), 'config.json'), '{"id":');
    const { records } = await new ContainerStore(root).loadAll();
    expect(records.map((r) => [r.id, r.state])).toEqual([[kept, initialState()]]);
    expect(fs.readdirSync(store.dir)).toEqual([kept]);
  });

  it('reports a removal the crash interrupted', async () => {
    const store = new ContainerStore(root);
    await store.loadAll();
    const id = 'a'.repeat(64);
    await store.create(record(id));
    const doomed = store.markRemoved(id);
    const { records, removals } = await new ContainerStore(root).loadAll();
    expect(records).toEqual([]);
    expect(removals).toEqual([{ id, dir: doomed }]);
  });
});

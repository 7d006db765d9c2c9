// Images.Import over the API: a hostile tar writes nothing outside the data root, and bad streams change nothing.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import tar, { type Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportImageRequest, ImportImageResponse } from '../../src/gen/berth/v1/images';
import { destroyDaemon, startDaemon, tempRoot, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';
import { HAS_STRACE, traceSyscalls } from '../helpers/strace';

type Entry = Partial<Header> & { name: string; body?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header as Header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function importTar(d: TestDaemon, body: Buffer, reference = '', withHeader = true): Promise<ImportImageResponse> {
  return new Promise((resolve, reject) => {
    const stream = d.clients.images.import((err, r) => (err ? reject(err) : resolve(r)));
    const header: ImportImageRequest = { part: { $case: 'header', value: { reference, config: undefined, message: '' } } };
    if (withHeader) stream.write(header);
    stream.write({ part: { $case: 'chunk', value: body } });
    stream.end();
  });
}

describe.skipIf(!IS_ROOT)('importing a hostile tar', () => {
  let d: TestDaemon;
  let outside: string;

  beforeAll(async () => {
    d = await startDaemon();
    outside = tempRoot();
    fs.writeFileSync(path.join(outside, 'canary'), 'untouched');
  });

  afterAll(async () => {
    await destroyDaemon(d);
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it.each<[string, Entry[]]>([
    ['../ in a name', [{ name: '../../../../../../../../' + 'tmp/berth-escape-dotdot', body: 'x' }]],
    ['a file through an absolute symlink', [{ name: 'link', type: 'symlink', linkname: '/OUTSIDE' }, { name: 'link/pwned', body: 'x' }]],
    ['a hard link out', [{ name: 'hl', type: 'link', linkname: '../../../../OUTSIDE/canary' }]],
    ['a file through a relative symlink that climbs', [{ name: 'up', type: 'symlink', linkname: '../../../../../../OUTSIDE' }, { name: 'up/pwned', body: 'x' }]],
  ])('%s is INVALID_ARGUMENT and writes nothing outside', async (_what, entries) => {
    const fixed = entries.map((e) => ({ ...e, linkname: e.linkname?.replace('/OUTSIDE', outside), name: e.name }));
    const layersBefore = fs.readdirSync(path.join(d.root, 'layers'));
    await expect(importTar(d, await tarOf(fixed), 'evil')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(fs.readdirSync(outside)).toEqual(['canary']);
    expect(fs.readFileSync(path.join(outside, 'canary'), 'utf8')).toBe('untouched');
    expect(fs.existsSync('/tmp/berth-escape-dotdot')).toBe(false);
    expect(fs.readdirSync(path.join(d.root, 'layers'))).toEqual(layersBefore);
    expect(fs.readdirSync(path.join(d.root, 'images', 'blobs', 'sha256'))).toEqual([]);
  });

  it('an absolute symlink inside the image is kept as a link, not followed', async () => {
    const res = await importTar(d, await tarOf([{ name: 'etc', type: 'directory', mode: 0o755 }, { name: 'etc/mtab', type: 'symlink', linkname: '/proc/mounts' }]));
    expect(res.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const layer = fs.readdirSync(path.join(d.root, 'layers')).find((l) => !l.startsWith('.'))!;
    expect(fs.readlinkSync(path.join(d.root, 'layers', layer, 'etc', 'mtab'))).toBe('/proc/mounts');
  });

  it('a stream without its header first is INVALID_ARGUMENT', async () => {
    await expect(importTar(d, Buffer.from('x'), '', false)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('header') });
  });

  it('garbage instead of a tar is INVALID_ARGUMENT', async () => {
    await expect(importTar(d, Buffer.alloc(4096, 7), 'junk')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('a bad reference is refused before anything is stored', async () => {
    await expect(importTar(d, await tarOf([{ name: 'f', body: 'x' }]), 'UPPER:case')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('an import the client cancels stores nothing, even when the tar so far ends at an entry', async () => {
    // The first entry whole (header and one block of data), without the rest or the end-of-archive blocks.
    const part = (await tarOf([{ name: 'a', body: 'first' }, { name: 'b', body: 'second' }])).subarray(0, 1024);
    const layersBefore = fs.readdirSync(path.join(d.root, 'layers'));
    const cancelled = new Promise<grpc.ServiceError>((resolve) => {
      const stream = d.clients.images.import((err) => resolve(err!));
      stream.write({ part: { $case: 'header', value: { reference: 'cut:short', config: undefined, message: '' } } });
      stream.write({ part: { $case: 'chunk', value: part } }, () => setTimeout(() => stream.cancel(), 200));
    });
    expect((await cancelled).code).toBe(grpc.status.CANCELLED);
    // The client hears its cancel at once; give the daemon's import the time it took to commit when it did.
    await new Promise((r) => setTimeout(r, 500));
    const images = await new Promise<string[]>((resolve, reject) => d.clients.images.list({}, (err, r) => (err ? reject(err) : resolve(r.images.flatMap((i) => i.repoTags)))));
    expect(images).not.toContain('cut:short');
    expect(fs.readdirSync(path.join(d.root, 'layers'))).toEqual(layersBefore);
  });
});

describe.skipIf(!IS_ROOT || !HAS_STRACE)('an imported layer is on disk before the store records it', () => {
  let d: TestDaemon;

  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { await destroyDaemon(d); });

  it('syncs the filesystem after extracting and before renaming the layer into place and writing its record', async () => {
    const lines = await traceSyscalls(d.process.pid!, ['syncfs', 'rename', 'renameat', 'renameat2'], async () => {
      const res = await importTar(d, await tarOf([{ name: 'data', body: 'x'.repeat(100_000) }]), 'synced:one');
      expect(res.id).toMatch(/^sha256:/);
    });
    const layer = fs.readdirSync(path.join(d.root, 'layers')).find((l) => !l.startsWith('.'))!;
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const synced = at(/syncfs\(\d+<[^>]*>\) += 0/);
    const treeMoved = at(new RegExp(`rename.*"${path.join(d.root, 'layers', layer)}"`));
    const recorded = at(new RegExp(`rename.*"${path.join(d.root, 'images', 'layerdb', layer)}\\.json"`));
    expect(synced).toBeGreaterThanOrEqual(0);
    expect(treeMoved).toBeGreaterThan(synced);
    expect(recorded).toBeGreaterThan(treeMoved);
    expect(fs.readFileSync(path.join(d.root, 'layers', layer, 'data'), 'utf8')).toHaveLength(100_000);
  });
});

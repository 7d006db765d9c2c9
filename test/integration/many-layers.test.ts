// An image of 128 layers, Docker's most (busybox plus 127 that each add a file), loads and runs: the overlay mount names its
// layers by short links, so its options fit in the one page the kernel takes (about 40 layers without).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadImageResponse } from '../../src/gen/berth/v1/images';
import { config, destroyDaemon, runToEnd, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BUSYBOX_TAR, IS_ROOT } from '../helpers/paths';
import { tarOf } from '../helpers/tar';

const LAYERS = 127;

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A docker-archive (docker save layout) of busybox plus LAYERS one-file layers. */
async function manyLayerArchive(): Promise<Buffer> {
  const layers: Buffer[] = [fs.readFileSync(BUSYBOX_TAR)];
  for (let i = 0; i < LAYERS; i++) layers.push(await tarOf([{ name: `layer-${i}`, body: `${i}\n` }]));
  const config = JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${hex(l)}`) },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
  });
  const files = layers.map((l) => ({ name: `${hex(l)}/layer.tar`, body: l }));
  const manifest = JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ['tall:latest'], Layers: files.map((f) => f.name) }]);
  return tarOf([...files, { name: `${hex(config)}.json`, body: config }, { name: 'manifest.json', body: manifest }]);
}

describe.skipIf(!IS_ROOT)('an image of many layers', () => {
  let d: TestDaemon;
  beforeAll(async () => { d = await startDaemon(); });
  afterAll(async () => { if (d) await destroyDaemon(d); });

  it(`loads and runs with ${LAYERS + 1} layers, each file visible`, async () => {
    const archive = await manyLayerArchive();
    const loaded = await new Promise<LoadImageResponse>((resolve, reject) => {
      const stream = d.clients.images.load((err, r) => (err ? reject(err) : resolve(r)));
      for (let off = 0; off < archive.length; off += 1 << 20) stream.write({ chunk: archive.subarray(off, off + (1 << 20)) });
      stream.end();
    });
    expect(loaded.loaded).toEqual(['tall:latest']);
    const run = await runToEnd(d, config('tall', ['sh', '-c', 'ls / | grep -c "^layer-"; cat /layer-0 /layer-126']));
    expect(run).toMatchObject({ exitCode: 0, stdout: `${LAYERS}\n0\n126\n` });
  });
});

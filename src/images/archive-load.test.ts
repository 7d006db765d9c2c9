// The archive readers on a spool made by hand: which blobs and layers a docker-archive or OCI layout names, and
// what they refuse before anything is ingested.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Spool } from '../archive/spool';
import { localName, planDockerArchive, planOciLayout } from './archive-load';
import { MEDIA } from './manifest';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;
let files: Map<string, string>;

function put(name: string, body: Buffer | string | object): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const file = path.join(dir, String(files.size));
  fs.writeFileSync(file, bytes);
  files.set(name, file);
  return bytes;
}

const spool = (): Spool => ({ file: (n) => files.get(n), names: () => [...files.keys()] });
const config = (diffIds: string[]) => ({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-load-'));
  files = new Map();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('planDockerArchive', () => {
  it('reads manifest.json: config, names (normalised) and layers in order', async () => {
    const cfg = put('abc.json', config(['sha256:' + '1'.repeat(64), 'sha256:' + '2'.repeat(64)]));
    put('l1/layer.tar', 'one');
    put('blobs/sha256/' + '9'.repeat(64), 'two');
    put('manifest.json', [{ Config: 'abc.json', RepoTags: ['docker.io/library/busybox:latest', 'localhost:5000/app:v1'], Layers: ['l1/layer.tar', `blobs/sha256/${'9'.repeat(64)}`] }]);
    const [image] = await planDockerArchive(spool());
    expect(image.config).toEqual(cfg);
    expect(image.names).toEqual(['busybox:latest', 'localhost:5000/app:v1']);
    expect(image.layers.map((l) => [l.diffId.slice(7, 8), l.digest])).toEqual([['1', undefined], ['2', `sha256:${'9'.repeat(64)}`]]);
  });

  it.each<[string, () => void, RegExp]>([
    ['a config that does not match its name', () => { put(`${'a'.repeat(64)}.json`, config([])); put('manifest.json', [{ Config: `${'a'.repeat(64)}.json`, Layers: [] }]); }, /config .* has digest sha256:.*: refusing it/],
    ['fewer layers than diff ids', () => { put('c.json', config([sha256('x')])); put('manifest.json', [{ Config: 'c.json', Layers: [] }]); }, /0 layers, but its config lists 1 diff ids/],
    ['a missing layer file', () => { put('c.json', config([sha256('x')])); put('manifest.json', [{ Config: 'c.json', Layers: ['gone/layer.tar'] }]); }, /"gone\/layer.tar" is not in the archive/],
    ['a bad name', () => { put('c.json', config([])); put('manifest.json', [{ Config: 'c.json', RepoTags: ['Bad:Name'], Layers: [] }]); }, /RepoTags\[0\] "Bad:Name"/],
    ['a manifest that is not a list', () => { put('manifest.json', {}); }, /expected a list of images/],
    ['a config without rootfs', () => { put('c.json', { os: 'linux' }); put('manifest.json', [{ Config: 'c.json', Layers: [] }]); }, /rootfs must be/],
  ])('refuses %s', async (_what, setup, message) => {
    setup();
    await expect(planDockerArchive(spool())).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(message) });
  });
});

describe('planOciLayout', () => {
  function blob(body: Buffer | string | object): { digest: string; size: number } {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    put(`blobs/sha256/${sha256(bytes).slice(7)}`, bytes);
    return { digest: sha256(bytes), size: bytes.length };
  }

  function image(layerBody: string, platform = { os: 'linux', architecture: 'amd64' }) {
    const layer = blob(layerBody);
    const cfg = blob(config([sha256(layerBody)]));
    const manifest = blob({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, ...cfg }, layers: [{ mediaType: MEDIA.ociLayer, ...layer }] });
    return { mediaType: MEDIA.ociManifest, ...manifest, platform };
  }

  it('follows an index to linux/amd64 and names images by annotation', async () => {
    put('oci-layout', { imageLayoutVersion: '1.0.0' });
    const arm = image('arm layer', { os: 'linux', architecture: 'arm64' });
    const amd = image('amd layer');
    const nested = blob({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [arm, amd] });
    const plain = image('plain layer');
    put('index.json', { schemaVersion: 2, manifests: [
      { mediaType: MEDIA.ociIndex, ...nested, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1', 'org.opencontainers.image.ref.name': '1' } },
      { ...plain, annotations: { 'org.opencontainers.image.ref.name': 'example.com/app:v2' } },
      { ...plain, annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
    ] });
    const plan = await planOciLayout(spool());
    expect(plan.map((p) => p.names)).toEqual([['multi:1'], ['example.com/app:v2'], []]);
    expect(plan[0].layers[0]).toMatchObject({ diffId: sha256('amd layer'), digest: sha256('amd layer'), sizeBytes: 9 });
  });

  it('refuses a blob whose bytes do not match its digest', async () => {
    put('oci-layout', { imageLayoutVersion: '1.0.0' });
    const desc = image('layer');
    fs.appendFileSync(files.get(`blobs/sha256/${desc.digest.slice(7)}`)!, ' ');
    put('index.json', { schemaVersion: 2, manifests: [desc] });
    await expect(planOciLayout(spool())).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/has digest sha256:.*refusing it/) });
  });

  it('refuses an archive that is neither format, and a layout of another major version', async () => {
    await expect(planOciLayout(spool())).rejects.toThrow(/neither a docker-archive \(manifest.json\) nor an OCI image layout/);
    put('oci-layout', { imageLayoutVersion: '2.0.0' });
    put('index.json', { schemaVersion: 2, manifests: [] });
    await expect(planOciLayout(spool())).rejects.toThrow(/oci-layout.imageLayoutVersion "2.0.0"/);
    for (const layout of ['null', '7', '["1.0.0"]']) {
      put('oci-layout', layout);
      await expect(planOciLayout(spool())).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('oci-layout.imageLayoutVersion null') });
    }
  });
});

describe('localName', () => {
  it.each([
    ['busybox', 'busybox:latest'],
    ['docker.io/library/busybox:1', 'busybox:1'],
    ['127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'],
    [`app@sha256:${'a'.repeat(64)}`, undefined],
    [`app:v1@sha256:${'a'.repeat(64)}`, 'app:v1'],
  ])('%s -> %s', (text, want) => {
    expect(localName(text, 'name')).toBe(want);
  });
});

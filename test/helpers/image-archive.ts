// Images built by hand from layer tars, for tests that hand the daemon hostile layers: as a docker-archive
// (docker save's format, for Images.Load) or pushed blob by blob to a registry with a valid manifest (for Pull).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { uploadBlob } from '../../src/images/push';
import { RegistryClient } from '../../src/images/registry-client';
import { tarOf } from './tar';

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The image config of these uncompressed layers: runs `sh` with a PATH, as the busybox tests expect. */
export function imageConfig(layers: Buffer[]): Buffer {
  const created = '2024-01-01T00:00:00Z';
  return Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created,
    config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
    history: layers.map((_, i) => ({ created, created_by: `layer ${i}` })),
  }));
}

/** A docker-archive (manifest.json last, as docker save writes it) of the layers, tagged repoTag. */
export async function dockerArchive(layers: Buffer[], repoTag: string): Promise<{ archive: Buffer; id: string }> {
  const config = imageConfig(layers);
  const id = sha256(config);
  const manifest = [{ Config: `${id.slice(7)}.json`, RepoTags: [repoTag], Layers: layers.map((_, i) => `l${i}/layer.tar`) }];
  const archive = await tarOf([
    ...layers.map((body, i) => ({ name: `l${i}/layer.tar`, body })),
    { name: `${id.slice(7)}.json`, body: config },
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
  return { archive, id };
}

const blobOf = (b: Buffer) => ({ digest: sha256(b), size: b.length, open: (s: number, e: number) => Readable.from([b.subarray(s, e)]) });

/**
 * Uploads the layers (gzipped) and their config to registryHost/repository and puts a schema 2 manifest
 * under tag, every digest and size correct: the registry accepts it, so only the daemon can refuse it.
 * gzipped may be passed to skip compressing a layer again (busybox, pushed once per test file).
 */
export async function pushLayers(registryHost: string, repository: string, tag: string, layers: Buffer[], gzipped: Map<Buffer, Buffer> = new Map()): Promise<string> {
  const client = new RegistryClient({ domain: registryHost, repository, push: true });
  const config = imageConfig(layers);
  const blobs = layers.map((l) => gzipped.get(l) ?? gzipSync(l));
  for (const b of [...blobs, config]) await uploadBlob(client, blobOf(b), 16 << 20, () => undefined);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: blobs.map((b) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: b.length, digest: sha256(b) })),
  }));
  const res = await client.request('PUT', client.url(`manifests/${tag}`), {
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }, body: manifest, ok: [201], what: 'put manifest',
  });
  res.resume();
  return sha256(manifest);
}

// docker save: images and their names as a docker-archive (docker image spec v1.2: <config>.json, <layer>/layer.tar,
// manifest.json) or as an OCI image layout (oci-layout, index.json, blobs/sha256). Config bytes are written as
// stored, so a load gives the same image id; a layer shared by several images is written once.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { EngineError, invalidArgument } from '../errors';
import { MEDIA } from './manifest';
import type { ImageRecord } from './model';
import { parseRemoteReference } from './reference';
import type { ImageStore } from './store';

export type SaveFormat = 'docker-archive' | 'oci';

interface SavedImage {
  image: ImageRecord;
  config: Buffer;
  names: string[];
}

const CHUNK_BYTES = 256 * 1024;
const MTIME = new Date(0);

export function parseSaveFormat(text: string): SaveFormat {
  if (text === '' || text === 'docker-archive') return 'docker-archive';
  if (text === 'oci' || text === 'oci-archive') return 'oci';
  throw invalidArgument('format', text, 'expected "docker-archive" or "oci"');
}

/**
 * Resolves every reference before the first byte, so a bad one fails the call instead of truncating the tar.
 * A name keeps its tag in the archive; an id saves the image unnamed (as docker save does).
 */
async function resolveAll(store: ImageStore, refs: string[]): Promise<SavedImage[]> {
  if (refs.length === 0) throw invalidArgument('images', refs, 'name at least one image');
  const byId = new Map<string, SavedImage>();
  for (const [i, ref] of refs.entries()) {
    const image = store.resolve(ref, `images[${i}]`);
    const name = image.repoTags.includes(ref) ? ref : image.repoTags.includes(`${ref}:latest`) ? `${ref}:latest` : undefined;
    const saved = byId.get(image.id) ?? { image, config: await store.configBytes(image), names: [] };
    if (name && !saved.names.includes(name)) saved.names.push(name);
    byId.set(image.id, saved);
    // Fail now on a layer without a stored tar, not halfway through the stream.
    for (const d of image.blob.rootfs.diff_ids) await store.layers.storedBlob(d);
  }
  return [...byId.values()];
}

export async function* saveArchive(store: ImageStore, refs: string[], format: SaveFormat, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const images = await resolveAll(store, refs);
  const pack = tar.pack();
  const out: Out = { pack, open: new Set(), stopped: false };
  // Settles on its own; on an early stop its entry callbacks may never come, so it is not awaited.
  void (format === 'oci' ? writeOci(store, images, out) : writeDockerArchive(store, images, out))
    .then(() => { pack.finalize(); }, (err: unknown) => { pack.destroy(err instanceof Error ? err : new Error(String(err))); });
  let pending: Buffer[] = [];
  let size = 0;
  try {
    // Coalesced: tar-stream emits 512-byte headers on their own, and each would be a gRPC message.
    for await (const chunk of pack) {
      signal?.throwIfAborted();
      pending.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= CHUNK_BYTES) {
        yield Buffer.concat(pending);
        pending = [];
        size = 0;
      }
    }
    if (size) yield Buffer.concat(pending);
  } finally {
    // A reader that stopped early (the client cancelled): close the layer files still being read, and any the
    // writer opens from now on (it may be opening one at this moment).
    out.stopped = true;
    for (const stream of out.open) stream.destroy();
    pack.destroy();
  }
}

interface Out {
  pack: tar.Pack;
  open: Set<Readable>;
  stopped: boolean;
}

function addBuffer({ pack }: Out, name: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, size: body.length, mode: 0o644, mtime: MTIME }, body, (err) => (err ? reject(err) : resolve())));
}

function addStream({ pack, open, stopped }: Out, name: string, size: number, stream: Readable): Promise<void> {
  if (stopped) {
    stream.destroy();
    return Promise.reject(new EngineError('Canceled', `save: ${name}: the reader stopped`));
  }
  open.add(stream);
  return new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ name, size, mode: 0o644, mtime: MTIME }, (err) => (err ? reject(err) : resolve()));
    stream.on('error', (err) => { entry.destroy(err); reject(err); });
    stream.pipe(entry as unknown as NodeJS.WritableStream);
  }).finally(() => {
    // Read to its end, or left paused by an entry that failed (the pack was destroyed): closed either way.
    stream.destroy();
    open.delete(stream);
  });
}

async function writeDockerArchive(store: ImageStore, images: SavedImage[], pack: Out): Promise<void> {
  const written = new Set<string>();
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  for (const { image, config, names } of images) {
    const configName = `${image.id.slice(7)}.json`;
    await addBuffer(pack, configName, config);
    const layers: string[] = [];
    for (const diffId of image.blob.rootfs.diff_ids) {
      const name = `${diffId.slice(7)}/layer.tar`;
      layers.push(name);
      if (written.has(diffId)) continue;
      written.add(diffId);
      const { stream, sizeBytes } = await store.layers.openTar(diffId);
      await addStream(pack, name, sizeBytes, stream);
    }
    manifest.push({ Config: configName, RepoTags: names.length ? names : null, Layers: layers });
  }
  await addBuffer(pack, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
}

async function writeOci(store: ImageStore, images: SavedImage[], pack: Out): Promise<void> {
  const written = new Set<string>();
  const entries: object[] = [];
  await addBuffer(pack, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const addBlob = async (digest: string, body: Buffer) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addBuffer(pack, `blobs/sha256/${digest.slice(7)}`, body);
  };
  for (const { image, config, names } of images) {
    await addBlob(image.id, config);
    const layers: object[] = [];
    for (const diffId of image.blob.rootfs.diff_ids) {
      const blob = await store.layers.storedBlob(diffId);
      layers.push({ mediaType: blob.gzip ? MEDIA.ociLayerGzip : MEDIA.ociLayer, digest: blob.digest, size: blob.sizeBytes });
      if (written.has(blob.digest)) continue;
      written.add(blob.digest);
      await addStream(pack, `blobs/sha256/${blob.digest.slice(7)}`, blob.sizeBytes, fs.createReadStream(blob.file, { highWaterMark: CHUNK_BYTES }));
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: image.id, size: config.length },
      layers,
    }));
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    await addBlob(digest, manifest);
    const descriptor = { mediaType: MEDIA.ociManifest, digest, size: manifest.length };
    if (names.length === 0) entries.push(descriptor);
    for (const name of names) {
      const ref = parseRemoteReference(name, 'images');
      entries.push({
        ...descriptor,
        annotations: { 'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`, 'org.opencontainers.image.ref.name': ref.tag },
      });
    }
  }
  await addBuffer(pack, 'index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: entries })));
}


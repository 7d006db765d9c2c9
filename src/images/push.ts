// docker push over the distribution API: each layer blob (gzip; a stored plain tar is compressed first) and the
// config are uploaded unless a HEAD finds them there, then a Docker v2 schema 2 manifest is PUT under the tag.
// The manifest digest becomes one of the image's repo digests.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { EngineError } from '../errors';
import { Channel, runLimited } from '../util/channel';
import { randomId } from '../util/ids';
import { MEDIA } from './manifest';
import { shortId, throttled, type Progress } from './pull';
import { parseRemoteReference } from './reference';
import type { Credentials } from './registry-auth';
import { RegistryClient } from './registry-client';
import type { ImageStore } from './store';

export type PushMessage = { progress: Progress } | { done: { digest: string; size: number; imageId: string } };

export interface PushOptions {
  reference: string;
  credentials?: Credentials;
  signal: AbortSignal;
  /** Blobs larger than this go up in PATCH chunks of this size; smaller ones in one PUT. */
  chunkBytes?: number;
}

const PARALLEL_UPLOADS = 3;
const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

interface BlobToPush {
  diffId?: string;
  digest: string;
  size: number;
  open: (start: number, end: number) => Readable;
  cleanup?: () => Promise<void>;
}

export async function* pushImage(store: ImageStore, opts: PushOptions): AsyncGenerator<PushMessage> {
  const ref = parseRemoteReference(opts.reference, 'reference');
  if (ref.digest) throw new EngineError('InvalidArgument', `reference ${JSON.stringify(opts.reference)}: push takes a tag, not a digest`);
  const name = `${ref.name}:${ref.tag}`;
  const image = store.resolve(name, 'reference');
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onAbort, { once: true });
  const client = new RegistryClient({ domain: ref.domain, repository: ref.path, push: true, credentials: opts.credentials, signal: controller.signal });
  const out = new Channel<PushMessage>();
  const say = (id: string, status: string, current = 0, total = 0) => out.push({ progress: { id, status, current, total } });
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const blobs: BlobToPush[] = [];

  const work = async (): Promise<void> => {
    say('', `The push refers to repository [${ref.domain}/${ref.path}]`);
    const diffIds = [...new Set(image.blob.rootfs.diff_ids)];
    for (const diffId of diffIds) blobs.push({ diffId, ...(await layerBlob(store, diffId, path.join(store.tmpDir, `push-${randomId().slice(0, 16)}.gz`))) });
    const byDiffId = new Map(diffIds.map((d, i) => [d, blobs[i]]));
    for (const b of blobs) say(shortId(b.digest), 'Preparing');
    await runLimited(blobs, PARALLEL_UPLOADS, controller.signal, async (b) => {
      const id = shortId(b.digest);
      if (await blobExists(client, b.digest)) return say(id, 'Layer already exists');
      const from = mountSource(store, b.diffId!, ref.domain, ref.path);
      const how = await uploadBlob(client, b, chunkBytes, throttled((n) => say(id, 'Pushing', n, b.size)), from);
      say(id, how === 'mounted' ? `Mounted from ${from}` : 'Pushed');
    });
    const configBytes = await store.configBytes(image);
    if (!(await blobExists(client, image.id))) {
      await uploadBlob(client, { digest: image.id, size: configBytes.length, open: (s, e) => Readable.from([configBytes.subarray(s, e)]) }, chunkBytes, () => undefined);
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, size: configBytes.length, digest: image.id },
      layers: image.blob.rootfs.diff_ids.map((d) => ({ mediaType: MEDIA.dockerLayerGzip, size: byDiffId.get(d)!.size, digest: byDiffId.get(d)!.digest })),
    }, null, 3));
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    const res = await client.request('PUT', client.url(`manifests/${ref.tag}`), {
      headers: { 'content-type': MEDIA.dockerManifest }, body: manifest, ok: [201, 200], what: `push ${name}: manifest`,
    });
    res.resume();
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed !== digest) {
      throw new EngineError('FailedPrecondition', `push ${name}: the registry stored the manifest as ${claimed}, berth computed ${digest}`);
    }
    await store.addRepoDigest(image.id, `${ref.name}@${digest}`);
    say('', `${ref.tag}: digest: ${digest} size: ${manifest.length}`);
    out.push({ done: { digest, size: manifest.length, imageId: image.id } });
  };

  const running = work().then(() => out.close(), (err: unknown) => out.close(err));
  try {
    yield* out;
  } finally {
    controller.abort(new EngineError('Canceled', `push ${name}: cancelled`));
    opts.signal.removeEventListener('abort', onAbort);
    await running;
    for (const b of blobs) await b.cleanup?.();
  }
}

/** The layer as a gzip blob: the stored one when it is gzip, else the stored tar compressed into a temp file. */
async function layerBlob(store: ImageStore, diffId: string, tmpFile: string): Promise<BlobToPush> {
  const stored = await store.layers.storedBlob(diffId);
  const blobPath = stored.file;
  if (stored.gzip) {
    return { digest: stored.digest, size: stored.sizeBytes, open: (start, end) => fs.createReadStream(blobPath, { start, end: end - 1 }) };
  }
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({ transform(chunk: Buffer, _e, done) { hash.update(chunk); size += chunk.length; done(null, chunk); } });
  try {
    await pipeline(fs.createReadStream(blobPath), createGzip(), count, fs.createWriteStream(tmpFile, { mode: 0o600 }));
  } catch (err) {
    await fsp.rm(tmpFile, { force: true });
    throw err;
  }
  return {
    digest: `sha256:${hash.digest('hex')}`,
    size,
    open: (start, end) => fs.createReadStream(tmpFile, { start, end: end - 1 }),
    cleanup: () => fsp.rm(tmpFile, { force: true }),
  };
}

/**
 * Another repository on the same registry that has this layer, by the repo digests of images holding it: the
 * registry can then link the blob across (a cross-repository mount) instead of receiving it again.
 */
function mountSource(store: ImageStore, diffId: string, domain: string, path: string): string | undefined {
  for (const image of store.list()) {
    if (!image.blob.rootfs.diff_ids.includes(diffId)) continue;
    for (const rd of image.repoDigests) {
      try {
        const r = parseRemoteReference(rd, 'repo digest');
        if (r.domain === domain && r.path !== path) return r.path;
      } catch {
        // a repo digest we cannot parse offers no mount; the blob is simply uploaded
      }
    }
  }
  return undefined;
}

export async function blobExists(client: RegistryClient, digest: string): Promise<boolean> {
  const res = await client.request('HEAD', client.url(`blobs/${digest}`), { ok: [200, 404], what: `blob ${digest}` });
  res.resume();
  return res.statusCode === 200;
}

/**
 * POST starts an upload session; a blob up to chunkBytes goes in one PUT ("monolithic"), a bigger one in
 * PATCHes with Content-Range, each answered with the session's next Location, then a bodiless PUT closes it.
 */
export async function uploadBlob(client: RegistryClient, blob: Omit<BlobToPush, 'cleanup'>, chunkBytes: number, onProgress: (n: number) => void, mountFrom?: string): Promise<'mounted' | 'pushed'> {
  const what = `upload ${blob.digest}`;
  const startUrl = client.url('blobs/uploads/');
  if (mountFrom) {
    startUrl.searchParams.set('mount', blob.digest);
    startUrl.searchParams.set('from', mountFrom);
  }
  // With mount: 201 when the registry linked the blob, else 202 and an ordinary upload session.
  const start = await client.request('POST', startUrl, { ok: mountFrom ? [201, 202] : [202], what });
  start.resume();
  if (start.statusCode === 201) return 'mounted';
  let location = nextLocation(start.headers.location, client, what);
  let sent = 0;
  const counted = (s: Readable) => s.pipe(new Transform({ transform(chunk: Buffer, _e, done) { sent += chunk.length; onProgress(sent); done(null, chunk); } }));
  const finish = (loc: URL) => { loc.searchParams.set('digest', blob.digest); return loc; };
  if (blob.size <= chunkBytes) {
    const res = await client.request('PUT', finish(location), {
      headers: { 'content-type': 'application/octet-stream' },
      body: { open: () => { sent = 0; return counted(blob.open(0, blob.size)); }, length: blob.size },
      ok: [201], what,
    });
    res.resume();
    return 'pushed';
  }
  for (let off = 0; off < blob.size; off += chunkBytes) {
    const end = Math.min(off + chunkBytes, blob.size);
    const base = sent;
    const res = await client.request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end - 1}` },
      body: { open: () => { sent = base; return counted(blob.open(off, end)); }, length: end - off },
      ok: [202], what,
    });
    res.resume();
    location = nextLocation(res.headers.location, client, what);
  }
  const res = await client.request('PUT', finish(location), { ok: [201], what });
  res.resume();
  return 'pushed';
}

function nextLocation(location: string | undefined, client: RegistryClient, what: string): URL {
  if (!location) throw new EngineError('Unavailable', `${what}: the registry gave no upload location`);
  return new URL(location, client.base);
}


// docker load: a docker-archive (manifest.json, docker image spec v1.2 and what docker save writes today) or an
// OCI image layout (oci-layout, index.json, blobs/sha256). The archive is spooled first because manifest.json or
// index.json may come after the layers they describe; then every blob a digest names is checked, every layer's
// diff id compared with the config, and all images enter the store together or not at all.
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { readSpooled, spoolArchive, type Spool } from '../archive/spool';
import { EngineError, invalidArgument } from '../errors';
import { randomId } from '../util/ids';
import { MAX_CONFIG_BYTES, parseConfigBlob } from './config-blob';
import { MAX_MANIFEST_BYTES, MEDIA, parseManifest, parsePlatform, selectPlatform, type Descriptor } from './manifest';
import { parseRemoteReference } from './reference';
import type { ImageStore } from './store';

interface PlannedLayer {
  file: string;
  diffId: string;
  digest?: string;
  sizeBytes?: number;
  what: string;
}

interface PlannedImage {
  config: Buffer;
  names: string[];
  layers: PlannedLayer[];
}

export interface LoadedImage {
  id: string;
  names: string[];
}

export async function loadArchive(store: ImageStore, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<LoadedImage[]> {
  const dir = path.join(store.tmpDir, `load-${randomId().slice(0, 16)}`);
  await fsp.mkdir(dir, { mode: 0o700 });
  try {
    const spool = await spoolArchive(source, dir, signal);
    const plan = spool.file('manifest.json') ? await planDockerArchive(spool) : await planOciLayout(spool);
    if (plan.length === 0) throw new EngineError('InvalidArgument', 'archive: it names no images');
    const txn = store.begin();
    try {
      for (const image of plan) {
        for (const layer of image.layers) {
          if (await txn.hasLayer(layer.diffId)) continue;
          // The spooled file is moved, not copied; a second image naming the same file has that layer by then.
          await txn.addLayer({ file: layer.file }, { diffId: layer.diffId, digest: layer.digest, sizeBytes: layer.sizeBytes }, layer.what, { signal });
        }
        txn.addImage(image.config, { names: image.names });
      }
      const records = await txn.commit(signal);
      return records.map((r, i) => ({ id: r.id, names: plan[i].names }));
    } catch (err) {
      await txn.abort();
      throw err;
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new EngineError('InvalidArgument', `${what}: not JSON: ${(err as Error).message}`);
  }
}

function need(spool: Spool, name: string, what: string): string {
  const file = spool.file(name);
  if (!file) throw new EngineError('InvalidArgument', `${what}: ${JSON.stringify(name)} is not in the archive`);
  return file;
}

/** "busybox:latest", "docker.io/library/busybox:latest" -> "busybox:latest"; a reference without a tag names nothing. */
export function localName(text: string, field: string): string | undefined {
  const ref = parseRemoteReference(text, field);
  return ref.tag ? `${ref.name}:${ref.tag}` : undefined;
}

/** The digest a blob's archive path claims: "<hex>.json", "blobs/sha256/<hex>"; undefined for "<id>/layer.tar". */
function claimedDigest(name: string): string | undefined {
  const m = /(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(name);
  return m ? `sha256:${m[1]}` : undefined;
}

/** manifest.json: [{ "Config": "<hex>.json", "RepoTags": ["busybox:latest"], "Layers": ["<id>/layer.tar", ...] }]. */
export async function planDockerArchive(spool: Spool): Promise<PlannedImage[]> {
  const raw = parseJson(await readSpooled(need(spool, 'manifest.json', 'docker-archive'), MAX_MANIFEST_BYTES, 'manifest.json'), 'manifest.json');
  if (!Array.isArray(raw)) throw new EngineError('InvalidArgument', 'manifest.json: expected a list of images');
  const plan: PlannedImage[] = [];
  for (const [i, entry] of raw.entries()) {
    const where = `manifest.json[${i}]`;
    const e = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.Config !== 'string') throw new EngineError('InvalidArgument', `${where}: "Config" must be a path`);
    if (!Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) throw new EngineError('InvalidArgument', `${where}: "Layers" must be a list of paths`);
    const tags = e.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new EngineError('InvalidArgument', `${where}: "RepoTags" must be a list of names`);
    const config = await readSpooled(need(spool, e.Config, where), MAX_CONFIG_BYTES, `${where} config`);
    const id = sha256(config);
    const claimed = claimedDigest(e.Config);
    if (claimed && claimed !== id) throw new EngineError('InvalidArgument', `${where}: config ${e.Config} has digest ${id}: refusing it`);
    const diffIds = parseConfigBlob(config, `${where} config ${id}`).rootfs.diff_ids;
    const layerPaths = e.Layers as string[];
    if (diffIds.length !== layerPaths.length) {
      throw new EngineError('InvalidArgument', `${where}: ${layerPaths.length} layers, but its config lists ${diffIds.length} diff ids`);
    }
    plan.push({
      config,
      names: tags.map((t, j) => localName(t, `${where}.RepoTags[${j}]`)).filter((n): n is string => n !== undefined),
      layers: layerPaths.map((p, j) => ({ file: need(spool, p, `${where}.Layers[${j}]`), diffId: diffIds[j], digest: /^blobs\//.test(p) ? claimedDigest(p) : undefined, what: `layer ${p}` })),
    });
  }
  return plan;
}

/** oci-layout + index.json; an entry that is itself an index picks linux/amd64. */
export async function planOciLayout(spool: Spool): Promise<PlannedImage[]> {
  const layoutFile = spool.file('oci-layout');
  if (!layoutFile || !spool.file('index.json')) {
    throw new EngineError('InvalidArgument', 'archive: neither a docker-archive (manifest.json) nor an OCI image layout (oci-layout and index.json)');
  }
  const layout = parseJson(await readSpooled(layoutFile, 4096, 'oci-layout'), 'oci-layout');
  // JSON may be null, a number or an array as well as an object: only an object has the field.
  const version = layout !== null && typeof layout === 'object' ? (layout as { imageLayoutVersion?: unknown }).imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw invalidArgument('oci-layout.imageLayoutVersion', version ?? null, 'berth reads image layout 1.x');
  }
  const index = parseManifest(await readSpooled(spool.file('index.json')!, MAX_MANIFEST_BYTES, 'index.json'), MEDIA.ociIndex, 'index.json');
  if (index.kind !== 'index') throw new EngineError('InvalidArgument', 'index.json: not an image index');
  const plan: PlannedImage[] = [];
  for (const [i, top] of index.manifests.entries()) {
    const where = `index.json manifests[${i}]`;
    let desc = top;
    for (let depth = 0; desc.mediaType === MEDIA.ociIndex || desc.mediaType === MEDIA.dockerList; depth++) {
      if (depth > 2) throw new EngineError('InvalidArgument', `${where}: indexes nested too deep`);
      const nested = parseManifest(await blob(spool, desc, MAX_MANIFEST_BYTES, where), desc.mediaType, `${where} ${desc.digest}`);
      if (nested.kind !== 'index') throw new EngineError('InvalidArgument', `${where}: ${desc.digest} is not an index`);
      desc = selectPlatform(nested, parsePlatform('', 'platform'), `${where} ${desc.digest}`);
    }
    const manifest = parseManifest(await blob(spool, desc, MAX_MANIFEST_BYTES, where), desc.mediaType, `${where} manifest ${desc.digest}`);
    if (manifest.kind !== 'manifest') throw new EngineError('InvalidArgument', `${where}: ${desc.digest} is not an image manifest`);
    const config = await blob(spool, manifest.config, MAX_CONFIG_BYTES, `${where} config`);
    const diffIds = parseConfigBlob(config, `${where} config ${manifest.config.digest}`).rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new EngineError('InvalidArgument', `${where}: ${manifest.layers.length} layers, but its config lists ${diffIds.length} diff ids`);
    }
    plan.push({
      config,
      names: ociNames(top, where),
      layers: manifest.layers.map((l, j) => ({
        file: need(spool, blobPath(l), `${where} layers[${j}]`), diffId: diffIds[j], digest: l.digest, sizeBytes: l.size, what: `layer ${l.digest}`,
      })),
    });
  }
  return plan;
}

function blobPath(d: Descriptor): string {
  return `blobs/sha256/${d.digest.slice(7)}`;
}

/** A small blob, read whole and checked against its descriptor. */
async function blob(spool: Spool, d: Descriptor, limit: number, what: string): Promise<Buffer> {
  const bytes = await readSpooled(need(spool, blobPath(d), what), limit, `${what} ${d.digest}`);
  const digest = sha256(bytes);
  if (digest !== d.digest || bytes.length !== d.size) {
    throw new EngineError('InvalidArgument', `${what}: blob ${d.digest} has digest ${digest} (${bytes.length} bytes, ${d.size} expected): refusing it`);
  }
  return bytes;
}

/**
 * containerd and docker write the full name in io.containerd.image.name and the tag alone in
 * org.opencontainers.image.ref.name; other tools put a full "repo:tag" there. A bare tag names no repository.
 */
function ociNames(d: Descriptor, where: string): string[] {
  const full = d.annotations?.['io.containerd.image.name'];
  if (full) return [localName(full, `${where}.annotations["io.containerd.image.name"]`)].filter((n): n is string => n !== undefined);
  const ref = d.annotations?.['org.opencontainers.image.ref.name'];
  if (ref && /[:/]/.test(ref)) return [localName(ref, `${where}.annotations["org.opencontainers.image.ref.name"]`)].filter((n): n is string => n !== undefined);
  return [];
}

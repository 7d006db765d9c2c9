// The image store: config blobs under images/blobs/sha256 (the blob's digest is the image id), names in
// repositories.json, registry digests in repodigests.json, layers in layers.ts. Anything that adds images
// (import, load, pull, commit) stages into an ImageTransaction, so a failure stores nothing.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError, invalidArgument, wrap } from '../errors';
import type { Native } from '../native';
import { initLayerPath, initLayersDir } from '../rootfs/overlay';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file';
import { sha256Hex } from '../util/ids';
import type { MemoryRelease } from '../util/memory-release';
import { Serial } from '../util/serial';
import { parseConfigBlob } from './config-blob';
import { checkImageDefaults } from './defaults-check';
import { LayerStore } from './layers';
import type { ImageConfigBlob, ImageDefaults, ImageRecord } from './model';
import { checkImageRef, formatReference, parseReference } from './reference';
import { ImageTransaction, type StagedImage } from './transaction';

export interface ImportOptions {
  reference: string;
  defaults: Partial<ImageDefaults>;
  message: string;
  /** The call's: once it is cancelled, the import stores nothing. */
  signal?: AbortSignal;
}

export class ImageStore {
  readonly layers: LayerStore;
  private readonly images = new Map<string, ImageRecord>();
  /** "repo:tag" -> image id */
  private names = new Map<string, string>();
  /** image id -> "repo@sha256:..." */
  private digests = new Map<string, string[]>();
  private readonly serial = new Serial();
  private readonly blobDir: string;
  private readonly namesPath: string;
  private readonly digestsPath: string;
  /** Scratch space on the data root's filesystem (a load's spooled archive), emptied at start. */
  readonly tmpDir: string;
  private readonly root: string;
  private deleted = 0;
  /** An ingest's buffers and the garbage before it go back to the system once the transaction ends. */
  private readonly memory: MemoryRelease;

  /** memory: the daemon's one MemoryRelease, shared with the output streams. */
  constructor(root: string, native: Native, memory: MemoryRelease) {
    this.root = root;
    this.memory = memory;
    this.blobDir = path.join(root, 'images', 'blobs', 'sha256');
    this.namesPath = path.join(root, 'images', 'repositories.json');
    this.digestsPath = path.join(root, 'images', 'repodigests.json');
    this.tmpDir = path.join(root, 'images', 'tmp');
    this.layers = new LayerStore(root, native);
  }

  /**
   * Images deleted since berthd started. A deleted image's layers may come back at the same paths (a pull of
   * it again); what was made of the old ones (a standby rootfs, rootfs/standby.ts) must not be taken for them.
   */
  get deletions(): number {
    return this.deleted;
  }

  async load(): Promise<void> {
    await fsp.mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    await fsp.rm(this.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await this.layers.init();
    const names = (await readJsonFile<Record<string, string>>(this.namesPath)) ?? {};
    const digests = (await readJsonFile<Record<string, string[]>>(this.digestsPath)) ?? {};
    for (const hex of await fsp.readdir(this.blobDir)) {
      if (!/^[0-9a-f]{64}$/.test(hex)) continue;
      const id = `sha256:${hex}`;
      const blob = parseConfigBlob(await fsp.readFile(path.join(this.blobDir, hex)), `image ${id}`);
      this.images.set(id, { id, blob, repoTags: [], repoDigests: [], sizeBytes: await this.sizeOf(blob) });
    }
    this.names = new Map(Object.entries(names).filter(([, id]) => this.images.has(id)));
    this.digests = new Map(Object.entries(digests).filter(([id]) => this.images.has(id)));
    this.refreshTags();
    // A crash between a layer's commit and its image's leaves a layer nothing uses.
    for (const diffId of await this.layers.list()) if (!this.layerInUse(diffId)) await this.layers.remove(diffId);
    // And one within an image's removal, or within the making of an init layer, an init layer (or its
    // temporary) of no image.
    const initDir = initLayersDir(this.root);
    for (const entry of await fsp.readdir(initDir).catch(() => [])) {
      if (!this.images.has(`sha256:${entry}`)) await fsp.rm(path.join(initDir, entry), { recursive: true, force: true });
    }
  }

  list(): ImageRecord[] {
    return [...this.images.values()].sort((a, b) => b.blob.created.localeCompare(a.blob.created));
  }

  /** Finds an image by name ("repo[:tag]", "repo@sha256:..."), full id, or unique id prefix. */
  resolve(ref: string, field = 'image'): ImageRecord {
    if (ref === '' || ref.includes('\0')) throw invalidArgument(field, ref, 'an image reference is required');
    const byName = this.names.get(ref) ?? this.names.get(`${ref}:latest`);
    if (byName) return this.images.get(byName)!;
    if (ref.includes('@')) {
      const found = [...this.images.values()].find((i) => i.repoDigests.includes(ref));
      if (found) return found;
    }
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const matches = [...this.images.keys()].filter((id) => id.startsWith(`sha256:${hex}`));
      if (matches.length === 1) return this.images.get(matches[0])!;
      if (matches.length > 1) throw invalidArgument(field, ref, `ambiguous id prefix: ${matches.length} images match`);
    }
    // Only after the lookups: a name stored by an older rule still resolves.
    checkImageRef(ref, field);
    throw new EngineError('NotFound', `image ${ref}: not found`);
  }

  /** Lowerdirs for an overlay mount, top layer first. */
  layerPaths(image: ImageRecord): string[] {
    return image.blob.rootfs.diff_ids.map((d) => this.layers.treePath(d)).reverse();
  }

  /** Each layer's size in bytes, by diff id. */
  async layerSizes(image: ImageRecord): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const d of image.blob.rootfs.diff_ids) sizes.set(d, (await this.layers.meta(d))?.sizeBytes ?? 0);
    return sizes;
  }

  /** The config blob's bytes, exactly as stored (their sha256 is the id). */
  configBytes(image: ImageRecord): Promise<Buffer> {
    return fsp.readFile(path.join(this.blobDir, image.id.slice(7)));
  }

  begin(): ImageTransaction {
    return new ImageTransaction(this.layers, (fn) => this.serial.run(fn), (staged, sizes) => this.commitImages(staged, sizes),
      (bytes) => this.memory.ended(bytes));
  }

  async import(source: AsyncIterable<Uint8Array>, opts: ImportOptions): Promise<ImageRecord> {
    const ref = opts.reference ? parseReference(opts.reference, 'header.reference') : undefined;
    const d = checkImageDefaults(opts.defaults, 'header.config');
    const txn = this.begin();
    try {
      const layer = await txn.addLayer({ stream: source }, {}, 'import image');
      const created = new Date().toISOString();
      const blob = {
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        os: 'linux',
        created,
        config: {
          ...(d.env?.length ? { Env: d.env } : {}),
          ...(d.cmd?.length ? { Cmd: d.cmd } : {}),
          ...(d.entrypoint?.length ? { Entrypoint: d.entrypoint } : {}),
          ...(d.workingDir ? { WorkingDir: d.workingDir } : {}),
          ...(d.user ? { User: d.user } : {}),
          ...(d.exposedPorts?.length ? { ExposedPorts: Object.fromEntries(d.exposedPorts.map((p) => [p, {}])) } : {}),
          ...(d.volumes?.length ? { Volumes: Object.fromEntries(d.volumes.map((v) => [v, {}])) } : {}),
          ...(d.labels && Object.keys(d.labels).length ? { Labels: d.labels } : {}),
          ...(d.stopSignal ? { StopSignal: d.stopSignal } : {}),
        },
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created, created_by: 'berth import', ...(opts.message ? { comment: opts.message } : {}) }],
      };
      txn.addImage(Buffer.from(JSON.stringify(blob)), { names: ref ? [formatReference(ref)] : [] });
      const [record] = await txn.commit(opts.signal);
      return record;
    } catch (err) {
      await txn.abort();
      throw err;
    }
  }

  tag(image: string, reference: string): Promise<void> {
    const ref = formatReference(parseReference(reference, 'reference'));
    return this.serial.run(async () => this.setNames([ref], this.resolve(image).id));
  }

  /** Records a registry manifest the image was pushed to. */
  addRepoDigest(id: string, repoDigest: string): Promise<void> {
    return this.serial.run(async () => {
      if (!this.images.has(id)) throw new EngineError('NotFound', `image ${id}: not found`);
      await this.addDigests(id, [repoDigest]);
    });
  }

  /**
   * Removes a name, or an image with its names. An image still named elsewhere is only untagged when given by
   * name; given by id it needs force. An image a container uses is never deleted (its layers are that
   * container's lowerdirs): without force that is refused; with force (docker rmi -f) its names go and it
   * stays unnamed while the container exists, unless that container runs, which even force does not override.
   */
  remove(ref: string, force: boolean, usedBy: (id: string) => { id: string; running: boolean } | undefined): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.serial.run(async () => {
      const image = this.resolve(ref);
      const name = this.names.has(ref) ? ref : this.names.has(`${ref}:latest`) ? `${ref}:latest` : undefined;
      if (name && image.repoTags.length > 1) {
        await this.deleteNames([name]);
        return { untagged: [name], deleted: [] };
      }
      if (!name && image.repoTags.length > 1 && !force) {
        throw new EngineError('FailedPrecondition', `image ${ref}: referenced by ${image.repoTags.length} names (${image.repoTags.join(', ')}): remove them by name or use force`);
      }
      const container = usedBy(image.id);
      if (container && (container.running || !force)) {
        const how = container.running ? 'running container' : 'container';
        throw new EngineError('FailedPrecondition', `image ${ref}: in use by ${how} ${container.id.slice(0, 12)}${container.running ? '' : ': remove it first, or force to untag the image'}`);
      }
      const untagged = [...image.repoTags];
      if (container) {
        await this.deleteNames(untagged);
        return { untagged, deleted: [] };
      }
      await this.deleteNames(untagged);
      await fsp.rm(path.join(this.blobDir, image.id.slice(7)), { force: true });
      this.images.delete(image.id);
      this.deleted++;
      await fsp.rm(initLayerPath(this.root, image.id), { recursive: true, force: true });
      if (this.digests.delete(image.id)) await this.saveDigests();
      const deleted = [image.id];
      for (const diffId of new Set(image.blob.rootfs.diff_ids)) {
        if (this.layerInUse(diffId)) continue;
        await this.layers.remove(diffId);
        deleted.push(diffId);
      }
      return { untagged, deleted };
    });
  }

  private layerInUse(diffId: string): boolean {
    return [...this.images.values()].some((i) => i.blob.rootfs.diff_ids.includes(diffId));
  }

  /** Runs inside the serial queue, after the transaction moved its layers: blobs, then the indexes. */
  private async commitImages(staged: StagedImage[], layerSizes: Map<string, number>): Promise<ImageRecord[]> {
    const records: ImageRecord[] = [];
    for (const s of staged) {
      const hex = sha256Hex(s.bytes);
      const id = `sha256:${hex}`;
      const existing = this.images.get(id);
      if (!existing) await writeFileAtomic(path.join(this.blobDir, hex), s.bytes, 0o644);
      const sizeBytes = s.blob.rootfs.diff_ids.reduce((n, d) => n + (layerSizes.get(d) ?? 0), 0);
      const record: ImageRecord = existing ?? { id, blob: s.blob, repoTags: [], repoDigests: [], sizeBytes };
      this.images.set(id, record);
      records.push(record);
    }
    for (const [i, s] of staged.entries()) {
      if (s.names.length) await this.setNames(s.names, records[i].id);
      if (s.repoDigests.length) await this.addDigests(records[i].id, s.repoDigests);
    }
    return records;
  }

  private async setNames(names: string[], id: string): Promise<void> {
    for (const n of names) this.names.set(n, id);
    await this.saveNames();
  }

  private async deleteNames(names: string[]): Promise<void> {
    for (const n of names) this.names.delete(n);
    await this.saveNames();
  }

  private async saveNames(): Promise<void> {
    await writeFileAtomic(this.namesPath, JSON.stringify(Object.fromEntries(this.names), null, 2));
    this.refreshTags();
  }

  private async addDigests(id: string, repoDigests: string[]): Promise<void> {
    const list = this.digests.get(id) ?? [];
    this.digests.set(id, [...new Set([...list, ...repoDigests])].sort());
    await this.saveDigests();
  }

  private async saveDigests(): Promise<void> {
    await writeFileAtomic(this.digestsPath, JSON.stringify(Object.fromEntries(this.digests), null, 2));
    this.refreshTags();
  }

  private refreshTags(): void {
    for (const image of this.images.values()) {
      image.repoTags = [];
      image.repoDigests = this.digests.get(image.id) ?? [];
    }
    for (const [name, id] of [...this.names.entries()].sort(([a], [b]) => a.localeCompare(b))) this.images.get(id)?.repoTags.push(name);
  }

  private async sizeOf(blob: ImageConfigBlob): Promise<number> {
    let total = 0;
    for (const diffId of blob.rootfs.diff_ids) {
      try {
        total += (await this.layers.meta(diffId))?.sizeBytes ?? 0;
      } catch (err) {
        throw wrap(err, `read layer ${diffId}`);
      }
    }
    return total;
  }
}

// The image store: config blobs under images/blobs/sha256, a names index, extracted layers under layers/.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError, invalidArgument, wrap } from '../errors';
import { extractLayer } from '../archive/extract';
import type { Native } from '../native';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file';
import { randomId, sha256Hex } from '../util/ids';
import { Serial } from '../util/serial';
import type { ImageConfigBlob, ImageDefaults, ImageRecord } from './model';
import { formatReference, parseReference } from './reference';

export interface ImportOptions {
  reference: string;
  defaults: Partial<ImageDefaults>;
  message: string;
}

interface LayerMeta {
  diffId: string;
  sizeBytes: number;
}

export class ImageStore {
  private readonly images = new Map<string, ImageRecord>();
  /** "repo:tag" -> image id */
  private names = new Map<string, string>();
  private readonly serial = new Serial();
  private readonly blobDir: string;
  private readonly layerDir: string;
  private readonly layerMetaDir: string;
  private readonly namesPath: string;

  constructor(root: string, private readonly native: Native) {
    this.blobDir = path.join(root, 'images', 'blobs', 'sha256');
    this.layerMetaDir = path.join(root, 'images', 'layerdb');
    this.namesPath = path.join(root, 'images', 'repositories.json');
    this.layerDir = path.join(root, 'layers');
  }

  async load(): Promise<void> {
    for (const dir of [this.blobDir, this.layerMetaDir, this.layerDir]) await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // Half-extracted layers from a crash are never referenced: drop them.
    for (const entry of await fsp.readdir(this.layerDir)) {
      if (entry.startsWith('.tmp-')) await fsp.rm(path.join(this.layerDir, entry), { recursive: true, force: true });
    }
    const names = (await readJsonFile<Record<string, string>>(this.namesPath)) ?? {};
    for (const hex of await fsp.readdir(this.blobDir)) {
      if (!/^[0-9a-f]{64}$/.test(hex)) continue;
      const blob = JSON.parse(await fsp.readFile(path.join(this.blobDir, hex), 'utf8')) as ImageConfigBlob;
      const id = `sha256:${hex}`;
      this.images.set(id, { id, blob, repoTags: [], sizeBytes: await this.sizeOf(blob) });
    }
    this.names = new Map(Object.entries(names).filter(([, id]) => this.images.has(id)));
    this.refreshTags();
  }

  list(): ImageRecord[] {
    return [...this.images.values()].sort((a, b) => b.blob.created.localeCompare(a.blob.created));
  }

  /** Finds an image by name ("repo[:tag]"), full id, or unique id prefix. */
  resolve(ref: string, field = 'image'): ImageRecord {
    if (ref === '' || ref.includes('\0')) throw invalidArgument(field, ref, 'an image reference is required');
    const byName = this.names.get(ref) ?? this.names.get(`${ref}:latest`);
    if (byName) return this.images.get(byName)!;
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const matches = [...this.images.keys()].filter((id) => id.startsWith(`sha256:${hex}`));
      if (matches.length === 1) return this.images.get(matches[0])!;
      if (matches.length > 1) throw invalidArgument(field, ref, `ambiguous id prefix: ${matches.length} images match`);
    }
    throw new EngineError('NotFound', `image ${ref}: not found`);
  }

  /** Lowerdirs for an overlay mount, top layer first. */
  layerPaths(image: ImageRecord): string[] {
    return image.blob.rootfs.diff_ids.map((d) => path.join(this.layerDir, d.slice(7))).reverse();
  }

  async import(source: AsyncIterable<Uint8Array>, opts: ImportOptions): Promise<ImageRecord> {
    const ref = opts.reference ? parseReference(opts.reference, 'header.reference') : undefined;
    const tmp = path.join(this.layerDir, `.tmp-${randomId().slice(0, 16)}`);
    await fsp.mkdir(tmp, { mode: 0o755 });
    let layer: LayerMeta;
    try {
      layer = await extractLayer(source, tmp, { mknod: (p, spec) => this.native.mknod(p, spec) });
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw wrap(err, 'import image');
    }
    return this.serial.run(async () => {
      const final = path.join(this.layerDir, layer.diffId.slice(7));
      if (await exists(final)) await fsp.rm(tmp, { recursive: true, force: true });
      else await fsp.rename(tmp, final);
      await writeFileAtomic(path.join(this.layerMetaDir, `${layer.diffId.slice(7)}.json`), JSON.stringify(layer));
      const created = new Date().toISOString();
      const d = opts.defaults;
      const blob: ImageConfigBlob = {
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        os: 'linux',
        created,
        config: {
          ...(d.env?.length ? { Env: d.env } : {}),
          ...(d.cmd?.length ? { Cmd: d.cmd } : {}),
          ...(d.entrypoint?.length ? { Entrypoint: d.entrypoint } : {}),
          ...(d.workingDir ? { WorkingDir: d.workingDir } : {}),
          ...(d.user ? { User: d.user } : {}),
        },
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created, created_by: 'berth import', ...(opts.message ? { comment: opts.message } : {}) }],
      };
      const text = JSON.stringify(blob);
      const hex = sha256Hex(text);
      await writeFileAtomic(path.join(this.blobDir, hex), text, 0o644);
      const record: ImageRecord = { id: `sha256:${hex}`, blob, repoTags: [], sizeBytes: layer.sizeBytes };
      this.images.set(record.id, record);
      if (ref) await this.setName(formatReference(ref), record.id);
      return record;
    });
  }

  tag(image: string, reference: string): Promise<void> {
    const ref = formatReference(parseReference(reference, 'reference'));
    return this.serial.run(async () => this.setName(ref, this.resolve(image).id));
  }

  /**
   * Removes a name, or an image with its names. An image still named elsewhere is only untagged when
   * given by name; given by id it needs force. An image a container uses is never deleted.
   */
  remove(ref: string, force: boolean, usedBy: (id: string) => string | undefined): Promise<{ untagged: string[]; deleted: string[] }> {
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
      if (container) throw new EngineError('FailedPrecondition', `image ${ref}: in use by container ${container.slice(0, 12)}`);
      const untagged = [...image.repoTags];
      await this.deleteNames(untagged);
      await fsp.rm(path.join(this.blobDir, image.id.slice(7)), { force: true });
      this.images.delete(image.id);
      const deleted = [image.id];
      for (const diffId of image.blob.rootfs.diff_ids) {
        if (this.list().some((i) => i.blob.rootfs.diff_ids.includes(diffId))) continue;
        await fsp.rm(path.join(this.layerMetaDir, `${diffId.slice(7)}.json`), { force: true });
        await removeTree(path.join(this.layerDir, diffId.slice(7)));
        deleted.push(diffId);
      }
      return { untagged, deleted };
    });
  }

  private async setName(name: string, id: string): Promise<void> {
    this.names.set(name, id);
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

  private refreshTags(): void {
    for (const image of this.images.values()) image.repoTags = [];
    for (const [name, id] of [...this.names.entries()].sort(([a], [b]) => a.localeCompare(b))) this.images.get(id)?.repoTags.push(name);
  }

  private async sizeOf(blob: ImageConfigBlob): Promise<number> {
    let total = 0;
    for (const diffId of blob.rootfs.diff_ids) {
      const meta = await readJsonFile<LayerMeta>(path.join(this.layerMetaDir, `${diffId.slice(7)}.json`));
      total += meta?.sizeBytes ?? 0;
    }
    return total;
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

/** Renames first so a crash mid-delete leaves a .tmp- tree that load() drops, never a half layer. */
async function removeTree(dir: string): Promise<void> {
  const doomed = path.join(path.dirname(dir), `.tmp-rm-${randomId().slice(0, 16)}`);
  try { await fsp.rename(dir, doomed); } catch { return; } // already gone: nothing to remove
  await fsp.rm(doomed, { recursive: true, force: true });
}


// Layers, content-addressed by diff id and stored once: layers/<hex> is the extracted tree (an overlay lowerdir)
// and images/layerdb/<hex>.blob the blob as it arrived (tar or gzip), kept for save and push as containerd keeps
// its content store beside its snapshots. Ingesting verifies before it parses: the blob is written to a temp file,
// its digest checked, and only then extracted, into a .tmp- directory nobody mounts until commit renames it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { shortLayerName } from '../rootfs/overlay';
import { pipeline as chain, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extractLayer, type ExtractResult } from '../archive/extract';
import { EngineError, wrap } from '../errors';
import type { Native } from '../native';
import { readJsonFile, syncDirectory, writeFileAtomic } from '../util/atomic-file';
import { randomId } from '../util/ids';

export interface LayerMeta {
  diffId: string;
  /** Bytes of regular files in the layer. */
  sizeBytes: number;
  /** Length of the uncompressed tar; absent for layers imported before berth kept their blobs. */
  tarSizeBytes?: number;
  /** The stored blob: its digest is what a registry or an OCI layout knows the layer by. */
  blob?: { digest: string; sizeBytes: number; gzip: boolean };
}

export interface StagedLayer {
  meta: Required<LayerMeta>;
  tmpDir: string;
  tmpBlob: string;
}

/** What the caller knows the blob should be: every given value is checked. */
export interface LayerExpectation {
  digest?: string;
  sizeBytes?: number;
  diffId?: string;
}

export interface IngestHooks {
  /** Bytes of the blob received so far (for a stream source). */
  onReceive?: (bytes: number) => void;
  /** Called once the blob is complete and verified, before extraction starts. */
  onVerified?: () => void;
  /** Bytes of the blob extracted so far. */
  onExtract?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** A blob to ingest: bytes to copy in, or a file of ours (a load's spool) that is moved rather than copied. */
export type LayerSource = { stream: AsyncIterable<Uint8Array> } | { file: string };

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export class LayerStore {
  readonly treeDir: string;
  readonly metaDir: string;

  constructor(root: string, private readonly native: Native) {
    this.treeDir = path.join(root, 'layers');
    this.metaDir = path.join(root, 'images', 'layerdb');
  }

  /** Makes the directories and drops what a crash left half-made (.tmp- names are never referenced). */
  async init(): Promise<void> {
    for (const dir of [this.metaDir, this.treeDir]) {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      for (const entry of await fsp.readdir(dir)) {
        if (entry.startsWith('.tmp-')) await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
      }
    }
  }

  treePath(diffId: string): string {
    return path.join(this.treeDir, hexOf(diffId));
  }

  private metaPath(diffId: string): string {
    return path.join(this.metaDir, `${hexOf(diffId)}.json`);
  }

  private blobPath(diffId: string): string {
    return path.join(this.metaDir, `${hexOf(diffId)}.blob`);
  }

  async meta(diffId: string): Promise<LayerMeta | undefined> {
    return readJsonFile<LayerMeta>(this.metaPath(diffId));
  }

  /** Present: its tree and its record exist. */
  async has(diffId: string): Promise<boolean> {
    return (await this.meta(diffId)) !== undefined && (await exists(this.treePath(diffId)));
  }

  /** Diff ids of every stored layer. */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.metaDir)).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).map((f) => `sha256:${f.slice(0, 64)}`);
  }

  async ingest(source: LayerSource, expect: LayerExpectation, what: string, hooks: IngestHooks = {}): Promise<StagedLayer> {
    const tmp = `.tmp-${randomId().slice(0, 16)}`;
    const tmpBlob = path.join(this.metaDir, `${tmp}.blob`);
    const tmpDir = path.join(this.treeDir, tmp);
    try {
      const { digest, sizeBytes } = await this.receive(source, tmpBlob, hooks);
      if (expect.sizeBytes !== undefined && expect.sizeBytes !== sizeBytes) {
        throw new EngineError('FailedPrecondition', `${what}: ${sizeBytes} bytes where ${expect.sizeBytes} were expected`);
      }
      // containerd's content writer refuses a mismatch as a failed precondition too ("unexpected commit digest").
      if (expect.digest !== undefined && expect.digest !== digest) {
        throw new EngineError('FailedPrecondition', `${what}: content has digest ${digest}, expected ${expect.digest}: refusing it`);
      }
      if (await startsWith(tmpBlob, ZSTD_MAGIC)) throw new EngineError('Unimplemented', `${what}: zstd-compressed layers are not supported`);
      hooks.onVerified?.();
      await fsp.mkdir(tmpDir, { mode: 0o755 });
      const input = fs.createReadStream(tmpBlob, { highWaterMark: 256 * 1024 });
      const counted = hooks.onExtract ? input.pipe(counter(hooks.onExtract)) : input;
      let result: ExtractResult;
      try {
        result = await extractLayer(counted, tmpDir, {
          mknod: (p, spec) => this.native.mknod(p, spec),
          setXattr: (p, name, value) => this.native.setXattr(p, name, value),
        });
      } finally {
        // A failed extraction destroys only what it was given; through pipe() the file stream would stay paused
        // and open, holding the deleted blob's fd and its space.
        input.destroy();
      }
      if (expect.diffId !== undefined && expect.diffId !== result.diffId) {
        const kind = expect.digest ? 'FailedPrecondition' : 'InvalidArgument';
        throw new EngineError(kind, `${what}: uncompressed content has diff id ${result.diffId}, but the image config says ${expect.diffId}`);
      }
      hooks.signal?.throwIfAborted();
      return {
        meta: { diffId: result.diffId, sizeBytes: result.sizeBytes, tarSizeBytes: result.tarSizeBytes, blob: { digest, sizeBytes, gzip: result.gzip } },
        tmpDir,
        tmpBlob,
      };
    } catch (err) {
      await this.discard({ tmpDir, tmpBlob });
      // An abort stays an AbortError (the boundary maps it to CANCELLED); our own errors already name the layer.
      if ((err instanceof Error && err.name === 'AbortError') || (err instanceof EngineError && err.message.startsWith(what))) throw err;
      throw wrap(err, what);
    }
  }

  private async receive(source: LayerSource, tmpBlob: string, hooks: IngestHooks): Promise<{ digest: string; sizeBytes: number }> {
    const hash = createHash('sha256');
    let sizeBytes = 0;
    if ('file' in source) {
      await fsp.rename(source.file, tmpBlob);
      for await (const chunk of fs.createReadStream(tmpBlob, { highWaterMark: 256 * 1024 })) {
        hash.update(chunk as Buffer);
        sizeBytes += (chunk as Buffer).length;
      }
    } else {
      const out = fs.createWriteStream(tmpBlob, { flags: 'wx', mode: 0o600 });
      try {
        await pipeline(source.stream, counter((n) => { sizeBytes = n; hooks.onReceive?.(n); }, hash), out, { signal: hooks.signal });
      } finally {
        // A source that fails at once settles the pipeline while the file is still being opened: removing it
        // before that open lands would leave it behind, so wait for the stream to close.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      }
    }
    return { digest: `sha256:${hash.digest('hex')}`, sizeBytes };
  }

  /**
   * Moves staged layers into place; a layer committed meanwhile by someone else wins and ours is dropped.
   * Extraction writes through the page cache, and a layer recorded before its data is on disk comes back from
   * a power loss as a tree of empty files that nothing would ever extract again (the failure containerd's
   * sync-fs option answers). So: the files and blobs go to disk first (one syncfs for them all: they are on the
   * data root's filesystem), then the trees are renamed and layers/ fsynced once, and only then the records
   * that say the layers are there are written.
   */
  async commit(staged: StagedLayer[]): Promise<void> {
    if (staged.length === 0) return;
    await this.native.syncFilesystem(this.treeDir);
    // Blobs sit under images/: the same filesystem unless someone mounted one of the two apart.
    if (fs.statSync(this.metaDir).dev !== fs.statSync(this.treeDir).dev) await this.native.syncFilesystem(this.metaDir);
    let renamed = false;
    for (const { meta, tmpDir } of staged) {
      const tree = this.treePath(meta.diffId);
      if (await exists(tree)) await fsp.rm(tmpDir, { recursive: true, force: true });
      else {
        await fsp.rename(tmpDir, tree);
        renamed = true;
      }
    }
    if (renamed) await syncDirectory(this.treeDir);
    for (const { meta, tmpBlob } of staged) {
      const old = await this.meta(meta.diffId);
      if (old?.blob && (await exists(this.blobPath(meta.diffId)))) await fsp.rm(tmpBlob, { force: true });
      else {
        await fsp.rename(tmpBlob, this.blobPath(meta.diffId));
        await writeFileAtomic(this.metaPath(meta.diffId), JSON.stringify(meta));
      }
    }
  }

  async discard(staged: Pick<StagedLayer, 'tmpDir' | 'tmpBlob'>): Promise<void> {
    await fsp.rm(staged.tmpBlob, { force: true });
    await fsp.rm(staged.tmpDir, { recursive: true, force: true });
  }

  async remove(diffId: string): Promise<void> {
    await fsp.rm(this.metaPath(diffId), { force: true });
    await fsp.rm(this.blobPath(diffId), { force: true });
    // The short name containers' mounts used for it (rootfs/overlay.ts).
    await fsp.rm(path.join(path.dirname(this.treeDir), 'l', shortLayerName(this.treePath(diffId))), { force: true });
    await removeTree(this.treePath(diffId));
  }

  /** The stored blob as it arrived: its file, descriptor and uncompressed length. */
  async storedBlob(diffId: string): Promise<{ file: string; digest: string; sizeBytes: number; gzip: boolean; tarSizeBytes: number }> {
    const meta = await this.withBlob(diffId);
    return { file: this.blobPath(diffId), ...meta.blob, tarSizeBytes: meta.tarSizeBytes };
  }

  /** The layer as an uncompressed tar (docker save writes them so), with its length. */
  async openTar(diffId: string): Promise<{ stream: Readable; sizeBytes: number }> {
    const blob = await this.storedBlob(diffId);
    const file = fs.createReadStream(blob.file, { highWaterMark: 256 * 1024 });
    // pipeline, not pipe: a read error must reach whoever consumes the gunzipped stream.
    return { stream: blob.gzip ? chain(file, createGunzip(), () => undefined) : file, sizeBytes: blob.tarSizeBytes };
  }

  private async withBlob(diffId: string): Promise<Required<LayerMeta>> {
    const meta = await this.meta(diffId);
    if (!meta) throw new EngineError('NotFound', `layer ${diffId}: not found`);
    if (!meta.blob || meta.tarSizeBytes === undefined) {
      throw new EngineError('FailedPrecondition', `layer ${diffId}: no stored tar (imported before berth kept layer blobs): import the image again`);
    }
    return meta as Required<LayerMeta>;
  }
}

function hexOf(diffId: string): string {
  return diffId.slice(diffId.indexOf(':') + 1);
}

/** Passes bytes through, counting them (and hashing them when given a hash). */
function counter(onCount: (total: number) => void, hash?: ReturnType<typeof createHash>): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      hash?.update(chunk);
      onCount(total);
      done(null, chunk);
    },
  });
}

async function startsWith(file: string, magic: Buffer): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(magic.length);
    const { bytesRead } = await fh.read(buf, 0, magic.length, 0);
    return bytesRead === magic.length && buf.equals(magic);
  } finally {
    await fh.close();
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

/** Renames first so a crash mid-delete leaves a .tmp- tree that init() drops, never a half layer. */
async function removeTree(dir: string): Promise<void> {
  const doomed = path.join(path.dirname(dir), `.tmp-rm-${randomId().slice(0, 16)}`);
  try { await fsp.rename(dir, doomed); } catch { return; } // already gone: nothing to remove
  await fsp.rm(doomed, { recursive: true, force: true });
}

// Staging for whatever adds images (import, load, pull, commit): layers are ingested into .tmp- places and config
// blobs held in memory until commit() moves it all into the store at once; abort() or a failure leaves nothing.
import { EngineError } from '../errors';
import { sha256Hex } from '../util/ids';
import { parseConfigBlob } from './config-blob';
import type { IngestHooks, LayerExpectation, LayerMeta, LayerSource, LayerStore, StagedLayer } from './layers';
import type { ImageConfigBlob, ImageRecord } from './model';

export interface StagedImage {
  bytes: Buffer;
  blob: ImageConfigBlob;
  /** "repo:tag" names to point at it (moved from any image that has them now). */
  names: string[];
  repoDigests: string[];
}

/** Runs fn in the store's one-at-a-time queue, so no remove interleaves with the checks and moves of commit. */
type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;
type Committer = (images: StagedImage[], layerSizes: Map<string, number>) => Promise<ImageRecord[]>;
/** Told once, when the transaction commits or aborts, how many blob bytes it ingested. */
type Ended = (ingestedBytes: number) => void;

export class ImageTransaction {
  private readonly staged = new Map<string, StagedLayer>();
  private readonly images: StagedImage[] = [];
  private done = false;
  private ingestedBytes = 0;

  /** ended: told once (then forgotten) when the transaction commits or aborts. */
  constructor(private readonly layers: LayerStore, private readonly exclusive: Exclusive, private readonly committer: Committer,
    private ended?: Ended) {}

  /** The layer is staged here or already stored. */
  async hasLayer(diffId: string): Promise<boolean> {
    return this.staged.has(diffId) || (await this.layers.has(diffId));
  }

  /** Ingests and verifies a layer blob; a second copy of a layer already staged is dropped. */
  async addLayer(source: LayerSource, expect: LayerExpectation, what: string, hooks?: IngestHooks): Promise<LayerMeta> {
    this.checkOpen();
    const layer = await this.layers.ingest(source, expect, what, hooks);
    this.ingestedBytes += layer.meta.blob.sizeBytes;
    if (this.done || this.staged.has(layer.meta.diffId)) {
      await this.layers.discard(layer);
      this.checkOpen();
      return this.staged.get(layer.meta.diffId)!.meta;
    }
    this.staged.set(layer.meta.diffId, layer);
    return layer.meta;
  }

  /** Parses and holds a config blob; returns the image id it will have. */
  addImage(bytes: Buffer, opts: { names?: string[]; repoDigests?: string[]; what?: string }): { id: string; blob: ImageConfigBlob } {
    this.checkOpen();
    const id = `sha256:${sha256Hex(bytes)}`;
    const blob = parseConfigBlob(bytes, opts.what ?? `image config ${id}`);
    this.images.push({ bytes, blob, names: opts.names ?? [], repoDigests: opts.repoDigests ?? [] });
    return { id, blob };
  }

  /** Moves everything into the store; every layer an image names must be staged or stored by now. */
  /** With signal: a call cancelled before this point commits nothing (its staged layers are discarded). */
  async commit(signal?: AbortSignal): Promise<ImageRecord[]> {
    this.checkOpen();
    this.done = true;
    try {
      return await this.exclusive(async () => {
        if (signal?.aborted) throw new EngineError('Canceled', 'the client cancelled the call: nothing was stored');
        const sizes = new Map<string, number>();
        for (const image of this.images) {
          for (const diffId of image.blob.rootfs.diff_ids) {
            const meta = this.staged.get(diffId)?.meta ?? ((await this.layers.has(diffId)) ? await this.layers.meta(diffId) : undefined);
            if (!meta) throw new EngineError('FailedPrecondition', `image config: layer ${diffId} is missing`);
            sizes.set(diffId, meta.sizeBytes);
          }
        }
        await this.layers.commit([...this.staged.values()]);
        this.staged.clear();
        return this.committer(this.images, sizes);
      });
    } finally {
      await this.discardStaged();
      this.tellEnded();
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.discardStaged();
    this.tellEnded();
  }

  private tellEnded(): void {
    const ended = this.ended;
    this.ended = undefined;
    ended?.(this.ingestedBytes);
  }

  private async discardStaged(): Promise<void> {
    for (const layer of this.staged.values()) await this.layers.discard(layer);
    this.staged.clear();
  }

  private checkOpen(): void {
    if (this.done) throw new EngineError('FailedPrecondition', 'image transaction: already committed or aborted');
  }
}

// ImageTransaction's end notice: told once, with the blob bytes it ingested, whether it commits or aborts.
import { describe, expect, it, vi } from 'vitest';
import type { LayerStore, StagedLayer } from './layers';
import { ImageTransaction } from './transaction';

function fakeLayers(): LayerStore {
  let n = 0;
  return {
    ingest: async (source: { stream: AsyncIterable<Uint8Array> }): Promise<StagedLayer> => {
      let bytes = 0;
      for await (const chunk of source.stream) bytes += chunk.length;
      const diffId = `sha256:${String(++n).padStart(64, '0')}`;
      return { meta: { diffId, sizeBytes: bytes, tarSizeBytes: bytes, blob: { digest: diffId, sizeBytes: bytes, gzip: false } }, tmpDir: '/nonexistent', tmpBlob: '/nonexistent' };
    },
    discard: async () => undefined,
    commit: async () => undefined,
    has: async () => false,
    meta: async () => undefined,
  } as unknown as LayerStore;
}

async function* bytes(n: number): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(n);
}

describe('ImageTransaction', () => {
  it('tells its end once, with the bytes of every layer it ingested, when it commits (an abort after changes nothing)', async () => {
    const ended = vi.fn();
    const txn = new ImageTransaction(fakeLayers(), (fn) => fn(), async () => [], ended);
    await txn.addLayer({ stream: bytes(1000) }, {}, 'layer 1');
    await txn.addLayer({ stream: bytes(234) }, {}, 'layer 2');
    expect(ended).not.toHaveBeenCalled();
    await txn.commit();
    await txn.abort();
    expect(ended).toHaveBeenCalledTimes(1);
    expect(ended).toHaveBeenCalledWith(1234);
  });

  it('tells its end when it aborts, and when its commit fails', async () => {
    const aborted = vi.fn();
    const a = new ImageTransaction(fakeLayers(), (fn) => fn(), async () => [], aborted);
    await a.addLayer({ stream: bytes(10) }, {}, 'layer');
    await a.abort();
    expect(aborted).toHaveBeenCalledWith(10);

    const failed = vi.fn();
    const b = new ImageTransaction(fakeLayers(), (fn) => fn(), async () => { throw new Error('disk full'); }, failed);
    await b.addLayer({ stream: bytes(20) }, {}, 'layer');
    await expect(b.commit()).rejects.toThrow('disk full');
    await b.abort();
    expect(failed).toHaveBeenCalledTimes(1);
    expect(failed).toHaveBeenCalledWith(20);
  });
});

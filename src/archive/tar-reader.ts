// Reading a tar that comes from a client: spooled to an unlinked file first (so it can be read twice,
// checked then applied), plain or gzip, one entry at a time with backpressure.
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { EngineError, wrap } from '../errors';
import { fromNative } from '../native/errors';
import { checkEntrySize, drainedOrClosed } from './extract';

export type TarEntry = tar.ExtractEvents['entry'][1];

/** The source in a file of spoolDir that is unlinked at once: nothing is left behind, whatever happens. */
export async function spoolTo(source: AsyncIterable<Uint8Array>, spoolDir: string): Promise<fsp.FileHandle> {
  await fsp.mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const file = path.join(spoolDir, `copy-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const fh = await fsp.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  await fsp.unlink(file);
  try {
    for await (const chunk of source) await writeAll(fh, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  } catch (err) {
    await fh.close();
    throw readError(err);
  }
  return fh;
}

/** Runs fn on each entry in order; a tar that does not parse is INVALID_ARGUMENT. */
export async function forEachEntry(source: AsyncIterable<Uint8Array>, fn: (entry: TarEntry) => Promise<void>): Promise<void> {
  const extractor = tar.extract();
  let tarError: unknown;
  extractor.on('error', (err: unknown) => { tarError ??= err; });
  let stopped = false;
  let sourceError: unknown;
  const pump = (async () => {
    for await (const chunk of tarBytes(source)) {
      if (stopped) return;
      if (!extractor.write(chunk)) await drainedOrClosed(extractor);
    }
    extractor.end(null);
  })().catch((err: unknown) => {
    sourceError = err;
    extractor.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    for await (const entry of extractor) {
      checkEntrySize(entry.header, `tar entry ${JSON.stringify(entry.header.name)}`);
      await fn(entry);
      for await (const _ of entry) {
        // drain what fn left unread
      }
    }
    await pump;
    if (sourceError !== undefined) throw sourceError;
  } catch (err) {
    stopped = true;
    extractor.destroy();
    if (sourceError !== undefined) throw readError(sourceError);
    if (err instanceof EngineError) throw err;
    throw new EngineError('InvalidArgument', `tar: ${messageOf(tarError ?? err)}`, { cause: err });
  }
}

/** All of buf, however many writes it takes. */
export async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** The tar's bytes, gunzipped when they start with the gzip magic (docker's archive API takes both). */
async function* tarBytes(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, Buffer.from(r.value)]);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  }
  // pipeline, not pipe: an error of the source must reach this reader, not go unhandled (as extract.ts's tarBytes).
  if (head[0] === 0x1f && head[1] === 0x8b) yield* pipeline(Readable.from(all()), createGunzip(), () => undefined) as AsyncIterable<Buffer>;
  else yield* all();
}

/** Corrupt gzip is the caller's bad input; a full disk is ResourceExhausted; a client gone keeps its own kind. */
function readError(err: unknown): EngineError {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) return new EngineError('InvalidArgument', `tar: invalid gzip data: ${messageOf(err)}`, { cause: err });
  return wrap(fromNative(err), 'receive tar');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

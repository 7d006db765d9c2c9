// Spools an untrusted image archive (docker save or OCI layout tar) to numbered files in a private directory and
// returns a map from each entry's cleaned name to its file. No entry name ever becomes a path on disk, so nothing
// in the archive can write outside the spool; symlinks and hard links are resolved in the map, never on disk.
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar-stream';
import { EngineError } from '../errors';
import { checkEntrySize, drainedOrClosed } from './extract';
import { normalizeEntryPath } from './safe-path';

export interface Spool {
  /** The file holding an entry's bytes, links followed; undefined when the archive has no such regular file. */
  file(name: string): string | undefined;
  names(): string[];
}

const MAX_ENTRIES = 100_000;
const MAX_LINK_HOPS = 16;

export async function spoolArchive(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, dir: string, signal?: AbortSignal): Promise<Spool> {
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  const extractor = tar.extract();
  let pumpError: unknown;
  let tarError: unknown;
  extractor.on('error', (err: unknown) => { tarError ??= err; });
  let stopped = false;
  const pump = (async () => {
    for await (const chunk of source) {
      if (stopped) return;
      signal?.throwIfAborted();
      if (!extractor.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) await drainedOrClosed(extractor);
    }
    extractor.end(null);
  })().catch((err: unknown) => {
    pumpError = err;
    extractor.destroy(err instanceof Error ? err : new Error(String(err)));
  });

  let count = 0;
  try {
    for await (const entry of extractor) {
      const h = entry.header;
      const rel = normalizeEntryPath(h.name);
      if (rel === undefined) throw new EngineError('InvalidArgument', `archive entry ${JSON.stringify(h.name)}: path escapes the archive`);
      checkEntrySize(h, `archive entry ${JSON.stringify(h.name)}`);
      if (++count > MAX_ENTRIES) throw new EngineError('InvalidArgument', `archive: more than ${MAX_ENTRIES} entries`);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const file = path.join(dir, String(count));
        await writeBody(entry, file);
        files.set(rel, file);
        links.delete(rel);
        continue;
      }
      if (h.type === 'symlink') {
        const target = h.linkname ?? '';
        const resolved = normalizeEntryPath(target.startsWith('/') ? target : path.posix.join(path.posix.dirname(rel), target));
        if (resolved !== undefined) links.set(rel, resolved);
      } else if (h.type === 'link') {
        const resolved = normalizeEntryPath(h.linkname ?? '');
        if (resolved !== undefined) links.set(rel, resolved);
      }
      // Directories and anything else carry nothing an image loader reads; drain the body so parsing goes on.
      await drain(entry);
    }
    await pump;
    if (pumpError !== undefined) throw pumpError;
  } catch (err) {
    stopped = true;
    extractor.destroy();
    if (pumpError !== undefined) throw pumpError instanceof EngineError ? pumpError : new EngineError('Internal', `read archive: ${String(pumpError)}`, { cause: pumpError });
    if (err instanceof EngineError || (err instanceof Error && err.name === 'AbortError')) throw err;
    const why = tarError ?? err;
    throw new EngineError('InvalidArgument', `archive: invalid tar: ${why instanceof Error ? why.message : String(why)}`, { cause: why });
  }

  const lookup = (name: string): string | undefined => {
    let rel = normalizeEntryPath(name);
    for (let hops = 0; rel !== undefined && hops < MAX_LINK_HOPS; hops++) {
      const file = files.get(rel);
      if (file) return file;
      rel = links.get(rel);
    }
    return undefined;
  };
  return { file: lookup, names: () => [...files.keys(), ...links.keys()] };
}

/** Chunk by chunk, so a large layer never sits in memory. */
async function writeBody(entry: AsyncIterable<unknown>, file: string): Promise<void> {
  const fh = await fsp.open(file, 'wx', 0o600);
  try {
    for await (const chunk of entry) {
      const buf = chunk as Buffer;
      for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) {
    // discarding a body the loader has no use for
  }
}

/** Reads a small spooled file whole, refusing more than limit bytes. */
export async function readSpooled(file: string, limit: number, what: string): Promise<Buffer> {
  const st = await fsp.stat(file);
  if (st.size > limit) throw new EngineError('InvalidArgument', `${what}: ${st.size} bytes is more than the ${limit} allowed`);
  return fsp.readFile(file);
}


// Unpacks one untrusted layer tar (plain or gzip) into an empty directory, like `docker import` of a rootfs,
// and returns its diffId. Safe by construction: see safe-path.ts for how paths are confined. Whiteouts become
// overlayfs's own form when asked, because each layer is mounted as its own lowerdir, never applied onto another.

import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { EngineError, wrap } from '../errors';
import { ensureParentDirs, lstatInside, normalizeEntryPath } from './safe-path';

export interface DeviceSpec {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
}

export interface ExtractOptions {
  /** Creates a device node or fifo at `path` (mknod(2) lives in the addon; tests pass a fake). */
  mknod: (path: string, spec: DeviceSpec) => void;
  /**
   * Given: ".wh.<name>" becomes a 0/0 character device at <name> and ".wh..wh..opq" the xattr
   * trusted.overlay.opaque=y on its directory, as overlayfs reads them in a lowerdir (Documentation/filesystems/
   * overlayfs.rst, "whiteouts and opaque directories"). Absent: whiteouts are skipped (a lone imported rootfs).
   */
  setXattr?: (path: string, name: string, value: string) => void;
}

export interface ExtractResult {
  /** 'sha256:<hex>' of the uncompressed tar bytes, trailing padding included. */
  diffId: string;
  /** Sum of the sizes of regular files written (hard links not counted twice). */
  sizeBytes: number;
  /** Length of the uncompressed tar. */
  tarSizeBytes: number;
  /** The source was gzip. */
  gzip: boolean;
}

type Source = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;
type Entry = tar.ExtractEvents['entry'][1];

const OPEN_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DEVICE_TYPES: Record<string, DeviceSpec['type']> = { 'character-device': 'c', 'block-device': 'b', fifo: 'p' };

export async function extractLayer(source: Source, dest: string, opts: ExtractOptions): Promise<ExtractResult> {
  const root = await fs.realpath(dest);
  const state: State = { root, opts, sizeBytes: 0, dirMtimes: new Map() };
  const seen = { tarSizeBytes: 0, gzip: false };
  const hash = createHash('sha256');
  const extractor = tar.extract();

  // The pump feeds tar bytes to the parser while the loop below writes entries to disk. Awaiting 'drain' here and
  // reading each body chunk by chunk there keeps memory bounded whatever the file sizes.
  let stopped = false;
  let pumpError: unknown;
  // A parse error also tears down the entry being written; remember the parser's error, not the entry's symptom.
  let tarError: unknown;
  extractor.on('error', (err: unknown) => {
    tarError ??= err;
  });
  const pump = (async () => {
    for await (const chunk of tarBytes(source, () => { seen.gzip = true; })) {
      if (stopped) return;
      hash.update(chunk);
      seen.tarSizeBytes += chunk.length;
      if (!extractor.write(chunk)) await drainedOrClosed(extractor);
    }
    extractor.end(null);
  })().catch((err: unknown) => {
    pumpError = err;
    extractor.destroy(err instanceof Error ? err : new Error(String(err)));
  });

  try {
    for await (const entry of extractor) await applyEntry(state, entry);
    await pump;
    if (pumpError !== undefined) throw pumpError;
  } catch (err) {
    stopped = true;
    extractor.destroy();
    // Stop reading a source we will never finish; the pump ends on its next chunk.
    destroySource(source);
    if (pumpError !== undefined) throw sourceError(pumpError);
    throw parseError(tarError ?? err);
  }

  // Last, because creating children bumped every directory's mtime.
  for (const [rel, mtime] of state.dirMtimes) {
    const st = await lstatInside(root, rel);
    if (st?.isDirectory()) await fs.lutimes(path.join(root, rel), mtime, mtime);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, sizeBytes: state.sizeBytes, ...seen };
}

interface State {
  root: string;
  opts: ExtractOptions;
  sizeBytes: number;
  /** Directory mtimes from the tar, applied after all entries. */
  dirMtimes: Map<string, Date>;
}

async function applyEntry(state: State, entry: Entry): Promise<void> {
  const h = entry.header;
  const shown = `layer entry ${JSON.stringify(h.name)}`;
  checkEntrySize(h, shown);
  try {
    const rel = normalizeEntryPath(h.name);
    if (rel === undefined) throw new EngineError('InvalidArgument', 'path escapes the layer');
    if (path.posix.basename(rel).startsWith('.wh.') || rel.split('/').some((p) => p.startsWith('.wh..wh.'))) {
      if (state.opts.setXattr) await applyWhiteout(state, rel, entry, state.opts.setXattr);
    } else {
      if (rel === '' && h.type !== 'directory') throw new EngineError('InvalidArgument', 'cannot replace the layer root');
      if (rel !== '') await ensureParentDirs(state.root, rel);
      await createEntry(state, rel, entry);
    }
  } catch (err) {
    // No draining on failure: the whole extraction stops and the parser is destroyed.
    throw wrap(err, shown);
  }
  // A body left unread would stall the parser; bodies of non-files should be empty but need not be.
  await discard(entry);
}

async function createEntry(state: State, rel: string, entry: Entry): Promise<void> {
  const h = entry.header;
  const abs = path.join(state.root, rel);
  const mode = (h.mode ?? 0o644) & 0o7777;
  const { uid, gid } = owner(h);
  const mtime = h.mtime ?? new Date(0);

  switch (h.type) {
    case 'directory': {
      const st = await lstatInside(state.root, rel);
      if (st !== undefined && !st.isDirectory()) await removeExisting(abs);
      if (st === undefined || !st.isDirectory()) await fs.mkdir(abs, mode & 0o777);
      // A later entry for an existing directory updates it. chown before chmod: chown clears setgid.
      await fs.lchown(abs, uid, gid);
      await fs.chmod(abs, mode);
      state.dirMtimes.set(rel, mtime);
      return;
    }
    case 'file':
    case 'contiguous-file': {
      await removeExisting(abs);
      // O_EXCL|O_NOFOLLOW: we only ever write into a file we just created, never through a link.
      const fh = await fs.open(abs, OPEN_NEW_FILE, mode & 0o777);
      try {
        state.sizeBytes += await writeBody(fh, entry);
        await fh.chown(uid, gid);
        await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
      return;
    }
    case 'symlink': {
      // Stored as-is: an absolute or climbing target is harmless because extraction never follows links.
      await removeExisting(abs);
      await fs.symlink(h.linkname ?? '', abs);
      await fs.lchown(abs, uid, gid);
      await fs.lutimes(abs, mtime, mtime);
      return;
    }
    case 'link': {
      const target = normalizeEntryPath(h.linkname ?? '');
      const shownTarget = JSON.stringify(h.linkname ?? '');
      if (target === undefined || target === '') {
        throw new EngineError('InvalidArgument', `link target ${shownTarget} escapes the layer`);
      }
      if (target === rel) return; // a link to itself changes nothing
      const st = await lstatInside(state.root, target);
      if (!st?.isFile()) {
        throw new EngineError('InvalidArgument', `link target ${shownTarget} is not a regular file in the layer`);
      }
      await removeExisting(abs);
      // The inode keeps the target's owner, mode and mtime: the link entry's header does not override them.
      await fs.link(path.join(state.root, target), abs);
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      await removeExisting(abs);
      state.opts.mknod(abs, { type: DEVICE_TYPES[h.type], major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode });
      await fs.lchown(abs, uid, gid);
      // chmod(2) follows symlinks; only touch what mknod really made.
      if (!(await fs.lstat(abs)).isSymbolicLink()) await fs.chmod(abs, mode);
      await fs.lutimes(abs, mtime, mtime);
      return;
    }
    default:
      throw new EngineError('InvalidArgument', `unsupported entry type ${JSON.stringify(h.type)}`);
  }
}

const OPAQUE = '.wh..wh..opq';

/**
 * ".wh..wh..opq": the directory hides everything below it in lower layers. ".wh.<name>": <name> is deleted.
 * Other ".wh..wh." names (aufs's plnk/aufs metadata, and anything under them) mean nothing to overlayfs.
 */
async function applyWhiteout(state: State, rel: string, entry: Entry, setXattr: NonNullable<ExtractOptions['setXattr']>): Promise<void> {
  const base = path.posix.basename(rel);
  const dirRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
  if (dirRel.split('/').some((p) => p.startsWith('.wh.'))) return; // inside aufs metadata or a whited-out name
  // ensureParentDirs proves every directory down to dirRel is real (no symlink), creating missing ones.
  await ensureParentDirs(state.root, rel);
  if (base === OPAQUE) {
    setXattr(path.join(state.root, dirRel), 'trusted.overlay.opaque', 'y');
    return;
  }
  if (base.startsWith('.wh..wh.')) return;
  const name = base.slice(4);
  if (name === '' || name === '.' || name === '..') throw new EngineError('InvalidArgument', 'whiteout names nothing');
  const abs = path.join(state.root, dirRel, name);
  await removeExisting(abs);
  const { uid, gid } = owner(entry.header);
  // docker's overlay2 applier makes the same node: S_IFCHR, mode 0, device 0/0.
  state.opts.mknod(abs, { type: 'c', major: 0, minor: 0, mode: 0 });
  await fs.lchown(abs, uid, gid);
}

/** Removes whatever sits at `abs` (never following it) so a new entry can take its place. */
async function removeExisting(abs: string): Promise<void> {
  // rm(2)-style recursive removal unlinks symlinks rather than descending into them.
  await fs.rm(abs, { recursive: true, force: true });
}

async function writeBody(fh: FileHandle, entry: Entry): Promise<number> {
  let total = 0;
  for await (const chunk of entry) {
    const buf = chunk as Buffer;
    for (let off = 0; off < buf.length; ) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    total += buf.length;
  }
  return total;
}

async function discard(entry: Entry): Promise<void> {
  for await (const _ of entry) {
    // draining only
  }
}

/** pax headers may carry ids too large for the ustar fields; prefer them when present. */
function owner(h: tar.Header): { uid: number; gid: number } {
  const pax = h.pax as Record<string, string> | null | undefined;
  const uid = pax?.uid !== undefined ? Number(pax.uid) : (h.uid ?? 0);
  const gid = pax?.gid !== undefined ? Number(pax.gid) : (h.gid ?? 0);
  return { uid: Number.isSafeInteger(uid) ? uid : 0, gid: Number.isSafeInteger(gid) ? gid : 0 };
}

/** Yields the uncompressed tar bytes, gunzipping when the stream starts with the gzip magic 1f 8b. */
async function* tarBytes(source: Source, onGzip: () => void): AsyncGenerator<Buffer> {
  const it = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  while (headLen < 2) {
    const r = await it.next();
    if (r.done) break;
    const buf = toBuffer(r.value);
    head.push(buf);
    headLen += buf.length;
  }
  const all = Buffer.concat(head);
  async function* rest(): AsyncGenerator<Buffer> {
    if (all.length > 0) yield all;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBuffer(r.value);
    }
  }
  if (all.length >= 2 && all[0] === 0x1f && all[1] === 0x8b) {
    onGzip();
    // pipeline, not pipe: the source's error (a blob stream destroyed under it) must reach this reader; with pipe it
    // went unhandled and ended berthd.
    yield* pipeline(Readable.from(rest()), createGunzip(), () => undefined) as AsyncIterable<Buffer>;
  } else {
    yield* rest();
  }
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  // A stream with an encoding set would hand us text and silently corrupt the binary tar.
  if (typeof chunk === 'string') throw new EngineError('Internal', 'layer source yields strings, not bytes');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * tar-stream hands out an entry whose size field it could not read (a base-256 field whose first byte is neither
 * 0x80 nor 0xff decodes to null) and then never ends its body, nor takes more input: whoever reads it waits
 * forever, cancel or not. Every reader refuses such an entry before touching its body.
 */
export function checkEntrySize(h: tar.Header, shown: string): void {
  if (!Number.isSafeInteger(h.size) || (h.size as number) < 0) throw new EngineError('InvalidArgument', `${shown}: invalid size ${String(h.size)}`);
  // tar-stream hands out a body stream for such a directory that never ends, so a reader would wait for ever
  // (and its bytes would be parsed as the next header). A directory has no body: refuse it.
  if (h.type === 'directory' && (h.size as number) > 0) throw new EngineError('InvalidArgument', `${shown}: a directory with a body of ${String(h.size)} bytes`);
}

export function drainedOrClosed(w: tar.Extract): Promise<void> {
  // streamx sets `destroying` at once; 'close' may already have fired, and then no event would ever wake us.
  if ((w as { destroying?: boolean }).destroying || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}

function destroySource(source: Source): void {
  const s = source as { destroy?: unknown };
  if (typeof s.destroy === 'function') (s.destroy as () => void).call(source);
}

/** Reading or gunzipping the input failed: corrupt gzip is the caller's bad input, anything else keeps its kind. */
function sourceError(err: unknown): EngineError {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const why = err instanceof Error ? err.message : String(err);
    return new EngineError('InvalidArgument', `layer: invalid gzip data: ${why}`, { cause: err });
  }
  return wrap(err, 'read layer');
}

/** Entry errors arrive already wrapped; an unclassified error can only come from tar-stream's parser. */
function parseError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new EngineError('InvalidArgument', `layer: invalid tar: ${why}`, { cause: err });
}

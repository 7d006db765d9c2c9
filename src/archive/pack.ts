// Tar producers for export, docker cp out and layer tars: a walk of a directory by fd (dir-fd.ts) as
// an async generator of Buffers, so nothing is read before the consumer asks for it (backpressure
// comes free) and a container changing the tree meanwhile can never lead the walk outside it.
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { isWhiteout, type OpaqueCheck } from '../rootfs/changes';
import { DirFd } from '../rootfs/dir-fd';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from './tar-header';

const READ_BYTES = 64 * 1024;
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export interface PackOptions {
  /**
   * Layer tars: whiteouts (0/0 character devices) become empty ".wh.<name>" files, and an opaque
   * directory gets a "<dir>/.wh..wh..opq" file (OCI image-spec, "Whiteouts"), listed before its
   * other entries. Without it whiteouts are packed as the devices they are.
   */
  layer?: { isOpaque: OpaqueCheck };
}

/** Packs entries, each hard-linked inode once: later names of it become link entries. */
export class TreePacker {
  private readonly links = new Map<string, string>();

  constructor(private readonly opts: PackOptions = {}) {}

  /**
   * The entry for the directory `dir` itself, named `top.name` with the metadata of `top.stat`, then
   * everything below it; without `top` only what is below it, named from "".
   */
  async *directory(dir: DirFd, top: { name: string; stat: Stats; opaque?: boolean } | undefined): AsyncGenerator<Buffer> {
    const prefix = top ? `${top.name.replace(/\/+$/, '')}/` : '';
    if (top) {
      const st = top.stat;
      yield encodeHeader({ ...meta(st), name: prefix, type: 'directory', size: 0 });
      // Asked of the name in its parent: xattr calls on /proc/self/fd/<n> would read the magic link's own.
      if (top.opaque) {
        yield encodeHeader({ name: `${prefix}${OPAQUE_MARKER}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: seconds(st) });
      }
    }
    const names = await dir.names();
    // Layer tars list a directory's whiteouts before its other entries (image-spec asks for that order).
    const stats = new Map<string, Stats>();
    for (const name of names) {
      const s = await dir.lstat(name);
      if (s) stats.set(name, s);
    }
    const whiteouts = new Set(this.opts.layer ? names.filter((n) => stats.get(n) && isWhiteout(stats.get(n)!)) : []);
    for (const name of whiteouts) {
      yield encodeHeader({ name: `${prefix}${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: seconds(stats.get(name)!) });
    }
    for (const name of names) {
      const s = stats.get(name);
      if (!s || whiteouts.has(name)) continue;
      yield* this.child(dir, name, `${prefix}${name}`, s);
    }
  }

  /** One name below `parent`, packed as `entryName` (with everything below it for a directory). */
  async *child(parent: DirFd, name: string, entryName: string, st?: Stats): AsyncGenerator<Buffer> {
    st ??= await parent.lstat(name);
    if (!st) return; // gone meanwhile: a running container changes its files
    if (st.isDirectory()) {
      const sub = await parent.openDir(name);
      if (!sub) return;
      try {
        yield* this.directory(sub, { name: entryName, stat: st, opaque: this.opts.layer?.isOpaque(parent.at(name)) });
      } finally {
        sub.close();
      }
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...meta(st), name: entryName, type: 'link', size: 0, linkname: first });
        return;
      }
      this.links.set(key, entryName);
    }
    if (st.isFile()) {
      const fh = await parent.openFile(name);
      if (!fh) return;
      try {
        yield encodeHeader({ ...meta(st), name: entryName, type: 'file', size: st.size });
        yield* body(fh, st.size);
      } finally {
        await fh.close();
      }
      return;
    }
    if (st.isSymbolicLink()) {
      const target = await parent.readlink(name);
      if (target === undefined) return;
      yield encodeHeader({ ...meta(st), name: entryName, type: 'symlink', size: 0, linkname: target });
      return;
    }
    const type = st.isCharacterDevice() ? 'character-device' : st.isBlockDevice() ? 'block-device' : st.isFIFO() ? 'fifo' : undefined;
    // Sockets are not kept in tars (as Docker's archive leaves them out).
    if (!type) return;
    const { major, minor } = deviceNumbers(st.rdev);
    yield encodeHeader({ ...meta(st), name: entryName, type, size: 0, devmajor: major, devminor: minor });
  }

  end(): Buffer {
    return END_OF_ARCHIVE;
  }
}

/** Exactly `size` bytes of the file, then the padding: a file that grew is cut, one that shrank is padded with zeros. */
async function* body(fh: FileHandle, size: number): AsyncGenerator<Buffer> {
  let done = 0;
  while (done < size) {
    const want = Math.min(READ_BYTES, size - done);
    // A fresh buffer each time: the consumer may hold on to what we yielded.
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, done);
    if (bytesRead === 0) {
      yield Buffer.alloc(size - done);
      done = size;
      break;
    }
    done += bytesRead;
    yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
  }
  const pad = padding(size);
  if (pad.length) yield pad;
}

function meta(st: Stats): Omit<TarHeader, 'name' | 'type' | 'size'> {
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: seconds(st) };
}

/** Whole seconds, as Docker's tars carry them. */
function seconds(st: Stats): number {
  return Math.floor(st.mtimeMs / 1000);
}

/** glibc's major()/minor() of a dev_t. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** Joins small pieces into messages of at least minBytes (the last may be smaller). */
export async function* coalesce(source: AsyncIterable<Buffer>, minBytes = 64 * 1024): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const piece of source) {
    parts.push(piece);
    size += piece.length;
    if (size >= minBytes) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

// docker cp into a container (the seed's Inject): unpacks a tar into a directory of a container's
// mounted rootfs. Every path is resolved by openat2(RESOLVE_IN_ROOT) from the rootfs's own root and
// every change is made on one name below a directory fd (dir-fd.ts), so neither the tar (CVE-2014-6407,
// CVE-2014-9356) nor the container swapping a directory for a symlink while we copy (CVE-2018-15664)
// can make us write outside the rootfs. Nothing runs inside the container (CVE-2019-14271).
import { constants, promises as fsp } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar-stream';
import { EngineError, kindOf, wrap } from '../errors';
import type { DeviceSpec, Native } from '../native';
import { fromNative } from '../native/errors';
import { DirFd } from '../rootfs/dir-fd';
import { normalizeEntryPath } from './safe-path';
import { forEachEntry, spoolTo, writeAll, type TarEntry } from './tar-reader';

export interface CopyInOptions {
  /** Refuse to replace a directory with a non-directory or the other way round (docker cp's default). */
  noOverwriteDirNonDir: boolean;
  /** Keep the entries' owners; otherwise everything belongs to root (0:0), as docker cp without -a. */
  copyUidGid: boolean;
}

type Entry = TarEntry;

const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DEVICE_TYPES: Record<string, DeviceSpec['type']> = { 'character-device': 'c', 'block-device': 'b', fifo: 'p' };

interface Ctx {
  native: Native;
  rootFd: number;
  /** The destination directory, a container path. */
  dest: string;
  opts: CopyInOptions;
  /** Directory mtimes from the tar, set last (making their entries changed them). */
  dirTimes: Array<[string, Date]>;
}

/**
 * Unpacks the tar (plain or gzip) into the directory `dest` (a container path) of the rootfs whose
 * root is rootFd. Entries are relative to dest; one that climbs above it ("../x", or a symlink or
 * hard link whose relative target does) is INVALID_ARGUMENT. Symlinks already in the container are
 * followed as the container would (inside its root).
 *
 * The tar is first spooled to an unlinked file in spoolDir and checked whole (names, link targets,
 * entry types, its own framing), so a bad tar changes nothing; what can only fail on the disk (a
 * directory in the way with noOverwriteDirNonDir, ENOSPC) leaves the entries before it in place.
 */
export async function copyInto(
  native: Native, rootFd: number, dest: string, source: AsyncIterable<Uint8Array>, opts: CopyInOptions, spoolDir: string,
): Promise<void> {
  const spool = await spoolTo(source, spoolDir);
  try {
    await forEachEntry(spool.createReadStream({ start: 0, autoClose: false }), async (entry) => checkEntry(entry.header));
    const ctx: Ctx = { native, rootFd, dest, opts, dirTimes: [] };
    await forEachEntry(spool.createReadStream({ start: 0, autoClose: false }), (entry) => applyEntry(ctx, entry));
    for (const [dir, mtime] of ctx.dirTimes.reverse()) await setDirTime(ctx, dir, mtime);
  } finally {
    await spool.close();
  }
}

const TYPES = new Set(['directory', 'file', 'contiguous-file', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

/** What can be told of an entry without the disk: docker's breakout checks, and the types we make. */
function checkEntry(h: tar.Header): void {
  const fail = (why: string) => new EngineError('InvalidArgument', `entry ${JSON.stringify(h.name)}: ${why}`);
  const rel = normalizeEntryPath(h.name);
  if (rel === undefined) throw fail('path escapes the destination');
  if (!TYPES.has(h.type ?? '')) throw fail(`unsupported entry type ${JSON.stringify(h.type)}`);
  if (rel === '' && h.type !== 'directory') throw fail('only a directory can stand for the destination itself');
  if (h.type === 'symlink') {
    const target = h.linkname ?? '';
    // An absolute target is resolved in the container's root whenever it is followed: it cannot leave it.
    if (!target.startsWith('/') && normalizeEntryPath(path.posix.join(path.posix.dirname(rel), target)) === undefined) {
      throw fail(`symlink target ${JSON.stringify(target)} escapes the destination`);
    }
  }
  if (h.type === 'link') {
    const target = normalizeEntryPath(h.linkname ?? '');
    if (target === undefined || target === '') throw fail(`link target ${JSON.stringify(h.linkname ?? '')} escapes the destination`);
  }
}

async function applyEntry(ctx: Ctx, entry: Entry): Promise<void> {
  const h = entry.header;
  try {
    // checkEntry has passed it: the name stays below the destination.
    const rel = normalizeEntryPath(h.name)!;
    // The destination itself ("./"): it exists, and it is not ours to change.
    if (rel === '') return;
    const parent = await openParent(ctx, rel);
    try {
      await createEntry(ctx, parent, rel, entry);
    } finally {
      parent.close();
    }
  } catch (err) {
    throw wrap(err instanceof EngineError ? err : fromNative(err), `entry ${JSON.stringify(h.name)}`);
  }
}

async function createEntry(ctx: Ctx, parent: DirFd, rel: string, entry: Entry): Promise<void> {
  const h = entry.header;
  const name = path.posix.basename(rel);
  const where = path.posix.join(ctx.dest, rel);
  const isDir = h.type === 'directory';
  const existing = await parent.lstat(name);
  if (existing) {
    // docker's archive.Unpack: a directory merges into a directory; anything else replaces what is there.
    if (ctx.opts.noOverwriteDirNonDir && existing.isDirectory() && !isDir) {
      throw new EngineError('FailedPrecondition', `cannot overwrite directory ${JSON.stringify(where)} with non-directory`);
    }
    if (ctx.opts.noOverwriteDirNonDir && !existing.isDirectory() && isDir) {
      throw new EngineError('FailedPrecondition', `cannot overwrite non-directory ${JSON.stringify(where)} with directory`);
    }
    if (!(existing.isDirectory() && isDir)) await parent.removeTree(name);
  }
  const mode = (h.mode ?? 0o644) & 0o7777;
  const { uid, gid } = ctx.opts.copyUidGid ? owner(h) : { uid: 0, gid: 0 };
  const mtime = h.mtime ?? new Date();
  switch (h.type) {
    case 'directory': {
      // What stood there, if not a directory, was removed above.
      if (!existing?.isDirectory()) await fsp.mkdir(parent.at(name), 0o700);
      const dir = await parent.openDir(name);
      if (!dir) throw new EngineError('FailedPrecondition', `${JSON.stringify(where)} changed while it was being made`);
      try {
        // chown before chmod: chown clears setuid and setgid.
        fs.fchownSync(dir.fd, uid, gid);
        fs.fchmodSync(dir.fd, mode);
      } finally {
        dir.close();
      }
      ctx.dirTimes.push([where, mtime]);
      return;
    }
    case 'file':
    case 'contiguous-file': {
      // O_EXCL|O_NOFOLLOW: only ever a file we just made, never through a link.
      const fh = await fsp.open(parent.at(name), NEW_FILE, 0o600);
      try {
        for await (const chunk of entry) await writeAll(fh, chunk as Buffer);
        await fh.chown(uid, gid);
        await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
      return;
    }
    case 'symlink': {
      await fsp.symlink(h.linkname ?? '', parent.at(name));
      await fsp.lchown(parent.at(name), uid, gid);
      await fsp.lutimes(parent.at(name), mtime, mtime);
      return;
    }
    case 'link': {
      const targetRel = normalizeEntryPath(h.linkname ?? '')!;
      const targetDir = await openDir(ctx, path.posix.dirname(path.posix.join(ctx.dest, targetRel)));
      try {
        // link(2) never follows the last component of either path.
        await fsp.link(targetDir.at(path.posix.basename(targetRel)), parent.at(name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new EngineError('InvalidArgument', `link target ${JSON.stringify(h.linkname)} does not exist`);
        }
        throw err;
      } finally {
        targetDir.close();
      }
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      ctx.native.mknodAt(parent.fd, name, { type: DEVICE_TYPES[h.type], major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode });
      await fsp.lchown(parent.at(name), uid, gid);
      await fsp.lutimes(parent.at(name), mtime, mtime);
      return;
    }
    default:
      throw new EngineError('InvalidArgument', `unsupported entry type ${JSON.stringify(h.type)}`);
  }
}

/** A directory of the container (a container path), every symlink on the way resolved inside its root. */
async function openDir(ctx: Ctx, containerPath: string): Promise<DirFd> {
  const fd = ctx.native.openAt(ctx.rootFd, containerPath, { resolve: 'in-root', directory: true, followLast: true });
  return new DirFd(fd, containerPath);
}

/** The directory rel goes in, made (0755, root's, as docker's MkdirAll) where the tar did not list it first. */
async function openParent(ctx: Ctx, rel: string): Promise<DirFd> {
  const dir = path.posix.dirname(rel);
  try {
    return await openDir(ctx, path.posix.join(ctx.dest, dir === '.' ? '' : dir));
  } catch (err) {
    if (kindOf(err) !== 'NotFound') throw notADirectory(err, dir);
  }
  let cur = await openDir(ctx, ctx.dest);
  try {
    const parts = dir.split('/');
    for (let i = 0; i < parts.length; i++) {
      const sub = path.posix.join(ctx.dest, ...parts.slice(0, i + 1));
      let next: DirFd;
      try {
        next = await openDir(ctx, sub);
      } catch (err) {
        if (kindOf(err) !== 'NotFound') throw notADirectory(err, parts.slice(0, i + 1).join('/'));
        await fsp.mkdir(cur.at(parts[i]), 0o755);
        await fsp.chmod(cur.at(parts[i]), 0o755); // mkdir(2) applied the umask
        next = await openDir(ctx, sub);
      }
      cur.close();
      cur = next;
    }
    return cur;
  } catch (err) {
    cur.close();
    throw err;
  }
}

function notADirectory(err: unknown, rel: string): unknown {
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOTDIR') return new EngineError('FailedPrecondition', `parent ${JSON.stringify(rel)} is not a directory`, { cause: err });
  return err;
}

async function setDirTime(ctx: Ctx, dir: string, mtime: Date): Promise<void> {
  let fd: number;
  try {
    fd = ctx.native.openAt(ctx.rootFd, dir, { resolve: 'in-root', directory: true, read: true });
  } catch {
    return; // replaced by a later entry, or removed by the container meanwhile: nothing to date
  }
  try {
    fs.futimesSync(fd, mtime, mtime);
  } finally {
    fs.closeSync(fd);
  }
}

/** pax headers may carry ids too large for the ustar fields. */
function owner(h: tar.Header): { uid: number; gid: number } {
  const pax = h.pax as Record<string, string> | null | undefined;
  const uid = Number(pax?.uid ?? h.uid ?? 0);
  const gid = Number(pax?.gid ?? h.gid ?? 0);
  return { uid: Number.isSafeInteger(uid) && uid >= 0 ? uid : 0, gid: Number.isSafeInteger(gid) && gid >= 0 ? gid : 0 };
}


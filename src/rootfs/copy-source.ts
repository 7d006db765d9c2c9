// docker cp out of a container: what a container path names (resolved inside the container's root,
// never on the host), its stat as Docker's X-Docker-Container-Path-Stat, and the tar of it as
// Docker's archive API makes it: a file under its base name, a directory as the top entry, "dir/."
// as the directory's contents.
import type { Stats } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { TreePacker } from '../archive/pack';
import { EngineError, invalidArgument } from '../errors';
import type { Native } from '../native';
import { fromNative } from '../native/errors';
import { DirFd } from './dir-fd';

export interface PathStatInfo {
  name: string;
  size: number;
  /** st_mode, type bits included. */
  mode: number;
  mtime: Date;
  /** A symlink's target fully resolved in the container ("" otherwise). */
  linkTarget: string;
}

/** Symlinks followed before resolution gives up (the kernel's limit). */
const MAX_LINKS = 40;

/**
 * The container path `p` leads to, every symlink on the way followed inside the root (an absolute
 * target starts again at the container's "/", ".." stops there); what does not exist is kept as
 * written (Docker's FollowSymlinkInScope). readlink(containerPath) gives a symlink's target, or
 * undefined for anything else, missing included.
 */
export async function followSymlinksInScope(p: string, readlink: (containerPath: string) => Promise<string | undefined>): Promise<string> {
  let resolved: string[] = [];
  let pending = p.split('/');
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const target = await readlink(`/${[...resolved, part].join('/')}`);
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw invalidArgument('path', p, 'too many levels of symbolic links');
    if (target.startsWith('/')) resolved = [];
    pending = [...target.split('/'), ...pending];
  }
  return `/${resolved.join('/')}`;
}

/** Linux's PATH_MAX and NAME_MAX: no syscall takes a longer path, no filesystem a longer name. */
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** Docker's path rules: relative is from "/", ".." stops at "/", and a trailing "/" or "/." is kept. */
export function containerPath(p: string, field = 'path'): string {
  if (p === '' || p.includes('\0')) throw invalidArgument(field, p, 'a path in the container is required');
  if (Buffer.byteLength(p) > PATH_MAX) throw invalidArgument(field, p, `longer than ${PATH_MAX} bytes (PATH_MAX)`);
  if (p.split('/').some((part) => Buffer.byteLength(part) > NAME_MAX)) throw invalidArgument(field, p, `a name in it is longer than ${NAME_MAX} bytes (NAME_MAX)`);
  const clean = path.posix.join('/', p).replace(/\/+$/, '') || '/';
  if (p === '.' || p.endsWith('/.')) return clean === '/' ? '/.' : `${clean}/.`;
  if (p.endsWith('/') && clean !== '/') return `${clean}/`;
  return clean;
}

/** A tar of what `p` names, with its stat first. Opens and closes its own fds; rootFd stays the caller's. */
export async function* copySource(native: Native, rootFd: number, p: string): AsyncGenerator<PathStatInfo | Buffer> {
  const abs = containerPath(p);
  const opened: DirFd[] = [];
  const open = (where: string, followLast: boolean, directory = false): DirFd => {
    let fd: number;
    try {
      fd = native.openAt(rootFd, where, { resolve: 'in-root', followLast, directory });
    } catch (err) {
      throw lookupError(err, abs);
    }
    const d = new DirFd(fd, where);
    opened.push(d);
    return d;
  };
  try {
    const packer = new TreePacker();
    const base = path.posix.basename(abs) || '/';
    // "dir/", "dir/." and "/" name what the path resolves to, the last link followed; anything else
    // names the entry itself, so a symlink is copied as a symlink (docker cp without -L).
    if (abs.endsWith('/') || abs.endsWith('/.')) {
      const dir = open(abs, true, true);
      const st = fs.fstatSync(dir.fd);
      const name = base === '.' || abs === '/' ? '.' : base;
      yield pathStat(abs === '/' ? '/' : base, st, '');
      yield* packer.directory(dir, { name, stat: st });
      yield packer.end();
      return;
    }
    const parent = open(path.posix.dirname(abs), true, true);
    const st = await parent.lstat(base);
    if (!st) throw new EngineError('NotFound', `path ${JSON.stringify(p)}: no such file or directory in the container`);
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      linkTarget = await followSymlinksInScope(abs, async (where) => {
        let d: DirFd;
        try {
          d = open(path.posix.dirname(where), true, true);
        } catch {
          return undefined; // a missing or non-directory parent: the rest is kept as written
        }
        try {
          return await d.readlink(path.posix.basename(where));
        } finally {
          opened.splice(opened.indexOf(d), 1);
          d.close();
        }
      });
    }
    yield pathStat(base, st, linkTarget);
    yield* packer.child(parent, base, base, st);
    yield packer.end();
  } finally {
    for (const d of opened) d.close();
  }
}

function pathStat(name: string, st: Stats, linkTarget: string): PathStatInfo {
  return { name, size: st.size, mode: st.mode, mtime: st.mtime, linkTarget };
}

/** ENOENT is the path's NOT_FOUND; "x/" on a file is a bad argument, as is a loop of symlinks. */
function lookupError(err: unknown, p: string): Error {
  // The addon's errors arrive classified, the system error as their cause.
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException).code;
  const shown = JSON.stringify(p.endsWith('/.') ? p.slice(0, -1) : p);
  if (code === 'ENOENT') return new EngineError('NotFound', `path ${shown}: no such file or directory in the container`, { cause: err });
  if (code === 'ENOTDIR') return new EngineError('InvalidArgument', `path ${shown}: not a directory`, { cause: err });
  if (code === 'ELOOP') return new EngineError('InvalidArgument', `path ${shown}: too many levels of symbolic links`, { cause: err });
  return fromNative(err);
}

// A container path -> the host path it names under a rootfs, with every symlink and ".." resolved as if the
// rootfs were "/" (the seed's FollowSymlinkInScope). Only for trees nothing else writes to while we read
// them (a stopped container's rootfs at create); init resolves its mount targets race-free in C++.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';

/** The kernel's own limit on symlinks in one lookup is 40; Docker's FollowSymlinkInScope allows 255. */
const MAX_LINKS = 255;

export async function resolveInScope(root: string, containerPath: string): Promise<string> {
  const resolved: string[] = [];
  let todo = split(containerPath);
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '..') { resolved.pop(); continue; }
    const candidate = path.join(root, ...resolved, part);
    let isLink: boolean;
    try {
      isLink = (await fsp.lstat(candidate)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      isLink = false; // missing: the rest is taken as written
    }
    if (!isLink) { resolved.push(part); continue; }
    if (++links > MAX_LINKS) throw new EngineError('InvalidArgument', `${containerPath}: too many levels of symbolic links`);
    const target = await fsp.readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    todo = [...split(target), ...todo];
  }
  return path.join(root, ...resolved);
}

function split(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

// Path checks for unpacking untrusted layers: entry names are normalised lexically and every directory we pass
// through is lstat'ed, so no ".." and no symlink ever leads a write outside the layer (CVE-2014-6407, CVE-2014-9356).

import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors';

/**
 * Turns a tar entry name (or hard link target) into a clean relative path: leading "/" and "./" dropped, "." and
 * empty components removed, "a/../b" collapsed to "b". Returns '' for the layer root and undefined when ".." climbs
 * above the root. Purely lexical: it never looks at the disk, so a symlink cannot change what ".." means.
 */
export function normalizeEntryPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * Makes sure every parent of `rel` is a real directory under `root`, creating missing ones with mode 0755 (a tar may
 * list a file before its directory). Throws InvalidArgument when a parent is a symlink or not a directory: following
 * it is exactly how a layer writes into the host.
 *
 * Check-then-use is only safe because nothing else writes into `root` while we unpack it (a fresh, private
 * directory); Node has no openat(2)/O_BENEATH to make each step race-free.
 */
export async function ensureParentDirs(root: string, rel: string): Promise<void> {
  const parts = rel.split('/');
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = path.join(cur, parts[i]);
    const st = await lstatOrUndefined(cur);
    if (st === undefined) {
      await fs.mkdir(cur, 0o755);
      // mkdir(2) applies the umask; implicit directories are documented as 0755.
      await fs.chmod(cur, 0o755);
      continue;
    }
    const shown = JSON.stringify(parts.slice(0, i + 1).join('/'));
    if (st.isSymbolicLink()) throw new EngineError('InvalidArgument', `parent ${shown} is a symlink`);
    if (!st.isDirectory()) throw new EngineError('InvalidArgument', `parent ${shown} is not a directory`);
  }
}

/**
 * lstat of `rel` under `root`, reached only through real directories. Undefined when it does not exist or when
 * some parent is a symlink or a non-directory (then the path does not name anything inside the layer).
 */
export async function lstatInside(root: string, rel: string): Promise<Stats | undefined> {
  const parts = rel === '' ? [] : rel.split('/');
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = path.join(cur, parts[i]);
    const st = await lstatOrUndefined(cur);
    if (st === undefined || st.isSymbolicLink() || !st.isDirectory()) return undefined;
  }
  return lstatOrUndefined(path.join(root, rel));
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

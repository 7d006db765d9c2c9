// docker diff: what a container's upper dir changed against its image layers, read straight from the
// directories (no mount). Overlayfs marks a deletion with a 0/0 character device (a whiteout) and a
// directory whose lower contents are gone with trusted.overlay.opaque=y (Documentation/filesystems/overlayfs.rst).
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { sharedNative } from '../native/addon';
import { DirFd, isGone } from './dir-fd';

export type ChangeKind = 'C' | 'A' | 'D';

export interface Change {
  /** Absolute in the container: "/etc/passwd". */
  path: string;
  kind: ChangeKind;
}

/** Reads trusted.overlay.opaque of a directory (the addon's getXattr); false when unset. */
export type OpaqueCheck = (dirPath: string) => boolean;

/** trusted.overlay.opaque=y, read with the addon; a filesystem without xattrs has no opaque dirs. */
export function overlayOpaqueCheck(getXattr = (p: string, n: string) => sharedNative().getXattr(p, n)): OpaqueCheck {
  return (dirPath) => {
    try {
      return getXattr(dirPath, 'trusted.overlay.opaque')?.toString() === 'y';
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code === 'EOPNOTSUPP' || code === 'ENOTSUP') return false;
      throw err;
    }
  };
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/**
 * The directories of the lower layers that make up one directory of the image, top first: the
 * layers where it is a directory, down to the first layer where it is something else or whited
 * out, or to the first one where it is opaque. Lower layers are ours (extracted by berthd, never
 * written by a container), so plain paths are safe here.
 */
export class LowerView {
  constructor(private readonly isOpaque: OpaqueCheck) {}

  /** What the image has at dirs/name: its stat (the top one) and, for a directory, its lower dirs. */
  async child(dirs: string[], name: string): Promise<{ stat: Stats; dirs: string[] } | undefined> {
    let found: { stat: Stats; dirs: string[] } | undefined;
    for (const dir of dirs) {
      const full = path.join(dir, name);
      const st = await lstatOrUndefined(full);
      if (!st) continue;
      if (isWhiteout(st)) break;
      if (!found) found = { stat: st, dirs: [] };
      if (!st.isDirectory()) break;
      found.dirs.push(full);
      if (this.isOpaque(full)) break;
    }
    return found;
  }

  /** The names the image shows in the directory made of dirs (whiteouts hide the layers below). */
  async names(dirs: string[]): Promise<string[]> {
    const shown = new Set<string>();
    const hidden = new Set<string>();
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch (err) {
        if (isGone(err)) continue;
        throw err;
      }
      const whitedOut: string[] = [];
      for (const name of names) {
        if (shown.has(name) || hidden.has(name)) continue;
        const st = await lstatOrUndefined(path.join(dir, name));
        if (!st) continue;
        if (isWhiteout(st)) whitedOut.push(name);
        else shown.add(name);
      }
      // A whiteout hides the layers below this one, not its siblings in this one.
      for (const name of whitedOut) hidden.add(name);
    }
    return [...shown].sort();
  }
}

/**
 * The changes, sorted by path, as `docker diff` shows them: A for what the image lacks, C for what
 * it has in another form (and for every directory with a change below it), D for what the
 * container deleted. An opaque directory (rm -rf d; mkdir d) is C, with a D for each entry the
 * image had in it that was not made again. `lowers`: the image's layer dirs, top first.
 */
export async function containerChanges(upper: string, lowers: string[], isOpaque: OpaqueCheck): Promise<Change[]> {
  const changes: Change[] = [];
  const walker = new ChangeWalker(new LowerView(isOpaque), isOpaque, changes);
  let root: DirFd;
  try {
    root = await DirFd.open(upper);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return changes; // never started: nothing written yet
    throw err;
  }
  try {
    await walker.walk(root, '', lowers, false);
  } finally {
    root.close();
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

class ChangeWalker {
  constructor(private readonly lower: LowerView, private readonly isOpaque: OpaqueCheck, private readonly out: Change[]) {}

  /**
   * One upper directory. `lowerDirs`: what the image has there; `opaque`: its lower contents are
   * gone (it, or a directory above it, is opaque). True when anything in it changed.
   */
  async walk(dir: DirFd, rel: string, lowerDirs: string[], opaque: boolean): Promise<boolean> {
    let changed = false;
    const names = await dir.names();
    for (const name of names) {
      const st = await dir.lstat(name);
      if (!st) continue; // removed while we read (the container is running)
      const childRel = `${rel}/${name}`;
      const inImage = lowerDirs.length ? await this.lower.child(lowerDirs, name) : undefined;
      if (isWhiteout(st)) {
        // A whiteout over nothing would hide nothing: not a change anyone can see.
        if (inImage) {
          this.out.push({ path: childRel, kind: 'D' });
          changed = true;
        }
        continue;
      }
      if (!st.isDirectory()) {
        this.out.push({ path: childRel, kind: inImage ? 'C' : 'A' });
        changed = true;
        continue;
      }
      const sub = await dir.openDir(name);
      if (!sub) continue;
      let below: boolean;
      try {
        const childLower = inImage?.stat.isDirectory() ? inImage.dirs : [];
        below = await this.walk(sub, childRel, childLower, opaque || this.isOpaque(dir.at(name)));
      } finally {
        sub.close();
      }
      const kind: ChangeKind | undefined = !inImage ? 'A'
        : (below || !inImage.stat.isDirectory() || !sameDirMeta(st, inImage.stat)) ? 'C' : undefined;
      if (kind) {
        this.out.push({ path: childRel, kind });
        changed = true;
      }
    }
    if (opaque && lowerDirs.length) {
      const present = new Set(names);
      for (const name of await this.lower.names(lowerDirs)) {
        if (present.has(name)) continue;
        this.out.push({ path: `${rel}/${name}`, kind: 'D' });
        changed = true;
      }
    }
    return changed;
  }
}

/**
 * A copied-up directory keeps its lower owner, mode and mtime; only then is it unchanged. Times as
 * Docker compares them: equal, or equal seconds where one side has no sub-second part (tar's).
 */
function sameDirMeta(a: Stats, b: Stats): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.mtimeMs === b.mtimeMs) return true;
  const sa = Math.floor(a.mtimeMs / 1000);
  const sb = Math.floor(b.mtimeMs / 1000);
  return sa === sb && (a.mtimeMs === sa * 1000 || b.mtimeMs === sb * 1000);
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

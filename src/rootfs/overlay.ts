// The overlay rootfs of a container: its init layer and the image layers as lowerdirs, its own upper/
// and work/. Like a snapshotter it only describes the mount; the caller performs it.
import fs, { type Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { MountOptions } from '../native';
import { randomId } from '../util/ids';
import { LowerView, overlayOpaqueCheck, type OpaqueCheck } from './changes';

export interface OverlayPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
}

/** Where every container's overlay directory is. */
export function overlaysDir(root: string): string {
  return path.join(root, 'overlay');
}

export function overlayPaths(root: string, id: string): OverlayPaths {
  const dir = path.join(overlaysDir(root), id);
  return { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
}

/**
 * Synchronous: four mkdirs, where the thread pool's round trips cost more than the calls (STYLE.md §6, blocking);
 * and a volatile mount's mark (volatileMarkPath) goes.
 */
export function prepareOverlay(p: OverlayPaths): void {
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  for (const d of [p.upper, p.work, p.merged]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.rmSync(volatileMarkPath(p), { recursive: true, force: true });
}

/**
 * Docker's init layer, one per image and shared by its containers (what it holds depends on the image's
 * layers alone): the mount points berth's init needs and the image lacks. Made at the first start of a
 * container of the image; removed with the image, which cannot go while a container uses it.
 */
export function initLayerPath(root: string, imageId: string): string {
  return path.join(initLayersDir(root), imageId.replace(/^sha256:/, ''));
}

/** Where the init layers are: one directory each, named by the image id's hex. */
export function initLayersDir(root: string): string {
  return path.join(root, 'init');
}

/**
 * The mount targets every container gets (src/runtime/plan.ts) that init would otherwise create in the
 * upper dir, where they would show in diff and export and end up in a commit (Docker keeps them in an
 * "init" layer between the image and the container's own layer for the same reason).
 */
const INIT_DIRS = ['proc', 'sys', 'dev'];
const INIT_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

/**
 * Makes the init layer `init` once: each of INIT_DIRS and INIT_FILES the image (lowerdirs, top first) lacks, an empty
 * directory (0755) or file (0644) owned by root. Directories made on the way copy the image's owner,
 * mode and mtime where it has them, so the merged view shows the image's; a path under something the
 * image has as a non-directory (a symlinked /etc) is left to init, as before.
 */
export async function prepareInitLayer(init: string, lowerdirs: string[], isOpaque: OpaqueCheck = overlayOpaqueCheck()): Promise<void> {
  if (fs.existsSync(init)) return;
  await fsp.mkdir(path.dirname(init), { recursive: true, mode: 0o700 });
  const tmp = `${init}.tmp-${randomId().slice(0, 12)}`;
  await fsp.mkdir(tmp, { mode: 0o755 });
  try {
    const view = new LowerView(isOpaque);
    const mirrored = new Map<string, Stats>();
    for (const rel of [...INIT_DIRS, ...INIT_FILES]) {
      const parts = rel.split('/');
      let dirs = lowerdirs;
      const parents: Array<[string, Stats | undefined]> = [];
      let blocked = false;
      for (let i = 0; i < parts.length - 1 && !blocked; i++) {
        const found = dirs.length ? await view.child(dirs, parts[i]) : undefined;
        blocked = found !== undefined && !found.stat.isDirectory();
        parents.push([parts.slice(0, i + 1).join('/'), found?.stat]);
        dirs = found?.dirs ?? [];
      }
      if (blocked || (dirs.length && await view.child(dirs, parts[parts.length - 1]))) continue;
      // Modes set by chmod: mkdir and open apply the daemon's umask.
      for (const [sub, st] of parents) {
        await fsp.mkdir(path.join(tmp, sub), { recursive: true });
        if (st) mirrored.set(sub, st);
        else await fsp.chmod(path.join(tmp, sub), 0o755);
      }
      const target = path.join(tmp, rel);
      if (INIT_DIRS.includes(rel)) await fsp.mkdir(target);
      else await fsp.writeFile(target, '');
      await fsp.chmod(target, INIT_DIRS.includes(rel) ? 0o755 : 0o644);
    }
    // Deepest first, and after their contents: making an entry changes its directory's mtime.
    for (const [sub, st] of [...mirrored].sort(([a], [b]) => b.length - a.length)) {
      const dir = path.join(tmp, sub);
      await fsp.lchown(dir, st.uid, st.gid);
      await fsp.chmod(dir, st.mode & 0o7777);
      await fsp.utimes(dir, st.atime, st.mtime);
    }
    await fsp.chmod(tmp, 0o755);
    await fsp.rename(tmp, init).catch((err: NodeJS.ErrnoException) => {
      // Another start of the same image made it first: theirs and ours hold the same.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      return fsp.rm(tmp, { recursive: true, force: true });
    });
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Short names for the image's layer directories: `l/<12 hex>` symlinks under the data root, relative to it
 * (as Docker's overlay2 `l/`), so that the mount's options, at most a page (4096 bytes), hold Docker's 128
 * layers instead of forty; mount with the data root as the working directory. Each link is made once,
 * atomically (a rename over a temporary one).
 */
export async function shortLayerPaths(root: string, layerDirs: string[]): Promise<string[]> {
  const linkDir = path.join(root, 'l');
  // Synchronous: after the first start of an image this is one readlink per layer.
  fs.mkdirSync(linkDir, { recursive: true, mode: 0o700 });
  return layerDirs.map((dir) => {
    const link = path.join(linkDir, shortLayerName(dir));
    let current: string | undefined;
    try {
      current = fs.readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current !== dir) {
      const tmp = `${link}.tmp-${randomId().slice(0, 8)}`;
      fs.symlinkSync(dir, tmp);
      fs.renameSync(tmp, link);
    }
    return path.relative(root, link);
  });
}

/** The link name of a layer directory (named by its 64-hex diff id). */
export function shortLayerName(layerDir: string): string {
  return path.basename(layerDir).slice(0, 12);
}

/**
 * The image layers top first, under the image's init layer (initLayerPath, made by prepareInitLayer). A
 * single lowerdir needs no upper to be mountable, but a container always writes.
 *
 * volatile: the overlay skips every sync of the upper dir, the container's fsync and syncfs and the sync of the
 * whole disk its unmount makes (about 1 ms of a `run --rm`, bench/README.md). For an upper dir that goes with
 * its container and need not outlive a crash: an auto-remove container's, as podman run --rm and CRI-O mount
 * theirs. The kernel then marks the work dir (volatileMarkPath) and mounts it again only once the mark is gone.
 */
export function overlayMount(p: OverlayPaths, init: string, imageLayers: string[], volatile = false): MountOptions {
  const lowerdirs = [init, ...imageLayers];
  for (const dir of lowerdirs) {
    // overlayfs splits its options on "," and lowerdir lists on ":"; our paths never contain them.
    if (/[,:]/.test(dir)) throw new Error(`layer path ${dir} contains "," or ":"`);
  }
  return {
    source: 'overlay',
    target: p.merged,
    fstype: 'overlay',
    flags: [],
    // The upper dir must be a plain layer for diff, sizes and commit to read: no renamed directories
    // that point into a lower layer (redirect_dir) and no copied-up files without their data (metacopy),
    // whatever the kernel's defaults (Documentation/filesystems/overlayfs.rst).
    data: `lowerdir=${lowerdirs.join(':')},upperdir=${p.upper},workdir=${p.work},redirect_dir=off,metacopy=off${volatile ? ',volatile' : ''}`,
  };
}

/**
 * What a volatile mount leaves in its work dir (work/incompat/volatile), which makes overlayfs refuse any
 * later mount of it ("incompat feature"). Berth mounts a container's overlay again only after its own
 * unmount (an exited auto-remove container that a copy mounts, a start that failed and is tried again): the
 * mark goes first. After a crash none is mounted again: recovery removes an auto-remove container that is not
 * running (recovery.ts), and a left standby is discarded.
 */
export function volatileMarkPath(p: OverlayPaths): string {
  return path.join(p.work, 'work', 'incompat');
}

/**
 * Is target (a container's merged dir) a mount point? A mount has a device of its own, and ours are
 * overlays, never binds from the same filesystem. Two stats instead of reading mountinfo, which grows
 * with every running container.
 */
export function isMounted(target: string): boolean {
  try {
    return fs.statSync(target).dev !== fs.statSync(path.dirname(target)).dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// Pre-populating an empty volume from the image (the seed's createVolumes, Docker's copyExistingContents and
// copyOwnership): the image's files at the mount path are copied in with their owners, modes and times, and
// the volume's root takes the owner and mode of the image's directory.
import { constants, type Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DeviceSpec } from '../native';

export type Mknod = (path: string, spec: DeviceSpec) => void;

/**
 * Copies directory `src` into the volume directory `data` through `scratch` (a fresh directory beside
 * `data` that no container sees): the tree is built there, then each top entry is renamed into `data`.
 * A container already using `data` (a shared named volume) can swap a symlink into it at any time, but a
 * rename never follows one, so nothing is ever written outside. Entries that appeared in `data` meanwhile
 * are left alone.
 */
export async function fillVolume(src: string, data: string, scratch: string, mknod: Mknod): Promise<void> {
  const top = await fsp.lstat(src);
  if (!top.isDirectory()) return;
  await fsp.mkdir(scratch, { mode: 0o700 });
  try {
    const links = new Map<string, string>();
    for (const entry of await fsp.readdir(src)) await copyEntry(path.join(src, entry), path.join(scratch, entry), links, mknod);
    for (const entry of await fsp.readdir(scratch)) {
      if (await exists(path.join(data, entry))) continue;
      await fsp.rename(path.join(scratch, entry), path.join(data, entry));
    }
    // The volume's root as the image's directory: a non-root user of the image can write where it could.
    await fsp.chown(data, top.uid, top.gid);
    await fsp.chmod(data, top.mode & 0o7777);
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}

/** One entry, never following a symlink: src is lstat'ed and symlinks are copied as symlinks. */
async function copyEntry(src: string, dst: string, links: Map<string, string>, mknod: Mknod): Promise<void> {
  const st = await fsp.lstat(src);
  const inode = `${st.dev}:${st.ino}`;
  if (!st.isDirectory() && st.nlink > 1) {
    const first = links.get(inode);
    if (first) { await fsp.link(first, dst); return; }
    links.set(inode, dst);
  }
  if (st.isDirectory()) {
    await fsp.mkdir(dst, { mode: 0o700 });
    for (const entry of await fsp.readdir(src)) await copyEntry(path.join(src, entry), path.join(dst, entry), links, mknod);
  } else if (st.isFile()) {
    await fsp.copyFile(src, dst, constants.COPYFILE_EXCL);
  } else if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dst);
    await fsp.lchown(dst, st.uid, st.gid);
    await fsp.lutimes(dst, st.atime, st.mtime);
    return;
  } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : 'p';
    mknod(dst, { type, major: major(st), minor: minor(st), mode: st.mode & 0o7777 });
  } else {
    return; // a socket: meaningless without the process that listened on it (tar skips them too)
  }
  await keepMetadata(dst, st);
}

/** Owner first: chown(2) clears set-id bits, so the mode goes on after it; times last. */
async function keepMetadata(dst: string, st: Stats): Promise<void> {
  await fsp.lchown(dst, st.uid, st.gid);
  await fsp.chmod(dst, st.mode & 0o7777);
  await fsp.utimes(dst, st.atime, st.mtime);
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

/** glibc's gnu_dev_major/minor on a 64-bit dev_t. */
function major(st: Stats): number {
  const dev = BigInt(st.rdev);
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}

function minor(st: Stats): number {
  const dev = BigInt(st.rdev);
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}

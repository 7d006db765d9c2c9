// Container sizes as Docker reports them: SizeRw is the bytes of the files in the container's upper
// dir, SizeRootFs that plus its image.
import { DirFd } from './dir-fd';

/**
 * Bytes of everything but directories under dir, each inode once (hard links count once), as
 * Docker's directory.Size: regular files and symlinks by their size; whiteouts and devices are 0.
 * Walked by fd, so a container renaming things meanwhile cannot lead it outside. 0 when dir is missing.
 */
export async function treeSize(dir: string): Promise<number> {
  let root: DirFd;
  try {
    root = await DirFd.open(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const seen = new Set<number>();
  try {
    return await sizeOf(root, seen);
  } finally {
    root.close();
  }
}

async function sizeOf(dir: DirFd, seen: Set<number>): Promise<number> {
  let total = 0;
  for (const name of await dir.names()) {
    const st = await dir.lstat(name);
    if (!st) continue;
    if (st.isDirectory()) {
      const sub = await dir.openDir(name);
      if (!sub) continue;
      try {
        total += await sizeOf(sub, seen);
      } finally {
        sub.close();
      }
      continue;
    }
    if (st.size === 0 || seen.has(st.ino)) continue;
    seen.add(st.ino);
    total += st.size;
  }
  return total;
}

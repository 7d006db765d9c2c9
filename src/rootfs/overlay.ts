// The overlay rootfs of a container: image layers as lowerdirs, its own upper/ and work/.
// Like a snapshotter it only describes the mount; the caller performs it.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { MountOptions } from '../native';

export interface OverlayPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
}

export function overlayPaths(root: string, id: string): OverlayPaths {
  const dir = path.join(root, 'overlay', id);
  return { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
}

export async function prepareOverlay(p: OverlayPaths): Promise<void> {
  await fsp.mkdir(p.dir, { recursive: true, mode: 0o700 });
  for (const d of [p.upper, p.work, p.merged]) await fsp.mkdir(d, { recursive: true, mode: 0o755 });
}

/** lowerdirs top first. A single lowerdir needs no upper to be mountable, but a container always writes. */
export function overlayMount(p: OverlayPaths, lowerdirs: string[]): MountOptions {
  for (const dir of lowerdirs) {
    // overlayfs splits its options on "," and lowerdir lists on ":"; our paths never contain them.
    if (/[,:]/.test(dir)) throw new Error(`layer path ${dir} contains "," or ":"`);
  }
  return {
    source: 'overlay',
    target: p.merged,
    fstype: 'overlay',
    flags: [],
    data: `lowerdir=${lowerdirs.join(':')},upperdir=${p.upper},workdir=${p.work}`,
  };
}

/** Is target a mount point? Read from mountinfo, so a bind of the same fs is also seen. */
export async function isMounted(target: string): Promise<boolean> {
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === target);
}

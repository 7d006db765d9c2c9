// What a container's mounts need from the volume store around its create, start and removal: filling fresh
// volumes from the image, the host side of each mount when it starts, and rm -v.
import fsp from 'node:fs/promises';
import { EngineError } from '../errors';
import type { ContainerRecord, MountRecord } from '../containers/model';
import type { UserMount } from '../runtime/mounts';
import { log } from '../util/logger';
import { fillVolume, type Mknod } from './fill';
import { resolveInScope } from './scope';
import type { VolumeStore } from './store';

/**
 * Copies the image's content at each destination into its volume when the volume is empty. rootfs is the
 * container's freshly mounted rootfs: nothing runs in it, so resolving symlinks in it by path is safe.
 */
export async function fillFromImage(rootfs: string, fill: { name: string; destination: string }[], volumes: VolumeStore, mknod: Mknod): Promise<void> {
  for (const f of fill) {
    if (!(await volumes.isEmpty(f.name))) continue;
    const src = await resolveInScope(rootfs, f.destination);
    const isDir = await fsp.lstat(src).then((st) => st.isDirectory(), () => false);
    if (!isDir) continue; // nothing there in the image (or a file, which a directory cannot take)
    await fillVolume(src, volumes.dataPath(f.name), volumes.scratchPath(f.name), mknod);
  }
}

/**
 * The host side of each mount at start. A volume removed by force while this container used it is made
 * again, empty; a bind source that is gone fails the start.
 */
export async function startMounts(mounts: MountRecord[], volumes: VolumeStore): Promise<UserMount[]> {
  const out: UserMount[] = [];
  for (const m of mounts) {
    let source = m.source;
    if (m.type === 'volume') {
      if (!volumes.get(m.name)) await volumes.create({ name: m.name });
      source = volumes.dataPath(m.name);
    }
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(source)).isDirectory();
    } catch (err) {
      throw new EngineError('NotFound', `mount ${m.destination}: source ${source} does not exist`, { cause: err });
    }
    out.push({ source, destination: m.destination, rw: m.rw, kind: isDir ? 'dir' : 'file' });
  }
  return out;
}

/** docker rm -v, once the container is gone: its anonymous volumes, unless another container mounts them too. */
export async function removeAnonymousVolumes(c: ContainerRecord, volumes: VolumeStore, inUse: (name: string) => boolean, removed: (name: string) => void): Promise<void> {
  for (const m of c.hostConfig.mounts ?? []) {
    if (m.type !== 'volume' || !volumes.get(m.name)?.anonymous) continue;
    if (inUse(m.name) || volumes.isClaimed(m.name)) continue;
    try {
      await volumes.remove(m.name);
      removed(m.name);
    } catch (err) {
      // The container is gone already; a volume left behind is prunable.
      log.warn('removing an anonymous volume failed', { id: c.id, volume: m.name, error: String(err) });
    }
  }
}

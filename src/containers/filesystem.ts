// A container's filesystem as clients see it: changes (docker diff), sizes, export, and copies out
// and in (docker cp). Diff and sizes read the overlay's directories; the rest works through an fd on
// the root of the mounted rootfs (a stopped container's is mounted for the time).
import { constants } from 'node:fs';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { copyInto, type CopyInOptions } from '../archive/copy-in';
import { TreePacker } from '../archive/pack';
import { EngineError, invalidArgument } from '../errors';
import { containerChanges, overlayOpaqueCheck, type Change } from '../rootfs/changes';
import { containerPath, copySource, type PathStatInfo } from '../rootfs/copy-source';
import { DirFd } from '../rootfs/dir-fd';
import { initLayerPath, overlayPaths } from '../rootfs/overlay';
import { treeSize } from '../rootfs/size';
import { ContainerCore } from './core';
import { isActive, type ContainerRecord, type MountRecord } from './model';
import { randomId } from '../util/ids';

const openFd = promisify(fs.open);

export interface ContainerSizes {
  /** Bytes in the container's own layer. */
  sizeRw: number;
  /** sizeRw plus the image's. */
  sizeRootFs: number;
}

interface RootfsLease {
  rootFd: number;
  release(): Promise<void>;
}

export class ContainerFilesystem extends ContainerCore {
  /** Copies and exports using each container's rootfs right now. */
  private readonly rootfsUsers = new Map<string, number>();

  /** docker diff, sorted by path. Read from the upper dir and the layers: running or not, nothing is mounted. */
  async changes(ref: string): Promise<Change[]> {
    const c = this.find(ref);
    const p = overlayPaths(this.root, c.id);
    const image = this.images.resolve(c.image);
    return containerChanges(p.upper, [initLayerPath(this.root, image.id), ...this.images.layerPaths(image)], overlayOpaqueCheck((file, name) => this.native.getXattr(file, name)));
  }

  /** As Docker's GetSize: the files of the upper dir (each inode once), and that plus the image. */
  async sizes(c: ContainerRecord): Promise<ContainerSizes> {
    const sizeRw = await treeSize(overlayPaths(this.root, c.id).upper);
    let imageBytes = 0;
    try {
      imageBytes = this.images.resolve(c.image).sizeBytes;
    } catch {
      // An image cannot be removed while a container uses it; if it is gone anyway, count what is left.
    }
    return { sizeRw, sizeRootFs: sizeRw + imageBytes };
  }

  /** docker export: the merged filesystem as a tar, produced as it is read. */
  async *export(ref: string): AsyncGenerator<Buffer> {
    const c = this.find(ref);
    const lease = await this.openRootfs(c);
    const root = new DirFd(lease.rootFd, `rootfs of container ${c.id}`);
    try {
      this.emit(c, 'export');
      const packer = new TreePacker();
      yield* packer.directory(root, undefined);
      yield packer.end();
    } finally {
      await lease.release();
    }
  }

  /**
   * docker cp out: the path's stat, then its tar (rootfs/copy-source.ts). Resolved in the container's
   * root, so no symlink in it reaches the host.
   */
  async *copyFrom(ref: string, containerPath: string): AsyncGenerator<PathStatInfo | Buffer> {
    const c = this.find(ref);
    const lease = await this.openCopyView(c);
    try {
      let first = true;
      for await (const part of copySource(this.native, lease.rootFd, containerPath)) {
        if (first) this.emit(c, 'archive-path');
        first = false;
        yield part;
      }
    } finally {
      await lease.release();
    }
  }

  /** docker cp in: the tar unpacked into `dest`, an existing directory of the container (archive/copy-in.ts). */
  async copyTo(ref: string, dest: string, source: AsyncIterable<Uint8Array>, opts: CopyInOptions): Promise<void> {
    containerPath(dest, 'header.path');
    const c = this.find(ref, 'header.container_id');
    const abs = path.posix.join('/', dest);
    const lease = await this.openCopyView(c);
    try {
      let fd: number;
      try {
        fd = this.native.openAt(lease.rootFd, abs, { resolve: 'in-root', followLast: true });
      } catch (err) {
        const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code === 'ENOENT') throw new EngineError('NotFound', `path ${JSON.stringify(dest)}: no such directory in container ${c.id}`, { cause: err });
        if (code === 'ENOTDIR') throw invalidArgument('header.path', dest, 'a parent is not a directory');
        throw err;
      }
      const isDir = fs.fstatSync(fd).isDirectory();
      fs.closeSync(fd);
      if (!isDir) throw invalidArgument('header.path', dest, 'not a directory in the container: copy into the directory that holds it');
      // The tar waits in the data root, not in memory, until it is known to be good.
      await copyInto(this.native, lease.rootFd, abs, source, opts, path.join(this.root, 'tmp'));
      this.emit(c, 'extract-to-dir');
    } finally {
      await lease.release();
    }
  }

  /**
   * The rootfs as the container sees it, volumes and binds included (docker cp reaches into them; export
   * does not): a bind of the mounted rootfs in the data root, private to this copy, with each mount placed
   * on its destination as opened inside that root (no symlink in the image can move it). Unmounted,
   * with everything on it, at release.
   */
  private async openCopyView(c: ContainerRecord): Promise<RootfsLease> {
    const lease = await this.openRootfs(c);
    const mounts = c.hostConfig.mounts ?? [];
    if (mounts.length === 0) return lease;
    const view = path.join(this.root, 'tmp', `view-${randomId().slice(0, 16)}`);
    let viewFd = -1;
    try {
      await fsp.mkdir(view, { recursive: true, mode: 0o700 });
      this.native.mount({ source: `/proc/self/fd/${lease.rootFd}`, target: view, fstype: '', flags: ['bind'], data: '' });
      this.native.mount({ source: '', target: view, fstype: '', flags: ['private'], data: '' });
      viewFd = fs.openSync(view, constants.O_RDONLY | constants.O_DIRECTORY);
      for (const m of [...mounts].sort((a, b) => a.destination.split('/').length - b.destination.split('/').length)) {
        this.mountInView(viewFd, m);
      }
    } catch (err) {
      if (viewFd >= 0) fs.closeSync(viewFd);
      await this.dropView(view);
      await lease.release();
      throw err;
    }
    return {
      rootFd: viewFd,
      release: async () => {
        fs.closeSync(viewFd);
        await this.dropView(view);
        await lease.release();
      },
    };
  }

  /** One volume or bind onto its destination in the view; a destination the container never made is left out. */
  private mountInView(viewFd: number, m: MountRecord): void {
    const open = () => this.native.openAt(viewFd, m.destination, { resolve: 'in-root', followLast: true });
    let fd: number;
    try {
      fd = open();
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return;
      throw err;
    }
    try {
      this.native.mount({ source: m.source, target: `/proc/self/fd/${fd}`, fstype: '', flags: ['bind'], data: '' });
    } finally {
      fs.closeSync(fd);
    }
    if (m.rw) return;
    // The remount must name the new mount, so the destination is opened again now that it is there.
    const top = open();
    try {
      this.native.mount({ source: '', target: `/proc/self/fd/${top}`, fstype: '', flags: ['bind', 'remount', 'ro'], data: '' });
    } finally {
      fs.closeSync(top);
    }
  }

  private async dropView(view: string): Promise<void> {
    try {
      this.native.unmount(view, { detach: true });
    } catch {
      // never mounted
    }
    await fsp.rmdir(view).catch(() => undefined); // never made, or already gone
  }

  /**
   * An fd on the root of the container's mounted rootfs. A stopped container's rootfs is mounted for
   * the time, under its lock (a start meanwhile finds it mounted and uses it), and unmounted on
   * release unless the container runs by then or another copy still uses it. If the container exits
   * meanwhile its rootfs is detached (MNT_DETACH), and the fd keeps it usable until release.
   */
  private async openRootfs(c: ContainerRecord): Promise<RootfsLease> {
    let rootFd = -1;
    await this.withLock(c.id, async () => {
      if (!this.containers.has(c.id)) throw new EngineError('NotFound', `container ${c.id}: not found`);
      const merged = await this.mountRootfs(c);
      rootFd = await openFd(merged, constants.O_RDONLY | constants.O_DIRECTORY);
      this.rootfsUsers.set(c.id, (this.rootfsUsers.get(c.id) ?? 0) + 1);
    });
    let released = false;
    return {
      rootFd,
      release: async () => {
        if (released) return;
        released = true;
        fs.closeSync(rootFd);
        await this.withLock(c.id, async () => {
          const users = (this.rootfsUsers.get(c.id) ?? 1) - 1;
          if (users > 0) {
            this.rootfsUsers.set(c.id, users);
            return;
          }
          this.rootfsUsers.delete(c.id);
          if (this.containers.has(c.id) && !isActive(c.state.status)) await this.unmountRootfs(c.id);
        });
      },
    };
  }
}

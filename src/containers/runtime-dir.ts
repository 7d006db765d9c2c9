// <root>/run: a tmpfs for the files a container needs only while it runs, written again at each start:
// its /etc/hostname, /etc/hosts and /etc/resolv.conf (as podman keeps them under its runroot), its
// spec.json and its monitor's socket (the monitor runs in <root>/run/<id>). On this
// machine's ext4 without a journal, every file created scans the inodes freed in the last 5-10 seconds:
// these three on the disk made a `run --rm` 0.8-2.5 ms slower and 20 at once 5-13% slower (bench/README.md,
// the sixth round). A reboot empties the tmpfs, and stops every container anyway; a restarted berthd finds
// the mount where it left it, with what its running containers use.
import fs from 'node:fs';
import path from 'node:path';
import type { MountOptions } from '../native';
import { isMounted } from '../rootfs/overlay';
import { log } from '../util/logger';

export class RuntimeDir {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'run');
  }

  /**
   * Mounts the tmpfs unless it is mounted already, and removes what no container of `keep` owns (left by a
   * crash in the middle of a removal). A refused mount leaves a plain directory: slower, not wrong.
   */
  open(mount: (opts: MountOptions) => void, keep: ReadonlySet<string>): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (!isMounted(this.dir)) {
      try {
        mount({ source: 'tmpfs', target: this.dir, fstype: 'tmpfs', flags: ['nosuid', 'nodev', 'noexec'], data: 'mode=0700' });
      } catch (err) {
        log.warn('no tmpfs for the containers\' runtime files; they stay on the data root\'s filesystem', { dir: this.dir, error: String(err) });
      }
    }
    for (const entry of fs.readdirSync(this.dir)) if (!keep.has(entry)) this.remove(entry);
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** Makes the container's directory if it is missing (its first start, or the first after a reboot). */
  make(id: string): void {
    fs.mkdirSync(this.containerDir(id), { recursive: true, mode: 0o700 });
  }

  /** On the event loop: a few files on a tmpfs. */
  remove(id: string): void {
    fs.rmSync(this.containerDir(id), { recursive: true, force: true });
  }
}

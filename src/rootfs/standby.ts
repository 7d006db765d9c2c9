// A container's overlay made ahead. Mounting the overlay was about 0.9 ms of a `run --rm true` (1.2 ms after
// an idle moment), all of it on the start's path. Once two starts in a row used the same image, the next one's
// overlay is made and mounted under a name of its own (overlay/standby-<hex>) after the start, once berthd has
// been quiet for a moment, and the first start of a new container of that image renames it into its own place
// (overlay/<id>): a rename of the directory above the mount point, which the mount follows. The overlay is the
// same one the start would have mounted (same layers, same options, an empty upper dir); only its directory's
// name changes.
import fs from 'node:fs';
import type { MountOptions } from '../native';
import { msSinceActivity } from '../util/activity';
import { randomId } from '../util/ids';
import { log } from '../util/logger';
import { overlayPaths, overlaysDir, type OverlayPaths } from './overlay';

const PREFIX = 'standby-';
/** How long berthd is quiet before a standby is made. */
export const QUIET_MS = 10;

export interface StandbyOps {
  /** Makes the directories and mounts the overlay (one trip through the pool). */
  mount(paths: OverlayPaths, mount: MountOptions): Promise<void>;
  /** Unmounts it (detached) and sends its directory to the trash. */
  discard(paths: OverlayPaths): Promise<void>;
}

export class RootfsStandby {
  private ready: { key: string; paths: OverlayPaths } | undefined;
  /** From the start's launch until the standby is ready or given up: one at a time. */
  private making: Promise<void> | undefined;
  /** The mount itself, while it runs: what drop waits for. */
  private mounting: Promise<void> | undefined;
  /** Counts drops: a standby planned before one is not made after it. */
  private drops = 0;
  private lastKey: string | undefined;
  private stopped = false;

  /** sinceActivity: ms since a call began or output went out (util/activity.ts). */
  constructor(private readonly root: string, private readonly ops: StandbyOps, private readonly sinceActivity = msSinceActivity) {}

  /**
   * Moves the standby made for `key` (what the overlay is made of) to `paths`, a container's overlay that
   * does not exist yet; false when there is no such standby, or the container's directory is there already.
   */
  take(key: string, paths: OverlayPaths): boolean {
    const standby = this.ready;
    if (!standby || standby.key !== key) return false;
    try {
      // rename(2) refuses a directory that exists and is not empty (ENOTEMPTY, EEXIST): the start mounts.
      fs.renameSync(standby.paths.dir, paths.dir);
    } catch {
      return false;
    }
    this.ready = undefined;
    return true;
  }

  /**
   * A start with the overlay of `key` is under way. After two in a row of the same key, a standby for it is
   * made, if there is none, once `launched` has settled and berthd has been quiet for QUIET_MS: on two cores
   * its mount slowed whatever ran beside it, so it takes a moment nobody waits in. Starts that follow each
   * other closely find none and mount their own. `mountFor` gives the mount for a directory. One is made at a
   * time, and a standby of another key is discarded first.
   */
  started(key: string, mountFor: (paths: OverlayPaths) => MountOptions, launched: Promise<void>): void {
    const twice = this.lastKey === key;
    this.lastKey = key;
    if (!twice || this.stopped || this.making || this.ready?.key === key) return;
    const drops = this.drops;
    this.making = launched.then(() => this.quiet()).then(() => {
      if (this.drops === drops) return this.make(key, mountFor);
    }).catch((err) => {
      log.warn('making a standby rootfs failed', { error: String(err) });
    }).finally(() => { this.making = undefined; });
  }

  /** Resolves once no call has begun and no output gone out for QUIET_MS, or at once when stopped. */
  private quiet(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const since = this.sinceActivity();
        if (since >= QUIET_MS || this.stopped) resolve();
        else setTimeout(check, QUIET_MS - since).unref();
      };
      check();
    });
  }

  private async make(key: string, mountFor: (paths: OverlayPaths) => MountOptions): Promise<void> {
    const old = this.ready;
    this.ready = undefined;
    const paths = overlayPaths(this.root, `${PREFIX}${randomId().slice(0, 16)}`);
    const drops = this.drops;
    const mounting = (async () => {
      if (old) await this.ops.discard(old.paths);
      try {
        await this.ops.mount(paths, mountFor(paths));
      } catch (err) {
        await this.ops.discard(paths).catch(() => undefined);
        throw err;
      }
      // Dropped meanwhile (an image's removal, the stop): it goes at once, before drop returns.
      if (this.drops !== drops) await this.ops.discard(paths);
      else this.ready = { key, paths };
    })();
    this.mounting = mounting.catch(() => undefined);
    try {
      await mounting;
    } finally {
      this.mounting = undefined;
    }
  }

  /** At berthd's start, before any: discards what a daemon that stopped abruptly left. */
  async discardLeft(): Promise<void> {
    for (const paths of leftStandbys(this.root)) await this.ops.discard(paths);
  }

  /**
   * Discards the standby, after a mount of one under way (one only planned is not made); `stop` (berthd's
   * shutdown) makes no more. An image's removal calls it too: its layers must not be held by a mount.
   */
  async drop(stop = false): Promise<void> {
    if (stop) this.stopped = true;
    this.drops++;
    this.lastKey = undefined;
    // A mount under way ends with a discard of its own (make sees the drop); wait for it, not for a start.
    await this.mounting;
    const standby = this.ready;
    this.ready = undefined;
    if (standby) await this.ops.discard(standby.paths);
  }
}

/** The standbys a daemon left (it stopped abruptly, or crashed). */
export function leftStandbys(root: string): OverlayPaths[] {
  let names: string[];
  try {
    names = fs.readdirSync(overlaysDir(root));
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(PREFIX)).map((n) => overlayPaths(root, n));
}

/** What an overlay is made of, as the standby's key: its mount options without its own directories. */
export function standbyKey(mount: MountOptions): string {
  return mount.data.split(',').filter((o) => !o.startsWith('upperdir=') && !o.startsWith('workdir=')).join(',');
}

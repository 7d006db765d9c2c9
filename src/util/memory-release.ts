// After bulk work (an image ingest, whose tar went through buffers of 256 KiB several times over, or an attach,
// exec or logs call that carried a container's output: 512 MiB of attach left berthd at 122 MiB RSS for the 45 s
// watched, against 62 before), what berthd's heaps hold without using goes back to the system soon
// (Native.releaseMemory), not some idle seconds later when V8's memory reducer gets to it, or never for glibc's
// free pages. A release pauses the event loop for a full collection (10-25 ms), so it waits until such work has
// been quiet for a moment and no call has begun nor output gone out for as long: bulk work that ends while more
// of it goes on gets one release, after the last of it, a `pull` followed by a `run` does not find the run's
// start paused, and a long attach under way is not paused in its stream.
import { msSinceActivity } from './activity';

/** Bulk work of fewer bytes leaves too little behind to be worth a full collection. */
export const RELEASE_AFTER_BYTES = 1024 * 1024;

export class MemoryRelease {
  private timer: NodeJS.Timeout | undefined;

  /**
   * release: Native.releaseMemory; quietMs: how long after the last notice it runs, and how long before it no
   * call may have begun nor output gone out (sinceActivity tells, util/activity.ts).
   */
  constructor(private readonly release: () => void, private readonly quietMs = 200, private readonly sinceActivity = msSinceActivity) {}

  /** Bulk work of `bytes` ended: a release follows quietMs after the last notice of at least RELEASE_AFTER_BYTES. */
  ended(bytes: number): void {
    if (bytes < RELEASE_AFTER_BYTES) return;
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.arm(this.quietMs);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      const quiet = this.sinceActivity();
      if (quiet < this.quietMs) {
        this.arm(this.quietMs - quiet);
        return;
      }
      this.timer = undefined;
      this.release();
    }, ms);
    // It never keeps berthd (or a test) running.
    this.timer.unref();
  }
}

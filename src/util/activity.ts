// When berthd was last busy with a client: a call began, or a stream carried a container's output. Housekeeping
// that pauses the event loop (util/memory-release.ts) waits for a moment of neither, so that it does not land in
// the middle of a client's work, a long attach's included.
import { performance } from 'node:perf_hooks';

let lastActiveAt = -Infinity;

/** A call began (api/handlers.ts, for every kind of call), or a stream handed a client output (api/stdio.ts, Logs). */
export function clientActivity(): void {
  lastActiveAt = performance.now();
}

/** Milliseconds since a call last began or output last went out (Infinity before either). */
export function msSinceActivity(): number {
  return performance.now() - lastActiveAt;
}

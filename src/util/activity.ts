// When berthd last began to serve a call. Housekeeping that pauses the event loop (util/memory-release.ts)
// waits for a moment without new calls, so that it does not land in the middle of a client's work.
import { performance } from 'node:perf_hooks';

let lastCallAt = -Infinity;

/** A call began (api/handlers.ts, for every kind of call). */
export function callBegan(): void {
  lastCallAt = performance.now();
}

/** Milliseconds since the last call began (Infinity before the first). */
export function msSinceLastCall(): number {
  return performance.now() - lastCallAt;
}

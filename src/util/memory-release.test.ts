// MemoryRelease on fake timers: one release after bulk work goes quiet, none for small work.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRelease, RELEASE_AFTER_BYTES } from './memory-release';

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('MemoryRelease', () => {
  it('releases once, quietMs after the last of several ends of bulk work', () => {
    const release = vi.fn();
    const memory = new MemoryRelease(release, 200, () => Infinity);
    memory.ended(RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(150);
    memory.ended(5 * RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(150);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(50);
    expect(release).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('releases again after more bulk work ends later', () => {
    const release = vi.fn();
    const memory = new MemoryRelease(release, 200, () => Infinity);
    memory.ended(RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(200);
    memory.ended(RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(200);
    expect(release).toHaveBeenCalledTimes(2);
  });

  it('waits until no call has begun for quietMs', () => {
    const release = vi.fn();
    let lastCall = 0;
    const memory = new MemoryRelease(release, 200, () => Date.now() - lastCall);
    memory.ended(RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(150);
    lastCall = Date.now(); // a call began 150 ms into the wait: the release waits 200 ms from it
    vi.advanceTimersByTime(199);
    expect(release).not.toHaveBeenCalled();
    lastCall = Date.now();
    vi.advanceTimersByTime(199);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('does nothing for work of fewer bytes, nor does such work put off a release', () => {
    const release = vi.fn();
    const memory = new MemoryRelease(release, 200, () => Infinity);
    memory.ended(RELEASE_AFTER_BYTES - 1);
    memory.ended(0);
    vi.advanceTimersByTime(10_000);
    expect(release).not.toHaveBeenCalled();
    memory.ended(RELEASE_AFTER_BYTES);
    vi.advanceTimersByTime(150);
    memory.ended(100);
    vi.advanceTimersByTime(50);
    expect(release).toHaveBeenCalledTimes(1);
  });
});

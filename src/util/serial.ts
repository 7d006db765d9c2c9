// A one-at-a-time queue: read-modify-write of a shared index never interleaves.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    // The queue must go on after a failure; the caller still sees the rejection.
    this.tail = next.catch(() => undefined);
    return next;
  }
}

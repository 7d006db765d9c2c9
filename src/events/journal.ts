// The event journal (`docker events` with a memory): assigns seq and time, hands each event to live subscribers at
// once, writes batches to disk in the background, and serves "replay from seq N, then follow" with no gap and no
// duplicate, across rotation and daemon restarts.
import { EngineError, invalidArgument, wrap } from '../errors';
import { log } from '../util/logger';
import { Serial } from '../util/serial';
import type { BerthEvent, NewEvent } from './event';
import { matches, type EventFilter } from './filter';
import { JournalFiles, readReservation, writeReservation, type KeptEvents } from './journal-files';

export type JournalLogger = Pick<typeof log, 'warn' | 'error'>;

export interface JournalOptions {
  /** events.log rotates to events.log.1 before a line would take it past this; the journal keeps about twice it. */
  maxBytes?: number;
  /** Events a live subscriber may leave unread before it falls back to reading them from disk. */
  subscriberQueueLimit?: number;
  /** Where disk errors go: append never throws for them. Default: the daemon's logger. */
  logger?: JournalLogger;
}

export interface SubscribeOptions {
  /** Events with seq > sinceSeq. */
  sinceSeq?: number;
  /** Events at or after this time (ns since the epoch). */
  sinceTimeNs?: bigint;
  /** Events at or before this time; a following subscriber ends once the clock passes it. */
  untilTimeNs?: bigint;
  /** Events with seq <= untilSeq; the subscriber ends once it is reached. */
  untilSeq?: number;
  /** Without follow the stream ends with the last event that existed at subscribe(); with it, it waits for more. */
  follow: boolean;
  filter?: EventFilter;
  /** Ends the iteration (normally, with no error). */
  signal?: AbortSignal;
  /**
   * Called before the next event when rotation dropped events this subscriber still wanted: seqs after afterSeq and
   * before firstSeq are gone. Happens when sinceSeq is older than firstSeq(), or when a slow subscriber's fallback
   * to disk comes too late. Without this callback the only sign is the jump in seq.
   */
  onMissed?: (gap: { afterSeq: number; firstSeq: number }) => void;
}

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const DEFAULT_QUEUE_LIMIT = 10_000;
/**
 * Live subscribers see an event before it is on disk, so a crash could lose seqs a client has already seen. The
 * journal reserves seqs on disk ahead of use and, after a crash, goes on after the reservation: seq may jump, but
 * never repeats. A clean close() records the exact last seq, so a normal restart has no jump.
 */
const RESERVE_BLOCK = 10_000;
/** Events waiting for a disk that does not keep up; past this they still go to live subscribers but not to disk. */
const MAX_PENDING = 100_000;
/** setTimeout's largest delay; a later deadline re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Subscriber {
  readonly filter?: EventFilter;
  /** Matching events with seq >= from, read from head on. */
  queue: BerthEvent[];
  head: number;
  /** The first seq the live fan-out gives this subscriber; everything before it is read from disk. */
  from: number;
  /** The queue hit its limit: newer events are left on disk, to be read back once the queue is drained. */
  overflowed: boolean;
  wake?: () => void;
}

export class EventJournal {
  private seq: number;
  private lastTimeNs = 0n;
  private firstAppendedSeq?: number;
  private reservedSeq: number;
  private reserving = false;
  private warnedUnreserved = false;
  private pending: BerthEvent[] = [];
  private drainScheduled = false;
  private warnedDropping = false;
  private closed = false;
  private closing?: Promise<void>;
  /** Appends, syncs, snapshots and close, one at a time; a snapshot thus never sees half a rotation. */
  private readonly io = new Serial();
  /** Writes of events.seq, in order, off the event-writing path. */
  private readonly reservations = new Serial();
  private readonly subscribers = new Set<Subscriber>();

  private constructor(
    private readonly dir: string,
    private readonly files: JournalFiles,
    lastSeq: number,
    private readonly queueLimit: number,
    private readonly logger: JournalLogger,
  ) {
    this.seq = lastSeq;
    this.reservedSeq = lastSeq + RESERVE_BLOCK;
  }

  static async open(dir: string, opts: JournalOptions = {}): Promise<EventJournal> {
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const queueLimit = opts.subscriberQueueLimit ?? DEFAULT_QUEUE_LIMIT;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw invalidArgument('maxBytes', maxBytes, 'want a positive integer');
    if (!Number.isSafeInteger(queueLimit) || queueLimit <= 0) throw invalidArgument('subscriberQueueLimit', queueLimit, 'want a positive integer');
    let files: JournalFiles | undefined;
    try {
      const opened = await JournalFiles.open(dir, maxBytes);
      files = opened.files;
      const lastSeq = Math.max(opened.lastSeq, await readReservation(dir));
      await writeReservation(dir, lastSeq + RESERVE_BLOCK);
      return new EventJournal(dir, files, lastSeq, queueLimit, opts.logger ?? log);
    } catch (err) {
      await files?.close().catch(() => undefined); // the open error is the one to report
      throw wrap(err, `open event journal ${dir}`);
    }
  }

  /** The oldest seq still kept; lastSeq() + 1 when there is none. */
  firstSeq(): number {
    return this.files.firstSeq() ?? this.firstAppendedSeq ?? this.seq + 1;
  }

  /** The newest seq handed out; 0 when there has been none. */
  lastSeq(): number {
    return this.seq;
  }

  /** Assigns seq and time and notifies live subscribers now; the write to disk follows in the background. */
  append(input: NewEvent): BerthEvent {
    if (this.closed) throw new EngineError('Unavailable', `event journal ${this.dir}: closed`);
    const e: BerthEvent = Object.freeze({
      seq: ++this.seq,
      timeNs: this.nextTimeNs(),
      type: input.type,
      action: input.action,
      actorId: input.actorId,
      attributes: Object.freeze({ ...input.attributes }),
    });
    this.firstAppendedSeq ??= e.seq;
    for (const sub of this.subscribers) offer(sub, e, this.queueLimit);
    this.persist(e);
    this.reserveAhead();
    return e;
  }

  /** Resolves once every event appended so far is written and fdatasync'ed. Disk errors are logged, not thrown. */
  async flush(): Promise<void> {
    await this.io.run(async () => {
      await this.writePending();
      await this.files.sync().catch((err) => this.logger.error('event journal: fdatasync failed', { dir: this.dir, error: String(err) }));
    });
  }

  /**
   * Replays kept events, then (with follow) the live ones, each exactly once and in seq order. With neither a since
   * nor an until it starts at the next event, like `docker events`; with any of them it replays from the oldest kept
   * event that fits. The position is fixed here; the live fan-out starts at the first next(), and whatever was
   * appended in between is read from disk. Invalid options throw InvalidArgument here, not in the iteration.
   */
  subscribe(opts: SubscribeOptions): AsyncIterable<BerthEvent> {
    if (this.closed) throw new EngineError('Unavailable', `event journal ${this.dir}: closed`);
    for (const field of ['sinceSeq', 'untilSeq'] as const) {
      const v = opts[field];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw invalidArgument(field, v, 'want a non-negative integer');
    }
    for (const field of ['sinceTimeNs', 'untilTimeNs'] as const) {
      const v = opts[field];
      if (v !== undefined && (typeof v !== 'bigint' || v < 0n)) throw invalidArgument(field, String(v), 'want a non-negative bigint');
    }
    // Every seq a client can hold is <= lastSeq(), even after a crash (see RESERVE_BLOCK): a larger one comes from
    // another journal, and waiting for the seq to catch up would hide every event until then.
    if (opts.sinceSeq !== undefined && opts.sinceSeq > this.seq) {
      throw invalidArgument('sinceSeq', opts.sinceSeq, `beyond the last event ${this.seq}; was the event journal reset?`);
    }
    const replay = opts.sinceSeq !== undefined || opts.sinceTimeNs !== undefined || opts.untilTimeNs !== undefined || opts.untilSeq !== undefined;
    const afterSeq = opts.sinceSeq ?? (replay ? 0 : this.seq);
    const endSeq = Math.min(opts.untilSeq ?? Infinity, opts.follow ? Infinity : this.seq);
    return this.stream(opts, afterSeq, endSeq);
  }

  /** Writes what is pending, ends every subscription, and records the last seq so a restart goes on from it. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const sub of this.subscribers) sub.wake?.();
    this.closing = (async () => {
      await this.flush();
      await this.io.run(() => this.files.close()).catch((err) => this.logger.error('event journal: close failed', { dir: this.dir, error: String(err) }));
      await this.reservations
        .run(() => writeReservation(this.dir, this.seq))
        .catch((err) => this.logger.error('event journal: recording the last seq failed; the next seq will jump', { dir: this.dir, error: String(err) }));
    })();
    return this.closing;
  }

  private async *stream(o: SubscribeOptions, afterSeq: number, endSeq: number): AsyncGenerator<BerthEvent> {
    // Join the live fan-out first: events from `from` on are queued, everything up to it is read from disk.
    const sub: Subscriber = { filter: o.filter, queue: [], head: 0, from: this.seq + 1, overflowed: false };
    this.subscribers.add(sub);
    const wake = () => sub.wake?.();
    o.signal?.addEventListener('abort', wake);
    const deadline = o.follow && o.untilTimeNs !== undefined ? wakeAt(o.untilTimeNs, wake) : undefined;
    const stopped = () => this.closed || o.signal?.aborted === true;
    // Every event with seq <= cursor has been yielded or passed over.
    let cursor = afterSeq;
    let reportMissed = o.sinceSeq !== undefined;
    try {
      for (;;) {
        const through = Math.min(sub.from - 1, endSeq);
        if (cursor < through) {
          const kept = await this.readKept(cursor);
          try {
            if (reportMissed && kept.firstSeq !== undefined && cursor + 1 < kept.firstSeq) o.onMissed?.({ afterSeq: cursor, firstSeq: kept.firstSeq });
            for await (const e of kept.events) {
              if (stopped()) return;
              if (e.seq > through) break;
              if (this.wanted(e, o)) yield e;
            }
          } finally {
            await kept.events.return(undefined);
          }
          cursor = through;
        }
        if (!o.follow || cursor >= endSeq) return;
        for (;;) {
          if (stopped()) return;
          if (sub.head < sub.queue.length) {
            const e = take(sub);
            cursor = e.seq;
            // Within a run time grows with seq, so the first live event past untilTimeNs ends the stream.
            if (e.seq > endSeq || (o.untilTimeNs !== undefined && e.timeNs > o.untilTimeNs)) return;
            if (this.wanted(e, o)) yield e;
            continue;
          }
          if (sub.overflowed) {
            // Rejoin now and read what the queue had no room for back from disk, from the cursor on.
            Object.assign(sub, { queue: [], head: 0, from: this.seq + 1, overflowed: false });
            reportMissed = true;
            break;
          }
          if (this.seq >= endSeq) return;
          if (o.untilTimeNs !== undefined && nowNs() > o.untilTimeNs) return;
          await new Promise<void>((resolve) => (sub.wake = resolve));
          sub.wake = undefined;
        }
      }
    } finally {
      this.subscribers.delete(sub);
      o.signal?.removeEventListener('abort', wake);
      deadline?.clear();
    }
  }

  private wanted(e: BerthEvent, o: SubscribeOptions): boolean {
    if (o.sinceTimeNs !== undefined && e.timeNs < o.sinceTimeNs) return false;
    if (o.untilTimeNs !== undefined && e.timeNs > o.untilTimeNs) return false;
    return o.filter === undefined || matches(e, o.filter);
  }

  /** Queued behind earlier writes, with pending events written first: the files then hold every seq appended so far. */
  private async readKept(afterSeq: number): Promise<KeptEvents> {
    try {
      return await this.io.run(async () => {
        await this.writePending();
        return this.files.snapshot(afterSeq);
      });
    } catch (err) {
      throw wrap(err, `read event journal ${this.dir}`);
    }
  }

  /** Strictly increasing within a run: the wall clock in ms, nudged by 1 ns when two events meet in one ms. */
  private nextTimeNs(): bigint {
    const now = nowNs();
    this.lastTimeNs = now > this.lastTimeNs ? now : this.lastTimeNs + 1n;
    return this.lastTimeNs;
  }

  private persist(e: BerthEvent): void {
    if (this.pending.length >= MAX_PENDING) {
      if (!this.warnedDropping) this.logger.error('event journal: disk is not keeping up; events go to live subscribers only', { dir: this.dir, seq: e.seq });
      this.warnedDropping = true;
      return;
    }
    this.pending.push(e);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // One write per turn of the event loop, whatever the number of events appended in it.
    setImmediate(() => {
      void this.io.run(() => {
        this.drainScheduled = false;
        return this.writePending();
      });
    });
  }

  private async writePending(): Promise<void> {
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.files.append(batch);
      this.warnedDropping = false;
    } catch (err) {
      // Never thrown to append's callers: the events reached live subscribers; only replay will lack them.
      this.logger.error('event journal: write failed; these events are not on disk', {
        dir: this.dir,
        firstSeq: batch[0].seq,
        lastSeq: batch[batch.length - 1].seq,
        error: String(err),
      });
    }
  }

  private reserveAhead(): void {
    if (this.seq > this.reservedSeq && !this.warnedUnreserved) {
      this.warnedUnreserved = true;
      this.logger.warn('event journal: seq ran past its reservation; a crash now could repeat seqs', { dir: this.dir, seq: this.seq });
    }
    if (this.reserving || this.seq <= this.reservedSeq - RESERVE_BLOCK / 2) return;
    this.reserving = true;
    const target = this.seq + RESERVE_BLOCK;
    this.reservations
      .run(() => writeReservation(this.dir, target))
      .then(
        () => {
          this.reservedSeq = Math.max(this.reservedSeq, target);
          this.warnedUnreserved = false;
        },
        (err) => this.logger.error('event journal: reserving seqs failed', { dir: this.dir, error: String(err) }),
      )
      .finally(() => (this.reserving = false));
  }
}

function offer(sub: Subscriber, e: BerthEvent, limit: number): void {
  if (sub.overflowed) return;
  if (sub.filter && !matches(e, sub.filter)) return;
  if (sub.queue.length - sub.head >= limit) sub.overflowed = true;
  else sub.queue.push(e);
  sub.wake?.();
}

function take(sub: Subscriber): BerthEvent {
  const e = sub.queue[sub.head++];
  // Drop the consumed prefix now and then, so the array does not keep every event it ever held.
  if (sub.head >= 1024 && sub.head * 2 >= sub.queue.length) {
    sub.queue = sub.queue.slice(sub.head);
    sub.head = 0;
  }
  return e;
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Calls wake once the wall clock passes timeNs (and spuriously before, for deadlines beyond setTimeout's range). */
function wakeAt(timeNs: bigint, wake: () => void): { clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const ms = Number((timeNs - nowNs()) / 1_000_000n) + 1;
    if (ms <= 0) return;
    timer = setTimeout(() => {
      arm();
      wake();
    }, Math.min(ms, MAX_TIMER_MS));
    // A subscriber waiting for a deadline must not keep the process alive by itself.
    timer.unref();
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}

// EventJournal on a real temp dir: seq across restarts, rotation, torn lines, replay-then-follow, slow subscribers.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BerthEvent, NewEvent } from './event';
import { parseFilters } from './filter';
import { EventJournal, type JournalOptions, type SubscribeOptions } from './journal';

let dir: string;
let opened: EventJournal[];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-events-'));
  opened = [];
});
afterEach(async () => {
  for (const j of opened) await j.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function open(opts?: JournalOptions): Promise<EventJournal> {
  const j = await EventJournal.open(dir, opts);
  opened.push(j);
  return j;
}

function ev(action: string, over: Partial<NewEvent> = {}): NewEvent {
  return { type: 'container', action, actorId: 'c1'.padEnd(64, '0'), attributes: { name: 'web' }, ...over };
}

function appendMany(j: EventJournal, n: number, over: Partial<NewEvent> = {}): BerthEvent[] {
  return Array.from({ length: n }, (_, i) => j.append(ev(`a${i}`, over)));
}

async function collect(iterable: AsyncIterable<BerthEvent>, stopAtSeq = Infinity): Promise<BerthEvent[]> {
  const out: BerthEvent[] = [];
  for await (const e of iterable) {
    out.push(e);
    if (e.seq >= stopAtSeq) break;
  }
  return out;
}

const seqs = (events: BerthEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const replayAll = (j: EventJournal, more: Partial<SubscribeOptions> = {}) => collect(j.subscribe({ sinceSeq: 0, follow: false, ...more }));

describe('EventJournal: seq and persistence', () => {
  it('numbers events 1, 2, 3 and stamps strictly increasing times', async () => {
    const j = await open();
    const got = appendMany(j, 3);
    expect(seqs(got)).toEqual([1, 2, 3]);
    expect(got[0].timeNs < got[1].timeNs && got[1].timeNs < got[2].timeNs).toBe(true);
    expect(Math.abs(Number(got[0].timeNs / 1_000_000n) - Date.now())).toBeLessThan(5_000);
    expect(j.firstSeq()).toBe(1);
    expect(j.lastSeq()).toBe(3);
  });

  it('goes on after the last seq when reopened, and replays what the last run wrote', async () => {
    const first = await open();
    first.append(ev('create', { attributes: { name: 'web', exitCode: '0' } }));
    first.append(ev('start'));
    await first.close();
    const second = await open();
    expect(second.lastSeq()).toBe(2);
    expect(second.append(ev('die')).seq).toBe(3);
    const all = await replayAll(second);
    expect(all.map((e) => [e.seq, e.action])).toEqual([[1, 'create'], [2, 'start'], [3, 'die']]);
    expect(all[0].attributes).toEqual({ name: 'web', exitCode: '0' });
    expect(typeof all[0].timeNs).toBe('bigint');
  });

  it('never repeats a seq after a crash, even one that was only seen live', async () => {
    const crashed = await open();
    appendMany(crashed, 3);
    await crashed.flush();
    const unflushed = crashed.append(ev('start')); // delivered live; a crash now loses it from disk
    const restarted = await EventJournal.open(dir); // as after a crash: the first journal never closed
    opened.unshift(restarted);
    expect(restarted.append(ev('start')).seq).toBeGreaterThan(unflushed.seq);
  });

  it('writes the journal as JSON lines, seq first and time as a decimal string', async () => {
    const j = await open();
    const e = j.append(ev('start'));
    await j.flush();
    const text = await fs.readFile(path.join(dir, 'events.log'), 'utf8');
    expect(text).toBe(`${JSON.stringify({ seq: 1, timeNs: e.timeNs.toString(), type: 'container', action: 'start', actorId: e.actorId, attributes: { name: 'web' } })}\n`);
  });

  it('ignores a torn last line and starts the next append on a new line', async () => {
    const line = (seq: number) => JSON.stringify({ seq, timeNs: `${seq}000`, type: 'container', action: 'start', actorId: 'c', attributes: {} });
    await fs.writeFile(path.join(dir, 'events.log'), `${line(1)}\n${line(2)}\n{"seq":3,"timeNs":"30`);
    const j = await open();
    expect(j.lastSeq()).toBe(2);
    expect(j.append(ev('die')).seq).toBe(3);
    await j.flush();
    const text = await fs.readFile(path.join(dir, 'events.log'), 'utf8');
    expect(text.split('\n').slice(2, 4)).toEqual(['{"seq":3,"timeNs":"30', expect.stringMatching(/^\{"seq":3,.*"action":"die"/)]);
    expect((await replayAll(j)).map((e) => [e.seq, e.action])).toEqual([[1, 'start'], [2, 'start'], [3, 'die']]);
  });

  it('freezes events: one subscriber cannot change what another sees', async () => {
    const j = await open();
    const attributes = { name: 'web' };
    const e = j.append(ev('start', { attributes }));
    attributes.name = 'changed';
    expect(e.attributes.name).toBe('web');
    expect(Object.isFrozen(e) && Object.isFrozen(e.attributes)).toBe(true);
  });
});

describe('EventJournal: rotation', () => {
  it('keeps two files within maxBytes, drops the oldest events, and reports them missed', async () => {
    const j = await open({ maxBytes: 2_000 });
    appendMany(j, 100);
    await j.flush();
    const names = (await fs.readdir(dir)).sort();
    expect(names).toEqual(['events.log', 'events.log.1', 'events.seq']);
    for (const name of ['events.log', 'events.log.1']) expect((await fs.stat(path.join(dir, name))).size).toBeLessThanOrEqual(2_000);
    const first = j.firstSeq();
    expect(first).toBeGreaterThan(1);
    const onMissed = vi.fn();
    const kept = await collect(j.subscribe({ sinceSeq: 5, follow: false, onMissed }));
    expect(seqs(kept)).toEqual(range(first, 100));
    expect(onMissed).toHaveBeenCalledExactlyOnceWith({ afterSeq: 5, firstSeq: first });
  });

  it('reads only the newest file when the wanted seqs are all there, without reporting a gap', async () => {
    const j = await open({ maxBytes: 2_000 });
    appendMany(j, 100);
    const onMissed = vi.fn();
    expect(seqs(await collect(j.subscribe({ sinceSeq: 97, follow: false, onMissed })))).toEqual([98, 99, 100]);
    expect(onMissed).not.toHaveBeenCalled();
  });

  it('goes on after the highest seq in either file, even right after a rotation left events.log empty', async () => {
    const j = await open({ maxBytes: 2_000 });
    appendMany(j, 30);
    await j.close();
    await fs.rename(path.join(dir, 'events.log'), path.join(dir, 'events.log.1'));
    await fs.writeFile(path.join(dir, 'events.log'), '');
    await fs.rm(path.join(dir, 'events.seq')); // only the files can tell now
    const reopened = await open({ maxBytes: 2_000 });
    expect(reopened.lastSeq()).toBe(30);
    expect(reopened.append(ev('start')).seq).toBe(31);
  });
});

describe('EventJournal: subscribe', () => {
  it('replays from seq N, then follows, with events appended during the replay delivered exactly once and in order', async () => {
    const j = await open({ maxBytes: 64 * 1024 });
    appendMany(j, 2_000); // some on disk in both files, some still pending
    const stream = j.subscribe({ sinceSeq: 1_500, follow: true });
    appendMany(j, 10); // between subscribe() and the first read
    const producer = (async () => {
      for (let i = 0; i < 3_000; i++) {
        j.append(ev('tick'));
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const got: number[] = [];
    for await (const e of stream) {
      got.push(e.seq);
      if (e.seq % 100 === 0 && e.seq <= 2_000) appendMany(j, 100); // between two events of the replay from disk
      if (e.seq === 5_510) break;
    }
    await producer;
    expect(got).toEqual(range(1_501, 5_510));
  });

  it('without since or until, starts at the next event, like docker events', async () => {
    const j = await open();
    appendMany(j, 3);
    const stream = j.subscribe({ follow: true });
    j.append(ev('die'));
    expect(seqs(await collect(stream, 4))).toEqual([4]);
    expect(await collect(j.subscribe({ follow: false }))).toEqual([]);
  });

  it('without follow, ends with the last event that existed at subscribe()', async () => {
    const j = await open();
    appendMany(j, 3);
    const stream = j.subscribe({ sinceSeq: 1, follow: false });
    appendMany(j, 2);
    expect(seqs(await collect(stream))).toEqual([2, 3]);
  });

  it('selects by time: since is inclusive, until is inclusive', async () => {
    const j = await open();
    const [a, b, c] = appendMany(j, 3);
    expect(seqs(await collect(j.subscribe({ sinceTimeNs: b.timeNs, follow: false })))).toEqual([b.seq, c.seq]);
    expect(seqs(await collect(j.subscribe({ untilTimeNs: b.timeNs, follow: false })))).toEqual([a.seq, b.seq]);
    expect(seqs(await collect(j.subscribe({ sinceTimeNs: b.timeNs, untilTimeNs: b.timeNs, follow: true })))).toEqual([b.seq]);
  });

  it('follows until a future untilTimeNs passes, then ends by itself', async () => {
    const j = await open();
    const before = j.append(ev('create'));
    const untilTimeNs = BigInt(Date.now() + 300) * 1_000_000n;
    const done = collect(j.subscribe({ sinceSeq: 0, untilTimeNs, follow: true }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const during = j.append(ev('start'));
    const started = Date.now();
    expect(seqs(await done)).toEqual([before.seq, during.seq]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(BigInt(Date.now()) * 1_000_000n).toBeGreaterThan(untilTimeNs);
  });

  it('ends once untilSeq is reached, live or replayed', async () => {
    const j = await open();
    j.append(ev('create'));
    const stream = collect(j.subscribe({ sinceSeq: 0, untilSeq: 3, follow: true }));
    appendMany(j, 5);
    expect(seqs(await stream)).toEqual([1, 2, 3]);
    expect(seqs(await collect(j.subscribe({ untilSeq: 2, follow: true })))).toEqual([1, 2]);
  });

  it('applies the filter to replayed and live events alike', async () => {
    const j = await open();
    j.append(ev('die'));
    j.append(ev('die', { type: 'image', actorId: 'sha256:1', attributes: { name: 'busybox' } }));
    j.append(ev('start'));
    const stream = j.subscribe({ sinceSeq: 0, follow: true, filter: parseFilters(['type=container', 'event=die', 'event=stop']) });
    j.append(ev('stop'));
    j.append(ev('die', { attributes: { name: 'db' } }));
    expect((await collect(stream, 5)).map((e) => [e.seq, e.action])).toEqual([[1, 'die'], [4, 'stop'], [5, 'die']]);
  });

  it('ends the iteration, without an error, when the signal aborts', async () => {
    const j = await open();
    const controller = new AbortController();
    const got: BerthEvent[] = [];
    const done = (async () => {
      for await (const e of j.subscribe({ follow: true, signal: controller.signal })) got.push(e);
    })();
    j.append(ev('start'));
    await vi.waitFor(() => expect(got).toHaveLength(1));
    controller.abort();
    await done;
    j.append(ev('die'));
    expect(seqs(got)).toEqual([1]);
  });

  it('ends every follower when the journal closes, and then refuses appends and subscriptions', async () => {
    const j = await EventJournal.open(dir);
    const done = collect(j.subscribe({ follow: true }));
    j.append(ev('start'));
    await j.close();
    expect(seqs(await done).length).toBeLessThanOrEqual(1);
    expect(() => j.append(ev('die'))).toThrow(expect.objectContaining({ kind: 'Unavailable' }));
    expect(() => j.subscribe({ follow: true })).toThrow(/closed/);
  });

  it('rejects bad options with InvalidArgument at subscribe()', async () => {
    const j = await open();
    expect(() => j.subscribe({ sinceSeq: -1, follow: false })).toThrow(/sinceSeq -1/);
    expect(() => j.subscribe({ untilSeq: 1.5, follow: false })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    j.append(ev('start'));
    expect(() => j.subscribe({ sinceSeq: 2, follow: true })).toThrow(/sinceSeq 2: beyond the last event 1/);
    await expect(EventJournal.open(dir, { maxBytes: 0 })).rejects.toThrow(/maxBytes 0/);
  });
});

describe('EventJournal: slow subscribers', () => {
  it('a subscriber past its queue limit reads the rest back from disk and loses nothing', async () => {
    const j = await open({ subscriberQueueLimit: 10 });
    const stream = j.subscribe({ follow: true })[Symbol.asyncIterator]();
    j.append(ev('start'));
    expect((await stream.next()).value?.seq).toBe(1);
    appendMany(j, 1_000); // the subscriber is not reading: 10 queued, the rest left on disk
    const got: number[] = [];
    for (let r = await stream.next(); !r.done; r = await stream.next()) {
      got.push(r.value.seq);
      if (r.value.seq === 500) appendMany(j, 100); // more while it catches up
      if (r.value.seq === 1_101) break;
    }
    await stream.return?.();
    expect(got).toEqual(range(2, 1_101));
  });

  it('keeps the queue bounded while the subscriber does not read', async () => {
    const j = await open({ subscriberQueueLimit: 10 });
    const stream = j.subscribe({ follow: true })[Symbol.asyncIterator]();
    const first = stream.next();
    j.append(ev('start'));
    await first;
    appendMany(j, 5_000);
    const subscribers = (j as unknown as { subscribers: Set<{ queue: unknown[]; head: number }> }).subscribers;
    for (const sub of subscribers) expect(sub.queue.length - sub.head).toBeLessThanOrEqual(10);
    await stream.return?.();
  });

  it('a subscriber so slow that rotation dropped its events is told what it missed', async () => {
    const j = await open({ subscriberQueueLimit: 5, maxBytes: 2_000 });
    const onMissed = vi.fn();
    const stream = j.subscribe({ follow: true, onMissed })[Symbol.asyncIterator]();
    const first = stream.next();
    j.append(ev('start'));
    expect((await first).value?.seq).toBe(1);
    appendMany(j, 200); // 5 queued; the rest rotates through both files before it reads again
    const got: number[] = [];
    for (let r = await stream.next(); !r.done; r = await stream.next()) {
      got.push(r.value.seq);
      if (r.value.seq === 201) break;
    }
    await stream.return?.();
    const firstKept = j.firstSeq();
    expect(got).toEqual([...range(2, 6), ...range(firstKept, 201)]);
    expect(onMissed).toHaveBeenCalledExactlyOnceWith({ afterSeq: 6, firstSeq: firstKept });
  });
});

describe('EventJournal: disk errors', () => {
  it('logs a failed write instead of throwing, and live subscribers still get every event', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    const j = await open({ maxBytes: 500, logger });
    const live = collect(j.subscribe({ follow: true }), 20); // iterating, so live from here on
    await fs.rm(dir, { recursive: true, force: true }); // rotation's rename now fails with ENOENT
    expect(() => appendMany(j, 20)).not.toThrow();
    await j.flush();
    expect(logger.error).toHaveBeenCalledWith('event journal: write failed; these events are not on disk', expect.objectContaining({ error: expect.stringContaining('ENOENT') }));
    expect(seqs(await live)).toEqual(range(1, 20));
  });
});

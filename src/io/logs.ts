// Reads a container's json-file log, rotated files included, oldest first. Each line is Docker's
// {"log","stream","time"} plus our "seq", which lets a reader resume with no gap and no duplicate,
// and "bin" (the exact bytes) when the output was not valid UTF-8.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { LogScan } from '../native';
import { sharedNative } from '../native/addon';
import { parseJsonLine, parseLine } from './log-line';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  time: Date;
  seq: number;
}

export interface LogFilter {
  stdout: boolean;
  stderr: boolean;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  /** Entries with a greater seq. */
  afterSeq?: number;
  /** Entries with a smaller seq (the live stream takes over from there). */
  beforeSeq?: number;
  /** Only the last N of the selected entries. */
  tail?: number;
}


/** The log and its rotated files (<log>.1 is the newest of those), oldest first. */
export function logFiles(logPath: string): string[] {
  const rotated: string[] = [];
  // One access(2) each, on the event loop (STYLE.md: quick syscalls stay synchronous).
  for (let i = 1; fs.existsSync(`${logPath}.${i}`); i++) rotated.unshift(`${logPath}.${i}`);
  return [...rotated, logPath];
}

export function matches(e: LogEntry, f: LogFilter): boolean {
  if (e.stream === 'stdout' ? !f.stdout : !f.stderr) return false;
  if (f.since && e.time < f.since) return false;
  if (f.until && e.time >= f.until) return false;
  if (f.afterSeq !== undefined && e.seq <= f.afterSeq) return false;
  if (f.beforeSeq !== undefined && e.seq >= f.beforeSeq) return false;
  return true;
}

/** Opens every file of the log at once, so a rotation while we read renames nothing out from under us. */
async function openAll(files: string[]): Promise<fsp.FileHandle[]> {
  const handles: fsp.FileHandle[] = [];
  for (const file of files) {
    try {
      handles.push(await fsp.open(file, 'r'));
    } catch (err) {
      // A container that never started has no log yet, and rotation may have just dropped a file.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return handles;
}

/**
 * A file's complete lines, a read's worth at a time (each chunk ends with "\n"), then a last piece
 * without its newline if there is one (being written, or torn by a crash). Lines are handled
 * synchronously within a chunk: one await per line would cost more than the parsing.
 */
async function* lineChunks(handle: fsp.FileHandle, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const input = handle.createReadStream({ signal, highWaterMark: 1024 * 1024, autoClose: true });
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of input) {
      const buf: Buffer = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      const end = buf.lastIndexOf(0x0a) + 1;
      rest = buf.subarray(end);
      if (end > 0) yield buf.subarray(0, end);
    }
    if (rest.length) yield rest;
  } finally {
    input.destroy();
  }
}

/** Calls visit(start, end) for each non-empty line of chunk; stops when it returns false. */
function eachLine(chunk: Buffer, visit: (start: number, end: number) => boolean): void {
  let start = 0;
  while (start < chunk.length) {
    let nl = chunk.indexOf(0x0a, start);
    if (nl < 0) nl = chunk.length;
    if (nl > start && !visit(start, nl)) return;
    start = nl + 1;
  }
}

/** The selected entries in batches (as they were read), oldest first. */
export async function* readLogBatches(logPath: string, filter: LogFilter, signal?: AbortSignal): AsyncGenerator<LogEntry[]> {
  const handles = await openAll(logFiles(logPath));
  try {
    for (const handle of handles) {
      for await (const chunk of lineChunks(handle, signal)) {
        const selected: LogEntry[] = [];
        let done = false;
        eachLine(chunk, (start, end) => {
          const e = parseLine(chunk, start, end);
          if (!e) return true; // only a torn line fails, and it carries nothing we can trust
          // Entries are in seq order: past beforeSeq there is nothing more to take (and the file may still be growing).
          if (filter.beforeSeq !== undefined && e.seq >= filter.beforeSeq) { done = true; return false; }
          if (matches(e, filter)) selected.push(e);
          return true;
        });
        if (selected.length) yield selected;
        if (done) return;
      }
    }
  } finally {
    for (const h of handles) await h.close().catch(() => undefined); // already closed by its stream
  }
}

export async function* readLog(logPath: string, filter: LogFilter, signal?: AbortSignal): AsyncGenerator<LogEntry> {
  if (filter.tail === undefined) {
    for await (const batch of readLogBatches(logPath, filter, signal)) yield* batch;
    return;
  }
  if (filter.tail <= 0) return;
  let last: LogEntry[] = [];
  for await (const batch of readLogBatches(logPath, filter, signal)) {
    last = last.concat(batch);
    if (last.length > 2 * filter.tail) last = last.slice(-filter.tail);
  }
  yield* last.slice(-filter.tail);
}

/** The seq of the newest entry in the log, 0 when there is none: a restarted container goes on from there. */
export async function lastSeq(logPath: string): Promise<number> {
  for (const file of (await logFiles(logPath)).reverse()) {
    const seq = await lastSeqIn(file);
    if (seq > 0) return seq;
  }
  return 0;
}

/**
 * Reads only the file's tail: an entry is at most 16 KiB of text, escaped at most 6x. At a container's first
 * start there is no log yet: that answer takes one stat on the event loop, not trips through libuv's pool
 * (0.7 ms of a start under load, bench/README.md).
 */
async function lastSeqIn(file: string): Promise<number> {
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size === 0) return 0;
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const window = Math.min(size, 128 * 1024);
    const buf = Buffer.alloc(window);
    await handle.read(buf, 0, window, size - window);
    for (const line of buf.toString('utf8').split('\n').reverse()) {
      const m = /"seq":(\d+)\}$/.exec(line);
      if (m) return Number(m[1]);
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Consecutive entries of one stream, joined: what an attach catch-up sends as one message. */
export interface LogRun {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface RunsRequest {
  stdout: boolean;
  stderr: boolean;
  /** Entries with a greater seq... */
  afterSeq: number;
  /** ...and a smaller one. */
  beforeSeq?: number;
  /** Called when a seq is not the one after the last (the first must be afterSeq + 1): it may throw. */
  onGap?: (expected: number, found: number) => void;
}

const RUN_BYTES = 1024 * 1024;
/** A catch-up reads as lineChunks does: a read's runs are yielded together and end with it. */
const READ_BYTES = 1024 * 1024;

/**
 * A file's lines as lineChunks gives them, read into two buffers used in turn, the next read going on
 * while the caller works on a chunk: a chunk is valid only until the next is asked for. A new buffer
 * per read cost a catch-up as much as decoding did (its pages are faulted in one by one), and waiting
 * for each read left the core the read runs on idle.
 */
async function* reusedLineChunks(handle: fsp.FileHandle, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafe(READ_BYTES);
  let spare = Buffer.allocUnsafe(READ_BYTES);
  let kept = 0; // the partial line at the front of buf
  let position = 0;
  signal?.throwIfAborted();
  let reading = handle.read(buf, 0, buf.length, 0);
  try {
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      position += bytesRead;
      const filled = kept + bytesRead;
      const end = buf.lastIndexOf(0x0a, filled - 1) + 1;
      // The partial line goes to the front of the spare buffer, and the next read after it.
      kept = filled - end;
      if (spare.length - kept < READ_BYTES / 2) spare = Buffer.allocUnsafe(kept + READ_BYTES); // a line longer than ours
      buf.copy(spare, 0, end, filled);
      signal?.throwIfAborted();
      reading = handle.read(spare, kept, spare.length - kept, position);
      if (end > 0) yield buf.subarray(0, end);
      [buf, spare] = [spare, buf];
    }
    if (kept) yield buf.subarray(0, kept);
  } finally {
    // A read left behind when the caller stops early: its bytes and any error of it concern no one.
    await reading.catch(() => undefined);
  }
}

/**
 * Turns scans into runs: Buffers of one output buffer, joined again where a scan returned in the
 * middle of a run (it ends its runs at every return).
 */
class RunJoiner {
  out = Buffer.allocUnsafe(RUN_BYTES);
  at = 0;
  private runs: LogRun[] = [];
  /** out[lastStart, lastEnd) is the last run, which the next may extend; lastEnd -1 when it may not. */
  private lastStart = 0;
  private lastEnd = -1;

  add(scan: LogScan): void {
    for (const { stream, start, end } of scan.runs) {
      const last = this.runs[this.runs.length - 1];
      if (start === this.lastEnd && last.stream === stream && end - this.lastStart <= RUN_BYTES) {
        last.data = this.out.subarray(this.lastStart, end);
      } else {
        this.runs.push({ stream, data: this.out.subarray(start, end) });
        this.lastStart = start;
      }
      this.lastEnd = end;
    }
    this.at = scan.outAt;
  }

  /** An entry JSON.parse read: a run of its own, as its bytes are elsewhere. */
  addEntry(stream: 'stdout' | 'stderr', data: Buffer): void {
    this.runs.push({ stream, data });
    this.lastEnd = -1;
  }

  /** A new output buffer: the old one (runs handed out keep it) has no room for a line. */
  renew(needBytes: number): void {
    this.out = Buffer.allocUnsafe(Math.max(RUN_BYTES, needBytes));
    this.at = 0;
    this.lastEnd = -1;
  }

  take(): LogRun[] {
    const runs = this.runs;
    this.runs = [];
    this.lastEnd = -1;
    return runs;
  }
}

/**
 * The entries in (afterSeq, beforeSeq) of the selected streams, as runs of up to 1 MiB: the catch-up
 * of an attach that fell behind, which must be faster than a container writing flat out. Yields each
 * read's runs with the last seq it covered (entries of streams not selected count too).
 *
 * The addon does the per-line work (Native.scanLogRuns); a line that is not in our monitor's shape
 * comes back here for JSON.parse. The addon is loaded on first use (sharedNative): the callers of
 * this free function have no Native to hand it.
 */
export async function* readLogRuns(logPath: string, req: RunsRequest, signal?: AbortSignal): AsyncGenerator<{ runs: LogRun[]; lastSeq: number }> {
  const handles = await openAll(logFiles(logPath));
  const native = sharedNative();
  const joiner = new RunJoiner();
  let lastSeq = req.afterSeq;
  try {
    for (const handle of handles) {
      for await (const chunk of reusedLineChunks(handle, signal)) {
        const before = lastSeq;
        let done = false;
        for (let from = 0; from < chunk.length && !done;) {
          const scan = native.scanLogRuns({
            chunk, from, out: joiner.out, outAt: joiner.at, lastSeq, afterSeq: req.afterSeq, beforeSeq: req.beforeSeq,
            stdout: req.stdout, stderr: req.stderr, maxRunBytes: RUN_BYTES,
          });
          joiner.add(scan);
          lastSeq = scan.lastSeq;
          from = scan.next;
          switch (scan.stop) {
            case 'gap':
              req.onGap?.(scan.expected, scan.found);
              break;
            case 'full':
              joiner.renew(scan.needBytes);
              break;
            case 'before':
              // Entries are in seq order: there is nothing more to take (and the file may still be growing).
              done = true;
              break;
            case 'fallback': {
              // The same steps as the addon's, for another writer's line; a torn one carries nothing we can trust.
              const e = parseJsonLine(chunk.subarray(scan.lineStart, scan.lineEnd));
              if (!e || e.seq <= req.afterSeq) break;
              if (req.beforeSeq !== undefined && e.seq >= req.beforeSeq) { done = true; break; }
              if (e.seq !== lastSeq + 1) req.onGap?.(lastSeq + 1, e.seq);
              lastSeq = e.seq;
              if (e.stream === 'stdout' ? req.stdout : req.stderr) joiner.addEntry(e.stream, e.data);
              break;
            }
          }
        }
        const runs = joiner.take();
        if (runs.length || lastSeq !== before) yield { runs, lastSeq };
        if (done) return;
      }
    }
  } finally {
    for (const h of handles) await h.close().catch(() => undefined); // a file we only read: nothing is lost
  }
}

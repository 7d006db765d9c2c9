// Reads a container's json-file log, rotated files included, oldest first. Each line is Docker's
// {"log","stream","time"} plus our "seq", which lets a reader resume with no gap and no duplicate,
// and "bin" (the exact bytes) when the output was not valid UTF-8.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { copyLineData, parseLine, scanLine, type LineShape } from './log-line';

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
export async function logFiles(logPath: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1; ; i++) {
    const file = `${logPath}.${i}`;
    if (!(await fsp.access(file).then(() => true, () => false))) break;
    rotated.unshift(file);
  }
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
  const handles = await openAll(await logFiles(logPath));
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

/** Reads only the file's tail: an entry is at most 16 KiB of text, escaped at most 6x. */
async function lastSeqIn(file: string): Promise<number> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const { size } = await handle.stat();
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

/** Builds runs in shared 1 MiB buffers, copying each line's bytes once. */
class RunJoiner {
  private out = Buffer.allocUnsafe(RUN_BYTES);
  private start = 0;
  private at = 0;
  private stream: 'stdout' | 'stderr' = 'stdout';
  runs: LogRun[] = [];

  add(chunk: Buffer, shape: LineShape): void {
    const room = shape.dataEnd - shape.dataStart; // decoded bytes are never more than encoded ones
    if (this.at > this.start && (shape.stream !== this.stream || this.at - this.start + room > RUN_BYTES)) this.end();
    if (this.at + room > this.out.length) {
      this.end();
      this.out = Buffer.allocUnsafe(Math.max(RUN_BYTES, room));
      this.start = this.at = 0;
    }
    this.stream = shape.stream;
    this.at += copyLineData(chunk, shape, this.out, this.at);
  }

  end(): void {
    if (this.at > this.start) this.runs.push({ stream: this.stream, data: this.out.subarray(this.start, this.at) });
    this.start = this.at;
  }

  take(): LogRun[] {
    const runs = this.runs;
    this.runs = [];
    return runs;
  }
}

/**
 * The entries in (afterSeq, beforeSeq) of the selected streams, as runs of up to 1 MiB: the catch-up
 * of an attach that fell behind, which must be faster than a container writing flat out. Yields each
 * read's runs with the last seq it covered (entries of streams not selected count too).
 */
export async function* readLogRuns(logPath: string, req: RunsRequest, signal?: AbortSignal): AsyncGenerator<{ runs: LogRun[]; lastSeq: number }> {
  const handles = await openAll(await logFiles(logPath));
  const joiner = new RunJoiner();
  let lastSeq = req.afterSeq;
  try {
    for (const handle of handles) {
      for await (const chunk of lineChunks(handle, signal)) {
        const before = lastSeq;
        let done = false;
        eachLine(chunk, (start, end) => {
          const shape = scanLine(chunk, start, end);
          let seq: number, stream: 'stdout' | 'stderr';
          let entry: LogEntry | undefined;
          if (shape) {
            ({ seq, stream } = shape);
          } else {
            entry = parseLine(chunk, start, end); // another writer's line; undefined if torn
            if (!entry) return true;
            ({ seq, stream } = entry);
          }
          if (seq <= req.afterSeq) return true;
          if (req.beforeSeq !== undefined && seq >= req.beforeSeq) { done = true; return false; }
          if (seq !== lastSeq + 1) req.onGap?.(lastSeq + 1, seq);
          lastSeq = seq;
          if (stream === 'stdout' ? !req.stdout : !req.stderr) return true;
          if (shape) joiner.add(chunk, shape);
          else if (entry) { joiner.end(); joiner.runs.push({ stream, data: entry.data }); }
          return true;
        });
        joiner.end();
        const runs = joiner.take();
        if (runs.length || lastSeq !== before) yield { runs, lastSeq };
        if (done) return;
      }
    }
  } finally {
    for (const h of handles) await h.close().catch(() => undefined); // already closed by its stream
  }
}

// Reads a container's json-file log, rotated files included, oldest first. Each line is Docker's
// {"log","stream","time"} plus our "seq", which lets a reader resume with no gap and no duplicate,
// and "bin" (the exact bytes) when the output was not valid UTF-8.
import fs from 'node:fs';
import fsp from 'node:fs/promises';

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

interface JsonLine {
  log: string;
  /** The exact bytes, base64, when they are not valid UTF-8 ("log" has U+FFFD in their place). */
  bin?: string;
  stream: string;
  time: string;
  seq?: number;
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

/** The file's lines as Buffers, split on "\n" (JSON escapes every other line break). */
async function* lines(input: fs.ReadStream): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    const buf: Buffer = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      yield buf.subarray(start, nl);
      start = nl + 1;
    }
    rest = buf.subarray(start);
  }
  if (rest.length) yield rest;
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

async function* readFile(handle: fsp.FileHandle, signal?: AbortSignal): AsyncGenerator<LogEntry> {
  const input = handle.createReadStream({ signal, highWaterMark: 256 * 1024, autoClose: true });
  try {
    for await (const line of lines(input)) {
      if (!line.length) continue;
      let parsed: JsonLine;
      try {
        parsed = JSON.parse(line.toString('utf8')) as JsonLine;
      } catch {
        // Only a torn last line from a crash can fail to parse; it carries nothing we can trust.
        continue;
      }
      const data = parsed.bin !== undefined ? Buffer.from(parsed.bin, 'base64') : Buffer.from(parsed.log, 'utf8');
      yield { stream: parsed.stream === 'stderr' ? 'stderr' : 'stdout', data, time: new Date(parsed.time), seq: parsed.seq ?? 0 };
    }
  } finally {
    input.destroy();
  }
}

export async function* readLog(logPath: string, filter: LogFilter, signal?: AbortSignal): AsyncGenerator<LogEntry> {
  const selected = async function* () {
    const handles = await openAll(await logFiles(logPath));
    try {
      for (const handle of handles) {
        for await (const e of readFile(handle, signal)) {
          // Entries are in seq order: past beforeSeq there is nothing more to take (and the file may still be growing).
          if (filter.beforeSeq !== undefined && e.seq >= filter.beforeSeq) return;
          if (matches(e, filter)) yield e;
        }
      }
    } finally {
      for (const h of handles) await h.close().catch(() => undefined); // already closed by its stream
    }
  };
  if (filter.tail === undefined) { yield* selected(); return; }
  if (filter.tail <= 0) return;
  const last: LogEntry[] = [];
  for await (const e of selected()) {
    last.push(e);
    if (last.length > filter.tail) last.shift();
  }
  yield* last;
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

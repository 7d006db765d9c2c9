// The journal on disk: JSON lines in <dir>/events.log, rotated to events.log.1 (the older .1 is dropped), plus
// events.seq, the seq reservation that keeps seq from repeating after a crash. One writer; any number of readers.
import { constants, promises as fsp, type ReadStream } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file';
import { isEventType, type BerthEvent } from './event';

const CURRENT = 'events.log';
const OLDER = 'events.log.1';
const RESERVATION = 'events.seq';

/** The file form of an event: seq first, so a reader can skip a line without parsing it. */
interface JsonLine {
  seq: number;
  timeNs: string;
  type: string;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
}

export function encode(e: BerthEvent): string {
  const line: JsonLine = { seq: e.seq, timeNs: e.timeNs.toString(), type: e.type, action: e.action, actorId: e.actorId, attributes: { ...e.attributes } };
  return `${JSON.stringify(line)}\n`;
}

/** The event on one line, frozen (subscribers share it); undefined for a line torn by a crash or not ours. */
export function decode(text: string): BerthEvent | undefined {
  let v: JsonLine;
  try {
    v = JSON.parse(text) as JsonLine;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.seq) || v.seq <= 0) return undefined;
  if (typeof v.timeNs !== 'string' || !/^\d+$/.test(v.timeNs) || typeof v.type !== 'string' || !isEventType(v.type)) return undefined;
  if (typeof v.action !== 'string' || typeof v.actorId !== 'string' || typeof v.attributes !== 'object' || v.attributes === null) return undefined;
  const attributes = Object.freeze({ ...v.attributes });
  return Object.freeze({ seq: v.seq, timeNs: BigInt(v.timeNs), type: v.type, action: v.action, actorId: v.actorId, attributes });
}

const SEQ_PREFIX = /^\{"seq":(\d+),/;

/** Events with seq > afterSeq, in file order; lines that do not parse (a crash's torn line) are skipped. */
async function* readEvents(handle: fsp.FileHandle, afterSeq: number): AsyncGenerator<BerthEvent> {
  const input = handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: false });
  try {
    for await (const line of lines(input)) {
      // Most of a replay is skipping what the client has already seen: do it without JSON.parse.
      const m = SEQ_PREFIX.exec(line);
      if (m && Number(m[1]) <= afterSeq) continue;
      const e = decode(line);
      if (e && e.seq > afterSeq) yield e;
    }
  } finally {
    input.destroy();
  }
}

/** The stream's "\n"-separated lines (JSON escapes every other line break); empty lines are dropped. */
async function* lines(input: ReadStream): AsyncGenerator<string> {
  // Decode only up to a "\n" (a byte that never occurs inside a UTF-8 sequence), so a chunk boundary in the middle of
  // a character cannot garble it: the bytes after the last "\n" wait for the next chunk.
  let rest: Buffer[] = [];
  for await (const chunk of input) {
    const buf = chunk as Buffer;
    const last = buf.lastIndexOf(0x0a);
    if (last < 0) {
      rest.push(buf);
      continue;
    }
    const text = Buffer.concat([...rest, buf.subarray(0, last)]).toString('utf8');
    rest = [buf.subarray(last + 1)];
    for (const line of text.split('\n')) if (line) yield line;
  }
  const tail = Buffer.concat(rest).toString('utf8');
  if (tail) yield tail;
}

interface FileScan {
  firstSeq?: number;
  lastSeq?: number;
  /** False when a crash tore the last line: the next write must start a new one. */
  endsWithNewline: boolean;
}

async function scan(file: string): Promise<FileScan | undefined> {
  const handle = await openIfExists(file);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const result: FileScan = { endsWithNewline: true };
    if (size > 0) {
      const lastByte = Buffer.alloc(1);
      await handle.read(lastByte, 0, 1, size - 1);
      result.endsWithNewline = lastByte[0] === 0x0a;
    }
    for await (const e of readEvents(handle, 0)) {
      result.firstSeq ??= e.seq;
      result.lastSeq = Math.max(result.lastSeq ?? 0, e.seq);
    }
    return result;
  } finally {
    await handle.close();
  }
}

async function openIfExists(file: string): Promise<fsp.FileHandle | undefined> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The highest seq that may have been handed out (0 when the journal is new). */
export async function readReservation(dir: string): Promise<number> {
  const v = await readJsonFile<{ reservedSeq?: unknown }>(path.join(dir, RESERVATION));
  return typeof v?.reservedSeq === 'number' && Number.isSafeInteger(v.reservedSeq) ? v.reservedSeq : 0;
}

export async function writeReservation(dir: string, reservedSeq: number): Promise<void> {
  await writeFileAtomic(path.join(dir, RESERVATION), `${JSON.stringify({ reservedSeq })}\n`);
}

/** A snapshot for one replay: handles opened together, so a rotation during the read moves nothing away. */
export interface KeptEvents {
  /** The oldest seq still on disk, undefined when nothing is. */
  firstSeq?: number;
  events: AsyncGenerator<BerthEvent>;
}

/**
 * events.log and events.log.1. Not safe for concurrent calls: the journal runs append, sync, snapshot and close
 * one at a time, which is also what makes a snapshot see whole rotations only.
 */
export class JournalFiles {
  /** Undefined after a failed write or rotation: the next append reopens the file and reads its size again. */
  private handle?: fsp.FileHandle;
  private sizeBytes = 0;
  private needsNewline: boolean;
  private currentFirstSeq?: number;
  private olderFirstSeq?: number;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    current: FileScan | undefined,
    older: FileScan | undefined,
  ) {
    this.needsNewline = current !== undefined && !current.endsWithNewline;
    this.currentFirstSeq = current?.firstSeq;
    this.olderFirstSeq = older?.firstSeq;
  }

  /** Opens the files and returns the highest seq found in either (0 when there is none). */
  static async open(dir: string, maxBytes: number): Promise<{ files: JournalFiles; lastSeq: number }> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const [current, older] = await Promise.all([scan(path.join(dir, CURRENT)), scan(path.join(dir, OLDER))]);
    const files = new JournalFiles(dir, maxBytes, current, older);
    await files.reopen();
    // Both files count: right after a rotation events.log is empty and the newest seq is in events.log.1.
    return { files, lastSeq: Math.max(current?.lastSeq ?? 0, older?.lastSeq ?? 0) };
  }

  /** The oldest seq on disk, undefined when nothing is. */
  firstSeq(): number | undefined {
    return this.olderFirstSeq ?? this.currentFirstSeq;
  }

  /** Appends the events in one write per file; rotates first when a line would take events.log past maxBytes. */
  async append(events: BerthEvent[]): Promise<void> {
    try {
      if (!this.handle) await this.reopen();
      let chunk = this.needsNewline ? '\n' : '';
      let chunkBytes = chunk.length;
      let chunkFirstSeq: number | undefined;
      for (const e of events) {
        const line = encode(e);
        const bytes = Buffer.byteLength(line);
        if (this.sizeBytes + chunkBytes + bytes > this.maxBytes && this.sizeBytes + chunkBytes > 0) {
          await this.write(chunk, chunkFirstSeq);
          await this.rotate();
          chunk = '';
          chunkBytes = 0;
          chunkFirstSeq = undefined;
        }
        chunk += line;
        chunkBytes += bytes;
        chunkFirstSeq ??= e.seq;
      }
      await this.write(chunk, chunkFirstSeq);
    } catch (err) {
      // A partial write may have left half a line: the next write starts a fresh one, on a reopened file whose size
      // is read again. Closing can fail too (EIO); the write's error is the one to report.
      this.needsNewline = true;
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  /** fdatasync(2) of events.log; events.log.1 was written before the rotation, which the caller synced or not. */
  async sync(): Promise<void> {
    await this.handle?.datasync();
  }

  /** Opens the files that may hold seq afterSeq+1 onwards; call with every earlier append finished. */
  async snapshot(afterSeq: number): Promise<KeptEvents> {
    const firstSeq = this.firstSeq();
    const needOlder = this.olderFirstSeq !== undefined && (this.currentFirstSeq === undefined || afterSeq + 1 < this.currentFirstSeq);
    const handles: fsp.FileHandle[] = [];
    try {
      if (needOlder) {
        const older = await openIfExists(path.join(this.dir, OLDER));
        if (older) handles.push(older);
      }
      const current = await openIfExists(path.join(this.dir, CURRENT));
      if (current) handles.push(current);
    } catch (err) {
      for (const h of handles) await h.close();
      throw err;
    }
    const events = async function* (): AsyncGenerator<BerthEvent> {
      try {
        for (const h of handles) yield* readEvents(h, afterSeq);
      } finally {
        for (const h of handles) await h.close();
      }
    };
    return { firstSeq, events: events() };
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async write(text: string, firstSeq: number | undefined): Promise<void> {
    if (!text) return;
    await this.handle!.appendFile(text);
    this.sizeBytes += Buffer.byteLength(text);
    this.needsNewline = false;
    if (firstSeq !== undefined) this.currentFirstSeq ??= firstSeq;
  }

  /**
   * rename(2) replaces events.log.1 atomically: a crash leaves either the old pair of files or the new one. The file
   * is synced first because flush() syncs only the current one.
   */
  private async rotate(): Promise<void> {
    await this.handle?.datasync();
    await this.close();
    await fsp.rename(path.join(this.dir, CURRENT), path.join(this.dir, OLDER));
    this.olderFirstSeq = this.currentFirstSeq;
    this.currentFirstSeq = undefined;
    await this.reopen();
  }

  private async reopen(): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
    const handle = await fsp.open(path.join(this.dir, CURRENT), flags, 0o600);
    try {
      this.sizeBytes = (await handle.stat()).size;
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.handle = handle;
  }
}

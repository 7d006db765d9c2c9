// The fast reader of our own json-file lines (see scanLine), with JSON.parse as the fallback.
import type { LogEntry } from './logs';

interface JsonLine {
  log: string;
  /** The exact bytes, base64, when they are not valid UTF-8 ("log" has U+FFFD in their place). */
  bin?: string;
  stream: string;
  time: string;
  seq?: number;
}

const SEQ_KEY = Buffer.from('","seq":');
const TIME_KEY = Buffer.from('","time":"');
const STREAM_KEY = Buffer.from(',"stream":"');
const BIN_KEY = Buffer.from('","bin":"');
const LOG_KEY = Buffer.from('{"log":"');
const QUOTE = 0x22, BACKSLASH = 0x5c, LETTER_N = 0x6e;

/** 1 for the bytes of the base64 alphabet (and its padding). */
const BASE64 = new Uint8Array(256);
for (const c of Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')) BASE64[c] = 1;

/** Whether buf holds key at position at. */
function keyAt(buf: Buffer, at: number, key: Buffer): boolean {
  if (at < 0) return false;
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}

/** Where a line's parts are in its buffer, as found by scanLine. */
export interface LineShape {
  stream: 'stdout' | 'stderr';
  seq: number;
  timeStart: number;
  timeEnd: number;
  /** The "log" string's content, or the base64 of "bin" when binary. */
  dataStart: number;
  dataEnd: number;
  binary: boolean;
}

const shape: LineShape = { stream: 'stdout', seq: 0, timeStart: 0, timeEnd: 0, dataStart: 0, dataEnd: 0, binary: false };

/**
 * Finds the parts of a line [start, end) of buf written by our monitor: keys in the order
 * {"log","bin"?,"stream","time","seq"}, read from the end, without JSON.parse: a catch-up reads
 * megabytes of it. Inside a JSON string every quote is escaped, so the unescaped key markers
 * cannot occur in the data. Undefined for any other shape (another writer, a torn line). The
 * result is valid until the next call.
 */
export function scanLine(buf: Buffer, start: number, end: number): LineShape | undefined {
  if (buf[end - 1] !== 0x7d || !keyAt(buf, start, LOG_KEY)) return undefined;
  let i = end - 2;
  let seq = 0;
  for (let mul = 1; i > start && buf[i] >= 0x30 && buf[i] <= 0x39; i--, mul *= 10) seq += (buf[i] - 0x30) * mul;
  const timeEnd = i - SEQ_KEY.length + 1;
  if (i === end - 2 || !keyAt(buf, timeEnd, SEQ_KEY)) return undefined;
  let timeStart = timeEnd - 1;
  while (timeStart > start && buf[timeStart] !== QUOTE) timeStart--;
  timeStart++;
  const streamAt = timeStart - TIME_KEY.length - 6;
  if (!keyAt(buf, timeStart - TIME_KEY.length, TIME_KEY) || !keyAt(buf, streamAt - STREAM_KEY.length, STREAM_KEY)) return undefined;
  const s3 = buf[streamAt + 3];
  const stream = s3 === 0x6f ? 'stdout' : s3 === 0x65 ? 'stderr' : undefined;
  const close = streamAt - STREAM_KEY.length - 1;
  if (!stream || buf[close] !== QUOTE || close < start + LOG_KEY.length) return undefined;
  // "bin" is base64 right before the closing quote, behind its key (which, quotes unescaped, cannot
  // occur inside the "log" string). Binary output has an empty "log": that case is checked first.
  let dataStart = start + LOG_KEY.length;
  let binary = keyAt(buf, dataStart, BIN_KEY);
  if (binary) {
    dataStart += BIN_KEY.length;
  } else {
    let b = close - 1;
    while (b > dataStart && BASE64[buf[b]]) b--;
    binary = b + 1 < close && keyAt(buf, b - BIN_KEY.length + 1, BIN_KEY);
    if (binary) dataStart = b + 1;
  }
  // One shape object is reused: a catch-up scans millions of lines and keeps none of them.
  shape.stream = stream;
  shape.seq = seq;
  shape.timeStart = timeStart;
  shape.timeEnd = timeEnd;
  shape.dataStart = dataStart;
  shape.dataEnd = close;
  shape.binary = binary;
  return shape;
}

/** The exact bytes of a scanned line: base64 decoded, or the JSON string unescaped (fast for plain text). */
export function lineData(buf: Buffer, shape: LineShape): Buffer {
  const { dataStart: a, dataEnd: z } = shape;
  if (shape.binary) return Buffer.from(buf.toString('latin1', a, z), 'base64');
  let slash = -1;
  for (let i = a; i < z; i++) if (buf[i] === BACKSLASH) { slash = i; break; }
  if (slash < 0) return buf.subarray(a, z);
  if (slash === z - 2 && buf[z - 1] === LETTER_N) {
    // The usual line: only its final newline is escaped.
    const data = Buffer.allocUnsafe(z - a - 1);
    buf.copy(data, 0, a, slash);
    data[slash - a] = 0x0a;
    return data;
  }
  return Buffer.from(JSON.parse(`"${buf.toString('utf8', a, z)}"`) as string, 'utf8');
}

let lastTimeText = '';
let lastTime = new Date(0);

/** Entries read at one instant share their time: each distinct text is parsed once. */
function lineTime(buf: Buffer, shape: LineShape): Date {
  const text = buf.toString('latin1', shape.timeStart, shape.timeEnd);
  if (text !== lastTimeText) { lastTimeText = text; lastTime = new Date(text); }
  return lastTime;
}

/** One line of the log ([start, end) of buf, without its newline); undefined for a torn line. */
export function parseLine(buf: Buffer, start = 0, end = buf.length): LogEntry | undefined {
  const shape = scanLine(buf, start, end);
  if (!shape) return parseJsonLine(buf.subarray(start, end));
  return { stream: shape.stream, seq: shape.seq, time: lineTime(buf, shape), data: lineData(buf, shape) };
}

/** A line of any shape, by JSON.parse; undefined if it is not a JSON object with "log" or "bin" (a torn line). The data is a copy. */
export function parseJsonLine(line: Buffer): LogEntry | undefined {
  let parsed: JsonLine;
  try {
    parsed = JSON.parse(line.toString('utf8')) as JsonLine;
  } catch {
    return undefined;
  }
  // Valid JSON of another shape (null, an array, a number for "log") is no entry either.
  const { bin, log } = (parsed ?? {}) as Partial<JsonLine>;
  if (bin !== undefined ? typeof bin !== 'string' : typeof log !== 'string') return undefined;
  const data = bin !== undefined ? Buffer.from(bin, 'base64') : Buffer.from(log as string, 'utf8');
  return { stream: parsed.stream === 'stderr' ? 'stderr' : 'stdout', data, time: new Date(parsed.time), seq: parsed.seq ?? 0 };
}


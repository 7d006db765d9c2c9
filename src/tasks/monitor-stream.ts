// A monitor connection switched to binary frames (native/README.md, "Binary frames"): an attach to the
// container's stdio or an exec'd process. Frames wait here for the consumer; past HIGH_WATER_BYTES the
// socket is paused, and if the monitor then drops us (its own bound), the consumer catches up from the
// log by seq. Whether a gRPC client is too slow is decided where its writes are (api/stdio.ts).
import type net from 'node:net';
import path from 'node:path';
import { EngineError } from '../errors';
import { withRoom } from '../io/output-message';
import { connectMonitorSocket, type MonitorDirs, type MonitorMessage } from './monitor-client';

export type MonitorFrame =
  | { type: 'stdout' | 'stderr'; seq: number; time: Date; data: Buffer }
  | { type: 'exit'; exitCode: number; signal: number }
  | { type: 'reply'; body: { type: string; message?: string } };

const OUT_STDOUT = 1, OUT_STDERR = 2, OUT_EXIT = 3, OUT_REPLY = 4, OUT_STDOUT_RUN = 5, OUT_STDERR_RUN = 6;
const IN_STDIN = 10, IN_CLOSE_STDIN = 11, IN_RESIZE = 12, IN_SIGNAL = 13;
const HEADER_BYTES = 5;
/** Reads between frames (headers and small frames); more than a header is always taken out at once. */
const SCRATCH_BYTES = 64 * 1024;
/** Output queued here before the socket is paused, and the level it must fall under to resume. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;
/** Consecutive entries of one stream are joined up to this size when the consumer does not need them apart. */
const COALESCE_BYTES = 64 * 1024;
/**
 * Frames from this size on are read into buffers the stream keeps and reuses (a run is at most 1 MiB and its
 * 20-byte head); up to SPARE_BUFFERS wait for reuse. Each buffer made is external memory to V8, and every
 * few MiB of it starts a full garbage collection, which was half of berthd's work in an attach.
 */
const POOLED_FROM = 64 * 1024;
const POOLED_BYTES = (1 << 20) + 64;
const SPARE_BUFFERS = 4;


export class MonitorStream implements AsyncIterable<MonitorFrame> {
  /**
   * Reads land in `scratch` until a frame's header is whole; then in that frame's own buffer, `body`, so
   * a run of up to 1 MiB is read from the socket straight into the buffer it is sent on from, without
   * a buffer per read and a join (Node's 'data' events would cost both: berthd's garbage collection).
   */
  private readonly scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private scratchEnd = 0;
  private body: Buffer | undefined;
  private bodyType = 0;
  private bodyFilled = 0;
  /** Until the answer line is in, bytes are collected here; undefined once frames flow. */
  private answerBytes: Buffer[] | undefined = [];
  private answered!: (line: Buffer | undefined) => void;
  private readonly answer = new Promise<Buffer | undefined>((resolve) => { this.answered = resolve; });
  private socket!: net.Socket;
  private paused = false;
  private readonly frames: MonitorFrame[] = [];
  /** Pooled buffers back from the consumer (recycle), and the ones this stream made (to know its own). */
  private readonly spare: Buffer[] = [];
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  private recycling = false;
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended = false;

  private constructor() {}

  /**
   * Connects, sends one control line and reads its JSON answer; on success the connection speaks frames.
   * `sent` is called once the line is in the monitor's socket (or could not get there).
   */
  static async open(dirs: MonitorDirs, command: string, sent?: () => void): Promise<{ stream: MonitorStream | undefined; answer: MonitorMessage }> {
    const stream = new MonitorStream();
    let socket: net.Socket;
    try {
      socket = await connectMonitorSocket(dirs, {
        buffer: () => stream.nextReadBuffer(),
        callback: (n, buf) => stream.onRead(n, buf),
      });
    } catch (err) {
      sent?.();
      throw err;
    }
    stream.socket = socket;
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      stream.ended = true;
      stream.answered(undefined);
      stream.notify();
    });
    socket.write(`${command}\n`, () => sent?.());
    const line = await stream.answer;
    if (!line) throw new EngineError('Unavailable', `monitor of ${path.basename(dirs.dir)}: hung up`);
    const answer = JSON.parse(line.toString('utf8')) as MonitorMessage;
    if (answer.type !== 'attached' && answer.type !== 'exec-started') {
      socket.destroy();
      return { stream: undefined, answer };
    }
    return { stream, answer };
  }

  /** Where the next read goes: the rest of the frame being filled, or the free end of scratch. */
  private nextReadBuffer(): Buffer {
    if (this.body) return this.body.subarray(this.bodyFilled);
    return this.scratch.subarray(this.scratchEnd);
  }

  /** False pauses the socket (too much output waits for the consumer); read() resumes it. */
  private onRead(n: number, buf: Uint8Array): boolean {
    if (buf.buffer !== this.scratch.buffer) {
      // The read went into the body (nextReadBuffer hands out nothing else but scratch).
      this.bodyFilled += n;
      if (this.bodyFilled === this.body!.length) this.endFrame();
    } else {
      this.scratchEnd += n;
      this.parseScratch();
    }
    this.notify();
    if (this.queuedBytes > HIGH_WATER_BYTES) this.paused = true;
    return !this.paused;
  }

  /** Takes the answer line, then whole headers, out of scratch; a header starts its frame's body. */
  private parseScratch(): void {
    let at = 0;
    if (this.answerBytes) {
      const nl = this.scratch.subarray(0, this.scratchEnd).indexOf(0x0a);
      if (nl < 0) {
        this.answerBytes.push(Buffer.from(this.scratch.subarray(0, this.scratchEnd)));
        this.scratchEnd = 0;
        return;
      }
      this.answerBytes.push(this.scratch.subarray(0, nl));
      this.answered(Buffer.concat(this.answerBytes));
      this.answerBytes = undefined;
      at = nl + 1;
    }
    while (this.scratchEnd - at >= HEADER_BYTES) {
      const type = this.scratch[at];
      const length = this.scratch.readUInt32BE(at + 1);
      at += HEADER_BYTES;
      // Its own buffer even when it is small (from Node's pool, then): the frame outlives this scratch.
      this.body = this.bodyBuffer(length);
      this.bodyType = type;
      const have = Math.min(length, this.scratchEnd - at);
      this.bodyFilled = this.scratch.copy(this.body, 0, at, at + have);
      at += have;
      if (this.bodyFilled < length) break; // the rest is read into the body itself
      this.endFrame();
    }
    this.scratch.copy(this.scratch, 0, at, this.scratchEnd);
    this.scratchEnd -= at;
  }

  private bodyBuffer(length: number): Buffer {
    if (length < POOLED_FROM || length > POOLED_BYTES) return Buffer.allocUnsafe(length);
    const spare = this.spare.pop();
    if (spare) return spare.subarray(0, length);
    // A consumer that never gives buffers back (exec output) gets exact sizes, as before.
    if (!this.recycling) return Buffer.allocUnsafe(length);
    const buf = Buffer.allocUnsafeSlow(POOLED_BYTES);
    this.pooled.add(buf.buffer);
    return buf.subarray(0, length);
  }

  /**
   * The consumer is done with a frame's data (what it sent was copied, or it joined it into another
   * buffer): its buffer may take a later frame. Data of any other buffer is left to the collector.
   */
  recycle(data: Buffer): void {
    this.recycling = true;
    if (!this.pooled.has(data.buffer) || this.spare.length >= SPARE_BUFFERS) return;
    const whole = Buffer.from(data.buffer, 0, POOLED_BYTES);
    if (!this.spare.some((b) => b.buffer === whole.buffer)) this.spare.push(whole);
  }

  private endFrame(): void {
    const frame = decode(this.bodyType, this.body!);
    this.body = undefined;
    this.frames.push(frame);
    if (frame.type === 'stdout' || frame.type === 'stderr') this.queuedBytes += frame.data.length;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  [Symbol.asyncIterator](): AsyncGenerator<MonitorFrame> {
    return this.read(false);
  }

  /** With coalesce, consecutive entries of one stream come as one frame (seq and time of the last). */
  async *read(coalesce: boolean): AsyncGenerator<MonitorFrame> {
    for (;;) {
      let frame = this.frames.shift();
      if (frame) {
        if (frame.type === 'stdout' || frame.type === 'stderr') {
          this.queuedBytes -= frame.data.length;
          if (coalesce) frame = this.join(frame);
          if (this.queuedBytes < LOW_WATER_BYTES && this.paused) {
            this.paused = false;
            this.socket.resume();
          }
        }
        yield frame;
        if (frame.type === 'exit') return;
        continue;
      }
      // A reset is how a monitor drops a reader it had to give up on: the stream just ends, without
      // an exit frame, and the consumer knows what that means.
      if (this.ended) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private join(first: MonitorFrame & { type: 'stdout' | 'stderr' }): MonitorFrame {
    const parts = [first.data];
    let size = first.data.length;
    let last = first;
    while (size < COALESCE_BYTES) {
      const next = this.frames[0];
      if (!next || next.type !== first.type) break;
      this.frames.shift();
      this.queuedBytes -= next.data.length;
      parts.push(next.data);
      size += next.data.length;
      last = next;
    }
    if (parts.length === 1) return first;
    const joined = { ...last, data: Buffer.concat(parts, size) };
    for (const part of parts) this.recycle(part);
    return joined;
  }

  /** False when the socket is full: wait for drain() before writing more. */
  writeStdin(data: Uint8Array): boolean {
    return this.send(IN_STDIN, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  drain(): Promise<void> {
    if (this.ended || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { this.socket.off('drain', done); this.socket.off('close', done); resolve(); };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  closeStdin(): void {
    this.send(IN_CLOSE_STDIN, Buffer.alloc(0));
  }

  resize(rows: number, cols: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(rows, 0);
    b.writeUInt16BE(cols, 2);
    this.send(IN_RESIZE, b);
  }

  signal(signal: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(signal, 0);
    this.send(IN_SIGNAL, b);
  }

  close(): void {
    this.socket.destroy();
  }

  private send(type: number, payload: Buffer): boolean {
    if (this.ended || this.socket.destroyed) return true;
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = type;
    header.writeUInt32BE(payload.length, 1);
    this.socket.cork();
    this.socket.write(header);
    const ok = this.socket.write(payload);
    this.socket.uncork();
    return ok;
  }
}

function decode(type: number, payload: Buffer): MonitorFrame {
  if (type === OUT_STDOUT_RUN || type === OUT_STDERR_RUN) {
    // A run: count consecutive entries of one stream; it stands for its last one (seq and time).
    const seq = Number(payload.readBigUInt64BE(0)) + payload.readUInt32BE(16) - 1;
    const time = new Date(Number(payload.readBigUInt64BE(8) / 1_000_000n));
    return { type: type === OUT_STDOUT_RUN ? 'stdout' : 'stderr', seq, time, data: withRoom(payload.subarray(20)) };
  }
  if (type === OUT_STDOUT || type === OUT_STDERR) {
    const seq = Number(payload.readBigUInt64BE(0));
    const time = new Date(Number(payload.readBigUInt64BE(8) / 1_000_000n));
    // A view, not a copy: the chunk it points into lives as long as the frame does. The frame's header
    // and the head in front of the bytes are read and dead: room for a protobuf tag and length.
    return { type: type === OUT_STDOUT ? 'stdout' : 'stderr', seq, time, data: withRoom(payload.subarray(16)) };
  }
  const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  if (type === OUT_EXIT) return { type: 'exit', exitCode: Number(body.exitCode), signal: Number(body.signal ?? 0) };
  if (type === OUT_REPLY) return { type: 'reply', body: body as { type: string } };
  throw new Error(`monitor sent an unknown frame type ${type}`);
}

// A monitor connection switched to binary frames (native/README.md, "Binary frames"): an attach to the
// container's stdio or an exec'd process. Frames wait here for the consumer; past HIGH_WATER_BYTES the
// socket is paused, and if the monitor then drops us (its own bound), the consumer catches up from the
// log by seq. Whether a gRPC client is too slow is decided where its writes are (api/stdio.ts).
import type net from 'node:net';
import path from 'node:path';
import { EngineError } from '../errors';
import { connectMonitorSocket, type MonitorMessage } from './monitor-client';

export type MonitorFrame =
  | { type: 'stdout' | 'stderr'; seq: number; time: Date; data: Buffer }
  | { type: 'exit'; exitCode: number; signal: number }
  | { type: 'reply'; body: { type: string; message?: string } };

const OUT_STDOUT = 1, OUT_STDERR = 2, OUT_EXIT = 3, OUT_REPLY = 4, OUT_STDOUT_RUN = 5, OUT_STDERR_RUN = 6;
const IN_STDIN = 10, IN_CLOSE_STDIN = 11, IN_RESIZE = 12, IN_SIGNAL = 13;
const HEADER_BYTES = 5;
/** Output queued here before the socket is paused, and the level it must fall under to resume. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;
/** Consecutive entries of one stream are joined up to this size when the consumer does not need them apart. */
const COALESCE_BYTES = 64 * 1024;


export class MonitorStream implements AsyncIterable<MonitorFrame> {
  /** Received bytes not yet parsed: joined only once a whole frame is there (a run is up to 1 MiB). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly frames: MonitorFrame[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended = false;

  private constructor(private readonly socket: net.Socket, rest: Buffer) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows; see read()
    socket.on('close', () => { this.ended = true; this.notify(); });
    if (rest.length) this.onData(rest);
  }

  /** Connects, sends one control line and reads its JSON answer; on success the connection speaks frames. */
  static async open(containerDir: string, command: string): Promise<{ stream: MonitorStream | undefined; answer: MonitorMessage }> {
    const socket = await connectMonitorSocket(containerDir);
    socket.write(`${command}\n`);
    let buf = Buffer.alloc(0);
    while (buf.indexOf(0x0a) < 0) {
      const chunk = await new Promise<Buffer | undefined>((resolve) => {
        const onData = (c: Buffer) => { cleanup(); resolve(c); };
        const onEnd = () => { cleanup(); resolve(undefined); };
        const cleanup = () => { socket.off('data', onData); socket.off('close', onEnd); socket.off('error', onEnd); };
        socket.on('data', onData);
        socket.on('close', onEnd);
        socket.on('error', onEnd);
      });
      if (!chunk) throw new EngineError('Unavailable', `monitor of ${path.basename(containerDir)}: hung up`);
      buf = Buffer.concat([buf, chunk]);
    }
    const nl = buf.indexOf(0x0a);
    const answer = JSON.parse(buf.subarray(0, nl).toString('utf8')) as MonitorMessage;
    if (answer.type !== 'attached' && answer.type !== 'exec-started') {
      socket.destroy();
      return { stream: undefined, answer };
    }
    socket.pause();
    const stream = new MonitorStream(socket, buf.subarray(nl + 1));
    socket.resume();
    return { stream, answer };
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      const head = this.peek(HEADER_BYTES);
      if (!head) break;
      const length = head.readUInt32BE(1);
      const whole = this.peek(HEADER_BYTES + length);
      if (!whole) break;
      this.pending[0] = whole.subarray(HEADER_BYTES + length);
      this.pendingBytes -= HEADER_BYTES + length;
      if (!this.pending[0].length) this.pending.shift();
      const frame = decode(whole[0], whole.subarray(HEADER_BYTES, HEADER_BYTES + length));
      this.frames.push(frame);
      if (frame.type === 'stdout' || frame.type === 'stderr') this.queuedBytes += frame.data.length;
    }
    if (this.queuedBytes > HIGH_WATER_BYTES) this.socket.pause();
    this.notify();
  }

  /** The first n pending bytes as pending[0] (joining chunks once, when all are there), or undefined. */
  private peek(n: number): Buffer | undefined {
    if (this.pendingBytes < n) return undefined;
    if (this.pending[0].length < n) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0];
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
          if (this.queuedBytes < LOW_WATER_BYTES && this.socket.isPaused()) this.socket.resume();
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
    return parts.length === 1 ? first : { ...last, data: Buffer.concat(parts, size) };
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
    return { type: type === OUT_STDOUT_RUN ? 'stdout' : 'stderr', seq, time, data: payload.subarray(20) };
  }
  if (type === OUT_STDOUT || type === OUT_STDERR) {
    const seq = Number(payload.readBigUInt64BE(0));
    const time = new Date(Number(payload.readBigUInt64BE(8) / 1_000_000n));
    // A view, not a copy: the chunk it points into lives as long as the frame does.
    return { type: type === OUT_STDOUT ? 'stdout' : 'stderr', seq, time, data: payload.subarray(16) };
  }
  const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  if (type === OUT_EXIT) return { type: 'exit', exitCode: Number(body.exitCode), signal: Number(body.signal ?? 0) };
  if (type === OUT_REPLY) return { type: 'reply', body: body as { type: string } };
  throw new Error(`monitor sent an unknown frame type ${type}`);
}

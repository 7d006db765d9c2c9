// A monitor.sock client for the binary half of the protocol: one JSON command line, its JSON
// answer, then frames both ways (native/README.md, "Binary frames").
import * as fs from 'node:fs';
import * as net from 'node:net';

export const FRAME = { stdout: 1, stderr: 2, exit: 3, reply: 4, stdin: 10, closeStdin: 11, resize: 12, signal: 13 } as const;

export type Frame = { type: number; payload: Buffer; seq: number; timeNs: bigint; data: Buffer };

export class FrameClient {
  private buf = Buffer.alloc(0);
  private binary = false;
  private lines: Array<Record<string, unknown>> = [];
  readonly frames: Frame[] = [];
  private wake: (() => void) | null = null;
  ended = false;

  private constructor(readonly sock: net.Socket, private readonly dirFd: number) {
    sock.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); this.notify(); });
    sock.on('error', () => {});
    sock.on('close', () => { this.ended = true; this.notify(); });
  }

  static async connect(dir: string): Promise<FrameClient> {
    const dirFd = fs.openSync(dir, 'r');
    const sock = net.connect({ path: `/proc/self/fd/${dirFd}/monitor.sock` });
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    return new FrameClient(sock, dirFd);
  }

  private notify() { const w = this.wake; this.wake = null; w?.(); }

  private parse() {
    for (;;) {
      if (!this.binary) {
        const nl = this.buf.indexOf(10);
        if (nl < 0) return;
        const msg = JSON.parse(this.buf.subarray(0, nl).toString('utf8'));
        this.buf = this.buf.subarray(nl + 1);
        this.lines.push(msg);
        // The answers that switch the connection to frames.
        if (msg.type === 'attached' || msg.type === 'exec-started') this.binary = true;
        continue;
      }
      if (this.buf.length < 5) return;
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) return;
      const type = this.buf[0];
      const payload = Buffer.from(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
      const isOut = type === FRAME.stdout || type === FRAME.stderr;
      this.frames.push({
        type, payload,
        seq: isOut ? Number(payload.readBigUInt64BE(0)) : -1,
        timeNs: isOut ? payload.readBigUInt64BE(8) : 0n,
        data: isOut ? payload.subarray(16) : payload,
      });
    }
  }

  /** Resolves once pred holds (checked on every arrival) or rejects after timeoutMs. */
  async until(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.ended && !pred()) throw new Error('connection closed before the condition held');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for frames');
      await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, Math.min(left, 200)); });
    }
  }

  async command(line: string): Promise<Record<string, unknown>> {
    const before = this.lines.length;
    this.sock.write(`${line}\n`);
    await this.until(() => this.lines.length > before || this.ended);
    return this.lines[before];
  }

  sendFrame(type: number, payload: Buffer = Buffer.alloc(0)): boolean {
    const head = Buffer.alloc(5);
    head[0] = type;
    head.writeUInt32BE(payload.length, 1);
    return this.sock.write(Buffer.concat([head, payload]));
  }
  stdin(data: Buffer | string) { return this.sendFrame(FRAME.stdin, Buffer.from(data)); }
  resize(rows: number, cols: number) {
    const p = Buffer.alloc(4); p.writeUInt16BE(rows, 0); p.writeUInt16BE(cols, 2);
    this.sendFrame(FRAME.resize, p);
  }
  signal(sig: number) { const p = Buffer.alloc(4); p.writeUInt32BE(sig, 0); this.sendFrame(FRAME.signal, p); }

  output(type: number = FRAME.stdout): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === type).map((f) => f.data));
  }
  exitFrame(): Record<string, unknown> | undefined {
    const f = this.frames.find((x) => x.type === FRAME.exit);
    return f && JSON.parse(f.payload.toString('utf8'));
  }
  replies(): Array<Record<string, unknown>> {
    return this.frames.filter((f) => f.type === FRAME.reply).map((f) => JSON.parse(f.payload.toString('utf8')));
  }
  /** Waits for the exit frame and the close that follows it. */
  async exited(timeoutMs = 20_000) {
    await this.until(() => this.ended, timeoutMs);
    return this.exitFrame();
  }
  private closed = false;
  close() {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
    fs.closeSync(this.dirFd);
  }
}

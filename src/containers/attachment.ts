// One client's attach to a container's stdio. It may be made before the container starts: it is then
// connected right after the start and first replays, from the log, every entry of this run that came
// before its live stream (entries are logged before they fan out), so not a byte is missed.
import { EngineError } from '../errors';
import { readLog } from '../io/logs';
import { MonitorStream } from '../tasks/monitor-stream';

export interface AttachSelection {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before live output. */
  logs: boolean;
}

export type AttachEvent =
  | { type: 'stdout' | 'stderr'; data: Buffer }
  | { type: 'exit'; exitCode: number; signal: number };

/** What Attach and Exec both offer a client: output events, and stdin / resize / signal going in. */
export interface StdioSession {
  events(): AsyncIterable<AttachEvent>;
  writeStdin(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void> | void;
  resize(rows: number, cols: number): Promise<void> | void;
  signal(signal: number): Promise<void> | void;
  close(): void;
  /** Resolves when the monitor dropped this session, so a blocked write must give up. */
  readonly lost: Promise<void>;
}

export interface ExitLookup {
  /** Resolves with the container's recorded exit once it is not running. */
  waitExit(): Promise<{ exitCode: number; signal: number }>;
}

export class Attachment implements StdioSession {
  private stream: MonitorStream | undefined;
  private nextSeq = 0;
  /** For an attachment made before the start: the first seq of that run, replayed from the log. */
  private replayFrom: number | undefined;
  private exitedBeforeAttach: { exitCode: number; signal: number } | undefined;
  private resolveConnected!: () => void;
  private rejectConnected!: (err: Error) => void;
  private readonly connected = new Promise<void>((resolve, reject) => { this.resolveConnected = resolve; this.rejectConnected = reject; });
  private closed = false;
  /**
   * Resolves when the monitor connection is gone: a writer blocked on a stuck client stops waiting and
   * drains what is queued (bounded), ending with the exit or, if we were dropped, RESOURCE_EXHAUSTED.
   */
  readonly lost: Promise<void>;
  private markLost!: () => void;

  constructor(readonly selection: AttachSelection, private readonly stdinOnce: boolean, private readonly logPath: string, private readonly exits: ExitLookup) {
    this.lost = new Promise((resolve) => { this.markLost = resolve; });
    this.connected.catch(() => undefined); // observed by events() and writeStdin()
  }

  /** Opens the monitor side: at once for a running container, or by start with that run's first seq. */
  async connect(containerDir: string, replayFrom?: number): Promise<void> {
    this.replayFrom = replayFrom;
    if (this.closed) return this.resolveConnected();
    try {
      const { stdin, stdout, stderr } = this.selection;
      const { stream, answer } = await MonitorStream.open(containerDir, `attach ${JSON.stringify({ stdin, stdout, stderr })}`);
      if (stream) {
        this.stream = stream;
        void stream.closed.then(() => this.markLost());
        this.nextSeq = answer.nextSeq ?? 0;
      } else if (answer.type === 'exit') {
        this.exitedBeforeAttach = { exitCode: answer.exitCode ?? 0, signal: answer.signal ?? 0 };
      } else {
        throw new EngineError('Internal', `attach: monitor said ${answer.message ?? JSON.stringify(answer)}`);
      }
      this.resolveConnected();
    } catch (err) {
      // The monitor went away between our look at the state and the connect: it has exited.
      if (err instanceof EngineError && err.kind === 'Unavailable') {
        this.exitedBeforeAttach = await this.exits.waitExit();
        this.resolveConnected();
        return;
      }
      this.rejectConnected(err as Error);
      throw err;
    }
  }

  /** The start this attachment waited for failed: its stream ends with that error. */
  fail(err: Error): void {
    this.rejectConnected(err);
  }

  async *events(): AsyncGenerator<AttachEvent> {
    await this.connected;
    const { stdout, stderr, logs } = this.selection;
    if (logs || this.replayFrom !== undefined) {
      const beforeSeq = this.stream ? this.nextSeq : undefined;
      const afterSeq = logs || this.replayFrom === undefined ? undefined : this.replayFrom - 1;
      yield* joined(readLog(this.logPath, { stdout, stderr, beforeSeq, afterSeq }));
    }
    if (!this.stream) {
      if (this.exitedBeforeAttach) yield { type: 'exit', ...this.exitedBeforeAttach };
      return;
    }
    for await (const frame of this.stream.read(true)) {
      if (frame.type === 'stdout' || frame.type === 'stderr') yield { type: frame.type, data: frame.data };
      else if (frame.type === 'exit') { yield { type: 'exit', exitCode: frame.exitCode, signal: frame.signal }; return; }
    }
    if (this.closed) return;
    // No exit frame: we were dropped (or the monitor died), so this client did not see everything.
    throw new EngineError('ResourceExhausted', 'attach: this client read too slowly and was dropped; the container goes on');
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    await this.connected;
    if (!this.stream) return;
    if (!this.stream.writeStdin(data)) await Promise.race([this.stream.drain(), this.lost]);
  }

  /** This client is done with stdin; the container's stdin closes only with StdinOnce (the seed's rule). */
  async closeStdin(): Promise<void> {
    await this.connected;
    if (this.selection.stdin && this.stdinOnce) this.stream?.closeStdin();
  }

  async resize(rows: number, cols: number): Promise<void> {
    await this.connected;
    this.stream?.resize(rows, cols);
  }

  async signal(signal: number): Promise<void> {
    await this.connected;
    this.stream?.signal(signal);
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
    this.markLost();
  }
}

/** Replayed entries go out joined, up to 256 KiB of one stream per message: one message per line is slow. */
async function* joined(entries: AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }>): AsyncGenerator<AttachEvent> {
  let type: 'stdout' | 'stderr' | undefined;
  let parts: Buffer[] = [];
  let size = 0;
  for await (const e of entries) {
    if ((e.stream !== type || size >= 256 * 1024) && type) {
      yield { type, data: Buffer.concat(parts, size) };
      parts = [];
      size = 0;
    }
    type = e.stream;
    parts.push(e.data);
    size += e.data.length;
  }
  if (type && size) yield { type, data: Buffer.concat(parts, size) };
}

// One client's attach to a container's stdio. It may be made before the container starts: it is then
// connected right after the start and first replays, from the log, every entry of this run that came
// before its live stream (entries are logged before they fan out), so not a byte is missed.
import { EngineError } from '../errors';
import { readLogRuns } from '../io/logs';
import type { MonitorDirs } from '../tasks/monitor-client';
import { MonitorStream } from '../tasks/monitor-stream';

export interface AttachSelection {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before live output. */
  logs: boolean;
}

export type AttachEvent =
  /** release: the consumer is done with data (sent or copied), and its buffer may be reused. */
  | { type: 'stdout' | 'stderr'; data: Buffer; release?: () => void }
  | { type: 'exit'; exitCode: number; signal: number };

/** What Attach and Exec both offer a client: output events, and stdin / resize / signal going in. */
export interface StdioSession {
  events(): AsyncIterable<AttachEvent>;
  writeStdin(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void> | void;
  resize(rows: number, cols: number): Promise<void> | void;
  signal(signal: number): Promise<void> | void;
  close(): void;
}

export interface ExitLookup {
  /** Resolves with the container's recorded exit once it is not running. */
  waitExit(): Promise<{ exitCode: number; signal: number }>;
}

export class Attachment implements StdioSession {
  private stream: MonitorStream | undefined;
  private dirs: MonitorDirs = { dir: '', runDir: '' };
  /** Entries after this seq are still to be delivered; set by the first connect. */
  private position = 0;
  /** The first seq the current live stream carries (Infinity when the container has exited). */
  private liveFrom = Infinity;
  private exited: { exitCode: number; signal: number } | undefined;
  private resolveConnected!: () => void;
  private rejectConnected!: (err: Error) => void;
  private readonly connected = new Promise<void>((resolve, reject) => { this.resolveConnected = resolve; this.rejectConnected = reject; });
  private closed = false;
  /** The monitor side, opened by preopen before the start is done. */
  private opening: Promise<void> | undefined;
  private readonly closeHooks: (() => void)[] = [];

  constructor(readonly selection: AttachSelection, private readonly stdinOnce: boolean, private readonly logPath: string, private readonly exits: ExitLookup) {
    this.connected.catch(() => undefined); // observed by events() and writeStdin()
  }

  /**
   * Opens the monitor side: at once for a running container (live from now, or the whole log with
   * `logs`), or by start with that run's first seq (everything of the run).
   */
  async connect(dirs: MonitorDirs, replayFrom?: number): Promise<void> {
    this.dirs = dirs;
    if (this.closed) return this.resolveConnected();
    try {
      await (this.opening ?? this.open());
      const now = Number.isFinite(this.liveFrom) ? this.liveFrom - 1 : 0;
      this.position = this.selection.logs ? 0 : replayFrom !== undefined ? replayFrom - 1 : now;
      this.resolveConnected();
    } catch (err) {
      this.rejectConnected(err as Error);
      throw err;
    }
  }

  /**
   * Opens the monitor side of an attachment whose start is under way, once the monitor listens: connect()
   * then finds it open (or failed). Nothing is delivered before connect(). Resolves once the attach request
   * is in the monitor's socket (or could not get there), never with an error: a monitor told go after that
   * answers it before init runs.
   */
  preopen(dirs: MonitorDirs): Promise<void> {
    if (this.closed || this.opening) return Promise.resolve();
    this.dirs = dirs;
    return new Promise((sent) => {
      this.opening = this.open(sent);
      this.opening.catch(() => undefined); // connect() takes the error; a failed start never asks
    });
  }

  /** Connects an attach to the monitor and sets liveFrom (Infinity when the container has exited). */
  private async open(sent?: () => void): Promise<void> {
    this.liveFrom = Infinity;
    const { stdin, stdout, stderr } = this.selection;
    let opened;
    try {
      opened = await MonitorStream.open(this.dirs, `attach ${JSON.stringify({ stdin, stdout, stderr, runs: true })}`, sent);
    } catch (err) {
      // The monitor went away between our look at the state and the connect: it has exited.
      if (!(err instanceof EngineError && err.kind === 'Unavailable')) throw err;
      this.stream = undefined;
      this.exited = await this.exits.waitExit();
      return;
    }
    const { stream, answer } = opened;
    // Closed meanwhile (a preopen whose start failed, or a client gone): nobody reads this stream.
    if (this.closed) stream?.close();
    if (!stream) {
      if (answer.type !== 'exit') throw new EngineError('Internal', `attach: monitor said ${answer.message ?? JSON.stringify(answer)}`);
      this.stream = undefined;
      this.exited = { exitCode: answer.exitCode ?? 0, signal: answer.signal ?? 0 };
      return;
    }
    this.stream = stream;
    this.liveFrom = answer.nextSeq ?? 1;
  }

  /** The start this attachment waited for failed: its stream ends with that error. */
  fail(err: Error): void {
    this.rejectConnected(err);
  }

  /**
   * Log entries after `position`, then live ones. If the monitor drops us (berthd fell behind a fast
   * container), we reconnect and take what we missed from the log by seq, so the client still sees
   * every byte; only if rotation already dropped it is that client told RESOURCE_EXHAUSTED.
   */
  async *events(): AsyncGenerator<AttachEvent> {
    await this.connected;
    let first = true;
    for (;;) {
      // The whole log (logs option) may have lost its oldest part to rotation; a catch-up may not.
      yield* this.catchUp(this.liveFrom, !(first && this.selection.logs));
      first = false;
      if (!this.stream) {
        if (this.exited) yield { type: 'exit', ...this.exited };
        return;
      }
      for await (const frame of this.stream.read(true)) {
        if (frame.type === 'stdout' || frame.type === 'stderr') {
          this.position = frame.seq;
          const { stream } = this;
          yield { type: frame.type, data: frame.data, release: () => stream.recycle(frame.data) };
        } else if (frame.type === 'exit') {
          yield { type: 'exit', exitCode: frame.exitCode, signal: frame.signal };
          return;
        }
      }
      if (this.closed) return;
      // The monitor dropped us (we fell 16 MiB behind it): reconnect and take the rest from the log.
      await this.open();
    }
  }

  /** Entries in (position, beforeSeq) from the log, joined; with checkGap, a hole there (rotated away) is an error. */
  private async *catchUp(beforeSeq: number, checkGap: boolean): AsyncGenerator<AttachEvent> {
    if (beforeSeq <= this.position + 1) return;
    const { stdout, stderr } = this.selection;
    const onGap = checkGap
      ? (expected: number, found: number) => { throw new EngineError('ResourceExhausted', `attach: output ${expected}..${found - 1} was rotated out of the log before this client could read it`); }
      : undefined;
    const until = Number.isFinite(beforeSeq) ? beforeSeq : undefined;
    for await (const { runs, lastSeq } of readLogRuns(this.logPath, { stdout, stderr, afterSeq: this.position, beforeSeq: until, onGap })) {
      this.position = lastSeq;
      for (const run of runs) yield { type: run.stream, data: run.data };
    }
    if (checkGap && until !== undefined && this.position + 1 < until) {
      throw new EngineError('ResourceExhausted', `attach: output ${this.position + 1}..${until - 1} is missing from the log`);
    }
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    await this.connected;
    if (!this.stream) return;
    if (!this.stream.writeStdin(data)) await this.stream.drain();
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

  /** Runs when the client goes away (a pending attachment must then leave its container's list). */
  onClose(fn: () => void): void {
    this.closeHooks.push(fn);
  }

  close(): void {
    this.closed = true;
    for (const fn of this.closeHooks.splice(0)) fn();
    this.stream?.close();
  }
}

// The terminal side of Attach and Exec: raw mode, the window size first and on SIGWINCH, stdin in,
// stdout and stderr out, and the exit code (or detach) at the end.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ExitStatus, TerminalSize } from '../gen/berth/v1/containers';

type InFrame =
  | { $case: 'stdin'; value: Buffer }
  | { $case: 'resize'; value: TerminalSize }
  | { $case: 'closeStdin'; value: boolean };

type OutFrame =
  | { $case: 'stdout'; value: Buffer }
  | { $case: 'stderr'; value: Buffer }
  | { $case: 'exit'; value: ExitStatus }
  | { $case: 'detached'; value: boolean }
  | { $case: string; value: unknown };

export interface StdioOptions {
  /** Send our stdin. */
  stdin: boolean;
  /** The remote side has a terminal: raw mode and window sizes. */
  tty: boolean;
}

export interface StdioResult {
  exitCode: number;
  detached: boolean;
}

/** The terminal's size, or undefined when stdout is not a terminal. */
export function terminalSize(): TerminalSize | undefined {
  return process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined;
}

/**
 * Pumps a started Attach or Exec call. The caller has written the options frame already; the server's
 * first frame (attached / started) is skipped here.
 */
export function pumpStdio<Req extends { frame?: unknown }, Res extends { frame?: unknown }>(
  call: ClientDuplexStream<Req, Res>, opts: StdioOptions,
): Promise<StdioResult> {
  const send = (frame: InFrame) => call.write({ frame } as unknown as Req);
  const raw = opts.tty && opts.stdin && process.stdin.isTTY;
  const restore: (() => void)[] = [];
  if (raw) {
    process.stdin.setRawMode(true);
    restore.push(() => process.stdin.setRawMode(false));
  }
  if (opts.tty && process.stdout.isTTY) {
    const onResize = () => send({ $case: 'resize', value: terminalSize()! });
    process.stdout.on('resize', onResize);
    restore.push(() => process.stdout.off('resize', onResize));
  }
  if (opts.stdin) {
    const onData = (chunk: Buffer) => {
      if (!send({ $case: 'stdin', value: chunk })) {
        process.stdin.pause();
        call.once('drain', () => process.stdin.resume());
      }
    };
    const onEnd = () => call.end();
    process.stdin.on('data', onData);
    process.stdin.once('end', onEnd);
    restore.push(() => { process.stdin.off('data', onData); process.stdin.off('end', onEnd); process.stdin.pause(); });
  }

  return new Promise((resolve, reject) => {
    let result: StdioResult | undefined;
    const finish = () => { for (const r of restore.reverse()) r(); };
    call.on('data', (msg: Res) => {
      const frame = msg.frame as OutFrame | undefined;
      if (!frame) return;
      if (frame.$case === 'stdout' || frame.$case === 'stderr') {
        const out = frame.$case === 'stdout' ? process.stdout : process.stderr;
        // Our terminal is slow: stop reading from the server until it catches up.
        if (!out.write(frame.value as Buffer)) { call.pause(); out.once('drain', () => call.resume()); }
      } else if (frame.$case === 'exit') {
        result = { exitCode: (frame.value as ExitStatus).exitCode, detached: false };
      } else if (frame.$case === 'detached') {
        result = { exitCode: 0, detached: true };
      }
    });
    call.on('error', (err) => { finish(); reject(err); });
    call.on('end', () => {
      finish();
      if (result) resolve(result);
      else reject(new Error('the stream ended without an exit status'));
    });
  });
}

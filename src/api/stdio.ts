// Attach and Exec share one bidirectional shape: options first, then stdin / resize / signal /
// close-stdin frames in; stdout / stderr out, then the exit (or "detached") as the last frame.
import type { handleBidiStreamingCall, ServerDuplexStream } from '@grpc/grpc-js';
import { EngineError } from '../errors';
import { parseSignal } from '../containers/signals';
import { validateSize } from '../containers/validate';
import { DetachScanner } from '../io/detach-keys';
import type { EncodedMessage } from '../io/output-message';
import type { AttachEvent as StdioEvent, StdioSession } from '../containers/attachment';
import { callSignal, undecodable } from './handlers';
import { toStatus } from './status';
import { clientActivity } from '../util/activity';

/** How far a client may fall behind (bytes written for it, not yet taken by HTTP/2) before it is dropped. */
const MAX_UNFLUSHED_BYTES = 32 * 1024 * 1024;

type InFrame<Opts> =
  | { $case: 'options'; value: Opts }
  | { $case: 'stdin'; value: Buffer }
  | { $case: 'resize'; value: { rows: number; cols: number } }
  | { $case: 'signal'; value: string }
  | { $case: 'closeStdin'; value: boolean };

export interface Opened<Res> {
  session: StdioSession;
  /** Sent before any output: "attached" or "started". */
  first: Res;
  detachKeys: Buffer;
  /** Awaited before the exit frame is written (a run of an auto-remove container: its removal). */
  beforeExit?: () => Promise<void>;
}

export interface Encoders<Res> {
  /** A message, or one already encoded (the service is wrapped by sendsEncoded). */
  output(ev: StdioEvent): Res | EncodedMessage;
  detached(): Res;
}

export function stdioStream<Opts, Req extends { frame?: InFrame<Opts> }, Res>(
  open: (opts: Opts, signal: AbortSignal) => Promise<Opened<Res>>,
  encode: Encoders<Res>,
  shutdown?: AbortSignal,
  /** Told the bytes of output the call carried once it is over (bulk work, util/memory-release.ts). */
  carried?: (bytes: number) => void,
): handleBidiStreamingCall<Req, Res> {
  return (call: ServerDuplexStream<Req, Res>) => {
    const { signal } = callSignal(call, shutdown);
    const requests = requestReader<Req>(call);
    let session: StdioSession | undefined;
    let finished = false;
    let bytes = 0;
    const fail = (err: unknown) => {
      session?.close();
      if (finished || signal.aborted) return;
      finished = true;
      call.emit('error', toStatus(err));
    };
    (async () => {
      const first = await requests.next();
      if (first.done || first.value.frame?.$case !== 'options') {
        throw new EngineError('InvalidArgument', 'options: the first frame must carry the options');
      }
      const opened = await open(first.value.frame.value, signal);
      session = opened.session;
      signal.addEventListener('abort', () => opened.session.close(), { once: true });
      call.write(opened.first);
      let detached = false;
      pumpInput(requests, opened.session, new DetachScanner(opened.detachKeys), () => { detached = true; })
        .catch(fail);
      let unflushed = 0;
      for await (const ev of opened.session.events()) {
        if (finished) return;
        if (ev.type === 'exit' && opened.beforeExit) {
          await opened.beforeExit();
          if (finished || signal.aborted) return;
        }
        const size = ev.type === 'exit' ? 0 : ev.data.length;
        const release = ev.type === 'exit' ? undefined : ev.release;
        unflushed += size;
        bytes += size;
        clientActivity();
        // The callback runs once grpc-js handed the message to HTTP/2, which a client that does not read holds back;
        // grpc-js copied it into its own frame before that, so the output's buffer is free again.
        const ok = call.write(encode.output(ev) as Res, () => { unflushed -= size; release?.(); });
        if (unflushed > MAX_UNFLUSHED_BYTES) {
          throw new EngineError('ResourceExhausted', 'this client read too slowly and was dropped; the container goes on');
        }
        // Only the client's own pace matters here: if the monitor drops us meanwhile, the session
        // catches up from the log once this client takes more.
        if (!ok) await drained(call, signal);
      }
      opened.session.close();
      if (finished || signal.aborted) return;
      if (detached) call.write(encode.detached());
      finished = true;
      call.end();
    })().catch(fail).finally(() => carried?.(bytes));
  };
}

/**
 * The client's frames, pulled one at a time. Not the stream's own async iterator: that one destroys the
 * call when it ends or errors, which would cut off our output (and the final status) mid-flight.
 */
function requestReader<Req>(call: ServerDuplexStream<Req, unknown>): AsyncIterator<Req> {
  const queue: Req[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => { const w = wake; wake = undefined; w?.(); };
  call.on('data', (msg: Req) => {
    queue.push(msg);
    // Stdin waits for the container; past a few frames, let HTTP/2 hold the client back.
    if (queue.length > 32) call.pause();
    notify();
  });
  call.on('end', () => { ended = true; notify(); });
  call.on('error', () => { ended = true; notify(); }); // our own status on the way out
  return {
    async next(): Promise<IteratorResult<Req>> {
      for (;;) {
        const msg = queue.shift();
        if (msg !== undefined) {
          const bad = undecodable(msg);
          if (bad) throw bad;
          if (queue.length < 8 && call.isPaused()) call.resume();
          return { value: msg, done: false };
        }
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    },
  };
}

/** Waits for the call to drain or to end, leaving no listener behind. */
function drained(call: ServerDuplexStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function pumpInput<Opts, Req extends { frame?: InFrame<Opts> }>(
  requests: AsyncIterator<Req>, session: StdioSession, scanner: DetachScanner, onDetach: () => void,
): Promise<void> {
  for (let r = await requests.next(); !r.done; r = await requests.next()) {
    const frame = r.value.frame;
    switch (frame?.$case) {
      case 'stdin': {
        const { forward, detached } = scanner.push(frame.value);
        if (forward.length) await session.writeStdin(forward);
        if (detached) { onDetach(); session.close(); return; }
        break;
      }
      case 'resize': {
        const size = validateSize(frame.value, 'resize');
        if (size) await session.resize(size.rows, size.cols);
        break;
      }
      case 'signal': await session.signal(parseSignal(frame.value, 'signal')); break;
      case 'closeStdin': await session.closeStdin(); break;
      default: throw new EngineError('InvalidArgument', `frame: only stdin, resize, signal and close_stdin may follow the options, got ${frame?.$case ?? 'nothing'}`);
    }
  }
  // The client closed its side: that is the end of its stdin.
  await session.closeStdin();
}

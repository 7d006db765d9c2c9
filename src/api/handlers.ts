// The plumbing every adapter shares: abort on cancel or daemon shutdown, status mapping, backpressure
// on server streams.
import { once, type EventEmitter } from 'node:events';
import { type handleClientStreamingCall, type handleServerStreamingCall, type handleUnaryCall } from '@grpc/grpc-js';
import { EngineError } from '../errors';
import { toStatus } from './status';

/** Aborted when the client cancels, or when the daemon shuts down (then the call ends UNAVAILABLE). */
export function callSignal(call: EventEmitter, shutdown?: AbortSignal): { signal: AbortSignal; endIfShutdown(): boolean } {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  let byShutdown = false;
  const onShutdown = () => {
    byShutdown = true;
    controller.abort();
    call.emit('error', toStatus(new EngineError('Unavailable', 'berthd is shutting down; streams can resume when it is back')));
  };
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  call.on('finish', () => shutdown?.removeEventListener('abort', onShutdown));
  return { signal: controller.signal, endIfShutdown: () => byShutdown };
}

export function unary<Req, Res>(fn: (req: Req, signal: AbortSignal) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { signal } = callSignal(call);
    fn(call.request, signal).then((res) => callback(null, res), (err) => callback(toStatus(err)));
  };
}

/** The domain yields messages; each write waits for 'drain' when grpc-js buffers, raced against cancel. */
export function serverStream<Req, Res>(fn: (req: Req, signal: AbortSignal) => AsyncIterable<Res>, shutdown?: AbortSignal): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { signal } = callSignal(call, shutdown);
    (async () => {
      for await (const msg of fn(call.request, signal)) {
        if (signal.aborted) return;
        if (!call.write(msg)) await once(call, 'drain', { signal });
      }
      if (!signal.aborted) call.end();
    })().catch((err) => {
      // After a cancel or shutdown the call is already over: there is nobody left to tell.
      if (!signal.aborted) call.emit('error', toStatus(err));
    });
  };
}

/** A client stream of `oneof part { header; bytes chunk }` (import, copy in): its header, then the bytes after it. */
export async function headerThenChunks<H>(
  messages: AsyncIterable<{ part?: { $case: 'header'; value: H } | { $case: 'chunk'; value: Buffer } }>,
  what: string,
): Promise<{ header: H; chunks: AsyncIterable<Uint8Array> }> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'header') {
    throw new EngineError('InvalidArgument', `header: the first message of ${what} must be its header`);
  }
  const chunks = {
    async *[Symbol.asyncIterator]() {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (r.value.part?.$case !== 'chunk') throw new EngineError('InvalidArgument', 'chunk: only tar chunks may follow the header');
        yield r.value.part.value;
      }
    },
  };
  return { header: first.value.part.value, chunks };
}

/** The domain consumes the client's messages as an async iterable. */
export function clientStream<Req, Res>(fn: (messages: AsyncIterable<Req>, signal: AbortSignal) => Promise<Res>): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    const { signal } = callSignal(call);
    fn(call as AsyncIterable<Req>, signal).then((res) => callback(null, res), (err) => callback(toStatus(err)));
  };
}


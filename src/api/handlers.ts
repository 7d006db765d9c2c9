// The plumbing every adapter shares: abort on cancel or daemon shutdown, status mapping, backpressure
// on server streams.
import { once, type EventEmitter } from 'node:events';
import { type handleClientStreamingCall, type handleServerStreamingCall, type handleUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { EngineError } from '../errors';
import { clientActivity } from '../util/activity';
import { toStatus } from './status';

/**
 * Aborted when the client cancels, or when the daemon shuts down (then the call ends UNAVAILABLE).
 * answered(): the call has its answer, and a cancel no longer aborts anything (grpc-js reports one after
 * every unary answer, and an abort makes an AbortError with its stack each time). Every call comes through
 * here: it also notes that a call began (util/activity.ts).
 */
export function callSignal(call: EventEmitter, shutdown?: AbortSignal): { signal: AbortSignal; endIfShutdown(): boolean; answered(): void } {
  clientActivity();
  const controller = new AbortController();
  const cancel = () => controller.abort();
  call.on('cancelled', cancel);
  let byShutdown = false;
  const onShutdown = () => {
    byShutdown = true;
    controller.abort();
    call.emit('error', toStatus(new EngineError('Unavailable', 'berthd is shutting down; streams can resume when it is back')));
  };
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  const forget = () => shutdown?.removeEventListener('abort', onShutdown);
  // A call that ends emits 'finish'; one the client cancels is destroyed by grpc-js and emits only 'close'.
  call.on('finish', forget);
  call.on('close', forget);
  return { signal: controller.signal, endIfShutdown: () => byShutdown, answered: () => call.off('cancelled', cancel) };
}

/** Marks a request message its decoder refused (decodeSafely); the wrappers below answer it INVALID_ARGUMENT. */
const UNDECODABLE = Symbol('berth.undecodable');

/**
 * The service definition with request decoders that never throw. grpc-js answers a throwing decoder with
 * INTERNAL, yet the cause is the client's: an int64 past 2^53 (ts-proto's numbers refuse it) or bytes
 * that are not the message. The message is passed on marked instead, for the handler to refuse.
 */
export function decodeSafely<D extends ServiceDefinition>(def: D): D {
  const methods = Object.entries(def).map(([name, m]) => [name, {
    ...m,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return m.requestDeserialize(bytes);
      } catch (err) {
        return { [UNDECODABLE]: err instanceof Error ? err.message : String(err) };
      }
    },
  }]);
  return Object.fromEntries(methods) as D;
}

/** The error for a message decodeSafely marked; undefined for a message that decoded. */
export function undecodable(msg: unknown): EngineError | undefined {
  if (typeof msg !== 'object' || msg === null || !(UNDECODABLE in msg)) return undefined;
  const why = (msg as Record<typeof UNDECODABLE, string>)[UNDECODABLE];
  return new EngineError('InvalidArgument', `request: cannot be decoded (integers are at most 2^53-1): ${why}`);
}

export function unary<Req, Res>(fn: (req: Req, signal: AbortSignal) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { signal, answered } = callSignal(call);
    const bad = undecodable(call.request);
    if (bad) return callback(toStatus(bad));
    fn(call.request, signal).then((res) => { answered(); callback(null, res); }, (err) => { answered(); callback(toStatus(err)); });
  };
}

/** The domain yields messages; each write waits for 'drain' when grpc-js buffers, raced against cancel. */
export function serverStream<Req, Res>(fn: (req: Req, signal: AbortSignal) => AsyncIterable<Res>, shutdown?: AbortSignal): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { signal } = callSignal(call, shutdown);
    (async () => {
      const bad = undecodable(call.request);
      if (bad) throw bad;
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
    fn(checked(call as AsyncIterable<Req>, signal), signal).then((res) => callback(null, res), (err) => callback(toStatus(err)));
  };
}

/**
 * The client's messages, refusing the first one that did not decode. A cancelled call's messages end too
 * (grpc-js destroys the stream), and that end must not pass for the client's own: an import would make an
 * image of the tar's first entries.
 */
async function* checked<Req>(messages: AsyncIterable<Req>, signal: AbortSignal): AsyncGenerator<Req> {
  for await (const m of messages) {
    const bad = undecodable(m);
    if (bad) throw bad;
    yield m;
  }
  if (signal.aborted) throw new EngineError('Canceled', 'the client cancelled the call before the end of its stream');
}

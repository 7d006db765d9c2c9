// The plumbing every adapter shares: abort on cancel, status mapping, backpressure on server streams.
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import type { handleClientStreamingCall, handleServerStreamingCall, handleUnaryCall } from '@grpc/grpc-js';
import { toStatus } from './status';

function abortOnCancel(call: EventEmitter): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  return controller.signal;
}

export function unary<Req, Res>(fn: (req: Req, signal: AbortSignal) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const signal = abortOnCancel(call);
    fn(call.request, signal).then((res) => callback(null, res), (err) => callback(toStatus(err)));
  };
}

/** The domain yields messages; each write waits for 'drain' when grpc-js buffers, raced against cancel. */
export function serverStream<Req, Res>(fn: (req: Req, signal: AbortSignal) => AsyncIterable<Res>): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const signal = abortOnCancel(call);
    (async () => {
      for await (const msg of fn(call.request, signal)) {
        if (signal.aborted) return;
        if (!call.write(msg)) await once(call, 'drain', { signal });
      }
      call.end();
    })().catch((err) => {
      // After a cancel the call is gone: there is nobody to tell.
      if (!signal.aborted) call.emit('error', toStatus(err));
    });
  };
}

/** The domain consumes the client's messages as an async iterable. */
export function clientStream<Req, Res>(fn: (messages: AsyncIterable<Req>, signal: AbortSignal) => Promise<Res>): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    const signal = abortOnCancel(call);
    fn(call as AsyncIterable<Req>, signal).then((res) => callback(null, res), (err) => callback(toStatus(err)));
  };
}

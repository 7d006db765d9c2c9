// decodeSafely: a request grpc-js could not decode reaches the handler marked, to be refused as INVALID_ARGUMENT.
// unary: a cancel aborts the handler's signal until the call has its answer, and not after.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ContainersService } from '../gen/berth/v1/containers';
import { SystemService } from '../gen/berth/v1/system';
import { kindOf } from '../errors';
import { decodeSafely, unary, undecodable } from './handlers';

describe('decodeSafely', () => {
  it('decodes what decodes, as the generated decoder does', () => {
    const def = decodeSafely(ContainersService);
    const bytes = ContainersService.start.requestSerialize({ containerId: 'web' });
    expect(def.start.requestDeserialize(bytes)).toEqual({ containerId: 'web' });
    expect(undecodable(def.start.requestDeserialize(bytes))).toBeUndefined();
    expect(def.start.path).toBe(ContainersService.start.path);
  });

  it('marks an int64 past 2^53 instead of throwing (grpc-js would answer INTERNAL)', () => {
    const def = decodeSafely(SystemService);
    const bytes = Buffer.from(new BinaryWriter().uint32(1 << 3).uint64(1n << 60n).finish());
    expect(() => SystemService.events.requestDeserialize(bytes)).toThrow();
    const err = undecodable(def.events.requestDeserialize(bytes));
    expect(kindOf(err)).toBe('InvalidArgument');
    expect(err?.message).toMatch(/^request: cannot be decoded/);
  });

  it('marks bytes that are not a message at all', () => {
    const def = decodeSafely(ContainersService);
    expect(kindOf(undecodable(def.start.requestDeserialize(Buffer.from([0x0a, 0xff]))))).toBe('InvalidArgument');
  });

  it('leaves other values alone', () => {
    for (const v of [undefined, null, 'x', 3, {}]) expect(undecodable(v)).toBeUndefined();
  });
});

describe('unary', () => {
  // What of a grpc-js server call the wrapper uses: its events and its request.
  const fakeCall = (request: unknown) => Object.assign(new EventEmitter(), { request }) as unknown as Parameters<ReturnType<typeof unary>>[0];

  it('a cancel before the answer aborts the handler; the one grpc-js reports after the answer does not', async () => {
    const signals: AbortSignal[] = [];
    let finish!: () => void;
    const handler = unary<unknown, unknown>((_req, signal) => {
      signals.push(signal);
      return new Promise((resolve) => { finish = () => resolve({}); });
    });
    const answers: unknown[] = [];
    const cancelled = fakeCall({});
    handler(cancelled, (err) => answers.push(err));
    cancelled.emit('cancelled');
    expect(signals[0].aborted).toBe(true);

    const answered = fakeCall({});
    handler(answered, (err, res) => answers.push([err, res]));
    finish();
    await new Promise((r) => setImmediate(r));
    expect(answers).toEqual([[null, {}]]);
    answered.emit('cancelled');
    expect(signals[1].aborted).toBe(false);
  });
});

// Raw gRPC for the fuzz tests: every method of the daemon's services (from the generated service definitions),
// called with payload bytes as they are (identity serializers), plus a schema-free generator of protobuf wire
// messages (random tags and wire types, pool strings, nested messages) and mutations of their canonical encodings.
import * as grpc from '@grpc/grpc-js';
import { ContainersService } from '../../src/gen/berth/v1/containers';
import { ImagesService } from '../../src/gen/berth/v1/images';
import { SystemService } from '../../src/gen/berth/v1/system';
import { VolumesService } from '../../src/gen/berth/v1/volumes';
import type { Rng } from './fuzz-rng';

export interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  /** The daemon's own decoder and encoder for the request (the generated ones); absent for services not generated here. */
  decode?: (b: Buffer) => unknown;
  encode?: (v: unknown) => Buffer;
}

interface GeneratedMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize: (b: Buffer) => unknown;
  requestSerialize: (v: never) => Buffer;
}

/** Every method berthd serves: our four services, then health and reflection (registered by server.ts). */
export function allMethods(): Method[] {
  const ours = [ContainersService, ImagesService, SystemService, VolumesService].flatMap((svc) => Object.values(svc as unknown as Record<string, GeneratedMethod>).map((m) => ({
    path: m.path, requestStream: m.requestStream, responseStream: m.responseStream,
    decode: (b: Buffer) => m.requestDeserialize(b), encode: (v: unknown) => m.requestSerialize(v as never),
  })));
  return [
    ...ours,
    { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false },
    { path: '/grpc.health.v1.Health/Watch', requestStream: false, responseStream: true },
    { path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true },
    { path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true },
    { path: '/berth.v1.Nothing/Here', requestStream: false, responseStream: false },
  ];
}

// ---- calls ----

export interface Outcome {
  code: number;
  details: string;
  /** The response message(s), concatenated with their lengths dropped: only looked at for OK unary calls. */
  responses: Buffer[];
}

const identity = (b: Buffer): Buffer => b;

export interface CallOptions {
  deadlineMs: number;
  /** Server streams are cancelled after this long (they may follow forever: Events, Logs, Stats). */
  cancelAfterMs: number;
  /** Client streams: end our side after writing (else the deadline or the cancel ends the call). */
  endInput?: boolean;
}

/** Calls any method with raw messages; resolves with the status whatever happens. */
export function rawCall(client: grpc.Client, m: Pick<Method, 'path' | 'requestStream' | 'responseStream'>, messages: Buffer[], o: CallOptions): Promise<Outcome> {
  const options = { deadline: Date.now() + o.deadlineMs };
  const md = new grpc.Metadata();
  return new Promise<Outcome>((resolve) => {
    const responses: Buffer[] = [];
    let settled = false;
    const done = (code: number, details: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      clearTimeout(cancel);
      resolve({ code, details, responses });
    };
    // The status always comes; this only catches a client-side hang, reported as code -1.
    const guard = setTimeout(() => done(-1, 'no status from the client library'), o.deadlineMs + 10_000);
    let cancel: NodeJS.Timeout | undefined;
    const onUnary = (err: grpc.ServiceError | null, res?: Buffer) => {
      if (res) responses.push(res);
      done(err ? err.code : 0, err ? err.details : '');
    };
    if (!m.requestStream && !m.responseStream) {
      client.makeUnaryRequest(m.path, identity, identity, messages[0] ?? Buffer.alloc(0), md, options, onUnary);
      return;
    }
    if (m.requestStream && !m.responseStream) {
      const call = client.makeClientStreamRequest(m.path, identity, identity, md, options, onUnary);
      call.on('error', () => undefined); // the callback has it
      for (const msg of messages) call.write(msg);
      if (o.endInput !== false) call.end();
      return;
    }
    const call = m.requestStream
      ? client.makeBidiStreamRequest(m.path, identity, identity, md, options)
      : client.makeServerStreamRequest(m.path, identity, identity, messages[0] ?? Buffer.alloc(0), md, options);
    call.on('data', (b: Buffer) => { if (responses.length < 10_000) responses.push(b); });
    call.on('error', () => undefined); // the status event has it
    call.on('status', (s: grpc.StatusObject) => done(s.code, s.details));
    cancel = setTimeout(() => call.cancel(), o.cancelAfterMs);
    if ('write' in call) {
      const duplex = call as grpc.ClientDuplexStream<Buffer, Buffer>;
      for (const msg of messages) duplex.write(msg);
      if (o.endInput !== false) duplex.end();
    }
  });
}

// ---- protobuf wire messages without a schema ----

function varint(v: bigint): Buffer {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) byte |= 0x80;
    out.push(byte);
  } while (x > 0n);
  return Buffer.from(out);
}

const key = (field: number, wireType: number) => varint((BigInt(field) << 3n) | BigInt(wireType));

const INTS = [0n, 1n, 2n, 3n, 5n, 9n, 15n, 64n, 127n, 128n, 255n, 1000n, 65535n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 31n), -(2n ** 63n)];

export interface WireContext {
  strings: string[];
  maxDepth: number;
}

/** A random, well-framed message: it parses as protobuf, and field numbers are small so real fields get hit. */
export function wireMessage(rng: Rng, ctx: WireContext, depth = 0): Buffer {
  const parts: Buffer[] = [];
  for (let n = rng.size(depth === 0 ? 12 : 6); n > 0; n--) {
    const field = rng.chance(0.75) ? rng.range(1, 12) : rng.chance(0.9) ? rng.range(1, 40) : rng.pick([0, 19_000, 2 ** 29 - 1, rng.next() >>> 3]);
    const w = rng.int(100);
    if (w < 50) {
      const r = rng.int(100);
      const body = r < 45 ? Buffer.from(rng.pick(ctx.strings))
        : r < 80 && depth < ctx.maxDepth ? wireMessage(rng, ctx, depth + 1)
          : r < 92 ? rng.bytes(rng.size(256))
            : Buffer.concat(Array.from({ length: rng.size(8) }, () => varint(rng.pick(INTS))));
      const declared = rng.chance(0.03) ? body.length + rng.range(1, 100) : body.length;
      parts.push(key(field, 2), varint(BigInt(declared)), body);
    } else if (w < 85) parts.push(key(field, 0), varint(rng.chance(0.8) ? rng.pick(INTS) : BigInt(rng.next()) * BigInt(rng.next())));
    else if (w < 92) parts.push(key(field, 1), rng.bytes(8));
    else if (w < 97) parts.push(key(field, 5), rng.bytes(4));
    else parts.push(key(field, rng.pick([3, 4, 6, 7])));
  }
  return Buffer.concat(parts);
}

/** A message as bytes: random, random-but-framed, or the daemon's canonical encoding of one, mutated. */
export function payload(rng: Rng, m: Method, ctx: WireContext): Buffer {
  const r = rng.int(100);
  if (r < 20) return rng.bytes(rng.size(rng.chance(0.05) ? 65_536 : 512));
  const framed = wireMessage(rng, ctx);
  if (r < 60 || !m.decode || !m.encode) return framed;
  let canonical: Buffer;
  try {
    canonical = m.encode(m.decode(framed));
  } catch {
    return framed;
  }
  if (r < 80) return canonical;
  const out = Buffer.from(canonical);
  if (out.length === 0) return rng.bytes(rng.size(64));
  const op = rng.int(4);
  if (op === 0) for (let i = rng.range(1, 6); i > 0; i--) out[rng.int(out.length)] ^= 1 << rng.int(8);
  else if (op === 1) return out.subarray(0, rng.int(out.length));
  else if (op === 2) return Buffer.concat([out, wireMessage(rng, ctx)]);
  else out[rng.int(out.length)] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12]);
  return out;
}

// Output bytes on their way to an Attach or Exec client, sent without a copy of our own: a monitor
// frame's bytes come with dead bytes in front of them (the frame's header and the entry's seq and
// time, read already), and the protobuf field's tag and length are written there. grpc-js copies a
// message into its own frame anyway; a second copy and a protobufjs encode per MiB cost berthd more
// CPU in garbage collection than everything else it does for an attach (bench/README.md, "The fourth round").
import type { ServiceDefinition } from '@grpc/grpc-js';

/** The bytes before a marked buffer that belong to no one (the smallest entry head, seq and time). */
const ROOM = 16;
const roomy = new WeakSet<Buffer>();

/** Marks data as having ROOM free bytes before it in its ArrayBuffer; the caller guarantees it. */
export function withRoom(data: Buffer): Buffer {
  if (data.byteOffset >= ROOM) roomy.add(data);
  return data;
}

/** A message already in protobuf form; a service wrapped by sendsEncoded passes it through as it is. */
export class EncodedMessage {
  constructor(readonly bytes: Buffer) {}
}

/**
 * A whole response encoded by the caller, typed as the message its method declares: a service wrapped by
 * sendsEncoded sends the bytes (no copy).
 */
export function encodedAs<T>(bytes: Uint8Array): T {
  return new EncodedMessage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as unknown as T;
}

/**
 * `field` (a `bytes` field of a oneof, number below 16) of a message that has nothing else set: the tag,
 * the length as a varint, the bytes. In place in front of the bytes when they have the room.
 */
export function bytesFieldMessage(field: number, data: Buffer): EncodedMessage {
  const head = [(field << 3) | 2];
  for (let n = data.length; ; n = Math.floor(n / 128)) {
    if (n < 128) { head.push(n); break; }
    head.push((n % 128) | 128);
  }
  if (roomy.has(data)) {
    const start = data.byteOffset - head.length;
    const out = Buffer.from(data.buffer, start, head.length + data.length);
    for (let i = 0; i < head.length; i++) out[i] = head[i];
    return new EncodedMessage(out);
  }
  const out = Buffer.allocUnsafe(head.length + data.length);
  for (let i = 0; i < head.length; i++) out[i] = head[i];
  data.copy(out, head.length);
  return new EncodedMessage(out);
}

/** The service definition with response serializers that send an EncodedMessage's bytes unchanged. */
export function sendsEncoded<D extends ServiceDefinition>(def: D): D {
  const methods = Object.entries(def).map(([name, m]) => [name, {
    ...m,
    responseSerialize: (value: unknown) => (value instanceof EncodedMessage ? value.bytes : m.responseSerialize(value)),
  }]);
  return Object.fromEntries(methods) as D;
}

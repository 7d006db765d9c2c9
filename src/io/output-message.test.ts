// Output messages encoded by hand: the bytes must be what the generated code reads, in place or copied.
import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { AttachResponse, Container, ContainersService, ExecResponse, ListContainersResponse } from '../gen/berth/v1/containers';
import { bytesFieldMessage, EncodedMessage, encodedAs, sendsEncoded, withRoom } from './output-message';

/** data with `room` bytes of its own in front of it, as a monitor frame's bytes come. */
function framed(data: Buffer, room = 20): Buffer {
  const whole = Buffer.alloc(room + data.length, 0xee);
  data.copy(whole, room);
  return withRoom(whole.subarray(room));
}

describe('bytesFieldMessage', () => {
  it('is the stdout and stderr of AttachResponse and ExecResponse, at every length of the length varint', () => {
    for (const size of [0, 1, 127, 128, 16383, 16384, 1 << 20]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
      for (const input of [data, framed(data)]) {
        const out = AttachResponse.decode(bytesFieldMessage(2, input).bytes).frame;
        const err = ExecResponse.decode(bytesFieldMessage(3, input).bytes).frame;
        expect([out?.$case, err?.$case]).toEqual(['stdout', 'stderr']);
        expect(Buffer.from(out?.value as Uint8Array).equals(data)).toBe(true);
        expect(Buffer.from(err?.value as Uint8Array).equals(data)).toBe(true);
      }
    }
  });

  it('writes the tag and length into the room in front of marked bytes, and copies unmarked ones', () => {
    const marked = framed(Buffer.from('hello'));
    const inPlace = bytesFieldMessage(2, marked).bytes;
    expect(inPlace.buffer).toBe(marked.buffer);
    expect(inPlace.byteOffset + inPlace.length).toBe(marked.byteOffset + marked.length);
    expect([...inPlace.subarray(0, 2)]).toEqual([0x12, 5]);

    const plain = Buffer.alloc(5, 'hello');
    const copied = bytesFieldMessage(2, plain).bytes;
    expect(copied.buffer).not.toBe(plain.buffer);
    expect(plain.toString()).toBe('hello');
    // A view of marked bytes is not marked: its room may be someone else's bytes.
    const view = marked.subarray(1);
    expect(bytesFieldMessage(2, view).bytes.buffer).not.toBe(marked.buffer);
    expect(marked.toString()).toBe('hello');
  });

  it('does not mark bytes without room in front of them', () => {
    const data = Buffer.from(new ArrayBuffer(8), 4, 4);
    withRoom(data);
    expect(bytesFieldMessage(2, data).bytes.buffer).not.toBe(data.buffer);
  });
});

describe('sendsEncoded', () => {
  it('sends an EncodedMessage as it is and serializes anything else as before', () => {
    const def = sendsEncoded(ContainersService);
    const encoded = new EncodedMessage(Buffer.from([0x12, 1, 0x41]));
    expect(def.attach.responseSerialize(encoded as unknown as AttachResponse)).toBe(encoded.bytes);
    const exit: AttachResponse = { frame: { $case: 'exit', value: { exitCode: 3, signal: 0 } } };
    expect(def.attach.responseSerialize(exit)).toEqual(ContainersService.attach.responseSerialize(exit));
    expect(def.attach.path).toBe(ContainersService.attach.path);
  });

  it('sends a response encoded one container at a time as the list it is, without a copy', () => {
    const one = (id: string) => Container.fromPartial({ id, name: `n-${id}`, state: { status: 'exited', exitCode: 3 } });
    const writer = new BinaryWriter();
    for (const id of ['a', 'b', 'c']) Container.encode(one(id), writer.uint32(10).fork()).join();
    const bytes = writer.finish();
    const response = encodedAs<ListContainersResponse>(bytes);
    const sent = sendsEncoded(ContainersService).list.responseSerialize(response);
    expect(sent.buffer).toBe(bytes.buffer);
    expect(ListContainersResponse.decode(sent)).toEqual({ containers: ['a', 'b', 'c'].map(one) });
  });
});

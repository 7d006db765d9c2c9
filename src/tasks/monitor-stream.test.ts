// MonitorStream's framing, against a socket that plays the monitor: the answer line and frames cut at
// any byte, a 1 MiB run read into its own buffer, and a consumer that falls megabytes behind.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MonitorStream, type MonitorFrame } from './monitor-stream';

type Output = Extract<MonitorFrame, { data: Buffer }>;

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

function entryHead(seq: number, timeNs: bigint, count?: number): Buffer {
  const head = Buffer.alloc(count === undefined ? 16 : 20);
  head.writeBigUInt64BE(BigInt(seq), 0);
  head.writeBigUInt64BE(timeNs, 8);
  if (count !== undefined) head.writeUInt32BE(count, 16);
  return head;
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const dirs: string[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A container directory whose monitor.sock answers the command line with `bytes`, written in pieces of the given sizes. */
async function fakeMonitor(bytes: Buffer, pieces: (at: number) => number, pauseMs = 0): Promise<{ dir: string; command: Promise<string>; written: () => number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mstream-'));
  dirs.push(dir);
  let gotCommand!: (line: string) => void;
  let written = 0;
  const command = new Promise<string>((resolve) => { gotCommand = resolve; });
  const server = net.createServer((sock) => {
    let line = '';
    sock.on('data', async (d: Buffer) => {
      if (line.endsWith('\n')) return;
      line += d.toString();
      if (!line.endsWith('\n')) return;
      gotCommand(line.trim());
      for (let at = 0; at < bytes.length;) {
        const n = Math.min(pieces(at), bytes.length - at);
        if (!sock.write(bytes.subarray(at, at + n))) await new Promise((r) => sock.once('drain', r));
        at += n;
        written = at;
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
      sock.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path.join(dir, 'monitor.sock'), resolve));
  return { dir, command, written: () => written };
}

async function collect(stream: MonitorStream): Promise<MonitorFrame[]> {
  const frames: MonitorFrame[] = [];
  for await (const f of stream.read(false)) frames.push(f);
  return frames;
}

describe('MonitorStream', () => {
  const big = pattern(1 << 20, 5);
  const wire = Buffer.concat([
    Buffer.from('{"type":"attached","nextSeq":7}\n'),
    frame(1, Buffer.concat([entryHead(7, 1_700_000_000_123_000_000n), Buffer.from('hello\n')])),
    frame(6, Buffer.concat([entryHead(8, 1_700_000_000_456_000_000n, 3), big])),
    frame(3, Buffer.from('{"exitCode":3,"signal":0}')),
  ]);

  const cuts: Array<[string, (at: number) => number]> = [
    ['in one piece', () => wire.length],
    ['a byte at a time through the answer and the first frame, then in odd pieces', (at) => (at < 120 ? 1 : 4093)],
  ];
  for (const [name, pieces] of cuts) {
    it(`reads the answer and every frame whole, ${name}`, async () => {
      const { dir, command } = await fakeMonitor(wire, pieces);
      const { stream, answer } = await MonitorStream.open({ dir, runDir: dir }, 'attach {"stdout":true}');
      expect(await command).toBe('attach {"stdout":true}');
      expect(answer).toEqual({ type: 'attached', nextSeq: 7 });
      const frames = await collect(stream!);
      expect(frames.map((f) => f.type)).toEqual(['stdout', 'stderr', 'exit']);
      const [first, run, exit] = frames as [Output, Output, MonitorFrame];
      expect(first.seq).toBe(7);
      expect(first.time.toISOString()).toBe('2023-11-14T22:13:20.123Z');
      expect(first.data.toString()).toBe('hello\n');
      // A run stands for its last entry: 8, 9, 10.
      expect(run.seq).toBe(10);
      expect(run.data.equals(big)).toBe(true);
      expect(exit).toEqual({ type: 'exit', exitCode: 3, signal: 0 });
    });
  }

  it('a refused command ends with its answer and no stream', async () => {
    const { dir } = await fakeMonitor(Buffer.from('{"type":"error","message":"no such exec"}\n'), () => 1 << 16);
    const { stream, answer } = await MonitorStream.open({ dir, runDir: dir }, 'attach {}');
    expect(stream).toBeUndefined();
    expect(answer).toMatchObject({ type: 'error', message: 'no such exec' });
  });

  it('finds a monitor in its runtime directory, or one an earlier berthd started in the container directory', async () => {
    const answer = Buffer.from('{"type":"error","message":"from the fake"}\n');
    const inRun = await fakeMonitor(answer, () => 1 << 16);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mstream-'));
    dirs.push(elsewhere);
    expect((await MonitorStream.open({ dir: elsewhere, runDir: inRun.dir }, 'attach {}')).answer).toMatchObject({ message: 'from the fake' });
    const inContainerDir = await fakeMonitor(answer, () => 1 << 16);
    expect((await MonitorStream.open({ dir: inContainerDir.dir, runDir: elsewhere }, 'attach {}')).answer).toMatchObject({ message: 'from the fake' });
    await expect(MonitorStream.open({ dir: elsewhere, runDir: elsewhere }, 'attach {}')).rejects.toMatchObject({ kind: 'Unavailable' });
  });

  it('reuses the buffer of a frame the consumer gave back, and never one it still holds', async () => {
    const runs = Array.from({ length: 8 }, (_, i) => pattern(200 * 1024, 40 + i));
    const wire3 = Buffer.concat([
      Buffer.from('{"type":"attached","nextSeq":1}\n'),
      ...runs.map((r, i) => frame(5, Buffer.concat([entryHead(i * 10 + 1, 0n, 10), r]))),
      frame(3, Buffer.from('{"exitCode":0,"signal":0}')),
    ]);
    // One frame per write, 30 ms apart: the consumer has given the last one back before the next comes.
    const ends: number[] = [];
    for (let at = wire3.indexOf(0x0a) + 1; at < wire3.length; at += 5 + wire3.readUInt32BE(at + 1)) ends.push(at + 5 + wire3.readUInt32BE(at + 1));
    const { dir } = await fakeMonitor(wire3, (at) => (at === 0 ? wire3.indexOf(0x0a) + 1 : ends.find((e) => e > at)! - at), 30);
    const { stream } = await MonitorStream.open({ dir, runDir: dir }, 'attach {}');
    const got: Output[] = [];
    for await (const f of stream!.read(false)) {
      if (f.type === 'exit') break;
      const out = f as Output;
      got.push(out);
      // The first run is kept to the end; every other one is given back as soon as it is checked.
      expect(out.data.equals(runs[got.length - 1])).toBe(true);
      if (got.length > 1) stream!.recycle(out.data);
    }
    expect(got).toHaveLength(8);
    expect(got[0].data.equals(runs[0])).toBe(true);
    // After the first give-back (frame 2) every frame comes in the buffer given back before it, which the
    // first frame, kept, never shares.
    const buffers = new Set(got.slice(3).map((f) => f.data.buffer));
    expect(buffers.size).toBe(1);
    expect(buffers.has(got[0].data.buffer)).toBe(false);
  });

  it('holds the socket while the consumer is megabytes behind, and loses nothing', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => pattern(256 * 1024, i));
    const wire2 = Buffer.concat([
      Buffer.from('{"type":"attached","nextSeq":1}\n'),
      ...entries.map((e, i) => frame(1, Buffer.concat([entryHead(i + 1, 0n), e]))),
      frame(3, Buffer.from('{"exitCode":0,"signal":0}')),
    ]);
    const { dir, written } = await fakeMonitor(wire2, () => 65536);
    const { stream } = await MonitorStream.open({ dir, runDir: dir }, 'attach {}');
    // Nothing is taken for a while: of the 10 MiB on offer the stream reads up to its high water (4 MiB),
    // then the socket's buffers fill and the writer waits.
    await new Promise((r) => setTimeout(r, 300));
    expect(written()).toBeGreaterThan(4 << 20);
    expect(written()).toBeLessThan(7 << 20);
    const frames = await collect(stream!);
    expect(frames).toHaveLength(41);
    frames.slice(0, 40).forEach((f, i) => {
      expect(f).toMatchObject({ type: 'stdout', seq: i + 1 });
      expect((f as Output).data.equals(entries[i])).toBe(true);
    });
  });
});

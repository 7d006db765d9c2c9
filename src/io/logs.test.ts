import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLine } from './log-line';
import { readLog, readLogRuns } from './logs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(file: string, stdout: boolean, stderr: boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readLog(file, { stdout, stderr })) out.push(`${e.stream}:${e.data.toString()}`);
  return out;
}

describe('readLog', () => {
  const file = path.join(dir, 'c-json.log');
  fs.writeFileSync(file, [
    JSON.stringify({ log: 'out 1\n', stream: 'stdout', time: '2026-01-01T00:00:00.000000001Z' }),
    JSON.stringify({ log: 'err 1\n', stream: 'stderr', time: '2026-01-01T00:00:01Z' }),
    JSON.stringify({ log: 'tail', stream: 'stdout', time: '2026-01-01T00:00:02Z' }),
    '{"log":"torn',
  ].join('\n'));

  it('yields both streams in order and skips a torn last line', async () => {
    expect(await collect(file, true, true)).toEqual(['stdout:out 1\n', 'stderr:err 1\n', 'stdout:tail']);
  });

  it('selects one stream', async () => {
    expect(await collect(file, false, true)).toEqual(['stderr:err 1\n']);
  });

  it('takes the exact bytes from "bin" when the output was not UTF-8', async () => {
    const bin = path.join(dir, 'bin-json.log');
    fs.writeFileSync(bin, `${JSON.stringify({ log: '\ufffd\ufffd', bin: Buffer.from([0xff, 0xfe]).toString('base64'), stream: 'stdout', time: '2026-01-01T00:00:00Z', seq: 1 })}\n`);
    const got: Buffer[] = [];
    for await (const e of readLog(bin, { stdout: true, stderr: true })) got.push(e.data);
    expect(got).toEqual([Buffer.from([0xff, 0xfe])]);
  });

  it('reads a missing log as empty', async () => {
    expect(await collect(path.join(dir, 'none.log'), true, true)).toEqual([]);
  });
});

/** A line as our monitor writes it: keys in its order, "bin" only when the bytes are not UTF-8 text. */
function monitorLine(seq: number, stream: string, data: Buffer, time = '2026-01-01T00:00:00.123456789Z'): string {
  const text = data.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(data);
  const bin = exact ? '' : `,"bin":"${data.toString('base64')}"`;
  return `{"log":${JSON.stringify(exact ? text : '')}${bin},"stream":"${stream}","time":"${time}","seq":${seq}}`;
}

describe('parseLine', () => {
  const cases: [string, Buffer][] = [
    ['plain text', Buffer.from('hello world')],
    ['a line with its newline', Buffer.from('hello\n')],
    ['quotes, backslashes and control bytes', Buffer.from('a "q" \\ b\tc\u0001\n')],
    ['non-ASCII text', Buffer.from('café ☕\n')],
    ['binary', Buffer.from([0xff, 0x00, 0x80, 0x22, 0x5c, 0x0a])],
    ['text that looks like base64', Buffer.from('abcd')],
    ['text that ends in a bin key', Buffer.from('x","bin":"QQ==')],
    ['empty', Buffer.alloc(0)],
  ];
  for (const [what, data] of cases) {
    it(`reads ${what} back byte for byte, as JSON.parse would`, () => {
      const line = Buffer.from(monitorLine(7, 'stderr', data));
      const e = parseLine(line);
      expect(e).toMatchObject({ stream: 'stderr', seq: 7 });
      expect(e?.data.equals(data)).toBe(true);
      expect(e?.time.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    });
  }

  it('takes "bin" over a non-empty "log" with U+FFFD (text with a few bad bytes)', () => {
    const data = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const line = `{"log":"caf\ufffd\\n","bin":"${data.toString('base64')}","stream":"stdout","time":"2026-01-01T00:00:00Z","seq":2}`;
    expect(parseLine(Buffer.from(line))?.data.equals(data)).toBe(true);
  });

  it('falls back to JSON.parse for another key order, and gives undefined for a torn line', () => {
    const other = Buffer.from(JSON.stringify({ stream: 'stdout', log: 'x\n', time: '2026-01-01T00:00:00Z', seq: 3 }));
    expect(parseLine(other)).toMatchObject({ stream: 'stdout', seq: 3, data: Buffer.from('x\n') });
    const line = monitorLine(1, 'stdout', Buffer.from('hello\n'));
    expect(parseLine(Buffer.from(line.slice(0, -3)))).toBeUndefined();
  });
});

describe('readLogRuns', () => {
  const file = path.join(dir, 'runs-json.log');
  // 200 entries of 16 KiB (runs cross the 1 MiB buffers), a stderr entry every 50, a binary one at 120.
  const entries = Array.from({ length: 200 }, (_, i) => {
    const seq = i + 1;
    const data = seq === 120 ? Buffer.from([0xfe, 0xff, seq]) : Buffer.alloc(16 * 1024, String.fromCharCode(97 + (seq % 26)));
    return { seq, stream: seq % 50 === 0 ? 'stderr' : 'stdout', data };
  });
  fs.writeFileSync(file, entries.map((e) => monitorLine(e.seq, e.stream, e.data)).join('\n') + '\n');

  async function runs(req: Parameters<typeof readLogRuns>[1]) {
    const out: { stream: string; data: Buffer }[] = [];
    let last = 0;
    for await (const r of readLogRuns(file, req)) { out.push(...r.runs); last = r.lastSeq; }
    return { out, last };
  }

  it('joins consecutive entries of a stream, at most 1 MiB each, with every byte in order', async () => {
    const { out, last } = await runs({ stdout: true, stderr: true, afterSeq: 10, beforeSeq: 190 });
    expect(last).toBe(189);
    const want = entries.filter((e) => e.seq > 10 && e.seq < 190);
    expect(Buffer.concat(out.map((r) => r.data)).equals(Buffer.concat(want.map((e) => e.data)))).toBe(true);
    for (const r of out) expect(r.data.length).toBeLessThanOrEqual(1024 * 1024);
    // A run never mixes streams: stderr entries 50, 100 and 150 stand alone.
    expect(out.filter((r) => r.stream === 'stderr').map((r) => r.data.length)).toEqual([16384, 16384, 16384]);
  });

  it('leaves out a stream not asked for, but still counts its seqs', async () => {
    const { out, last } = await runs({ stdout: false, stderr: true, afterSeq: 0 });
    expect(last).toBe(200);
    expect(out.map((r) => r.data.length)).toEqual([16384, 16384, 16384, 16384]);
  });

  it('reports a missing seq through onGap', async () => {
    const gaps: [number, number][] = [];
    const holey = path.join(dir, 'holey-json.log');
    fs.writeFileSync(holey, [1, 2, 5].map((seq) => monitorLine(seq, 'stdout', Buffer.from(`${seq}\n`))).join('\n') + '\n');
    for await (const r of readLogRuns(holey, { stdout: true, stderr: true, afterSeq: 0, onGap: (a, b) => gaps.push([a, b]) })) void r;
    expect(gaps).toEqual([[3, 5]]);
  });
});

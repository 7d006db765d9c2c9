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

describe('readLogRuns: the addon scan', () => {
  const time = '2026-01-01T00:00:00.123456789Z';
  /** A line in our monitor's shape with "log" given as JSON text, escapes as written. */
  const rawLine = (seq: number, logJson: string, stream = 'stdout') => `{"log":${logJson},"stream":"${stream}","time":"${time}","seq":${seq}}`;
  let n = 0;
  function logFile(lines: string[], end = '\n'): string {
    const file = path.join(dir, `scan-${++n}-json.log`);
    fs.writeFileSync(file, lines.join('\n') + end);
    return file;
  }

  async function read(file: string, req: Partial<Parameters<typeof readLogRuns>[1]> = {}) {
    const gaps: [number, number][] = [];
    const runs: { stream: string; data: Buffer }[] = [];
    const full = { stdout: true, stderr: true, afterSeq: 0, onGap: (a: number, b: number) => void gaps.push([a, b]), ...req };
    let last = full.afterSeq;
    for await (const r of readLogRuns(file, full)) { runs.push(...r.runs); last = r.lastSeq; }
    return { runs, last, gaps, bytes: Buffer.concat(runs.map((r) => r.data)) };
  }

  it('decodes every JSON escape, \\u sequences and surrogate pairs included, as JSON.parse would', async () => {
    const logs = [
      String.raw`"q\" b\\ s\/ \b\f\n\r\t end"`,
      String.raw`"\u0041\u00e9\u00E9\u20ac \ud83d\ude00 \uD83D\uDE00"`,
      String.raw`"lone \ud800 and \udc00, high then other \ud83d\u0041, two highs \ud83d\ud83d\ude00"`,
      String.raw`"nul \u0000 and control \u001f, raw caf` + '\u00e9 \u2615' + String.raw`\n"`,
      '""',
    ];
    const lines = logs.map((log, i) => rawLine(i + 1, log));
    const { bytes, last, gaps } = await read(logFile(lines));
    const want = Buffer.concat(lines.map((l) => Buffer.from((JSON.parse(l) as { log: string }).log, 'utf8')));
    expect(bytes.equals(want)).toBe(true);
    expect(bytes.includes(Buffer.from('\u{1f600}'))).toBe(true);
    expect(bytes.includes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(true);
    expect([last, gaps]).toEqual([5, []]);
  });

  it('reads random text and binary lines byte for byte', async () => {
    let seed = 42;
    const next = (m: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % m;
    const pieces = ['a', ' ', '"', '\\', '\n', '\t', '\u0001', 'é', '☕', '\u{1f600}', '/', '\ud800', '\u2028'];
    const entries = Array.from({ length: 3000 }, (_, i) => {
      const stream = next(3) ? 'stdout' : 'stderr';
      if (next(4) === 0) return { seq: i + 1, stream, data: Buffer.from(Array.from({ length: next(600) }, () => next(256))) };
      const text = Array.from({ length: next(120) }, () => pieces[next(pieces.length)]).join('');
      return { seq: i + 1, stream, data: Buffer.from(text, 'utf8') };
    });
    const file = logFile(entries.map((e) => monitorLine(e.seq, e.stream, e.data)));
    for (const stream of ['stdout', 'stderr'] as const) {
      const { runs, bytes, last } = await read(file, { stdout: stream === 'stdout', stderr: stream === 'stderr' });
      expect(last).toBe(3000);
      expect(runs.every((r) => r.stream === stream)).toBe(true);
      expect(bytes.equals(Buffer.concat(entries.filter((e) => e.stream === stream).map((e) => e.data)))).toBe(true);
    }
  });

  it('reads a 16 KiB line of text with escapes throughout, and one of binary', async () => {
    const text = Buffer.from('say "hi"\\\t\u0007 é☕\u{1f600}\n'.repeat(1000).slice(0, 16 * 1024 - 1) + '\n', 'utf8');
    const binary = Buffer.from(Array.from({ length: 16 * 1024 }, (_, i) => (i * 131) % 256));
    const { runs, bytes } = await read(logFile([monitorLine(1, 'stdout', text), monitorLine(2, 'stdout', binary)]));
    expect(bytes.equals(Buffer.concat([text, binary]))).toBe(true);
    expect(runs.length).toBe(1);
  });

  it('cuts runs at 1 MiB where lines straddle the boundary, across reads, with every byte in order', async () => {
    // 400 entries of 16 KiB + 7 bytes (some escaped), so neither runs nor 1 MiB reads end on a line.
    const entries = Array.from({ length: 400 }, (_, i) => Buffer.alloc(16 * 1024 + 7, i % 3 ? `line ${i} "quoted"\n` : `${i}`));
    const file = logFile(entries.map((data, i) => monitorLine(i + 1, 'stdout', data)));
    const { runs, bytes, last } = await read(file);
    expect(last).toBe(400);
    expect(bytes.equals(Buffer.concat(entries))).toBe(true);
    for (const r of runs) expect(r.data.length).toBeLessThanOrEqual(1024 * 1024);
    // Each read's runs end with it; more runs than reads means some were cut at 1 MiB inside a read.
    expect(runs.length).toBeGreaterThan(Math.ceil(fs.statSync(file).size / (1024 * 1024)));
  });

  it('hands a line of another shape in the middle to JSON.parse, in its place', async () => {
    const other = JSON.stringify({ stream: 'stdout', log: 'two\n', time, seq: 2 });
    const file = logFile([rawLine(1, '"one\\n"'), other, rawLine(3, '"three\\n"'), rawLine(4, '"four\\n"')]);
    const { runs, last, gaps } = await read(file);
    expect(runs.map((r) => r.data.toString())).toEqual(['one\n', 'two\n', 'three\nfour\n']);
    expect([last, gaps]).toEqual([4, []]);
  });

  it('hands a malformed line to JSON.parse, which drops it', async () => {
    const file = logFile([rawLine(1, '"one\\n"'), rawLine(2, '"bad \\x escape"'), rawLine(3, '"three\\n"')]);
    const { bytes, last, gaps } = await read(file);
    expect(bytes.toString()).toBe('one\nthree\n');
    expect([last, gaps]).toEqual([3, [[2, 3]]]);
  });

  it('skips a torn last line', async () => {
    const lines = [rawLine(1, '"one\\n"'), rawLine(2, '"two\\n"')];
    const { bytes, last } = await read(logFile([...lines, rawLine(3, '"three\\n"').slice(0, 20)], ''));
    expect([bytes.toString(), last]).toEqual(['one\ntwo\n', 2]);
  });

  it('reports each gap once, counting the seqs of streams not selected', async () => {
    const file = logFile([
      rawLine(3, '"3"'), rawLine(4, '"4"', 'stderr'), rawLine(5, '"5"'),
      rawLine(8, '"8"', 'stderr'), rawLine(9, '"9"'),
      JSON.stringify({ stream: 'stdout', log: '12', time, seq: 12 }), rawLine(13, '"13"'),
    ]);
    const { bytes, last, gaps } = await read(file, { stderr: false });
    expect(bytes.toString()).toBe('35912' + '13');
    expect(last).toBe(13);
    expect(gaps).toEqual([[1, 3], [6, 8], [10, 12]]);
  });

  it('ends the read when onGap throws', async () => {
    const file = logFile([rawLine(1, '"1"'), rawLine(3, '"3"')]);
    const onGap = () => { throw new Error('rotated away'); };
    await expect(read(file, { onGap })).rejects.toThrow('rotated away');
  });

  it('closes the log when the consumer breaks off with a read ahead in flight, or aborts', async () => {
    const file = logFile(Array.from({ length: 300 }, (_, i) => monitorLine(i + 1, 'stdout', Buffer.alloc(16 * 1024, 'x'))));
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    for await (const r of readLogRuns(file, { stdout: true, stderr: true, afterSeq: 0 })) { void r; break; }
    expect(fds()).toBe(before);
    const abort = new AbortController();
    const reading = (async () => {
      for await (const r of readLogRuns(file, { stdout: true, stderr: true, afterSeq: 0 }, abort.signal)) { void r; abort.abort(); }
    })();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    expect(fds()).toBe(before);
  });

  it('stops at the first entry at or after beforeSeq, and skips those at or before afterSeq', async () => {
    const file = logFile([1, 2, 3, 4, 8, 5, 6].map((seq) => rawLine(seq, `"${seq}"`)));
    expect(await read(file, { afterSeq: 1, beforeSeq: 5 })).toMatchObject({ last: 4, gaps: [], bytes: Buffer.from('234') });
    expect(await read(file, { afterSeq: 3, beforeSeq: 4 })).toMatchObject({ last: 3, gaps: [], runs: [] });
  });
});

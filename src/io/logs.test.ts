import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLog } from './logs';

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

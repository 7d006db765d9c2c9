// The monitor's json-file log: the 16 KiB cut, partial last lines, and valid JSON from any bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { canRunContainers, makeContainer, readLog, run } from './monitor-harness';

describe.skipIf(!canRunContainers())('berth-monitor log', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => { for (const c of cleanup.splice(0)) c(); });

  it('cuts a 200 KB line into 16 KiB pieces and ends it with the newline', async () => {
    const c = makeContainer(['sh', '-c', 'head -c 204800 /dev/zero | tr "\\0" a; echo']);
    cleanup.push(c.remove);
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    const logs = readLog(c.logPath).map((l) => l.log);
    expect(logs).toHaveLength(13);
    for (const piece of logs.slice(0, 12)) expect(piece).toBe('a'.repeat(16384));
    expect(logs[12]).toBe(`${'a'.repeat(204800 - 12 * 16384)}\n`);
  });

  it('cuts before a UTF-8 character that would straddle the 16 KiB boundary', async () => {
    const c = makeContainer(['sh', '-c', 'head -c 16383 /dev/zero | tr "\\0" a; printf "\\303\\251\\n"']);
    cleanup.push(c.remove);
    await run(c.dir);
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['a'.repeat(16383), '\u00e9\n']);
  });

  it('writes a partial last line without a newline', async () => {
    const c = makeContainer(['printf', 'no newline']);
    cleanup.push(c.remove);
    await run(c.dir);
    expect(readLog(c.logPath).map((l) => l.log)).toEqual(['no newline']);
  });

  it('turns invalid UTF-8 into U+FFFD and escapes control bytes, keeping every line JSON', async () => {
    const c = makeContainer(['printf', 'ok \\303\\251 bad \\377\\300 ctl \\001 "q" \\\\ end\\n']);
    cleanup.push(c.remove);
    await run(c.dir);
    const raw = fs.readFileSync(c.logPath, 'utf8');
    expect(raw).toContain('\\u0001');
    const [line] = readLog(c.logPath);
    expect(line.log).toBe('ok \u00e9 bad \ufffd\ufffd ctl \u0001 "q" \\ end\n');
  });

  it('binary output (over a quarter of its bytes from 0x80 up) gets an empty "log" and its exact bytes in "bin"', async () => {
    const c = makeContainer(['printf', '\\377\\376\\375\\374 ab\\n']);
    cleanup.push(c.remove);
    await run(c.dir);
    const line = JSON.parse(fs.readFileSync(c.logPath, 'utf8').trim()) as { log: string; bin: string };
    expect(line.log).toBe('');
    expect(Buffer.from(line.bin, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0x20, 0x61, 0x62, 0x0a]));
  });

  it('any bytes come back exactly from the log: "bin" where there is one, else "log"', async () => {
    // Pseudo-random bytes cut by their newlines into entries of every length, most of them binary: each
    // length modulo 3 and each size around the encoder's 24-byte blocks is met many times over.
    let seed = 12345;
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    const c = makeContainer(['cat', '/data']);
    cleanup.push(c.remove);
    fs.writeFileSync(path.join(c.rootfs, 'data'), bytes);
    const { exit } = await run(c.dir);
    expect(exit).toMatchObject({ exitCode: 0 });
    const lines = fs.readFileSync(c.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { log: string; bin?: string });
    expect(lines.filter((l) => l.bin !== undefined).length).toBeGreaterThan(lines.length / 2);
    const back = Buffer.concat(lines.map((l) => (l.bin !== undefined ? Buffer.from(l.bin, 'base64') : Buffer.from(l.log, 'utf8'))));
    expect(back.equals(bytes)).toBe(true);
  });

  it('a line of printable ASCII with one character that needs care anywhere in it keeps every byte', async () => {
    // Every length up to 100 and every position: around the 32- and 8-byte blocks the scan takes at a time.
    const specials = ['"', '\\', '\t', '\x1f', '\x7f', '\u00e9'];
    const lines: string[] = [];
    for (let n = 1; n <= 100; n++) {
      lines.push(`${'p'.repeat(n)}\n`);
      for (let at = 0; at < n; at += 3) for (const s of specials) lines.push(`${'x'.repeat(at)}${s}${'y'.repeat(n - at - 1)}\n`);
    }
    const text = lines.join('');
    const c = makeContainer(['cat', '/data']);
    cleanup.push(c.remove);
    fs.writeFileSync(path.join(c.rootfs, 'data'), text);
    await run(c.dir);
    const logged = fs.readFileSync(c.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { log: string; bin?: string });
    expect(logged.map((l) => (l.bin !== undefined ? Buffer.from(l.bin, 'base64').toString('utf8') : l.log))).toEqual(lines);
    // Only a short line that is mostly its control byte is binary.
    expect(logged.filter((l) => l.bin !== undefined).every((l) => Buffer.from(l.bin!, 'base64').length <= 4)).toBe(true);
  });

  it('a run of NUL bytes is binary output too: an empty "log" instead of six bytes of \\u0000 for each', async () => {
    const c = makeContainer(['head', '-c', '20000', '/dev/zero']);
    cleanup.push(c.remove);
    await run(c.dir);
    const raw = fs.readFileSync(c.logPath, 'utf8');
    expect(raw).not.toContain('\\u0000');
    expect(raw.length).toBeLessThan(20000 * 1.4);
    const lines = raw.trim().split('\n').map((l) => JSON.parse(l) as { log: string; bin: string });
    expect(lines.map((l) => l.log)).toEqual(['', '']);
    expect(Buffer.concat(lines.map((l) => Buffer.from(l.bin, 'base64')))).toEqual(Buffer.alloc(20000));
  });

  it('a line stays text up to one control byte in four; \\n, \\t, \\r and bytes 0x80-0x9f of UTF-8 are not control bytes', async () => {
    // 28 bytes: four U+0101 (0xc4 0x81, a byte whose low 7 bits are a control's), tab, CR, 18 letters;
    // then k bytes \001 and the newline. 9 of 38 bytes is text, 10 of 39 is not.
    const line = (k: number) => `${'\\304\\201'.repeat(4)}\\t\\r${'x'.repeat(18)}${'\\001'.repeat(k)}\\n`;
    const decoded = (k: number) => `${'\u0101'.repeat(4)}\t\r${'x'.repeat(18)}${'\u0001'.repeat(k)}\n`;
    const c = makeContainer(['sh', '-c', `printf '${line(9)}'; sleep 0.3; printf '${line(10)}'`]);
    cleanup.push(c.remove);
    await run(c.dir);
    const lines = fs.readFileSync(c.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { log: string; bin?: string });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ log: decoded(9) });
    expect(lines[0].bin).toBeUndefined();
    expect(lines[1].log).toBe('');
    expect(Buffer.from(lines[1].bin!, 'base64').toString('utf8')).toBe(decoded(10));
  });
});

// encodeHeader against tar-stream's parser (and GNU tar where it is installed): every field survives,
// including names and numbers that need a pax header.
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from './tar-header';

function archive(entries: Array<{ header: TarHeader; body?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { header, body } of entries) {
    parts.push(encodeHeader(header));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function parse(bytes: Buffer): Promise<Array<{ header: tar.Header; body: string }>> {
  const out: Array<{ header: tar.Header; body: string }> = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 };

describe('encodeHeader', () => {
  it('writes ustar headers tar-stream reads back field by field', async () => {
    const bytes = archive([
      { header: { ...base, name: 'etc/', type: 'directory', mode: 0o2755, uid: 1000, gid: 50 } },
      { header: { ...base, name: 'etc/passwd', type: 'file', size: 5, mode: 0o4755 }, body: Buffer.from('hello') },
      { header: { ...base, name: 'etc/hard', type: 'link', linkname: 'etc/passwd' } },
      { header: { ...base, name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox', mode: 0o777 } },
      { header: { ...base, name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } },
      { header: { ...base, name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 } },
      { header: { ...base, name: 'run/fifo', type: 'fifo', mode: 0o600 } },
    ]);
    expect(bytes.length % 512).toBe(0);
    const got = await parse(bytes);
    expect(got.map((e) => [e.header.name, e.header.type, e.header.mode, e.header.uid, e.header.gid, e.header.size, e.header.mtime?.getTime()])).toEqual([
      ['etc/', 'directory', 0o2755, 1000, 50, 0, 1_700_000_000_000],
      ['etc/passwd', 'file', 0o4755, 0, 0, 5, 1_700_000_000_000],
      ['etc/hard', 'link', 0o644, 0, 0, 0, 1_700_000_000_000],
      ['bin/sh', 'symlink', 0o777, 0, 0, 0, 1_700_000_000_000],
      ['dev/null', 'character-device', 0o666, 0, 0, 0, 1_700_000_000_000],
      ['dev/sda', 'block-device', 0o644, 0, 0, 0, 1_700_000_000_000],
      ['run/fifo', 'fifo', 0o600, 0, 0, 0, 1_700_000_000_000],
    ]);
    expect(got[1].body).toBe('hello');
    expect(got[2].header.linkname).toBe('etc/passwd');
    expect(got[3].header.linkname).toBe('/bin/busybox');
    expect([got[4].header.devmajor, got[4].header.devminor]).toEqual([1, 3]);
  });

  it('splits a long name into prefix and name, and falls back to pax past that', async () => {
    const split = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const noSlash = 'x'.repeat(300);
    const deep = Array.from({ length: 40 }, (_, i) => `dir${i}`).join('/');
    const longLink = `/${'t'.repeat(200)}`;
    const bytes = archive([
      { header: { ...base, name: split, type: 'file' } },
      { header: { ...base, name: noSlash, type: 'file' } },
      { header: { ...base, name: `${deep}/`, type: 'directory' } },
      { header: { ...base, name: 'l', type: 'symlink', linkname: longLink } },
      { header: { ...base, name: 'ünïcødé/ファイル', type: 'file' } },
    ]);
    expect((await parse(bytes)).map((e) => [e.header.name, e.header.linkname ?? null])).toEqual([
      [split, null], [noSlash, null], [`${deep}/`, null], ['l', longLink], ['ünïcødé/ファイル', null],
    ]);
  });

  it('puts ids, sizes and times that do not fit in octal into pax records', async () => {
    const bytes = archive([{ header: { ...base, name: 'big', type: 'file', uid: 100_000_000, gid: 3_000_000, mtime: 2 ** 34 } }]);
    const [e] = await parse(bytes);
    // tar-stream applies only path and linkpath itself; the rest is for the reader (extract.ts reads uid and gid).
    expect(e.header.pax).toEqual({ uid: '100000000', gid: '3000000', mtime: String(2 ** 34) });
    expect([e.header.uid, e.header.gid]).toEqual([0, 0]);
  });

  it.skipIf(spawnSync('tar', ['--version']).status !== 0)('GNU tar lists what we write', () => {
    const bytes = archive([
      { header: { ...base, name: 'a/', type: 'directory' } },
      { header: { ...base, name: `a/${'n'.repeat(150)}`, type: 'file', size: 3 }, body: Buffer.from('abc') },
      { header: { ...base, name: 'p'.repeat(300), type: 'file', uid: 99_999_999 } },
    ]);
    const r = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: bytes, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(`a/${'n'.repeat(150)}`);
    expect(lines[2]).toContain('99999999/0');
  });
});

// Tests for extractLayer against real tars built with tar-stream pack. They chown, so they need root
// (our dev machine runs as root); each test unpacks into <tmp>/dest with a canary directory beside it.

import { createHash } from 'node:crypto';
import { promises as fs, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unreadableSize } from '../../test/helpers/tar';
import { extractLayer, type DeviceSpec } from './extract';
import { writeChecksum } from './tar-header';

type TarEntry = Partial<tar.Header> & { name: string; body?: string | Buffer };

async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date('2024-01-01T00:00:00Z');
  for (const { body, ...header } of entries) pack.entry({ mtime, ...header }, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let base: string;
let dest: string;
let canary: string;
let mknodCalls: Array<{ path: string; spec: DeviceSpec }>;

// Records the call and leaves a regular file where the node would be, so owner/mode/mtime can be checked.
const fakeMknod = (p: string, spec: DeviceSpec): void => {
  mknodCalls.push({ path: p, spec });
  writeFileSync(p, '', { flag: 'wx' });
};

const extract = (tarBytes: Buffer | Readable) =>
  extractLayer(Buffer.isBuffer(tarBytes) ? Readable.from([tarBytes]) : tarBytes, dest, { mknod: fakeMknod });

async function expectCanaryUntouched(): Promise<void> {
  expect((await fs.readdir(base)).sort()).toEqual(['canary', 'dest']);
  expect(await fs.readdir(canary)).toEqual(['secret']);
  expect(await fs.readFile(path.join(canary, 'secret'), 'utf8')).toBe('original');
  expect((await fs.stat(path.join(canary, 'secret'))).nlink).toBe(1);
}

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-extract-'));
  dest = path.join(base, 'dest');
  canary = path.join(base, 'canary');
  await fs.mkdir(dest);
  await fs.mkdir(canary);
  await fs.writeFile(path.join(canary, 'secret'), 'original');
  mknodCalls = [];
});
afterEach(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe.skipIf(process.getuid?.() !== 0)('extractLayer', () => {
  it('unpacks a tree keeping modes, owners, links, devices and mtimes', async () => {
    const old = new Date('2020-05-06T07:08:09Z');
    const bytes = await buildTar([
      { name: 'usr/share/doc/readme', body: 'doc' }, // before its directories: they are made implicitly
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/busybox', mode: 0o4755, body: 'hello' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
      { name: './home/user/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000, mtime: old },
      { name: 'home/user/notes.txt', mode: 0o640, uid: 1000, gid: 1000, mtime: old, body: 'notes' },
      { name: 'shared/', type: 'directory', mode: 0o2775, gid: 50 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'dev/fifo', type: 'fifo', mode: 0o620 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    ]);
    const result = await extract(bytes);

    expect(result).toEqual({ diffId: sha256(bytes), sizeBytes: 3 + 5 + 5, tarSizeBytes: bytes.length, gzip: false });
    const st = (rel: string) => fs.lstat(path.join(dest, rel));
    expect((await st('usr')).mode & 0o7777).toBe(0o755);
    expect((await st('bin/busybox')).mode & 0o7777).toBe(0o4755);
    expect(await fs.readFile(path.join(dest, 'bin/busybox'), 'utf8')).toBe('hello');
    expect(await fs.readlink(path.join(dest, 'bin/sh'))).toBe('/bin/busybox');
    expect((await st('bin/ash')).ino).toBe((await st('bin/busybox')).ino);
    expect((await st('bin/busybox')).nlink).toBe(2);

    const home = await st('home/user');
    expect([home.mode & 0o7777, home.uid, home.gid]).toEqual([0o700, 1000, 1000]);
    expect(home.mtime.getTime()).toBe(old.getTime()); // applied after notes.txt was created inside
    const notes = await st('home/user/notes.txt');
    expect([notes.mode & 0o7777, notes.uid, notes.gid, notes.mtime.getTime()]).toEqual([0o640, 1000, 1000, old.getTime()]);
    const shared = await st('shared');
    expect([shared.mode & 0o7777, shared.gid]).toEqual([0o2775, 50]);
    expect((await st('tmp')).mode & 0o7777).toBe(0o1777);

    expect(mknodCalls).toEqual([
      { path: path.join(dest, 'dev/fifo'), spec: { type: 'p', major: 0, minor: 0, mode: 0o620 } },
      { path: path.join(dest, 'dev/null'), spec: { type: 'c', major: 1, minor: 3, mode: 0o666 } },
    ]);
    expect((await st('dev/null')).mode & 0o7777).toBe(0o666);
  });

  it.each([['../escape'], ['a/../../escape'], ['../canary/pwned'], ['./../escape']])(
    'rejects %s and writes nothing outside dest',
    async (name) => {
      const bytes = await buildTar([
        { name: 'ok', body: 'fine' },
        { name, body: 'pwned' },
      ]);
      await expect(extract(bytes)).rejects.toMatchObject({
        kind: 'InvalidArgument',
        message: `layer entry ${JSON.stringify(name)}: path escapes the layer`,
      });
      await expectCanaryUntouched();
    },
  );

  it('collapses a/../b inside the layer', async () => {
    await extract(await buildTar([{ name: 'a/../b', body: 'x' }]));
    expect(await fs.readFile(path.join(dest, 'b'), 'utf8')).toBe('x');
  });

  it('puts absolute paths inside dest', async () => {
    const abs = path.join(canary, 'abs');
    await extract(await buildTar([{ name: '/etc/x', body: 'etc' }, { name: abs, body: 'abs' }]));
    expect(await fs.readFile(path.join(dest, 'etc/x'), 'utf8')).toBe('etc');
    expect(await fs.readFile(path.join(dest, abs), 'utf8')).toBe('abs');
    await expectCanaryUntouched();
  });

  it('rejects a file below a symlink to an outside directory', async () => {
    const bytes = await buildTar([
      { name: 'evil', type: 'symlink', linkname: canary },
      { name: 'evil/payload', body: 'pwned' },
    ]);
    await expect(extract(bytes)).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: 'layer entry "evil/payload": parent "evil" is a symlink',
    });
    await expectCanaryUntouched();
  });

  it('rejects a file below a symlink to ..', async () => {
    const bytes = await buildTar([
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/x', body: 'pwned' },
    ]);
    await expect(extract(bytes)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expectCanaryUntouched();
  });

  it('rejects a directory entry below a symlink', async () => {
    const bytes = await buildTar([
      { name: 'evil', type: 'symlink', linkname: canary },
      { name: 'evil/sub/', type: 'directory', mode: 0o777 },
    ]);
    await expect(extract(bytes)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expectCanaryUntouched();
  });

  it('rejects a hard link that climbs out of the layer', async () => {
    const bytes = await buildTar([{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }]);
    await expect(extract(bytes)).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: 'layer entry "pw": link target "../../etc/passwd" escapes the layer',
    });
    await expect(fs.lstat(path.join(dest, 'pw'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('resolves an absolute hard link target inside the layer, not on the host', async () => {
    const bytes = await buildTar([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]);
    await expect(extract(bytes)).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: 'layer entry "pw": link target "/etc/passwd" is not a regular file in the layer',
    });
    await expect(fs.lstat(path.join(dest, 'pw'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a hard link whose target is reached through a symlinked parent', async () => {
    const bytes = await buildTar([
      { name: 'lnk', type: 'symlink', linkname: canary },
      { name: 'stolen', type: 'link', linkname: 'lnk/secret' },
    ]);
    await expect(extract(bytes)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(fs.lstat(path.join(dest, 'stolen'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expectCanaryUntouched();
  });

  it('rejects a hard link to a symlink', async () => {
    const bytes = await buildTar([
      { name: 'lnk', type: 'symlink', linkname: path.join(canary, 'secret') },
      { name: 'stolen', type: 'link', linkname: 'lnk' },
    ]);
    await expect(extract(bytes)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expectCanaryUntouched();
  });

  it('replaces a symlink with a file in dest instead of writing through it', async () => {
    const bytes = await buildTar([
      { name: 'f', type: 'symlink', linkname: path.join(canary, 'secret') },
      { name: 'f', mode: 0o644, body: 'new' },
      { name: 'd', type: 'symlink', linkname: canary },
      { name: 'd/', type: 'directory', mode: 0o750 },
      { name: 'd/inner', body: 'inside' },
    ]);
    await extract(bytes);
    expect((await fs.lstat(path.join(dest, 'f'))).isFile()).toBe(true);
    expect(await fs.readFile(path.join(dest, 'f'), 'utf8')).toBe('new');
    const d = await fs.lstat(path.join(dest, 'd'));
    expect([d.isDirectory(), d.mode & 0o7777]).toEqual([true, 0o750]);
    expect(await fs.readFile(path.join(dest, 'd/inner'), 'utf8')).toBe('inside');
    await expectCanaryUntouched();
  });

  it('replaces a file with a directory and a directory with a file', async () => {
    const bytes = await buildTar([
      { name: 'a', body: 'file' },
      { name: 'a/', type: 'directory', mode: 0o755 },
      { name: 'b/c', body: 'child' },
      { name: 'b', body: 'now a file' },
    ]);
    await extract(bytes);
    expect((await fs.lstat(path.join(dest, 'a'))).isDirectory()).toBe(true);
    expect(await fs.readFile(path.join(dest, 'b'), 'utf8')).toBe('now a file');
  });

  it('lets a later directory entry update an implicit directory', async () => {
    await extract(
      await buildTar([
        { name: 'a/b', body: 'x' },
        { name: 'a/', type: 'directory', mode: 0o700, uid: 7, gid: 8 },
      ]),
    );
    const a = await fs.lstat(path.join(dest, 'a'));
    expect([a.mode & 0o7777, a.uid, a.gid]).toEqual([0o700, 7, 8]);
  });

  it('skips whiteout entries', async () => {
    await extract(await buildTar([{ name: 'etc/.wh.passwd' }, { name: 'etc/.wh..wh..opq' }, { name: 'ok', body: '1' }]));
    expect(await fs.readdir(dest)).toEqual(['ok']);
  });

  it('turns whiteouts into overlayfs form when given setXattr, and ignores aufs metadata', async () => {
    const xattrs: Array<[string, string, string]> = [];
    const bytes = await buildTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/passwd', body: 'replaced by its whiteout' },
      { name: 'etc/.wh.passwd', uid: 5, gid: 6 },
      { name: 'var/cache/.wh..wh..opq' },
      { name: '.wh..wh.plnk/', type: 'directory' },
      { name: '.wh..wh.plnk/1.2', body: 'aufs hard link store' },
      { name: 'ok', body: '1' },
    ]);
    await extractLayer(Readable.from([bytes]), dest, { mknod: fakeMknod, setXattr: (p, n, v) => xattrs.push([p, n, v]) });
    expect((await fs.readdir(dest)).sort()).toEqual(['etc', 'ok', 'var']);
    expect(mknodCalls).toEqual([{ path: path.join(dest, 'etc/passwd'), spec: { type: 'c', major: 0, minor: 0, mode: 0 } }]);
    expect((await fs.lstat(path.join(dest, 'etc/passwd'))).uid).toBe(5);
    expect(xattrs).toEqual([[path.join(dest, 'var/cache'), 'trusted.overlay.opaque', 'y']]);
    expect((await fs.lstat(path.join(dest, 'var/cache'))).isDirectory()).toBe(true);
  });

  it('refuses a whiteout below a symlink', async () => {
    const bytes = await buildTar([{ name: 'l', type: 'symlink', linkname: canary }, { name: 'l/.wh.secret' }]);
    await expect(extractLayer(Readable.from([bytes]), dest, { mknod: fakeMknod, setXattr: () => undefined })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expectCanaryUntouched();
  });

  it('gives a gzip layer the diffId of its uncompressed tar, even split into 1-byte chunks', async () => {
    const bytes = await buildTar([
      { name: 'bin/busybox', mode: 0o755, body: 'x'.repeat(10_000) },
      { name: 'etc/hostname', body: 'berth\n' },
    ]);
    const gz = gzipSync(bytes);
    const chunks = [...gz].map((b) => Buffer.from([b]));
    const result = await extract(Readable.from(chunks));
    expect(result).toEqual({ diffId: sha256(bytes), sizeBytes: 10_006, tarSizeBytes: bytes.length, gzip: true });
    expect(await fs.readFile(path.join(dest, 'etc/hostname'), 'utf8')).toBe('berth\n');
  });

  it('streams a large file from an async iterable', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const bytes = await buildTar([{ name: 'big', body: big }]);
    async function* slices(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < bytes.length; off += 65536) yield new Uint8Array(bytes.subarray(off, off + 65536));
    }
    const result = await extractLayer(slices(), dest, { mknod: fakeMknod });
    expect(result).toEqual({ diffId: sha256(bytes), sizeBytes: big.length, tarSizeBytes: bytes.length, gzip: false });
    expect(sha256(await fs.readFile(path.join(dest, 'big')))).toBe(sha256(big));
  });

  it('rejects a truncated tar as InvalidArgument', async () => {
    const bytes = await buildTar([{ name: 'f', body: 'y'.repeat(5000) }]);
    await expect(extract(bytes.subarray(0, 1024))).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: 'layer: invalid tar: Unexpected end of data',
    });
  });

  it('rejects an entry whose size tar-stream cannot read (its body would never end) as InvalidArgument', async () => {
    const bytes = await buildTar([{ name: 'd/', type: 'directory' }, { name: 'f', body: 'x' }]);
    for (const offset of [0, 512]) {
      await expect(extract(unreadableSize(bytes, offset))).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('invalid size null') });
    }
  });

  it('rejects a directory entry with a body (tar-stream would never end its stream) as InvalidArgument', async () => {
    const bytes = Buffer.from(await buildTar([{ name: 'd/', type: 'directory' }, { name: 'f', body: 'x' }]));
    // The directory's size field says 9 bytes, the checksum fixed as a hostile tar would have it.
    bytes.write('00000000011\0', 124, 12, 'latin1');
    writeChecksum(bytes.subarray(0, 512));
    await expect(extract(bytes)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('a directory with a body of 9 bytes') });
  });

  it('rejects corrupt gzip as InvalidArgument', async () => {
    const gz = gzipSync(await buildTar([{ name: 'f', body: 'data' }]));
    gz.fill(0xff, 20, 40);
    await expect(extract(gz)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('a gzip source still being read when the tar fails is closed without an unhandled error', async () => {
    const gz = gzipSync(Buffer.alloc(4096, 0x41)); // gzip, but no tar inside
    let sent = false;
    // Sends all but the gzip trailer, then nothing: the source is mid-read when extraction gives up and destroys it.
    const source = new Readable({ read() { if (!sent) { sent = true; this.push(gz.subarray(0, gz.length - 8)); } } });
    await expect(extract(source)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    expect(source.destroyed).toBe(true);
    // With pipe() the destroyed source's error was emitted on an inner stream nobody listened to: a crash, a tick later.
    await new Promise((r) => setTimeout(r, 50));
  });

  it('reports a failing source with its own error', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(512);
      throw new Error('connection reset');
    }
    await expect(extractLayer(failing(), dest, { mknod: fakeMknod })).rejects.toMatchObject({
      kind: 'Internal',
      message: 'read layer: connection reset',
    });
  });
});

// Tests for writeFileAtomic / readJsonFile on a real temp dir.

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJsonFile, rewriteFile, writeFileAtomic } from './atomic-file';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-atomic-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates a file with the given bytes and mode 0600 by default', async () => {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"a":1}');
    expect(await fs.readFile(file, 'utf8')).toBe('{"a":1}');
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o600);
  });

  it('applies an explicit mode regardless of umask', async () => {
    const file = path.join(dir, 'exit');
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(file, new Uint8Array([1, 2, 3]), 0o644);
    } finally {
      process.umask(old);
    }
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o644);
    expect([...(await fs.readFile(file))]).toEqual([1, 2, 3]);
  });

  it('replaces an existing file and leaves no temp files behind', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, 'old contents that are longer');
    await writeFileAtomic(file, 'new');
    expect(await fs.readFile(file, 'utf8')).toBe('new');
    expect(await fs.readdir(dir)).toEqual(['config.json']);
  });

  it('replaces a symlink at the target instead of writing through it', async () => {
    const victim = path.join(dir, 'victim');
    await fs.writeFile(victim, 'untouched');
    const file = path.join(dir, 'state.json');
    await fs.symlink(victim, file);
    await writeFileAtomic(file, 'new');
    expect(await fs.readFile(victim, 'utf8')).toBe('untouched');
    expect((await fs.lstat(file)).isFile()).toBe(true);
  });

  it('removes the temp file when the rename fails', async () => {
    // Renaming a file over a non-empty directory fails with EISDIR/ENOTEMPTY after the temp file was written.
    const target = path.join(dir, 'occupied');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'child'), 'x');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await fs.readdir(dir)).toEqual(['occupied']);
  });

  it('fails when the directory does not exist', async () => {
    await expect(writeFileAtomic(path.join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('readJsonFile', () => {
  it('round-trips what writeFileAtomic wrote', async () => {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, JSON.stringify({ pid: 42, status: 'running' }));
    expect(await readJsonFile<{ pid: number; status: string }>(file)).toEqual({ pid: 42, status: 'running' });
  });

  it('returns undefined for a missing file', async () => {
    expect(await readJsonFile(path.join(dir, 'nope.json'))).toBeUndefined();
  });

  it('throws on malformed JSON', async () => {
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, '{not json');
    await expect(readJsonFile(file)).rejects.toThrow(SyntaxError);
  });
});

describe('rewriteFile', () => {
  it('replaces the bytes in place: same inode, exact mode', async () => {
    const file = path.join(dir, 'hosts');
    await fs.writeFile(file, 'a much longer old content\n');
    const before = (await fs.stat(file)).ino;
    rewriteFile(file, '127.0.0.1 localhost\n', 0o644);
    expect(await fs.readFile(file, 'utf8')).toBe('127.0.0.1 localhost\n');
    const st = await fs.stat(file);
    expect([st.ino, st.mode & 0o7777]).toEqual([before, 0o644]);
    expect(await fs.readdir(dir)).toEqual(['hosts']);
  });

  it('refuses to write through a symlink at the name', async () => {
    const victim = path.join(dir, 'victim');
    await fs.writeFile(victim, 'untouched');
    await fs.symlink(victim, path.join(dir, 'spec.json'));
    expect(() => rewriteFile(path.join(dir, 'spec.json'), '{}')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(await fs.readFile(victim, 'utf8')).toBe('untouched');
  });
});

// docker cp's argument rules, and the local tar round trip (pack here, unpack here) with renames.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitCpArg, specifiesCurrentDir } from './cp';
import { packLocal, unpackLocal } from './cp-local';

describe('splitCpArg', () => {
  it.each([
    ['web:/etc/passwd', { container: 'web', path: '/etc/passwd' }],
    ['web:relative', { container: 'web', path: 'relative' }],
    ['/abs/with:colon', { path: '/abs/with:colon' }],
    ['./file:name.txt', { path: './file:name.txt' }],
    ['plain', { path: 'plain' }],
    ['-', { path: '-' }],
  ])('%s', (arg, want) => {
    expect(splitCpArg(arg)).toEqual(want);
  });

  it('knows "dir/." from "dir/"', () => {
    expect([specifiesCurrentDir('a/.'), specifiesCurrentDir('.'), specifiesCurrentDir('a/'), specifiesCurrentDir('a/.b')]).toEqual([true, true, false, false]);
  });
});

describe('packLocal and unpackLocal', () => {
  let base = '';
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cp-local-'));
    fs.mkdirSync(path.join(base, 'src/sub'), { recursive: true });
    fs.writeFileSync(path.join(base, 'src/sub/f'), 'data');
    fs.chmodSync(path.join(base, 'src/sub/f'), 0o640);
    fs.symlinkSync('sub/f', path.join(base, 'src/link'));
    fs.linkSync(path.join(base, 'src/sub/f'), path.join(base, 'src/hard'));
    fs.mkdirSync(path.join(base, 'dst'));
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));
  const warnings: string[] = [];
  const opts = { keepOwners: false, warn: (m: string) => warnings.push(m) };

  it('round-trips a directory under a new name, with links and modes', async () => {
    await unpackLocal(packLocal(path.join(base, 'src'), 'copy', false), path.join(base, 'dst'), opts);
    const copy = path.join(base, 'dst/copy');
    expect(fs.readdirSync(copy).sort()).toEqual(['hard', 'link', 'sub']);
    expect(fs.readFileSync(path.join(copy, 'sub/f'), 'utf8')).toBe('data');
    expect(fs.statSync(path.join(copy, 'sub/f')).mode & 0o777).toBe(0o640);
    expect(fs.readlinkSync(path.join(copy, 'link'))).toBe('sub/f');
    expect(fs.statSync(path.join(copy, 'hard')).ino).toBe(fs.statSync(path.join(copy, 'sub/f')).ino);
    expect(warnings).toEqual([]);
  });

  it('packs "dir/." as its contents and renames the top entry on the way in', async () => {
    await unpackLocal(packLocal(path.join(base, 'src'), '.', true), path.join(base, 'dst'), { ...opts, rename: { from: '.', to: 'renamed' } });
    expect(fs.readdirSync(path.join(base, 'dst/renamed')).sort()).toEqual(['hard', 'link', 'sub']);
  });

  it('never writes through a symlink already at the destination, nor a directory over a file', async () => {
    fs.symlinkSync(os.tmpdir(), path.join(base, 'dst/copy'));
    await expect(unpackLocal(packLocal(path.join(base, 'src'), 'copy', false), path.join(base, 'dst'), opts)).rejects.toThrow(/non-directory|symlink/);
    fs.rmSync(path.join(base, 'dst/copy'));
    fs.writeFileSync(path.join(base, 'dst/copy'), 'a file');
    await expect(unpackLocal(packLocal(path.join(base, 'src'), 'copy', false), path.join(base, 'dst'), opts)).rejects.toThrow(/cannot overwrite non-directory/);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fillVolume } from './fill';

const IS_ROOT = process.getuid?.() === 0;

describe('fillVolume', () => {
  let dir = '';
  let src = '';
  let data = '';
  const noMknod = () => { throw new Error('no devices here'); };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fill-'));
    src = path.join(dir, 'image/etc');
    data = path.join(dir, 'volume/_data');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(src, 'conf'), 'setting=1\n', { mode: 0o640 });
    fs.chmodSync(path.join(src, 'conf'), 0o640);
    fs.linkSync(path.join(src, 'conf'), path.join(src, 'sub/conf-link'));
    fs.symlinkSync('/etc/passwd', path.join(src, 'abs-link'));
    fs.chmodSync(path.join(src, 'sub'), 0o750);
    fs.chmodSync(src, 0o711);
    fs.utimesSync(path.join(src, 'conf'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies files, modes, times, hard links and symlinks (as links), and gives the root the source\'s mode', async () => {
    await fillVolume(src, data, path.join(dir, 'volume/.tmp-1'), noMknod);
    expect(fs.readdirSync(data).sort()).toEqual(['abs-link', 'conf', 'sub']);
    expect(fs.readFileSync(path.join(data, 'conf'), 'utf8')).toBe('setting=1\n');
    expect(fs.statSync(path.join(data, 'conf')).mode & 0o777).toBe(0o640);
    expect(fs.statSync(path.join(data, 'conf')).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(fs.statSync(path.join(data, 'sub')).mode & 0o777).toBe(0o750);
    expect(fs.statSync(path.join(data, 'sub/conf-link')).ino).toBe(fs.statSync(path.join(data, 'conf')).ino);
    expect(fs.readlinkSync(path.join(data, 'abs-link'))).toBe('/etc/passwd');
    expect(fs.statSync(data).mode & 0o777).toBe(0o711);
    // The scratch directory is gone.
    expect(fs.readdirSync(path.join(dir, 'volume'))).toEqual(['_data']);
  });

  it.skipIf(!IS_ROOT)('keeps owners (as root)', async () => {
    fs.chownSync(path.join(src, 'conf'), 1000, 1001);
    fs.chownSync(src, 1000, 1000);
    fs.lchownSync(path.join(src, 'abs-link'), 7, 8);
    await fillVolume(src, data, path.join(dir, 'volume/.tmp-2'), noMknod);
    const st = fs.statSync(path.join(data, 'conf'));
    expect([st.uid, st.gid]).toEqual([1000, 1001]);
    const link = fs.lstatSync(path.join(data, 'abs-link'));
    expect([link.uid, link.gid]).toEqual([7, 8]);
    expect([fs.statSync(data).uid, fs.statSync(data).gid]).toEqual([1000, 1000]);
  });

  it('leaves alone what appeared in the volume meanwhile, and does nothing for a file', async () => {
    fs.writeFileSync(path.join(data, 'conf'), 'mine\n');
    await fillVolume(src, data, path.join(dir, 'volume/.tmp-3'), noMknod);
    expect(fs.readFileSync(path.join(data, 'conf'), 'utf8')).toBe('mine\n');
    const other = path.join(dir, 'volume2');
    fs.mkdirSync(other);
    await fillVolume(path.join(src, 'conf'), other, path.join(dir, '.tmp-4'), noMknod);
    expect(fs.readdirSync(other)).toEqual([]);
  });
});

// The init layer: only the mount points the image lacks, its directories shown as the image has them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initLayerPath, overlayMount, overlayPaths, prepareInitLayer, volatileMarkPath } from './overlay';

const isRoot = process.getuid?.() === 0;
let base = '';
const notOpaque = () => false;

function list(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    return e.isDirectory() ? [`${r}/`, ...list(dir, r)] : [r];
  }).sort();
}

beforeEach(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-overlay-')); });
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

describe('prepareInitLayer', () => {
  it('adds what the image lacks, mirrors the image\'s directories, and is made once', async () => {
    const layer = path.join(base, 'layer');
    fs.mkdirSync(path.join(layer, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(layer, 'proc'));
    fs.writeFileSync(path.join(layer, 'etc/hosts'), '127.0.0.1 image\n');
    fs.chmodSync(path.join(layer, 'etc'), 0o750);
    if (isRoot) fs.chownSync(path.join(layer, 'etc'), 7, 8);
    const old = new Date('2020-02-02T00:00:00Z');
    fs.utimesSync(path.join(layer, 'etc'), old, old);
    const init = initLayerPath(base, 'sha256:c1');
    await prepareInitLayer(init, [layer], notOpaque);
    expect(list(init)).toEqual(['dev/', 'etc/', 'etc/hostname', 'etc/resolv.conf', 'sys/']);
    const etc = fs.statSync(path.join(init, 'etc'));
    expect([etc.mode & 0o7777, etc.mtime.getTime()]).toEqual([0o750, old.getTime()]);
    if (isRoot) expect([etc.uid, etc.gid]).toEqual([7, 8]);
    expect(fs.statSync(path.join(init, 'etc/hostname')).mode & 0o777).toBe(0o644);
    fs.writeFileSync(path.join(init, 'marker'), '');
    await prepareInitLayer(init, [layer], notOpaque);
    expect(fs.existsSync(path.join(init, 'marker'))).toBe(true);
    expect(fs.readdirSync(path.dirname(init))).toEqual(['c1']);
  });

  it('is made once when many starts of one image ask for it at the same moment', async () => {
    const layer = path.join(base, 'layer');
    fs.mkdirSync(path.join(layer, 'proc'), { recursive: true });
    const init = initLayerPath(base, 'sha256:c4');
    await Promise.all(Array.from({ length: 8 }, () => prepareInitLayer(init, [layer], notOpaque)));
    expect(list(init)).toEqual(['dev/', 'etc/', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'sys/']);
    expect(fs.readdirSync(path.dirname(init))).toEqual(['c4']);
  });

  it('leaves paths under a symlinked /etc to init, and honours whiteouts in the image', async () => {
    const [top, bottom] = ['top', 'bottom'].map((n) => path.join(base, n));
    fs.mkdirSync(path.join(bottom, 'usr/etc'), { recursive: true });
    for (const d of ['dev', 'sys']) fs.mkdirSync(path.join(bottom, d), { recursive: true });
    fs.symlinkSync('usr/etc', path.join(bottom, 'etc'));
    fs.mkdirSync(top);
    // The top layer deletes the bottom one's /sys (a whiteout is a 0/0 character device).
    if (isRoot) spawnSync('mknod', [path.join(top, 'sys'), 'c', '0', '0']);
    const init = initLayerPath(base, 'sha256:c2');
    await prepareInitLayer(init, [top, bottom], notOpaque);
    expect(list(init)).toEqual(isRoot ? ['proc/', 'sys/'] : ['proc/']);
  });

  it('puts the init layer above the image layers', () => {
    const p = overlayPaths('/var/lib/berth', 'c3');
    expect(overlayMount(p, 'init/abc', ['l/2', 'l/1']).data).toBe('lowerdir=init/abc:l/2:l/1,upperdir=/var/lib/berth/overlay/c3/upper,workdir=/var/lib/berth/overlay/c3/work,redirect_dir=off,metacopy=off');
  });

  it('adds volatile only when asked, and knows where such a mount leaves its mark', () => {
    const p = overlayPaths('/var/lib/berth', 'c4');
    expect(overlayMount(p, 'init/abc', ['l/1'], true).data).toMatch(/,metacopy=off,volatile$/);
    expect(overlayMount(p, 'init/abc', ['l/1'], false).data).not.toMatch(/volatile/);
    expect(volatileMarkPath(p)).toBe('/var/lib/berth/overlay/c4/work/work/incompat');
  });
});

// containerChanges, treeSize and upperToLayerTar on real directories shaped like overlayfs leaves them.
// Whiteouts are 0/0 character devices (mknod needs root); opaque directories come from a fake xattr reader.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containerChanges, type OpaqueCheck } from './changes';
import { upperToLayerTar } from './layer-tar';
import { treeSize } from './size';

const isRoot = process.getuid?.() === 0;

let base = '';
let opaque: Set<string>;
/** The real path behind /proc/self/fd/<n>/<name>, looked up in the set of opaque directories. */
const isOpaque: OpaqueCheck = (p) => opaque.has(fs.realpathSync(p));
const T = new Date('2024-01-01T00:00:00Z');

function tree(root: string, spec: Record<string, string | null | { dir: true; mode?: number } | { link: string } | 'whiteout'>): void {
  for (const [rel, what] of Object.entries(spec)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (what === 'whiteout') {
      const r = spawnSync('mknod', [p, 'c', '0', '0']);
      if (r.status !== 0) throw new Error(`mknod ${p}: ${r.stderr}`);
    } else if (typeof what === 'string') fs.writeFileSync(p, what);
    else if (what && 'dir' in what) {
      fs.mkdirSync(p, { recursive: true });
      if (what.mode) fs.chmodSync(p, what.mode);
    } else if (what && 'link' in what) fs.symlinkSync(what.link, p);
  }
}

/** Every directory's mtime set to T, as an extracted layer and a copy-up leave it. */
function settle(root: string): void {
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    fs.utimesSync(dir, T, T);
  };
  walk(root);
}

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-changes-'));
  opaque = new Set();
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

describe.skipIf(!isRoot)('containerChanges', () => {
  it('reports A, C and D as docker diff does, with every parent of a change as C', async () => {
    const [l1, l2, upper] = ['l1', 'l2', 'upper'].map((n) => path.join(base, n));
    tree(l1, {
      'etc/passwd': 'root', 'etc/group': 'g', 'bin/sh': 'sh', 'bin/ls': 'ls', 'd/a': 'a', 'd/b': 'b', 'd/sub/c': 'c',
      'keep/x': 'x', 'usr/lib/libc': 'libc', 'mode/': { dir: true, mode: 0o755 },
    });
    tree(l2, { 'etc/hosts': 'h', 'etc/group': 'whiteout', 'top': 'l2' });
    settle(l1);
    settle(l2);
    tree(upper, {
      'etc/passwd': 'root2', // modified
      'etc/group': 'again', // whited out in l2: new to the image
      'bin/sh': 'whiteout', // deleted
      'd/a': 'a2', 'd/z': 'z', // d was removed and made again: opaque
      'keep/': { dir: true }, // a copied-up directory with nothing changed below
      'usr/lib/': { dir: true }, 'usr/lib/gone': 'whiteout', // a whiteout over nothing the image has
      'tmp/new/file': 'n', // new directories
      'mode/': { dir: true, mode: 0o700 }, // only its mode changed
      'top': 'whiteout', // deletes l2's file
    });
    settle(upper);
    fs.utimesSync(path.join(upper, 'etc'), new Date(), new Date()); // a directory whose entries changed
    opaque.add(path.join(upper, 'd'));

    expect(await containerChanges(upper, [l2, l1], isOpaque)).toEqual([
      { path: '/bin', kind: 'C' },
      { path: '/bin/sh', kind: 'D' },
      { path: '/d', kind: 'C' },
      { path: '/d/a', kind: 'C' },
      { path: '/d/b', kind: 'D' },
      { path: '/d/sub', kind: 'D' },
      { path: '/d/z', kind: 'A' },
      { path: '/etc', kind: 'C' },
      { path: '/etc/group', kind: 'A' },
      { path: '/etc/passwd', kind: 'C' },
      { path: '/mode', kind: 'C' },
      { path: '/tmp', kind: 'A' },
      { path: '/tmp/new', kind: 'A' },
      { path: '/tmp/new/file', kind: 'A' },
      { path: '/top', kind: 'D' },
    ]);
  });

  it('a directory made again below an opaque one hides the image\'s contents too', async () => {
    const [lower, upper] = ['lower', 'upper'].map((n) => path.join(base, n));
    tree(lower, { 'd/sub/old': 'o', 'd/sub/kept': 'k' });
    tree(upper, { 'd/sub/kept': 'k2' });
    settle(lower);
    settle(upper);
    opaque.add(path.join(upper, 'd'));
    expect(await containerChanges(upper, [lower], isOpaque)).toEqual([
      { path: '/d', kind: 'C' },
      { path: '/d/sub', kind: 'C' },
      { path: '/d/sub/kept', kind: 'C' },
      { path: '/d/sub/old', kind: 'D' },
    ]);
  });

  it('an opaque directory in a lower layer hides the layers below it', async () => {
    const [l1, l2, upper] = ['l1', 'l2', 'upper'].map((n) => path.join(base, n));
    tree(l1, { 'd/old': 'o' });
    tree(l2, { 'd/new': 'n' });
    tree(upper, { 'd/': { dir: true } });
    settle(l1);
    settle(l2);
    settle(upper);
    opaque.add(path.join(l2, 'd'));
    opaque.add(path.join(upper, 'd'));
    // Only what the image shows is deleted: d/old was already gone in it.
    expect(await containerChanges(upper, [l2, l1], isOpaque)).toEqual([{ path: '/d', kind: 'C' }, { path: '/d/new', kind: 'D' }]);
  });

  it('an empty upper dir has no changes', async () => {
    fs.mkdirSync(path.join(base, 'upper'));
    expect(await containerChanges(path.join(base, 'upper'), [], isOpaque)).toEqual([]);
  });
});

describe('treeSize', () => {
  it('counts files and symlinks, each inode once, and no directories', async () => {
    tree(base, { 'a/b': 'x'.repeat(1000), 'c': 'y'.repeat(24), 'empty': '', 'l': { link: 'abcdef' } });
    fs.linkSync(path.join(base, 'a/b'), path.join(base, 'a/hard'));
    expect(await treeSize(base)).toBe(1000 + 24 + 6);
    expect(await treeSize(path.join(base, 'missing'))).toBe(0);
  });
});

async function entries(gen: AsyncIterable<Buffer>): Promise<Array<Record<string, unknown>>> {
  const chunks: Buffer[] = [];
  for await (const c of gen) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  expect(bytes.length % 512).toBe(0);
  const out: Array<Record<string, unknown>> = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const e of extract) {
    const body: Buffer[] = [];
    for await (const c of e) body.push(c as Buffer);
    const h = e.header;
    out.push({
      name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid,
      ...(h.linkname ? { linkname: h.linkname } : {}), ...(body.length ? { body: Buffer.concat(body).toString() } : {}),
    });
  }
  return out;
}

describe.skipIf(!isRoot)('upperToLayerTar', () => {
  it('turns whiteouts and opaque directories into the layer format, in a fixed order', async () => {
    const upper = path.join(base, 'upper');
    tree(upper, {
      'etc/passwd': 'root', 'etc/.wh.not-a-whiteout': 'odd but a file', 'etc/-dash': 'sorts before ".wh."',
      'etc/shadow': 'whiteout', 'd/x': 'x', 'l': { link: '/etc/passwd' },
    });
    fs.linkSync(path.join(upper, 'etc/passwd'), path.join(upper, 'etc/hard'));
    fs.chownSync(path.join(upper, 'd/x'), 1000, 1001);
    fs.chmodSync(path.join(upper, 'd/x'), 0o4750);
    opaque.add(path.join(upper, 'd'));
    const got = await entries(upperToLayerTar(upper, isOpaque));
    expect(got.map((e) => e.name)).toEqual([
      'd/', 'd/.wh..wh..opq', 'd/x',
      'etc/', 'etc/.wh.shadow', 'etc/-dash', 'etc/.wh.not-a-whiteout', 'etc/hard', 'etc/passwd',
      'l',
    ]);
    const byName = new Map(got.map((e) => [e.name, e]));
    expect(byName.get('d/.wh..wh..opq')).toMatchObject({ type: 'file', mode: 0, uid: 0, gid: 0 });
    expect(byName.get('etc/.wh.shadow')).toMatchObject({ type: 'file', mode: 0 });
    expect(byName.get('d/x')).toMatchObject({ type: 'file', mode: 0o4750, uid: 1000, gid: 1001, body: 'x' });
    expect(byName.get('etc/hard')).toMatchObject({ type: 'file', body: 'root' });
    expect(byName.get('etc/passwd')).toMatchObject({ type: 'link', linkname: 'etc/hard' });
    expect(byName.get('l')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    // Deterministic: the same upper gives the same bytes.
    const again = async () => { const c: Buffer[] = []; for await (const b of upperToLayerTar(upper, isOpaque)) c.push(b); return Buffer.concat(c); };
    expect((await again()).equals(await again())).toBe(true);
  });
});

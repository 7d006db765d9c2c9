// TreePacker on real directories: what it does when files change under it, and the helpers around it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirFd } from '../rootfs/dir-fd';
import { coalesce, deviceNumbers, TreePacker } from './pack';

let base = '';
beforeEach(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pack-')); });
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

async function names(bytes: Buffer): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const e of extract) {
    const body: Buffer[] = [];
    for await (const c of e) body.push(c as Buffer);
    out.push([e.header.name, Buffer.concat(body).toString()]);
  }
  return out;
}

describe('TreePacker', () => {
  it('packs exactly the size it saw: a grown file is cut, a shrunk one padded with zeros', async () => {
    fs.writeFileSync(path.join(base, 'grew'), 'abc');
    fs.writeFileSync(path.join(base, 'shrank'), 'abcdef');
    const dir = await DirFd.open(base);
    try {
      const grew = fs.lstatSync(path.join(base, 'grew'));
      const shrank = fs.lstatSync(path.join(base, 'shrank'));
      fs.appendFileSync(path.join(base, 'grew'), 'more');
      fs.truncateSync(path.join(base, 'shrank'), 2);
      const packer = new TreePacker();
      const bytes = Buffer.concat([
        await collect(packer.child(dir, 'grew', 'grew', grew)), await collect(packer.child(dir, 'shrank', 'shrank', shrank)), packer.end(),
      ]);
      expect(await names(bytes)).toEqual([['grew', 'abc'], ['shrank', 'ab\0\0\0\0']]);
    } finally {
      dir.close();
    }
  });

  it('never follows a directory swapped for a symlink after it was listed', async () => {
    fs.mkdirSync(path.join(base, 'd'));
    const stale = fs.lstatSync(path.join(base, 'd'));
    fs.rmdirSync(path.join(base, 'd'));
    fs.symlinkSync('/', path.join(base, 'd'));
    const dir = await DirFd.open(base);
    try {
      expect((await collect(new TreePacker().child(dir, 'd', 'd', stale))).length).toBe(0);
    } finally {
      dir.close();
    }
  });

  it('names a directory\'s contents from "" without a top entry', async () => {
    fs.mkdirSync(path.join(base, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(base, 'a/b/c'), 'c');
    const dir = await DirFd.open(base);
    try {
      const packer = new TreePacker();
      const bytes = Buffer.concat([await collect(packer.directory(dir, undefined)), packer.end()]);
      expect((await names(bytes)).map(([n]) => n)).toEqual(['a/', 'a/b/', 'a/b/c']);
    } finally {
      dir.close();
    }
  });
});

describe('helpers', () => {
  it('deviceNumbers splits a dev_t as glibc does', () => {
    expect(deviceNumbers((1 << 8) | 3)).toEqual({ major: 1, minor: 3 });
    // major 259, minor 65536: both spill into the high bits.
    const dev = Number((259n & 0xfffn) << 8n | ((259n & ~0xfffn) << 32n) | (65536n & 0xffn) | ((65536n & ~0xffn) << 12n));
    expect(deviceNumbers(dev)).toEqual({ major: 259, minor: 65536 });
  });

  it('coalesce joins small pieces and keeps the order', async () => {
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 10; i++) yield Buffer.from([i]);
    }
    const out: Buffer[] = [];
    for await (const b of coalesce(pieces(), 4)) out.push(b);
    expect(out.map((b) => [...b])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unreadableSize } from '../../test/helpers/tar';
import { spoolArchive } from './spool';

async function tarOf(entries: Array<Partial<tar.Header> & { name: string; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header as tar.Header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let base: string;
let dir: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spool-'));
  dir = path.join(base, 'spool');
  fs.mkdirSync(dir);
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

describe('spoolArchive', () => {
  it('maps names to spooled files, following symlinks and hard links in the map only', async () => {
    const bytes = await tarOf([
      { name: './a/', type: 'directory' },
      { name: './a/layer.tar', body: 'layer bytes' },
      // docker save (v1.2) links a repeated layer to the first copy.
      { name: 'b/layer.tar', type: 'symlink', linkname: '../a/layer.tar' },
      { name: 'c', type: 'link', linkname: 'a/layer.tar' },
      { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'manifest.json', body: '[]' },
    ]);
    const spool = await spoolArchive([bytes], dir);
    for (const name of ['a/layer.tar', 'b/layer.tar', './c', '/a/layer.tar']) expect(fs.readFileSync(spool.file(name)!, 'utf8')).toBe('layer bytes');
    expect(spool.file('abs')).toBeUndefined();
    expect(spool.file('missing')).toBeUndefined();
    expect(fs.readdirSync(base)).toEqual(['spool']);
    expect(fs.readdirSync(dir).every((f) => /^[0-9]+$/.test(f))).toBe(true);
  });

  it('refuses a name that climbs out, and garbage, as InvalidArgument', async () => {
    await expect(spoolArchive([await tarOf([{ name: '../x', body: 'x' }])], dir)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('escapes') });
    await expect(spoolArchive([Buffer.alloc(1024, 7)], dir)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('refuses an entry whose size tar-stream cannot read (its body would never end) as InvalidArgument', async () => {
    const bytes = await tarOf([{ name: 'd/', type: 'directory' }, { name: 'f', body: 'x' }]);
    for (const offset of [0, 512]) {
      await expect(spoolArchive([unreadableSize(bytes, offset)], dir)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('invalid size null') });
    }
  });
});

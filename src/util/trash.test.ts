// Trash on a real temp dir: a discarded directory is gone from its place at once and deleted behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Trash } from './trash';

let root: string;
beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-trash-')); });
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function tree(dir: string, files: number): void {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, 'sub', `f${i}`), 'x');
}

describe('Trash', () => {
  it('takes a directory away at once and deletes it behind the caller', async () => {
    const trash = new Trash(root);
    trash.open();
    const victim = path.join(root, 'containers', 'abc');
    tree(victim, 100);
    await trash.discard([victim]);
    expect(fs.existsSync(victim)).toBe(false);
    await trash.emptied();
    expect(fs.readdirSync(trash.dir)).toEqual([]);
  });

  it('ignores a directory that is already gone', async () => {
    const trash = new Trash(root);
    trash.open();
    await trash.discard([path.join(root, 'never-made')]);
    await trash.emptied();
    expect(fs.readdirSync(trash.dir)).toEqual([]);
  });

  it('makes the calls it is given first, in the same trip, and answers with their results', async () => {
    const trash = new Trash(root);
    trash.open();
    const victim = path.join(root, 'overlay', 'abc');
    tree(victim, 2);
    const made = path.join(root, 'made');
    const results = await trash.discard([victim, path.join(root, 'gone')], [{ op: 'mkdir', path: made }, { op: 'rmdir', path: path.join(root, 'none') }]);
    expect(results).toEqual([null, expect.objectContaining({ code: 'ENOENT', syscall: 'rmdir' })]);
    expect(fs.existsSync(made)).toBe(true);
    expect(fs.existsSync(victim)).toBe(false);
    await trash.emptied();
    expect(fs.readdirSync(trash.dir)).toEqual([]);
  });

  it('deletes what many removes discard at once, and what comes while a round of deletes is under way', async () => {
    const trash = new Trash(root);
    trash.open();
    const victims = Array.from({ length: 12 }, (_, i) => path.join(root, 'containers', `c${i}`));
    for (const v of victims) tree(v, 20);
    await Promise.all(victims.slice(0, 6).map((v) => trash.discard([v])));
    const late = trash.discard(victims.slice(6));
    const emptied = trash.emptied();
    await late;
    await emptied;
    await trash.emptied();
    expect(victims.filter((v) => fs.existsSync(v))).toEqual([]);
    expect(fs.readdirSync(trash.dir)).toEqual([]);
    // A round that ended before this discard does not keep it waiting.
    const last = path.join(root, 'containers', 'last');
    tree(last, 1);
    await trash.discard([last]);
    await trash.emptied();
    expect(fs.readdirSync(trash.dir)).toEqual([]);
  });

  it('deletes what an earlier run left when opened', async () => {
    tree(path.join(root, 'trash', 'left-by-a-crash'), 3);
    const trash = new Trash(root);
    trash.open();
    await trash.emptied();
    expect(fs.readdirSync(trash.dir)).toEqual([]);
  });

  it('deletes in place when the trash itself is missing', async () => {
    const trash = new Trash(root); // never opened
    const victim = path.join(root, 'overlay', 'abc');
    tree(victim, 2);
    await trash.discard([victim]);
    await trash.emptied();
    expect(fs.existsSync(victim)).toBe(false);
  });
});

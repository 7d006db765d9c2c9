// Directories berthd is done with (a removed container's own and its overlay). Each is renamed into
// <root>/trash, one rename that takes it from everywhere anyone looks, and deleted behind the caller,
// one at a time through the thread pool. A remove then costs a rename, not a delete of every file the
// container left (bench/README.md). The renames go through the pool too, in one trip with whatever must
// come before them: under load each rename on the event loop waited for the directory's lock. The deletes
// wait their turn and go in one trip for all that are waiting (a remove leaves two trees, and many removes at
// once many more). What a stop or crash leaves there goes at the next start.
import fs from 'node:fs';
import path from 'node:path';
import type { FileOp } from '../native';
import { sharedNative } from '../native/addon';
import { randomId } from './ids';
import { log } from './logger';

export class Trash {
  readonly dir: string;
  /** Trees to delete, not yet in a trip. */
  private waiting: string[] = [];
  /** The deletes under way: settles once none is left waiting. */
  private deleting: Promise<void> | undefined;

  constructor(root: string) {
    this.dir = path.join(root, 'trash');
  }

  /** Makes the directory and deletes, behind the caller, whatever an earlier run left in it. */
  open(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const entry of fs.readdirSync(this.dir)) this.deleteBehind(path.join(this.dir, entry));
  }

  /**
   * Takes dirs away (missing ones are fine) in one trip through the pool, after `first` (calls that must
   * come before, in the same trip: an unmount), and deletes them behind the caller. Resolves once they are
   * gone from their places, with first's results.
   */
  async discard(dirs: string[], first: FileOp[] = []): Promise<(NodeJS.ErrnoException | null)[]> {
    const targets = dirs.map(() => path.join(this.dir, randomId().slice(0, 16)));
    const results = await sharedNative().fileOps([...first, ...dirs.map((dir, i) => ({ op: 'rename' as const, path: dir, to: targets[i] }))]);
    const renames = results.slice(first.length);
    dirs.forEach((dir, i) => {
      const err = renames[i];
      if (!err) return this.deleteBehind(targets[i]);
      if (err.code === 'ENOENT' && !fs.existsSync(dir)) return;
      // The trash is missing (ENOENT) or on another filesystem (EXDEV): delete it where it is, still behind.
      if (err.code === 'ENOENT' || err.code === 'EXDEV') return this.deleteBehind(dir);
      log.warn('a directory could not go to the trash; it stays', { path: dir, error: String(err) });
    });
    return results.slice(0, first.length);
  }

  /** Resolves once everything discarded so far is deleted. */
  emptied(): Promise<void> {
    return this.deleting ?? Promise.resolve();
  }

  private deleteBehind(target: string): void {
    this.waiting.push(target);
    this.deleting ??= this.deleteWaiting();
  }

  /**
   * Every waiting tree in one trip through the pool (the addon's removeTree for each), until none waits. fs.rm
   * took a trip for every stat, readdir, unlink and rmdir: about 35 for a `run --rm true`, each waking a pool
   * thread beside the next start (bench/README.md).
   */
  private async deleteWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const trees = this.waiting.splice(0);
      const results = await sharedNative().fileOps(trees.map((tree) => ({ op: 'removeTree' as const, path: tree })))
        .catch((err: NodeJS.ErrnoException) => trees.map(() => err));
      results.forEach((err, i) => {
        if (err) log.warn('emptying the trash failed; the next start tries again', { path: trees[i], error: String(err) });
      });
    }
    // In the same turn as the last look at `waiting`: a tree added after it starts the next round.
    this.deleting = undefined;
  }
}

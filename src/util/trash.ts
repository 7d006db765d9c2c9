// Directories berthd is done with (a removed container's own and its overlay). Each is renamed into
// <root>/trash, one rename that takes it from everywhere anyone looks, and deleted behind the caller,
// one at a time through the thread pool. A remove then costs a rename, not a delete of every file the
// container left (bench/README.md). The renames go through the pool too, in one trip with whatever must
// come before them: under load each rename on the event loop waited for the directory's lock. What a
// stop or crash leaves there goes at the next start.
import fs from 'node:fs';
import path from 'node:path';
import type { FileOp } from '../native';
import { sharedNative } from '../native/addon';
import { randomId } from './ids';
import { log } from './logger';

export class Trash {
  readonly dir: string;
  private tail: Promise<void> = Promise.resolve();

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
    return this.tail;
  }

  private deleteBehind(target: string): void {
    this.tail = this.tail
      .then(() => removeTree(target))
      .catch((err) => log.warn('emptying the trash failed; the next start tries again', { path: target, error: String(err) }));
  }
}

/**
 * One trip through the pool for the whole tree (the addon's removeTree), where fs.rm takes a trip for every
 * stat, readdir, unlink and rmdir: about 35 for a `run --rm true`, each waking a pool thread beside the next
 * start (bench/README.md).
 */
async function removeTree(target: string): Promise<void> {
  const [err] = await sharedNative().fileOps([{ op: 'removeTree', path: target }]);
  if (err) throw err;
}

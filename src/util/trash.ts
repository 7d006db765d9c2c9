// Directories berthd is done with (a removed container's own and its overlay). Each is renamed into
// <root>/trash at once, one rename that takes it from everywhere anyone looks, and deleted behind the
// caller, one at a time through the thread pool. A remove then costs a rename, not a delete of every
// file the container left (bench/README.md). What a stop or crash leaves there goes at the next start.
import fs from 'node:fs';
import path from 'node:path';
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

  /** Takes dir away (missing is fine) and deletes it behind the caller. */
  discard(dir: string): void {
    const target = path.join(this.dir, randomId().slice(0, 16));
    try {
      fs.renameSync(dir, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !fs.existsSync(dir)) return;
      // The trash is missing (ENOENT) or on another filesystem (EXDEV): delete it where it is, still behind.
      if (code !== 'ENOENT' && code !== 'EXDEV') throw err;
      this.deleteBehind(dir);
      return;
    }
    this.deleteBehind(target);
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

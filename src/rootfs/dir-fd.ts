// An open directory addressed only by single names below it ("/proc/self/fd/<fd>/<name>"), so that a
// walk of a tree a running container can change is never led elsewhere by a symlink swapped in
// meanwhile (native/README.md, "fd-relative file access").
import type { Stats } from 'node:fs';
import { constants, promises as fsp } from 'node:fs';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { EngineError } from '../errors';

const openFd = promisify(fs.open);

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** The errors that mean "it is not (or no longer) there as asked": a walk skips such an entry. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

export function isGone(err: unknown): boolean {
  return GONE.has((err as NodeJS.ErrnoException).code ?? '');
}

/** A name that stays one component below its directory: no "/", ".", ".." or NUL. */
export function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new EngineError('Internal', `not a single path component: ${JSON.stringify(name)}`);
  }
  return name;
}

export class DirFd {
  private closed = false;

  /** `shown` names the directory in messages only; it is never used to reach it. */
  constructor(readonly fd: number, readonly shown: string) {}

  /** Opens a directory of ours (the data root), following nothing in its last component. */
  static async open(hostPath: string): Promise<DirFd> {
    // A plain fd, not a FileHandle: we close it ourselves, at a time of our choosing.
    return new DirFd(await openFd(hostPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), hostPath);
  }

  /** The path of the directory itself, or of one name below it. */
  at(name?: string): string {
    if (this.closed) throw new EngineError('Internal', `${this.shown}: used after close`);
    return name === undefined ? `/proc/self/fd/${this.fd}` : `/proc/self/fd/${this.fd}/${checkName(name)}`;
  }

  /** The names in the directory, sorted (by UTF-16 code units, which is byte order for ASCII). */
  async names(): Promise<string[]> {
    return (await fsp.readdir(this.at())).sort();
  }

  /** lstat of one name; undefined when it is gone. */
  async lstat(name: string): Promise<Stats | undefined> {
    try {
      return await fsp.lstat(this.at(name));
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** The subdirectory `name`, never through a symlink; undefined when it is gone or not a directory. */
  async openDir(name: string): Promise<DirFd | undefined> {
    try {
      return await DirFd.open(this.at(name));
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /**
   * The regular file `name` for reading, never through a symlink and never blocking on a fifo swapped
   * in for it; undefined when it is gone or no longer a regular file.
   */
  async openFile(name: string): Promise<fsp.FileHandle | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      return undefined;
    }
    return fh;
  }

  async readlink(name: string): Promise<string | undefined> {
    try {
      return await fsp.readlink(this.at(name));
    } catch (err) {
      if (isGone(err) || (err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw err;
    }
  }

  /** Removes `name` and, for a directory, everything below it, one name at a time and never through a link. */
  async removeTree(name: string): Promise<void> {
    const st = await this.lstat(name);
    if (!st) return;
    if (st.isDirectory()) {
      const sub = await this.openDir(name);
      if (sub) {
        try {
          for (const child of await sub.names()) await sub.removeTree(child);
        } finally {
          sub.close();
        }
      }
      await fsp.rmdir(this.at(name));
      return;
    }
    await fsp.unlink(this.at(name));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

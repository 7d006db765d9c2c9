// Crash-safe file writes for state files (STYLE.md §7): a reader sees the old bytes or the new bytes,
// never a torn file, even if the machine loses power mid-write.

import { randomBytes } from 'node:crypto';
import fs, { constants } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

export interface AtomicWriteOptions {
  /**
   * false: readers still see the old or the new bytes, never a torn file, but after a power loss the file may
   * be either. For records something else backs (the state a start or an exit records, the network's
   * allocations), where the two fsyncs would cost about 1.5 ms each and buy nothing.
   */
  durable?: boolean;
  /**
   * false (with durable): the file is fsynced but not its directory; the caller writes several files side by
   * side and fsyncs the directory once after them all (syncDirectory).
   */
  syncDir?: boolean;
}

const fsync = promisify(fs.fsync);
const writeFd = promisify(fs.writeFile);

/**
 * Up to this size the open, write, rename and close run on the event loop: each takes microseconds on a
 * local filesystem, less than a round trip through libuv's thread pool (STYLE.md §6: quick syscalls stay
 * synchronous). Larger data, and every fsync, go through the pool.
 */
const QUICK_BYTES = 64 * 1024;

/**
 * Writes `data` to `target` atomically: temp file in the same directory (rename(2) is only atomic within one
 * filesystem), fsync the data, rename over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o600, opts: AtomicWriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = path.dirname(target);
  const tmp = tempPathFor(target);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    // O_EXCL|O_NOFOLLOW: never write through something another process planted at the temp name.
    const fd = fs.openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      if (bytes.length <= QUICK_BYTES) fs.writeFileSync(fd, bytes);
      else await writeFd(fd, bytes);
      // open() applies the umask; the caller asked for exactly `mode`.
      fs.fchmodSync(fd, mode);
      if (durable) await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    // Best effort: the temp file may not exist (open failed) or may already be renamed; the original error matters.
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (durable && opts.syncDir !== false) await syncDirectory(dir);
}

/** A fresh temporary name beside target, for writing it whole before a rename over it. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

/**
 * Replaces the bytes of a file that nothing reads while it is written: a container's /etc files and
 * spec.json, made again at each start before anything uses them (a torn one after a crash is made
 * again too). Truncated and written in place, on the event loop: no temporary file, so no new inode
 * at each start (a create costs 28 µs on this machine's ext4, 5.5 on tmpfs; bench/README.md).
 */
export function rewriteFile(target: string, data: string | Uint8Array, mode = 0o600): void {
  // O_NOFOLLOW: never write through a symlink planted at the name.
  const fd = fs.openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses a JSON file; undefined when it does not exist. Other errors (EACCES, bad JSON) propagate. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    // Our state files are a few KiB: one read on the event loop costs less than a trip through the pool.
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** fsync of a directory: the entries made, renamed or removed in it so far survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = fs.openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

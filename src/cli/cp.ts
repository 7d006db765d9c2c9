// `berth cp`: docker cp between this machine and a container, with docker's path rules (a trailing
// "/" means a directory that must exist, "dir/." copies the contents) and "-" for a tar on stdin or stdout.
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import type { CopyFromContainerResponse, CopyToContainerRequest, PathStat } from '../gen/berth/v1/containers';
import { parseFlags, UsageError } from './args';
import { statusOf, type Clients } from './client';
import { packLocal, unpackLocal } from './cp-local';
import { decimalSize } from './format';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const USAGE = 'berth cp [-a] [-L] [-q] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [-a] [-L] [-q] SRC_PATH|- CONTAINER:DEST_PATH';

interface CpFlags {
  /** -a: keep owners. */
  archive: boolean;
  /** -L: follow a symlink at the source. */
  followLink: boolean;
  quiet: boolean;
}

/** docker's splitCpArg: an absolute or "./"-relative path is local; else CONTAINER:PATH when there is a colon. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** "dir/." or ".": the directory's contents rather than the directory. */
export function specifiesCurrentDir(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

export const cp = async (argv: string[], clients: Clients): Promise<number> => {
  const { flags, positionals } = parseFlags(argv, {
    archive: { short: 'a', kind: 'bool' }, 'follow-link': { short: 'L', kind: 'bool' }, quiet: { short: 'q', kind: 'bool' },
  }, { interspersed: true });
  if (positionals.length !== 2) throw new UsageError(USAGE);
  const opts: CpFlags = { archive: Boolean(flags.archive), followLink: Boolean(flags['follow-link']), quiet: Boolean(flags.quiet) };
  const src = splitCpArg(positionals[0]);
  const dst = splitCpArg(positionals[1]);
  if (src.container !== undefined && dst.container !== undefined) throw new UsageError('copying between containers is not supported');
  if (src.container === undefined && dst.container === undefined) throw new UsageError(`must specify at least one container source\n${USAGE}`);
  if (src.container !== undefined) return copyFromContainer(clients, src.container, src.path, dst.path, opts);
  return copyToContainer(clients, positionals[0], dst.container!, dst.path, opts);
};

/** A CopyFrom call: its stat, and the tar chunks that follow (the call is cancelled if they are not read). */
async function openCopyFrom(clients: Clients, containerId: string, p: string): Promise<{ stat: PathStat; chunks: AsyncGenerator<Buffer>; cancel(): void }> {
  const call: ClientReadableStream<CopyFromContainerResponse> = clients.containers.copyFrom({ containerId, path: p });
  const it = call[Symbol.asyncIterator]() as AsyncIterator<CopyFromContainerResponse>;
  // The iterator reports errors while it is read; a cancel after that must not become an uncaught one.
  call.on('error', () => undefined);
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'stat') throw new Error('berthd sent no path stat');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.part?.$case === 'chunk') yield r.value.part.value;
    }
  }
  return { stat: first.value.part.value, chunks: chunks(), cancel: () => call.cancel() };
}

/** What is at a container path (a CopyFrom cut short after its stat); undefined when nothing is. */
async function statInContainer(clients: Clients, containerId: string, p: string): Promise<PathStat | undefined> {
  try {
    const opened = await openCopyFrom(clients, containerId, p);
    opened.cancel();
    return opened.stat;
  } catch (err) {
    if (statusOf(err) === status.NOT_FOUND && !/container .*: not found/.test(String((err as { details?: string }).details))) return undefined;
    throw err;
  }
}

async function copyFromContainer(clients: Clients, containerId: string, srcPath: string, dstPath: string, opts: CpFlags): Promise<number> {
  let opened = await openCopyFrom(clients, containerId, srcPath);
  // The name it gets here when copied into a directory: with -L, a link's target goes under the link's name.
  const srcName = opened.stat.name;
  if (opts.followLink && (opened.stat.mode & S_IFMT) === S_IFLNK && opened.stat.linkTarget) {
    opened.cancel();
    opened = await openCopyFrom(clients, containerId, opened.stat.linkTarget);
  }
  try {
    return await unpackCopy(opened.stat, opened.chunks, srcPath, srcName, dstPath, opts);
  } finally {
    // Whatever went wrong here, the daemon stops sending (a no-op once the stream has ended).
    opened.cancel();
  }
}

/** docker cp's rules on this side: into a directory, over a regular file, or as a new name. */
async function unpackCopy(stat: PathStat, chunks: AsyncIterable<Buffer>, srcPath: string, srcName: string, dstPath: string, opts: CpFlags): Promise<number> {
  if (dstPath === '-') {
    for await (const chunk of chunks) if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    return 0;
  }
  const srcIsDir = (stat.mode & S_IFMT) === S_IFDIR;
  // The tar's top entry: "." for "dir/." and "/", else the base name.
  const top = srcIsDir && (specifiesCurrentDir(srcPath) || stat.name === '/') ? '.' : stat.name;
  // As docker: an existing destination is taken through its symlinks, and must be a directory or a
  // regular file (never a device, a fifo or a socket, /dev/stdout among them: "-" is for that).
  const dst = await fsp.stat(dstPath).catch((): Stats | undefined => undefined);
  if (dst && !dst.isDirectory() && !dst.isFile()) throw new Error(`destination ${dstPath} must be a directory or a regular file (use - for stdout)`);
  const target = dst ? await fsp.realpath(dstPath) : dstPath;
  let destDir: string;
  let rename: { from: string; to: string } | undefined;
  if (dst?.isDirectory()) {
    destDir = target;
    if (top !== '.' && top !== srcName) rename = { from: top, to: srcName };
  } else if (dst) {
    if (srcIsDir) throw new Error(`cannot copy a directory to a file: ${dstPath}`);
    destDir = path.dirname(target);
    rename = { from: top, to: path.basename(target) };
  } else {
    if (dstPath.endsWith('/') && !srcIsDir) throw new Error(`destination directory ${dstPath} does not exist`);
    destDir = path.dirname(target);
    if (!(await fsp.stat(destDir).catch(() => undefined))?.isDirectory()) throw new Error(`no such directory: ${destDir}`);
    rename = { from: top, to: path.basename(target) };
  }
  let bytes = 0;
  await unpackLocal(counted(chunks, (n) => { bytes += n; }), destDir, {
    rename, keepOwners: opts.archive, warn: (m) => process.stderr.write(`berth cp: ${m}\n`),
  });
  if (!opts.quiet) process.stderr.write(`Successfully copied ${decimalSize(bytes)} to ${dstPath}\n`);
  return 0;
}

async function copyToContainer(clients: Clients, srcArg: string, containerId: string, dstPath: string, opts: CpFlags): Promise<number> {
  let content: AsyncIterable<Buffer>;
  let destDir: string;
  if (srcArg === '-') {
    content = process.stdin;
    destDir = dstPath;
  } else {
    const srcPath = srcArg;
    let src = await (opts.followLink ? fsp.stat(srcPath) : fsp.lstat(srcPath)).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`could not find the file ${srcPath} in this machine: ${err.code ?? err.message}`);
    });
    if (srcPath.endsWith('/') && !src.isDirectory()) throw new Error(`${srcPath}: not a directory`);
    let local = opts.followLink ? await fsp.realpath(srcPath) : srcPath;
    if (!opts.followLink && src.isSymbolicLink() && srcPath.endsWith('/')) {
      local = await fsp.realpath(srcPath);
      src = await fsp.stat(local);
    }
    const contentsOnly = src.isDirectory() && specifiesCurrentDir(srcPath);
    let dst = await statInContainer(clients, containerId, dstPath);
    if (dst && (dst.mode & S_IFMT) === S_IFLNK && dst.linkTarget) {
      dstPath = dst.linkTarget;
      dst = await statInContainer(clients, containerId, dstPath);
    }
    let entryName: string;
    if (dst && (dst.mode & S_IFMT) === S_IFDIR) {
      destDir = dstPath;
      entryName = contentsOnly ? '.' : path.basename(srcPath.replace(/\/+$/, '')) || '.';
    } else if (dst) {
      if (src.isDirectory()) throw new Error(`cannot copy a directory to a file: ${containerId}:${dstPath}`);
      destDir = path.posix.dirname(dstPath);
      entryName = path.posix.basename(dstPath);
    } else {
      if (dstPath.endsWith('/') && !src.isDirectory()) throw new Error(`destination directory ${containerId}:${dstPath} does not exist`);
      destDir = path.posix.dirname(dstPath.replace(/\/+$/, '') || '/');
      entryName = path.posix.basename(dstPath.replace(/\/+$/, ''));
    }
    content = packLocal(local.endsWith('/.') ? local.slice(0, -2) || '/' : local.replace(/\/+$/, '') || '/', entryName, contentsOnly);
  }
  const bytes = await sendCopyTo(clients, { containerId, path: destDir, noOverwriteDirNonDir: true, copyUidGid: opts.archive }, content);
  if (!opts.quiet && srcArg !== '-') process.stderr.write(`Successfully copied ${decimalSize(bytes)} to ${containerId}:${dstPath}\n`);
  return 0;
}

/** A CopyTo call: the header, then the tar in chunks, each write waiting for the stream to drain. */
async function sendCopyTo(clients: Clients, header: { containerId: string; path: string; noOverwriteDirNonDir: boolean; copyUidGid: boolean }, content: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  let finished = false;
  let callback: (err: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => { callback = (err) => { finished = true; if (err) reject(err); else resolve(); }; });
  const call = clients.containers.copyTo((err) => callback(err));
  const write = async (msg: CopyToContainerRequest) => {
    if (!call.write(msg)) await Promise.race([once(call, 'drain'), done]);
  };
  await write({ part: { $case: 'header', value: header } });
  for await (const chunk of content) {
    if (finished) break; // the daemon already answered (an error): stop sending
    bytes += chunk.length;
    await write({ part: { $case: 'chunk', value: chunk } });
  }
  call.end();
  await done;
  return bytes;
}

async function* counted(source: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    add(chunk.length);
    yield chunk;
  }
}

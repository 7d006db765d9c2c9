// The local side of `berth cp`: packing a file or directory of this machine into a tar, and unpacking
// a container's tar here (docker cp's CopyTo): parents are made as needed and never followed through
// a symlink, so a tar cannot write outside the destination.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { TreePacker } from '../archive/pack';
import { ensureParentDirs, lstatInside, normalizeEntryPath } from '../archive/safe-path';
import { DirFd } from '../rootfs/dir-fd';

/**
 * The tar of a local path: `entryName` for its top entry, or with contentsOnly the directory's
 * contents as "./..." (docker cp's "dir/.").
 */
export async function* packLocal(src: string, entryName: string, contentsOnly: boolean): AsyncGenerator<Buffer> {
  const packer = new TreePacker();
  if (contentsOnly) {
    const dir = await DirFd.open(await fsp.realpath(src));
    try {
      yield* packer.directory(dir, { name: entryName, stat: await fsp.stat(src) });
    } finally {
      dir.close();
    }
  } else {
    // The path's parent with its links resolved (ours to follow); the entry itself is taken as it is.
    const parent = await DirFd.open(await fsp.realpath(path.dirname(src)));
    try {
      yield* packer.child(parent, path.basename(src), entryName);
    } finally {
      parent.close();
    }
  }
  yield packer.end();
}

export interface UnpackOptions {
  /** The first component of every entry name `from` becomes `to` (docker's RebaseArchiveEntries). */
  rename?: { from: string; to: string };
  /** chown to the entries' owners (docker cp -a); otherwise files belong to whoever runs berth. */
  keepOwners: boolean;
  /** Tells about entries that cannot be made here (devices and fifos need mknod). */
  warn: (message: string) => void;
}

/** Unpacks a tar into the existing local directory destDir. */
export async function unpackLocal(source: AsyncIterable<Buffer>, destDir: string, opts: UnpackOptions): Promise<void> {
  const root = await fsp.realpath(destDir);
  const extract = tar.extract();
  const feed = Readable.from(source);
  feed.on('error', (err) => extract.destroy(err));
  feed.pipe(extract);
  const dirTimes: Array<[string, Date]> = [];
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const rel = normalizeEntryPath(rebase(h.name, opts.rename));
      if (rel === undefined) throw new Error(`tar entry ${JSON.stringify(h.name)} escapes ${destDir}`);
      if (rel !== '') await unpackEntry(root, rel, entry, opts, dirTimes);
      for await (const _ of entry) {
        // what another type of entry carried
      }
    }
  } finally {
    feed.destroy();
  }
  for (const [rel, mtime] of dirTimes.reverse()) {
    if ((await lstatInside(root, rel))?.isDirectory()) await fsp.utimes(path.join(root, rel), mtime, mtime);
  }
}

function rebase(name: string, rename: UnpackOptions['rename']): string {
  if (!rename) return name;
  const parts = name.split('/');
  if (parts[0] === rename.from) parts[0] = rename.to;
  return parts.join('/');
}

async function unpackEntry(root: string, rel: string, entry: tar.ExtractEvents['entry'][1], opts: UnpackOptions, dirTimes: Array<[string, Date]>): Promise<void> {
  const h = entry.header;
  await ensureParentDirs(root, rel);
  const abs = path.join(root, rel);
  const existing = await lstatInside(root, rel);
  const isDir = h.type === 'directory';
  // As docker cp: a directory never replaces a file here, nor the other way round.
  if (existing?.isDirectory() && !isDir) throw new Error(`cannot overwrite directory ${abs} with non-directory`);
  if (existing && !existing.isDirectory() && isDir) throw new Error(`cannot overwrite non-directory ${abs} with directory`);
  if (existing && !isDir) await fsp.rm(abs, { force: true });
  const mode = (h.mode ?? 0o644) & 0o7777;
  const mtime = h.mtime ?? new Date();
  const chown = (p: string) => (opts.keepOwners ? fsp.lchown(p, h.uid ?? 0, h.gid ?? 0) : Promise.resolve());
  switch (h.type) {
    case 'directory':
      if (!existing) await fsp.mkdir(abs, 0o700);
      await chown(abs);
      await fsp.chmod(abs, mode);
      dirTimes.push([rel, mtime]);
      return;
    case 'file':
    case 'contiguous-file': {
      const fh = await fsp.open(abs, 'wx', 0o600);
      try {
        for await (const chunk of entry) await fh.write(chunk as Buffer);
        if (opts.keepOwners) await fh.chown(h.uid ?? 0, h.gid ?? 0);
        await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
      return;
    }
    case 'symlink':
      await fsp.symlink(h.linkname ?? '', abs);
      await chown(abs);
      await fsp.lutimes(abs, mtime, mtime);
      return;
    case 'link': {
      const target = normalizeEntryPath(rebase(h.linkname ?? '', opts.rename));
      if (!target || !(await lstatInside(root, target))?.isFile()) throw new Error(`tar entry ${JSON.stringify(h.name)}: bad link target ${JSON.stringify(h.linkname)}`);
      await fsp.link(path.join(root, target), abs);
      return;
    }
    default:
      opts.warn(`skipped ${rel}: a ${h.type} cannot be made here`);
  }
}

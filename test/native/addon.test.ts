// berth.node smoke tests: the export table, TypeErrors on bad arguments, Node-shaped system
// errors, the exact mknod mode, mount/unmount round trips (root) and the cross-process lock.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ADDON = path.resolve(__dirname, '../../build/Release/berth.node');
const addon = createRequire(__filename)(ADDON) as {
  mount(o: { source?: string; target: string; fstype?: string; flags?: string[]; data?: string }): void;
  unmount(target: string, o?: { detach?: boolean }): void;
  mknod(p: string, o: { type: 'c' | 'b' | 'p'; major: number; minor: number; mode: number }): void;
  lockFile(p: string): number;
  sealedExecutable(p: string): number;
  openAt(dirFd: number, p: string, o: { resolve: string; directory?: boolean; followLast?: boolean; read?: boolean }): number;
  mknodAt(dirFd: number, name: string, o: { type: 'c' | 'b' | 'p'; major: number; minor: number; mode: number }): void;
  getXattr(p: string, name: string): Buffer | null;
  setXattr(p: string, name: string, value: string): void;
  spawnPiped(file: string, argv: string[]): { pid: number; stdout: number; stderr: number };
  spawnWithSocket(file: string, argv: string[]): { pid: number; fd: number };
  sendWithSocket(fd: number, line: string): number;
  reapChild(pid: number): { exitCode: number; signal: number } | null;
  syncFilesystem(p: string): Promise<void>;
  fileOps(ops: { op: string; path: string; data?: string; mode?: number; sync?: boolean; to?: string; source?: string; fstype?: string }[]): Promise<(NodeJS.ErrnoException | null)[]>;
  releaseMemory(): void;
  spreadSubdirectories(p: string): boolean;
  widenSendBuffer(fd: number, bytes: number): number;
};
const MONITOR = path.resolve(__dirname, '../../build/Release/berth-monitor');
const isRoot = process.getuid?.() === 0;

function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a throw');
}

describe('berth.node', () => {
  let dir = '';
  let mountsBefore = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-addon-'));
    mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(mountsBefore);
  });

  it('exports exactly mount, unmount, mknod, lockFile, sealedExecutable, scanLogRuns, setXattr, openAt, mknodAt, getXattr, attachDeviceFilter, spawnWithSocket, sendWithSocket, spawnPiped, reapChild, syncFilesystem, fileOps, releaseMemory, spreadSubdirectories and widenSendBuffer', () => {
    expect(Object.keys(addon).sort()).toEqual(['attachDeviceFilter', 'fileOps', 'getXattr', 'lockFile', 'mknod', 'mknodAt', 'mount', 'openAt', 'reapChild', 'releaseMemory', 'scanLogRuns', 'sealedExecutable', 'sendWithSocket', 'setXattr', 'spawnPiped', 'spawnWithSocket', 'spreadSubdirectories', 'syncFilesystem', 'unmount', 'widenSendBuffer']);
  });

  it('spreadSubdirectories: sets chattr +T on ext4 (true, and again true), is false on tmpfs, and names a missing path', () => {
    const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
    if (fsType === 'ext2/ext3') {
      expect(addon.spreadSubdirectories(dir)).toBe(true);
      expect(spawnSync('lsattr', ['-d', dir], { encoding: 'utf8' }).stdout).toMatch(/^\S*T\S* /);
      expect(addon.spreadSubdirectories(dir)).toBe(true);
    }
    expect(addon.spreadSubdirectories('/dev/shm')).toBe(false);
    expect(thrown(() => addon.spreadSubdirectories(path.join(dir, 'missing')))).toMatchObject({ code: 'ENOENT', syscall: 'open' });
  });

  it('widenSendBuffer: a connected unix socket then holds megabytes its reader has not taken, where it held a few hundred KiB; a file is refused', async () => {
    const sock = path.join(dir, 's');
    const conns: net.Socket[] = [];
    const server = net.createServer((c) => conns.push(c));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const clients = [net.connect(sock), net.connect(sock)];
    try {
      while (conns.length < 2) await new Promise((r) => setTimeout(r, 5));
      const fds = conns.map((c) => (c as unknown as { _handle: { fd: number } })._handle.fd);
      expect(addon.widenSendBuffer(fds[1], 4 * 1024 * 1024)).toBe(8 * 1024 * 1024);
      // Bytes written to each (non-blocking) until the kernel takes no more; the clients read nothing.
      const unread = fds.map((fd) => {
        const chunk = Buffer.alloc(65536);
        let n = 0;
        for (;;) {
          try { n += fs.writeSync(fd, chunk); } catch (err) { expect((err as NodeJS.ErrnoException).code).toBe('EAGAIN'); return n; }
        }
      });
      expect(unread[0]).toBeLessThan(1024 * 1024);
      expect(unread[1]).toBeGreaterThan(4 * 1024 * 1024);
      const file = fs.openSync(path.join(dir, 'f'), 'w');
      try {
        expect(thrown(() => addon.widenSendBuffer(file, 4 * 1024 * 1024))).toMatchObject({ code: 'ENOTSOCK' });
      } finally {
        fs.closeSync(file);
      }
    } finally {
      for (const c of [...clients, ...conns]) c.destroy();
      server.close();
    }
  });

  it('releaseMemory: the garbage is collected at once, and the old space given back shrinks the heap', () => {
    const MiB = 2 ** 20;
    // About 30 MiB of small objects, reachable until the release: a collection meanwhile cannot take them.
    let garbage: { i: number; s: string }[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `garbage-${i}`.padEnd(48, '.') }));
    const before = v8.getHeapStatistics();
    expect(garbage.length).toBe(300_000);
    garbage = undefined;
    expect(addon.releaseMemory()).toBeUndefined();
    const after = v8.getHeapStatistics();
    expect(after.used_heap_size).toBeLessThan(before.used_heap_size - 16 * MiB);
    expect(after.total_heap_size).toBeLessThan(before.total_heap_size - 16 * MiB);
  });

  it('fileOps: every call made in order, whatever failed before it; one result each, null or a Node-shaped error', async () => {
    const sub = path.join(dir, 'sub');
    const results = await addon.fileOps([
      { op: 'mkdir', path: sub },
      { op: 'mkdir', path: sub },
      { op: 'write', path: path.join(dir, 'missing'), data: 'x' },
      { op: 'rmdir', path: dir },
      { op: 'rmdir', path: sub },
    ]);
    expect(results[0]).toBeNull();
    expect(results[1]).toMatchObject({ code: 'EEXIST', errno: 17, syscall: 'mkdir', path: sub });
    // No O_CREAT: a write goes only to a file that exists.
    expect(results[2]).toMatchObject({ code: 'ENOENT', syscall: 'open', path: path.join(dir, 'missing') });
    expect(results[3]).toMatchObject({ code: 'ENOTEMPTY', syscall: 'rmdir' });
    expect(results[4]).toBeNull();
    expect(fs.existsSync(sub)).toBe(false);
    fs.writeFileSync(path.join(dir, 'f'), 'old text');
    expect(await addon.fileOps([{ op: 'write', path: path.join(dir, 'f'), data: 'new' }])).toEqual([null]);
    // Written at offset 0 without truncating, as cgroupfs files are written.
    expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).toBe('new text');
    expect(await addon.fileOps([])).toEqual([]);
    expect(() => addon.fileOps([{ op: 'unlink', path: dir }])).toThrow(TypeError);
    expect(() => addon.fileOps([{ op: 'write', path: dir }])).toThrow(TypeError);
  });

  it('fileOps create, rename and mkdir with a mode: exact modes, O_EXCL, never through a symlink, nothing left of a failed create', async () => {
    const made = path.join(dir, 'made');
    const tmp = path.join(dir, '.f.tmp');
    const results = await addon.fileOps([
      { op: 'mkdir', path: made, mode: 0o710 },
      { op: 'create', path: tmp, data: 'hello', mode: 0o640, sync: true },
      { op: 'create', path: tmp, data: 'again', mode: 0o600 },
      { op: 'rename', path: tmp, to: path.join(made, 'f') },
      { op: 'rename', path: tmp, to: path.join(made, 'g') },
    ]);
    expect(results[0]).toBeNull();
    expect(results[1]).toBeNull();
    expect(results[2]).toMatchObject({ code: 'EEXIST', syscall: 'open', path: tmp });
    expect(results[3]).toBeNull();
    expect(results[4]).toMatchObject({ code: 'ENOENT', syscall: 'rename', path: tmp });
    // Exactly the modes asked for, whatever the umask.
    expect(fs.statSync(made).mode & 0o7777).toBe(0o710);
    expect(fs.statSync(path.join(made, 'f')).mode & 0o7777).toBe(0o640);
    expect(fs.readFileSync(path.join(made, 'f'), 'utf8')).toBe('hello');
    fs.symlinkSync(path.join(made, 'f'), path.join(dir, 'planted'));
    expect(await addon.fileOps([{ op: 'create', path: path.join(dir, 'planted'), data: 'x', mode: 0o600 }])).toEqual([expect.objectContaining({ code: 'EEXIST' })]);
    expect(fs.readFileSync(path.join(made, 'f'), 'utf8')).toBe('hello');
    expect(await addon.fileOps([{ op: 'create', path: path.join(dir, 'no-such-dir', 'x'), data: 'x', mode: 0o600 }])).toEqual([expect.objectContaining({ code: 'ENOENT', syscall: 'open' })]);
    expect(() => addon.fileOps([{ op: 'create', path: tmp, mode: 0o600 }])).toThrow(TypeError);
    expect(() => addon.fileOps([{ op: 'mkdir', path: tmp, mode: 0o10000 }])).toThrow(TypeError);
    expect(() => addon.fileOps([{ op: 'rename', path: tmp }])).toThrow(TypeError);
  });

  it.skipIf(!isRoot)('fileOps mount: a mount(2) without flags; a bad one fails with its errno', async () => {
    const target = path.join(dir, 'mnt');
    fs.mkdirSync(target);
    const results = await addon.fileOps([
      { op: 'mount', path: target, source: 'tmpfs', fstype: 'tmpfs', data: 'size=1m,mode=0711' },
      { op: 'mount', path: path.join(dir, 'missing'), source: 'tmpfs', fstype: 'tmpfs', data: '' },
    ]);
    try {
      expect(results[0]).toBeNull();
      expect(results[1]).toMatchObject({ code: 'ENOENT', syscall: 'mount' });
      expect(fs.statSync(target).mode & 0o7777).toBe(0o711);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${target} `);
    } finally {
      addon.unmount(target);
    }
  });

  it('fileOps removeTree: the whole tree, children first; symlinks are removed, not followed; a missing path is fine', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'keep'), 'x');
      const tree = path.join(dir, 'tree');
      fs.mkdirSync(path.join(tree, 'a', 'b', 'c'), { recursive: true });
      fs.writeFileSync(path.join(tree, 'a', 'f'), 'x');
      fs.writeFileSync(path.join(tree, 'a', 'b', 'c', 'g'), 'x');
      fs.symlinkSync(path.join(outside, 'keep'), path.join(tree, 'a', 'file-link'));
      fs.symlinkSync(outside, path.join(tree, 'dir-link'));
      expect(await addon.fileOps([{ op: 'removeTree', path: tree }, { op: 'removeTree', path: path.join(dir, 'missing') }])).toEqual([null, null]);
      expect(fs.existsSync(tree)).toBe(false);
      expect(fs.readdirSync(outside)).toEqual(['keep']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)('fileOps removeTree never goes into another mount: what is mounted stays, and the failure says so', async () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'mnt'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'f'), 'x');
    addon.mount({ source: 'tmpfs', target: path.join(tree, 'mnt'), fstype: 'tmpfs' });
    try {
      fs.writeFileSync(path.join(tree, 'mnt', 'inside'), 'x');
      const [err] = await addon.fileOps([{ op: 'removeTree', path: tree }]);
      expect(err).toMatchObject({ code: 'ENOTEMPTY', syscall: 'rmdir' });
      expect(fs.readFileSync(path.join(tree, 'mnt', 'inside'), 'utf8')).toBe('x');
      expect(fs.existsSync(path.join(tree, 'f'))).toBe(false);
    } finally {
      addon.unmount(path.join(tree, 'mnt'));
    }
  });

  it.skipIf(!isRoot)('fileOps unmount detaches a mount, then removeTree takes the tree in the same call; a path that is no mount is EINVAL', async () => {
    const tree = path.join(dir, 'mounted');
    fs.mkdirSync(path.join(tree, 'mnt'), { recursive: true });
    addon.mount({ source: 'tmpfs', target: path.join(tree, 'mnt'), fstype: 'tmpfs' });
    fs.writeFileSync(path.join(tree, 'mnt', 'inside'), 'x');
    const mounted = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${path.join(tree, 'mnt')} `);
    expect(mounted()).toBe(true);
    expect(await addon.fileOps([{ op: 'unmount', path: path.join(tree, 'mnt') }, { op: 'removeTree', path: tree }])).toEqual([null, null]);
    expect(mounted()).toBe(false);
    expect(fs.existsSync(tree)).toBe(false);
    const [err] = await addon.fileOps([{ op: 'unmount', path: dir }]);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'umount2', path: dir });
  });

  it('syncFilesystem: resolves for a directory; rejects with a Node-shaped error for a missing path or a file; TypeError without a string', async () => {
    await expect(addon.syncFilesystem(dir)).resolves.toBeUndefined();
    await expect(addon.syncFilesystem(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: path.join(dir, 'missing') });
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await expect(addon.syncFilesystem(path.join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(() => addon.syncFilesystem(7 as unknown as string)).toThrow(TypeError);
  });

  it('spawnPiped: stdout and stderr through pipes, the exit code from reapChild, PATH lookup, ENOENT', async () => {
    const child = addon.spawnPiped('sh', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const read = (fd: number) => new Promise<string>((resolve) => {
      let text = '';
      const s = new net.Socket({ fd, readable: true, writable: false });
      s.on('data', (d: Buffer) => { text += d.toString(); });
      s.on('close', () => resolve(text));
    });
    expect(await Promise.all([read(child.stdout), read(child.stderr)])).toEqual(['out\n', 'err\n']);
    let exit = addon.reapChild(child.pid);
    for (let i = 0; !exit && i < 100; i++) { await new Promise((r) => setTimeout(r, 10)); exit = addon.reapChild(child.pid); }
    expect(exit).toEqual({ exitCode: 3, signal: 0 });
    expect(addon.reapChild(child.pid)).toEqual({ exitCode: -1, signal: 0 });
    expect(() => addon.spawnPiped('no-such-tool-here', ['x'])).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'posix_spawn' }));
  });

  it('sendWithSocket: a line that is one line, to a reader that is there (EPIPE once it is gone)', async () => {
    const child = addon.spawnWithSocket('/bin/true', ['true']);
    for (let i = 0; !addon.reapChild(child.pid) && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    expect(() => addon.sendWithSocket(child.fd, 'two\nlines')).toThrow(TypeError);
    expect(() => addon.sendWithSocket(child.fd, '')).toThrow(TypeError);
    expect(() => addon.sendWithSocket(child.fd, 'hello')).toThrow(expect.objectContaining({ code: 'EPIPE', syscall: 'sendmsg' }));
    fs.closeSync(child.fd);
  });

  it('spawnWithSocket: fd 3 of the child is the other end of a socketpair, in a session of its own', async () => {
    const child = addon.spawnWithSocket('/bin/sh', ['/bin/sh', '-c', 'echo "$(cut -d" " -f6 /proc/$$/stat) $$" >&3; read line <&3; echo "got $line" >&3']);
    const s = new net.Socket({ fd: child.fd, readable: true, writable: true });
    const lines: string[] = [];
    let buf = '';
    s.on('data', (d: Buffer) => { buf += d.toString(); });
    await new Promise<void>((resolve) => {
      const check = () => { if (buf.includes('\n')) resolve(); else setTimeout(check, 5); };
      check();
    });
    lines.push(buf.trim());
    s.write('hello\n');
    await new Promise((resolve) => s.on('close', resolve));
    const [sid, pid] = lines[0].split(' ').map(Number);
    expect(sid).toBe(pid);
    expect(buf).toContain('got hello');
    let exit = addon.reapChild(child.pid);
    for (let i = 0; !exit && i < 100; i++) { await new Promise((r) => setTimeout(r, 10)); exit = addon.reapChild(child.pid); }
    expect(exit).toEqual({ exitCode: 0, signal: 0 });
  });

  it('sealedExecutable: a sealed memfd copy that runs through /proc/<pid>/fd and refuses writes', () => {
    const fd = addon.sealedExecutable(MONITOR);
    try {
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:berth-monitor (deleted)');
      expect(fs.fstatSync(fd).size).toBe(fs.statSync(MONITOR).size);
      // No arguments: the monitor prints its usage and exits 2, which proves it ran.
      const r = spawnSync(`/proc/${process.pid}/fd/${fd}`, [], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('usage: berth-monitor');
      expect(thrown(() => fs.writeSync(fd, 'x', 0))).toMatchObject({ code: 'EPERM' });
      expect(thrown(() => fs.ftruncateSync(fd, 0))).toMatchObject({ code: 'EPERM' });
      // Not even through a fresh writable open of the same file.
      const again = fs.openSync(`/proc/self/fd/${fd}`, 'r+');
      try {
        expect(thrown(() => fs.writeSync(again, 'x', 0))).toMatchObject({ code: 'EPERM' });
      } finally {
        fs.closeSync(again);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('sealedExecutable: errors are Node-shaped', () => {
    expect(thrown(() => addon.sealedExecutable(path.join(dir, 'missing')))).toMatchObject({
      code: 'ENOENT', errno: 2, syscall: 'open', path: path.join(dir, 'missing'),
    });
    expect(thrown(() => (addon.sealedExecutable as unknown as (x: number) => number)(3))).toBeInstanceOf(TypeError);
  });

  it('throws TypeError with a usage line on bad arguments', () => {
    const cases: Array<() => unknown> = [
      () => (addon.mount as unknown as () => void)(),
      () => addon.mount({ target: 5 as unknown as string }),
      () => addon.mount({ target: dir, flags: ['bogus'] }),
      () => addon.mount({ target: dir, flags: 'ro' as unknown as string[] }),
      () => addon.unmount(undefined as unknown as string),
      () => addon.unmount(dir, { detach: 'yes' as unknown as boolean }),
      () => addon.mknod(path.join(dir, 'x'), { type: 'x' as 'c', major: 1, minor: 3, mode: 0o666 }),
      () => addon.mknod(path.join(dir, 'x'), { type: 'c', major: -1, minor: 3, mode: 0o666 }),
      () => addon.mknod(path.join(dir, 'x'), { type: 'c', major: 1, minor: 3, mode: 0o20666 }),
      () => addon.lockFile('a\0b'),
      () => addon.setXattr(dir, '', 'y'),
      () => (addon.setXattr as unknown as (p: string) => void)(dir),
    ];
    for (const fn of cases) {
      const err = thrown(fn);
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toMatch(/\(usage: \w+\(/);
    }
    expect(thrown(() => addon.mount({ target: dir, flags: ['bogus'] })).message).toContain("unknown mount flag 'bogus'");
  });

  it('mknod in a missing directory is ENOENT with code, errno, syscall and path', () => {
    const p = path.join(dir, 'missing', 'null');
    const err = thrown(() => addon.mknod(p, { type: 'p', major: 0, minor: 0, mode: 0o600 }));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'mknod', path: p });
    expect(err.message).toBe(`ENOENT: no such file or directory, mknod '${p}'`);
  });

  it('setXattr sets an attribute, and its errors are Node-shaped', () => {
    addon.setXattr(dir, 'user.berth.test', 'y');
    expect(addon.getXattr(dir, 'user.berth.test')?.toString()).toBe('y');
    const p = path.join(dir, 'missing');
    expect(thrown(() => addon.setXattr(p, 'user.berth.test', 'y'))).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'lsetxattr', path: p });
  });

  it('mknod applies the mode exactly, whatever the umask', () => {
    const p = path.join(dir, 'fifo');
    const old = process.umask(0o077);
    try {
      addon.mknod(p, { type: 'p', major: 0, minor: 0, mode: 0o664 });
    } finally {
      process.umask(old);
    }
    const st = fs.statSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o664);
  });

  it.skipIf(!isRoot)('unmount of a directory that is not a mount point is EINVAL', () => {
    const err = thrown(() => addon.unmount(dir));
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, syscall: 'umount2', path: dir });
  });

  it('unmount of a missing path is ENOENT', () => {
    const p = path.join(dir, 'nope');
    expect(thrown(() => addon.unmount(p, { detach: true }))).toMatchObject({ code: 'ENOENT', syscall: 'umount2' });
  });

  it.skipIf(!isRoot)('mounts a tmpfs, bind-mounts it read-only, and unmounts both', () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    addon.mount({ source: 'tmpfs', target: a, fstype: 'tmpfs', flags: ['nosuid', 'nodev'], data: 'size=1m' });
    try {
      fs.writeFileSync(path.join(a, 'f'), 'x');
      addon.mount({ source: a, target: b, flags: ['bind', 'ro', 'private'] });
      try {
        expect(fs.readFileSync(path.join(b, 'f'), 'utf8')).toBe('x');
        expect(thrown(() => fs.writeFileSync(path.join(b, 'g'), 'y')).code).toBe('EROFS');
      } finally {
        addon.unmount(b);
      }
    } finally {
      addon.unmount(a, { detach: true });
    }
  });

  it.skipIf(!isRoot)('a bind of a missing source is ENOENT from mount', () => {
    const err = thrown(() => addon.mount({ source: path.join(dir, 'nope'), target: dir, flags: ['bind'] }));
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'mount', path: dir });
  });

  it('lockFile conflicts across processes with EWOULDBLOCK and frees on close', () => {
    const lock = path.join(dir, 'berthd.lock');
    const fd = addon.lockFile(lock);
    expect(Number.isInteger(fd)).toBe(true);
    const probe = () => spawnSync(process.execPath, ['-e', `
      try { require(${JSON.stringify(ADDON)}).lockFile(${JSON.stringify(lock)}); console.log('locked'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path })); }
    `], { encoding: 'utf8' }).stdout.trim();
    expect(JSON.parse(probe())).toEqual({ code: 'EWOULDBLOCK', errno: 11, syscall: 'flock', path: lock });
    fs.closeSync(fd);
    expect(probe()).toBe('locked');
  });

  it('openAt in-root resolves absolute symlinks and ".." inside the directory fd', () => {
    fs.mkdirSync(path.join(dir, 'root/etc'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'root/etc/passwd'), 'inside');
    fs.symlinkSync('/etc', path.join(dir, 'root/abs'));
    fs.symlinkSync('../../../../..', path.join(dir, 'root/up'));
    const root = fs.openSync(path.join(dir, 'root'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    const opened: number[] = [];
    try {
      for (const p of ['/abs/passwd', 'up/etc/passwd', '../../etc/passwd']) {
        const fd = addon.openAt(root, p, { resolve: 'in-root', read: true, followLast: true });
        opened.push(fd);
        expect(fs.readFileSync(fd, 'utf8')).toBe('inside');
      }
      // O_NOFOLLOW by default: the link itself as O_PATH, and ELOOP when it is to be read.
      const link = addon.openAt(root, 'abs', { resolve: 'in-root' });
      opened.push(link);
      expect(fs.readlinkSync(`/proc/self/fd/${link}`)).toBe(path.join(dir, 'root/abs'));
      expect(thrown(() => addon.openAt(root, 'abs', { resolve: 'in-root', read: true }))).toMatchObject({ code: 'ELOOP', syscall: 'openat2', path: 'abs' });
      expect(thrown(() => addon.openAt(root, 'abs/passwd', { resolve: 'beneath', read: true }))).toMatchObject({ code: 'ELOOP' });
      expect(thrown(() => addon.openAt(root, 'etc/passwd', { resolve: 'in-root', directory: true }))).toMatchObject({ code: 'ENOTDIR' });
      expect(thrown(() => addon.openAt(root, 'nope', { resolve: 'in-root' }))).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'openat2', path: 'nope' });
      expect(thrown(() => addon.openAt(root, 'x', { resolve: 'anywhere' }))).toBeInstanceOf(TypeError);
      expect(thrown(() => addon.openAt(-1, 'x', { resolve: 'in-root' }))).toBeInstanceOf(TypeError);
    } finally {
      for (const fd of [...opened, root]) fs.closeSync(fd);
    }
  });

  it('getXattr returns the value, or null when there is none', () => {
    expect(addon.getXattr(dir, 'user.berth-test-none')).toBeNull();
    expect(thrown(() => addon.getXattr(path.join(dir, 'missing'), 'user.x'))).toMatchObject({ code: 'ENOENT', syscall: 'lgetxattr' });
    if (isRoot) {
      const r = spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
      if (r.status === 0) expect(addon.getXattr(dir, 'trusted.overlay.opaque')).toEqual(Buffer.from('y'));
    }
  });

  it.skipIf(!isRoot)('mknodAt makes one node with the exact mode and refuses a path', () => {
    const d = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      addon.mknodAt(d, 'null', { type: 'c', major: 1, minor: 3, mode: 0o4666 });
      const st = fs.lstatSync(path.join(dir, 'null'));
      expect([st.isCharacterDevice(), st.mode & 0o7777, st.rdev]).toEqual([true, 0o4666, (1 << 8) | 3]);
      expect(thrown(() => addon.mknodAt(d, 'null', { type: 'p', major: 0, minor: 0, mode: 0o600 }))).toMatchObject({ code: 'EEXIST', syscall: 'mknodat' });
      expect(thrown(() => addon.mknodAt(d, '../x', { type: 'p', major: 0, minor: 0, mode: 0o600 }))).toBeInstanceOf(TypeError);
    } finally {
      fs.closeSync(d);
    }
  });
});

// A container's filesystem through the real daemon: diff, sizes, export, docker cp out and in, and
// the regressions that make copies safe (CVE-2018-15664, CVE-2014-9356/6407, CVE-2019-14271).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import type {
  ContainerChangesResponse, CopyToHeader, InspectContainerResponse, ListContainersResponse, PathStat, TopContainerResponse,
  WaitContainerResponse,
} from '../../src/gen/berth/v1/containers';
import type { InspectImageResponse } from '../../src/gen/berth/v1/images';
import { cli, config, copyFromTar, createContainer, destroyDaemon, importBusybox, mountsUnder, startDaemon, type TestDaemon } from '../helpers/daemon';
import { BERTH_CLI, IS_ROOT } from '../helpers/paths';
import { tarOf } from '../helpers/tar';

interface Unpacked { name: string; type: string; mode: number; uid: number; gid: number; linkname?: string; body?: string }

const S_IFMT = 0o170000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untar(bytes: Buffer): Promise<Unpacked[]> {
  const out: Unpacked[] = [];
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  for await (const e of extract) {
    const body: Buffer[] = [];
    for await (const c of e) body.push(c as Buffer);
    const h = e.header;
    out.push({
      name: h.name, type: h.type ?? '', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0,
      ...(h.linkname ? { linkname: h.linkname } : {}), ...(body.length ? { body: Buffer.concat(body).toString() } : {}),
    });
  }
  return out;
}

describe.skipIf(!IS_ROOT)('container filesystem', () => {
  let d: TestDaemon;
  let host: string; // a host directory no copy may ever touch
  const rpc = <Res = unknown>(method: string, req: unknown) => call<typeof d.clients.containers, unknown, Res>(d.clients.containers, method as keyof typeof d.clients.containers, req);
  const code = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (err: grpc.ServiceError) => `${err.code} ${err.details}`);

  /** Runs cmd to its end in a new container and returns its id (stopped, its changes made). */
  const runDone = async (cmd: string): Promise<string> => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', cmd]));
    await rpc('start', { containerId: id });
    const exit = await rpc<WaitContainerResponse>('wait', { containerId: id, condition: '' });
    expect(exit.exitCode).toBe(0);
    return id;
  };
  /** Starts cmd and waits until the file `ready` exists in the container (the setup is done). */
  const runBackground = async (cmd: string): Promise<string> => {
    const id = await createContainer(d, config('busybox', ['sh', '-c', cmd]));
    await rpc('start', { containerId: id });
    for (let i = 0; i < 200 && (await statOf(id, '/ready')) === undefined; i++) await sleep(25);
    return id;
  };
  const changes = async (id: string) => (await rpc<ContainerChangesResponse>('changes', { containerId: id })).changes
    .map((c) => `${'CAD'[c.kind]} ${c.path}`);
  const exportTar = async (id: string): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const msg of d.clients.containers.export({ containerId: id })) chunks.push((msg as { chunk: Buffer }).chunk);
    return Buffer.concat(chunks);
  };
  const copyFrom = async (id: string, p: string): Promise<{ stat: PathStat; entries: Unpacked[] }> => {
    const { stat, tar: bytes } = await copyFromTar(d, id, p);
    return { stat, entries: await untar(bytes) };
  };
  const statOf = (id: string, p: string) => copyFrom(id, p).then((r) => r.stat, () => undefined);
  const catIn = async (id: string, p: string) => (await copyFrom(id, p)).entries[0]?.body ?? '';
  const copyTo = (id: string, header: Partial<CopyToHeader>, bytes: Buffer): Promise<unknown> => new Promise((resolve, reject) => {
    const stream = d.clients.containers.copyTo((err, r) => (err ? reject(err) : resolve(r)));
    stream.write({ part: { $case: 'header', value: { containerId: id, path: '/', noOverwriteDirNonDir: false, copyUidGid: false, ...header } } });
    for (let off = 0; off < bytes.length; off += 65536) stream.write({ part: { $case: 'chunk', value: bytes.subarray(off, off + 65536) } });
    stream.end();
  });
  const hostUntouched = () => expect(fs.readdirSync(host)).toEqual(['canary']);

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    host = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-host-canary-'));
    fs.writeFileSync(path.join(host, 'canary'), 'host only');
  });
  afterEach(() => {
    hostUntouched();
    expect(fs.readFileSync(path.join(host, 'canary'), 'utf8')).toBe('host only');
  });
  afterAll(async () => {
    if (d) await destroyDaemon(d);
    fs.rmSync(host, { recursive: true, force: true });
  });

  describe('diff, sizes and export', () => {
    let id = '';
    beforeAll(async () => {
      id = await runDone([
        'echo new > /tmp/new', 'echo changed >> /etc/passwd', 'rm /etc/group',
        'rm -rf /home && mkdir /home && echo again > /home/new', 'mkdir -p /a/b && touch /a/b/c',
      ].join(' && '));
    });

    it('diff shows A, C and D, a deleted image file, and an opaque directory made again', async () => {
      expect(await changes(id)).toEqual([
        'A /a', 'A /a/b', 'A /a/b/c', 'C /etc', 'D /etc/group', 'C /etc/passwd', 'C /home', 'D /home/berth', 'A /home/new', 'C /tmp', 'A /tmp/new',
      ]);
      // The same while it runs (nothing mounted for it), and a new container has none at all.
      const fresh = await createContainer(d, config('busybox', ['true']));
      expect(await changes(fresh)).toEqual([]);
      expect(await code(rpc('changes', { containerId: 'nope' }))).toMatch(/^5 container nope: not found/);
    });

    it('sizes come only when asked: SizeRw is the container layer, SizeRootFs adds the image', async () => {
      const image = (await call<typeof d.clients.images, unknown, InspectImageResponse>(d.clients.images, 'inspect', { image: 'busybox' })).image!;
      const c = (await rpc<InspectContainerResponse>('inspect', { containerId: id, size: true })).container!;
      const passwd = (await copyFrom(id, '/etc/passwd')).stat.size;
      // passwd (copied up), tmp/new, home/new; whiteouts and directories count nothing.
      expect(c.sizeRw).toBe(passwd + 'new\n'.length + 'again\n'.length);
      expect(c.sizeRootFs).toBe(c.sizeRw + image.sizeBytes);
      expect((await rpc<InspectContainerResponse>('inspect', { containerId: id })).container!).toMatchObject({ sizeRw: 0, sizeRootFs: 0 });
      const listed = (await rpc<ListContainersResponse>('list', { all: true, size: true })).containers.find((x) => x.id === id)!;
      expect([listed.sizeRw, listed.sizeRootFs]).toEqual([c.sizeRw, c.sizeRootFs]);
    });

    it('export has the image files and the changes, not what was deleted, and leaves nothing mounted', async () => {
      const entries = await untar(await exportTar(id));
      const byName = new Map(entries.map((e) => [e.name, e]));
      expect(byName.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755 });
      expect(byName.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: '/bin/busybox' });
      expect(byName.get('etc/passwd')?.body).toMatch(/^root:x:0:0:.*\nchanged\n$/s);
      expect(byName.get('tmp/new')?.body).toBe('new\n');
      expect(byName.get('tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
      expect(byName.get('home/berth/')).toBeUndefined();
      expect(byName.get('etc/group')).toBeUndefined();
      expect(byName.has('a/b/c')).toBe(true);
      expect(entries.some((e) => e.name.startsWith('/') || e.name.startsWith('./') || e.name.includes('.wh.'))).toBe(false);
      expect(mountsUnder(path.join(d.root, 'overlay', id))).toEqual([]);
    });

    it('export of a running container streams the same tree', async () => {
      const running = await runBackground('echo live > /live; touch /ready; exec sleep 1000');
      const names = (await untar(await exportTar(running))).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['live', 'bin/busybox', 'etc/passwd']));
      await rpc('remove', { containerId: running, force: true });
    });
  });

  describe('export streams', () => {
    let big = '';
    beforeAll(async () => { big = await runDone('dd if=/dev/zero of=/big bs=1M count=256 2>/dev/null'); });
    afterAll(async () => { await rpc('remove', { containerId: big, force: true }); });
    const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${d.process.pid}/status`, 'utf8'))![1]);
    const unmounted = async () => {
      for (let i = 0; i < 200 && mountsUnder(path.join(d.root, 'overlay', big)).length; i++) await sleep(25);
      return mountsUnder(path.join(d.root, 'overlay', big));
    };

    it('a client that stops reading holds the export back: the daemon does not buffer the rest', async () => {
      const before = rssKiB();
      const stream = d.clients.containers.export({ containerId: big });
      stream.on('error', () => undefined); // CANCELLED, as asked below
      await new Promise((resolve) => stream.once('data', resolve));
      stream.pause();
      await sleep(2000);
      // 256 MiB to go; flow control keeps what waits in the daemon to a few windows' worth.
      expect(rssKiB() - before).toBeLessThan(96 * 1024);
      stream.cancel();
      expect(await unmounted()).toEqual([]);
    });

    it('a cancel mid-stream stops the walk and releases the stopped container\'s rootfs', async () => {
      const stream = d.clients.containers.export({ containerId: big });
      stream.on('error', () => undefined); // CANCELLED, as asked below
      let received = 0;
      await new Promise<void>((resolve) => {
        stream.on('data', (m: { chunk: Buffer }) => {
          received += m.chunk.length;
          if (received > 4 << 20) { stream.cancel(); resolve(); }
        });
      });
      expect(await unmounted()).toEqual([]);
      // The rootfs can be taken again at once.
      expect((await copyFrom(big, '/etc/passwd')).stat.name).toBe('passwd');
    });
  });

  describe('copy out', () => {
    let id = '';
    beforeAll(async () => {
      id = await runBackground([
        'mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two', 'ln -s /etc /data/etc-link',
        `ln -s ${host}/canary /data/host-link`, 'ln -s /data /abs-dir', 'touch /ready', 'exec sleep 1000',
      ].join(' && '));
    });
    afterAll(async () => { await rpc('remove', { containerId: id, force: true }); });

    it('a file is a tar with that one file under its base name, and the stat first', async () => {
      const { stat, entries } = await copyFrom(id, '/data/one');
      expect(stat).toMatchObject({ name: 'one', size: 4, mode: 0o100644, linkTarget: '' });
      expect(entries).toEqual([expect.objectContaining({ name: 'one', type: 'file', body: 'one\n' })]);
    });

    it('a directory has itself as the top entry; dir/. has only its contents', async () => {
      const dir = await copyFrom(id, '/data');
      expect(dir.stat).toMatchObject({ name: 'data', mode: 0o40755 });
      expect(dir.entries.map((e) => e.name).sort()).toEqual(['data/', 'data/etc-link', 'data/host-link', 'data/one', 'data/sub/', 'data/sub/two']);
      const contents = await copyFrom(id, '/data/.');
      expect(contents.entries.map((e) => e.name).sort()).toEqual(['./', './etc-link', './host-link', './one', './sub/', './sub/two']);
    });

    it('symlinks resolve inside the container, an absolute one too, never on the host', async () => {
      const link = await copyFrom(id, '/data/etc-link');
      expect(link.stat).toMatchObject({ name: 'etc-link', linkTarget: '/etc' });
      expect((link.stat.mode & S_IFMT).toString(8)).toBe('120000');
      expect(link.entries).toEqual([expect.objectContaining({ name: 'etc-link', type: 'symlink', linkname: '/etc' })]);
      // Through the link: the container's /etc/passwd, not the host's.
      expect(await catIn(id, '/data/etc-link/passwd')).toBe(await catIn(id, '/etc/passwd'));
      expect(await catIn(id, '/data/etc-link/passwd')).toContain('berth:x:1000:1000:berth:/home/berth:/bin/sh');
      expect(await catIn(id, '/abs-dir/sub/two')).toBe('two\n');
      // A link to a host path names that path in the container, where there is nothing.
      const hostLink = await copyFrom(id, '/data/host-link');
      expect(hostLink.stat.linkTarget).toBe(`${host}/canary`);
      expect(await code(copyFrom(id, '/data/host-link/'))).toMatch(/^(5|3) /);
      expect(await code(copyFrom(id, `${host}/canary`))).toBe(`5 path "${host}/canary": no such file or directory in the container`);
      // A trailing slash follows a link to a directory.
      expect((await copyFrom(id, '/abs-dir/')).entries.map((e) => e.name)).toContain('abs-dir/one');
    });

    it('a missing path is NOT_FOUND naming it; a file with a trailing slash is INVALID_ARGUMENT', async () => {
      expect(await code(copyFrom(id, '/data/missing'))).toBe('5 path "/data/missing": no such file or directory in the container');
      expect(await code(copyFrom(id, '/data/one/'))).toBe('3 path "/data/one/": not a directory');
      expect(await code(copyFrom(id, ''))).toMatch(/^3 path "": /);
    });
  });

  describe('copy in', () => {
    it('unpacks a tar into a running container: modes, owners with copy_uid_gid, links', async () => {
      const id = await runBackground('touch /ready; exec sleep 1000');
      const bytes = await tarOf([
        { name: 'dir/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
        { name: 'dir/f', mode: 0o4755, uid: 1000, gid: 1000, body: 'payload' },
        { name: 'dir/l', type: 'symlink', linkname: 'f' },
        { name: 'dir/h', type: 'link', linkname: 'dir/f' },
        { name: 'deep/er/file', body: 'parents made' },
      ]);
      await copyTo(id, { path: '/tmp' }, bytes);
      const root = await copyFrom(id, '/tmp/dir');
      const byName = new Map(root.entries.map((e) => [e.name, e]));
      expect(byName.get('dir/')).toMatchObject({ mode: 0o750, uid: 0, gid: 0 });
      expect(byName.get('dir/f')).toMatchObject({ mode: 0o4755, uid: 0, body: 'payload' });
      expect(byName.get('dir/l')).toMatchObject({ type: 'symlink', linkname: 'f' });
      expect(byName.get('dir/h')).toMatchObject({ type: 'link', linkname: 'dir/f' });
      expect(await catIn(id, '/tmp/deep/er/file')).toBe('parents made');
      await copyTo(id, { path: '/tmp', copyUidGid: true }, bytes);
      expect((await copyFrom(id, '/tmp/dir/f')).entries[0]).toMatchObject({ uid: 1000, gid: 1000, mode: 0o4755 });
      await rpc('remove', { containerId: id, force: true });
    });

    it('a directory entry replaces a file or a symlink standing at its name, as docker cp does', async () => {
      const id = await runDone('true');
      await copyTo(id, { path: '/tmp' }, await tarOf([{ name: 'was-file', body: 'x' }, { name: 'was-link', type: 'symlink', linkname: '/etc' }]));
      await copyTo(id, { path: '/tmp' }, await tarOf([
        { name: 'was-file/', type: 'directory', mode: 0o755 }, { name: 'was-file/in', body: 'a' },
        { name: 'was-link/', type: 'directory', mode: 0o755 }, { name: 'was-link/in', body: 'b' },
      ]));
      expect(await catIn(id, '/tmp/was-file/in')).toBe('a');
      expect(await catIn(id, '/tmp/was-link/in')).toBe('b');
      expect((await copyFrom(id, '/tmp/was-link')).entries[0]).toMatchObject({ name: 'was-link/', type: 'directory' });
      await rpc('remove', { containerId: id, force: true });
    });

    it('copies into a stopped container, mounting its rootfs only for the copy', async () => {
      const id = await runDone('true');
      await copyTo(id, { path: '/root' }, await tarOf([{ name: 'note', body: 'hi' }]));
      expect(mountsUnder(path.join(d.root, 'overlay', id))).toEqual([]);
      expect(await changes(id)).toEqual(['C /root', 'A /root/note']);
      await rpc('start', { containerId: id });
      expect((await rpc<WaitContainerResponse>('wait', { containerId: id, condition: '' })).exitCode).toBe(0);
    });

    it('refuses a missing parent (NOT_FOUND), a file as the destination, and bad entries', async () => {
      const id = await runDone('true');
      const one = await tarOf([{ name: 'x', body: 'x' }]);
      expect(await code(copyTo(id, { path: '/no/such/dir' }, one))).toBe(`5 path "/no/such/dir": no such directory in container ${id}`);
      expect(await code(copyTo(id, { path: '/etc/passwd' }, one))).toMatch(/^3 header.path "\/etc\/passwd": not a directory/);
      expect(await code(copyTo(id, { path: '' }, one))).toMatch(/^3 header.path "": /);
      expect(await code(copyTo('nope', { path: '/tmp' }, one))).toMatch(/^5 container nope: not found/);
      expect(await code(copyTo(id, { path: '/', noOverwriteDirNonDir: true }, await tarOf([{ name: 'home', body: 'file' }]))))
        .toBe('9 entry "home": cannot overwrite directory "/home" with non-directory');
      expect(await code(copyTo(id, { path: '/tmp' }, Buffer.alloc(4096, 7)))).toMatch(/^3 tar: /);
      // The whole tar is checked before anything is written: a good entry before a bad one is not made.
      const mixed = await tarOf([{ name: 'good', body: 'x' }, { name: 'ok/', type: 'directory' }, { name: '../bad', body: 'x' }]);
      expect(await code(copyTo(id, { path: '/tmp' }, mixed))).toBe('3 entry "../bad": path escapes the destination');
      const truncated = (await tarOf([{ name: 'good', body: 'x' }, { name: 'big', body: Buffer.alloc(100_000) }])).subarray(0, 4096);
      expect(await code(copyTo(id, { path: '/tmp' }, truncated))).toMatch(/^3 tar: /);
      expect(await changes(id)).toEqual([]);
    });

    it('CVE-2014-9356/6407: "../" entries, climbing links and files through symlinks stay inside', async () => {
      const id = await runDone('mkdir /dest');
      const rel = host.slice(1);
      expect(await code(copyTo(id, { path: '/dest' }, await tarOf([{ name: `../../../../../../${rel}/pwned`, body: 'x' }]))))
        .toMatch(/^3 entry ".*": path escapes the destination/);
      expect(await code(copyTo(id, { path: '/dest' }, await tarOf([{ name: 'up', type: 'symlink', linkname: '../../../../..' }, { name: 'up/pwned', body: 'x' }]))))
        .toMatch(/^3 entry "up": symlink target "..\/..\/..\/..\/.." escapes the destination/);
      expect(await code(copyTo(id, { path: '/dest' }, await tarOf([{ name: 'hl', type: 'link', linkname: `../../../../${rel}/canary` }]))))
        .toMatch(/^3 entry "hl": link target .* escapes the destination/);
      // Absolute links are the container's: following them lands in its root.
      await copyTo(id, { path: '/dest' }, await tarOf([
        { name: 'root-link', type: 'symlink', linkname: '/' },
        { name: `root-link/${rel}/pwned`, body: 'inside' },
        { name: 'host-link', type: 'symlink', linkname: host },
        { name: 'host-link/pwned2', body: 'inside too' },
      ]));
      expect(await catIn(id, `${host}/pwned`)).toBe('inside');
      expect(await catIn(id, `${host}/pwned2`)).toBe('inside too');
      hostUntouched();
    });

    it('a symlink in the container to the host path given as the destination lands inside', async () => {
      const id = await runDone(`mkdir -p ${host} && ln -s ${host} /target`);
      await copyTo(id, { path: '/target' }, await tarOf([{ name: 'landed', body: 'in the container' }]));
      expect(await catIn(id, `${host}/landed`)).toBe('in the container');
      expect(await catIn(id, '/target/landed')).toBe('in the container');
      hostUntouched();
    });

    it('CVE-2018-15664: a directory swapped for a symlink to / during the copy never leads outside', async () => {
      // The container swaps /d for a symlink to / as fast as it can; a copy that resolves /d on the
      // host (or follows it once resolved) would write <host>/pwned through the host's root.
      const id = await runBackground('mkdir /d; touch /ready; while :; do mv /d /d2; ln -s / /d; rm /d; mv /d2 /d; done');
      const bytes = await tarOf([{ name: `${host.slice(1)}/pwned`, body: 'x' }, { name: 'tmp/also', body: 'y' }]);
      const outcomes = new Set<string>();
      const deadline = Date.now() + 3000;
      let copies = 0;
      while (Date.now() < deadline) {
        outcomes.add(String(await code(copyTo(id, { path: '/d' }, bytes))).split(' ')[0]);
        copies++;
        hostUntouched();
      }
      expect(copies).toBeGreaterThan(20);
      // Some copies happen while /d is the symlink, some while it is the directory, some fail as it
      // moves (NOT_FOUND and the like); whatever happens, nothing lands outside.
      expect(outcomes.has('0')).toBe(true);
      await rpc('remove', { containerId: id, force: true });
    });

    it('CVE-2019-14271: nothing runs in the container; copies work with its /bin and /lib gone', async () => {
      const id = await runBackground('touch /ready; exec sleep 1000');
      const pids = async () => (await rpc<TopContainerResponse>('top', { containerId: id })).processes.length;
      expect(await pids()).toBe(1);
      const big = await tarOf([{ name: 'big', body: Buffer.alloc(32 << 20, 1) }]);
      let busy = true;
      const copying = (async () => {
        await copyTo(id, { path: '/tmp' }, big);
        await copyFrom(id, '/tmp/big');
        busy = false;
      })();
      const seen = new Set<number>();
      while (busy) {
        seen.add(await pids());
        await sleep(5);
      }
      await copying;
      expect([...seen]).toEqual([1]);
      await rpc('remove', { containerId: id, force: true });

      const gutted = await runDone('rm -rf /lib /usr /sbin /bin');
      await copyTo(gutted, { path: '/' }, await tarOf([{ name: 'lib/x86_64-linux-gnu/libnss_files.so.2', body: 'not a library' }]));
      expect(await catIn(gutted, '/lib/x86_64-linux-gnu/libnss_files.so.2')).toBe('not a library');
      expect((await copyFrom(gutted, '/etc')).entries.map((e) => e.name)).toContain('etc/passwd');
    });
  });

  describe('the CLI', () => {
    let id = '';
    let local = '';
    beforeAll(async () => {
      id = await runDone('mkdir -p /srv/dir && echo f > /srv/dir/f && echo top > /srv/file && rm /etc/group');
      local = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cp-'));
    });
    afterAll(() => fs.rmSync(local, { recursive: true, force: true }));

    it('diff prints docker diff lines; ps -s and inspect -s show sizes', () => {
      const r = cli(d, ['diff', id]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout).toBe('C /etc\nD /etc/group\nA /srv\nA /srv/dir\nA /srv/dir/f\nA /srv/file\n');
      const ps = cli(d, ['ps', '-a', '-s']);
      expect(ps.stdout.split('\n')[0]).toMatch(/NAMES\s+SIZE$/);
      expect(ps.stdout).toMatch(/\d+B \(virtual [\d.]+MB\)/);
      const inspected = JSON.parse(cli(d, ['inspect', '-s', id]).stdout) as Array<{ SizeRw: number; SizeRootFs: number }>;
      expect(inspected[0].SizeRw).toBe(6);
      expect(inspected[0].SizeRootFs).toBeGreaterThan(1_000_000);
      expect(JSON.parse(cli(d, ['inspect', id]).stdout)[0].SizeRw).toBeUndefined();
    });

    it('export -o writes the tar to a file', async () => {
      const out = path.join(local, 'export.tar');
      expect(cli(d, ['export', '-o', out, id])).toMatchObject({ status: 0, stderr: '' });
      const names = (await untar(fs.readFileSync(out))).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['srv/file', 'srv/dir/f', 'bin/busybox']));
      expect(names).not.toContain('etc/group');
    });

    it('cp out follows docker: into a directory, to a new name, dir/. as contents, - as a tar', async () => {
      expect(cli(d, ['cp', `${id}:/srv/file`, local]).status).toBe(0);
      expect(fs.readFileSync(path.join(local, 'file'), 'utf8')).toBe('top\n');
      expect(cli(d, ['cp', '-q', `${id}:/srv/file`, path.join(local, 'renamed')])).toMatchObject({ status: 0, stderr: '' });
      expect(fs.readFileSync(path.join(local, 'renamed'), 'utf8')).toBe('top\n');
      expect(cli(d, ['cp', `${id}:/srv/dir`, path.join(local, 'newdir')]).status).toBe(0);
      expect(fs.readdirSync(path.join(local, 'newdir'))).toEqual(['f']);
      expect(cli(d, ['cp', `${id}:/srv/dir`, local]).status).toBe(0);
      expect(fs.readFileSync(path.join(local, 'dir/f'), 'utf8')).toBe('f\n');
      fs.mkdirSync(path.join(local, 'contents'));
      expect(cli(d, ['cp', `${id}:/srv/.`, path.join(local, 'contents')]).status).toBe(0);
      expect(fs.readdirSync(path.join(local, 'contents')).sort()).toEqual(['dir', 'file']);
      const missing = cli(d, ['cp', `${id}:/srv/file`, path.join(local, 'nodir') + '/']);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('does not exist');
      expect(cli(d, ['cp', `${id}:/nope`, local])).toMatchObject({ status: 1, stderr: 'berth: path "/nope": no such file or directory in the container\n' });
      // A device is never replaced (docker: a directory or a regular file only); "-" is stdout.
      expect(cli(d, ['cp', `${id}:/srv/file`, '/dev/null'])).toMatchObject({ status: 1, stderr: expect.stringContaining('must be a directory or a regular file') });
      expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
      expect((await untar(Buffer.from(cli(d, ['cp', `${id}:/srv/file`, '-']).stdout, 'latin1'))).map((e) => e.name)).toEqual(['file']);
    });

    it('cp in follows docker too, and - sends a tar from stdin', async () => {
      fs.writeFileSync(path.join(local, 'in.txt'), 'from host');
      expect(cli(d, ['cp', path.join(local, 'in.txt'), `${id}:/srv`]).status).toBe(0);
      expect(await catIn(id, '/srv/in.txt')).toBe('from host');
      expect(cli(d, ['cp', path.join(local, 'in.txt'), `${id}:/srv/other.txt`]).status).toBe(0);
      expect(await catIn(id, '/srv/other.txt')).toBe('from host');
      fs.mkdirSync(path.join(local, 'tree/sub'), { recursive: true });
      fs.writeFileSync(path.join(local, 'tree/sub/leaf'), 'leaf');
      expect(cli(d, ['cp', path.join(local, 'tree'), `${id}:/srv/newtree`]).status).toBe(0);
      expect(await catIn(id, '/srv/newtree/sub/leaf')).toBe('leaf');
      expect(cli(d, ['cp', `${path.join(local, 'tree')}/.`, `${id}:/srv/dir`]).status).toBe(0);
      expect(await catIn(id, '/srv/dir/sub/leaf')).toBe('leaf');
      const stdinTar = await tarOf([{ name: 'piped', body: 'via stdin' }]);
      const r = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [BERTH_CLI, '--host', d.host, 'cp', '-', `${id}:/srv`]);
        child.stdin.end(stdinTar);
        child.on('exit', resolve);
      });
      expect(r).toBe(0);
      expect(await catIn(id, '/srv/piped')).toBe('via stdin');
      expect(cli(d, ['cp', path.join(local, 'in.txt'), `${id}:/no/such/`])).toMatchObject({ status: 1 });
    });
  });
});

// Known container-runtime escapes, one regression test per mechanism, all in one place. Each test names the
// naive implementation it would catch, and aims its payload at a fresh host canary directory that must come
// out exactly as it went in (contents, modes, owners, times, names), with no mount added outside the data root.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  Config, ContainerLogsRequest, HostConfig, type CopyToHeader, type CreateContainerResponse, type InspectContainerResponse,
  type ListContainersResponse, type PathStat, type TopContainerResponse, type WaitContainerResponse,
} from '../../src/gen/berth/v1/containers';
import type { ImportImageResponse, LoadImageResponse, PullImageResponse } from '../../src/gen/berth/v1/images';
import { canaryDiff, makeCanary, removeCanary, type Canary } from '../helpers/canary';
import { cgroupFile } from '../helpers/cgroup-files';
import { cli, containerMountsUnder, copyFromTar, destroyDaemon, importBusybox, startDaemon, type TestDaemon } from '../helpers/daemon';
import { cliAsync, compile, hostMounts, newMounts, strayFiles, TRAP_SO_C, UCONNECT_C, untar, type MountLine, type Unpacked } from '../helpers/escape-probes';
import { dockerArchive, pushLayers } from '../helpers/image-archive';
import { BUSYBOX_TAR, IS_ROOT, PROJECT_ROOT } from '../helpers/paths';
import { HAVE_REGISTRY, startRegistry, type TestRegistry } from '../helpers/registry';
import { openExec } from '../helpers/stdio-client';
import { tarOf, type TarEntry } from '../helpers/tar';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const numeric = (a: number, b: number) => a - b;

describe.skipIf(!IS_ROOT)('container escapes', () => {
  let d: TestDaemon;
  let canary: Canary;
  let scratch: string;
  let mountsBefore: MountLine[];
  let pwnBefore: string[];
  let corePattern: string;
  let busyboxLayer: Buffer;

  const rpc = <Res = unknown>(method: string, req: unknown) => call<typeof d.clients.containers, unknown, Res>(d.clients.containers, method as keyof typeof d.clients.containers, req);
  const code = (p: Promise<unknown>) => p.then(() => 'OK', (err: grpc.ServiceError) => `${err.code} ${err.details}`);
  const cfg = (cmd: string[], patch: Partial<Config> = {}) => Config.fromPartial({ image: 'busybox', cmd, attachStdout: true, attachStderr: true, ...patch });
  const create = async (config: Config, host: Partial<HostConfig> = {}): Promise<string> =>
    (await rpc<CreateContainerResponse>('create', { config, hostConfig: HostConfig.fromPartial(host), name: '' })).id;
  const logsOf = async (id: string) => {
    let stdout = '';
    let stderr = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true, stderr: true }))) {
      if (e.stream === 2) stderr += e.data.toString(); else stdout += e.data.toString();
    }
    return { stdout, stderr };
  };
  /** Starts a created container and waits for its end; a start the daemon refuses comes back as `refused`. */
  const startToEnd = async (id: string): Promise<{ refused?: string; exitCode?: number; stdout: string; stderr: string }> => {
    const started = await code(rpc('start', { containerId: id }));
    if (started !== 'OK') return { refused: started, stdout: '', stderr: '' };
    const exit = await rpc<WaitContainerResponse>('wait', { containerId: id, condition: '' });
    return { exitCode: exit.exitCode, ...(await logsOf(id)) };
  };
  const runToEnd = async (config: Config, host: Partial<HostConfig> = {}) => startToEnd(await create(config, host));
  /** Starts cmd and waits until it has made /ready (its setup is done). */
  const runBackground = async (cmd: string, host: Partial<HostConfig> = {}, image = 'busybox'): Promise<string> => {
    const id = await create(cfg(['sh', '-c', cmd], { image }), host);
    await rpc('start', { containerId: id });
    for (let i = 0; i < 400 && (await statOf(id, '/ready')) === undefined; i++) await sleep(25);
    expect(await statOf(id, '/ready'), `container ${id} never got ready: ${JSON.stringify(await logsOf(id))}`).toBeDefined();
    return id;
  };
  const copyFrom = async (id: string, p: string): Promise<{ stat: PathStat; entries: Unpacked[] }> => {
    const { stat, tar: bytes } = await copyFromTar(d, id, p);
    return { stat, entries: await untar(bytes) };
  };
  const statOf = (id: string, p: string) => copyFrom(id, p).then((r) => r.stat, () => undefined);
  const catIn = async (id: string, p: string) => (await copyFrom(id, p)).entries[0]?.body.toString() ?? '';
  const copyTo = (id: string, header: Partial<CopyToHeader>, bytes: Buffer): Promise<unknown> => new Promise((resolve, reject) => {
    const stream = d.clients.containers.copyTo((err, r) => (err ? reject(err) : resolve(r)));
    stream.write({ part: { $case: 'header', value: { containerId: id, path: '/', noOverwriteDirNonDir: false, copyUidGid: false, ...header } } });
    for (let off = 0; off < bytes.length; off += 65536) stream.write({ part: { $case: 'chunk', value: bytes.subarray(off, off + 65536) } });
    stream.end();
  });
  /** Runs cmd in a running container; its output, or the error the daemon answered. */
  const execIn = async (id: string, cmd: string[], workingDir = '') => {
    const e = openExec(d, { containerId: id, cmd, workingDir });
    const end = await e.done;
    return { ...end, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
  };
  const initPid = async (id: string) => (await rpc<InspectContainerResponse>('inspect', { containerId: id })).container!.state!.pid;
  const ppidOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const listIds = async () => (await rpc<ListContainersResponse>('list', { all: true })).containers.map((c) => c.id).sort();
  const canaryRel = () => canary.dir.slice(1);
  /** Mounts added on the host since the test began that come from us (mounts inside the data root are the daemon's own). */
  const hostMountsAdded = () => newMounts(mountsBefore.filter((m) => !m.mountPoint.startsWith(`${d.root}/`)),
    hostMounts().filter((m) => !m.mountPoint.startsWith(`${d.root}/`)), [canary.dir, d.root, scratch], [d.root, scratch]);
  /** Enough "../" to reach / from any directory of the data root or of a container's rootfs. */
  const UP = '../'.repeat(16);

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-escape-scratch-'));
    busyboxLayer = fs.readFileSync(BUSYBOX_TAR);
    corePattern = fs.readFileSync(CORE_PATTERN, 'utf8');
    pwnBefore = strayFiles('pwn');
  });

  beforeEach(() => {
    canary = makeCanary();
    mountsBefore = hostMounts();
  });

  afterEach(async () => {
    if (!d) { removeCanary(canary); return; } // the daemon never started: beforeAll has failed the file already
    // Every container goes, then nothing of theirs may stay mounted under the data root.
    for (const id of await listIds()) await rpc('remove', { containerId: id, force: true, volumes: true }).catch(() => undefined);
    for (let i = 0; i < 100 && containerMountsUnder(d.root).length > 0; i++) await sleep(20);
    const leftMounted = containerMountsUnder(d.root);
    const diff = canaryDiff(canary);
    removeCanary(canary);
    expect(diff, 'the host canary changed').toBe('');
    expect(leftMounted).toEqual([]);
    expect(hostMountsAdded()).toEqual([]);
    // A container that changed the host's core_pattern is a failure; the host gets its own value back first.
    const pattern = fs.readFileSync(CORE_PATTERN, 'utf8');
    if (pattern !== corePattern) fs.writeFileSync(CORE_PATTERN, corePattern);
    expect(pattern, 'host core_pattern').toBe(corePattern);
  });

  afterAll(async () => {
    if (d) await destroyDaemon(d);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  describe('CVE-2019-5736: /proc/<pid>/exe of a process entering the container', () => {
    // Naive: exec (or start) enters the container by running a host binary (the runtime itself, re-executed
    // through /proc/self/exe, or node) inside it; a process in the container opens /proc/<that pid>/exe
    // for writing, directly or first as a read-only fd it reopens later through /proc/self/fd, and
    // overwrites the host binary. Berth's entering process is a sealed memfd copy of the monitor.
    it('twenty execs while the container hammers every /proc/<pid>/exe leave every host binary as it was', async () => {
      // The image's own busybox (its layer in the data root) is a target too: the container may change its
      // copy, never the one every other container of the image shares.
      const layerDir = path.join(d.root, 'layers');
      const imageBusybox = fs.readdirSync(layerDir).map((l) => path.join(layerDir, l, 'bin/busybox')).filter((f) => fs.existsSync(f));
      expect(imageBusybox.length).toBeGreaterThan(0);
      const targets = [path.join(PROJECT_ROOT, 'build/Release/berth-monitor'), process.execPath, fs.realpathSync('/bin/busybox'), ...imageBusybox];
      // Held open: the very inodes are hashed again after, even if a build replaces a file at the path meanwhile.
      const held = targets.map((t) => fs.openSync(t, 'r'));
      const hashOf = (fd: number) => sha(fs.readFileSync(`/proc/self/fd/${fd}`));
      const before = held.map(hashOf);
      const inodes = held.map((fd) => fs.fstatSync(fd).ino);
      try {
        // The attacker runs its own copy of busybox, so it never hits its own exe. For every other process it
        // appends to /proc/<pid>/exe, and keeps a read-only fd on it (fds 3-9 in turn) that it tries to write
        // through again on every round, after that process has moved on or exited.
        const attack = [
          'mkdir /atk', 'cp /bin/busybox /atk/busybox', 'touch /ready', 'exec /atk/busybox sh -c \'',
          'i=0; n=3; while [ $i -lt 1000000 ]; do i=$((i+1)); echo $i > /rounds;',
          ' for p in /proc/[0-9]*; do [ "$p" = /proc/$$ ] && continue;',
          '  if echo x 2>/dev/null >> $p/exe; then echo "direct $(/atk/busybox readlink $p/exe)" >> /attack.log; fi;',
          '  if eval "command exec $n< $p/exe" 2>/dev/null; then echo "held $n $(/atk/busybox readlink /proc/$$/fd/$n)" >> /attack.log; n=$((n % 7 + 3)); fi;',
          ' done;',
          ' for f in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$f ] || continue;',
          '  if echo x 2>/dev/null >> /proc/$$/fd/$f; then echo "via-fd $(/atk/busybox readlink /proc/$$/fd/$f)" >> /attack.log; fi;',
          ' done;',
          'done\'',
        ].join('\n');
        // The execs run the image's busybox from a read-only bind: the attacker's writes to a running program
        // (its own business inside the container) would otherwise make an exec fail with ETXTBSY now and then.
        const roBin = fs.mkdtempSync(path.join(scratch, 'ro-bin-'));
        fs.copyFileSync(imageBusybox[0], path.join(roBin, 'busybox'));
        fs.chmodSync(path.join(roBin, 'busybox'), 0o755);
        const id = await runBackground(attack, { binds: [`${roBin}:/ro:ro`], networkMode: 'none' });

        for (let i = 0; i < 20; i++) {
          const r = await execIn(id, ['/ro/busybox', 'echo', 'entered']);
          expect(r.exit ?? r.error, r.stderr).toEqual({ exitCode: 0, signal: 0 });
          expect(r.stdout).toBe('entered\n');
        }
        const pid = await initPid(id);
        const monitorPid = ppidOf(pid);
        expect(fs.readlinkSync(`/proc/${monitorPid}/exe`)).toMatch(/^\/memfd:berth-monitor/);
        expect(() => fs.openSync(`/proc/${monitorPid}/exe`, 'r+')).toThrow();
        // The attacker was at work all along. /rounds is rewritten each round, so a read may catch it empty or
        // torn (a copy of a file that shrinks meanwhile is padded with NULs): read until it is caught whole.
        let rounds = 0;
        for (let i = 0; i < 50 && !(rounds > 0); i++) rounds = Number(await catIn(id, '/rounds'));
        expect(rounds).toBeGreaterThan(0);
        // Whatever the attacker managed to write, it was only ever the container's own files.
        const log = (await statOf(id, '/attack.log')) ? await catIn(id, '/attack.log') : '';
        const wrote = log.split('\n').filter((l) => /^(direct|via-fd) /.test(l)).map((l) => l.split(' ').slice(1).join(' '));
        for (const w of new Set(wrote)) expect(['/bin/busybox', '/atk/busybox', '/ro/busybox']).toContain(w);
      } finally {
        const after = held.map(hashOf);
        held.forEach((fd) => fs.closeSync(fd));
        expect(after).toEqual(before);
      }
      // The paths too, for a binary not replaced meanwhile (a rebuild makes a new inode).
      for (const [i, t] of targets.entries()) if (fs.statSync(t).ino === inodes[i]) expect(sha(fs.readFileSync(t))).toBe(before[i]);
    });
  });

  describe('CVE-2024-21626: leaked fds and a working dir of /proc/self/fd/N', () => {
    // What the process reports about its cwd and fds: whether its cwd is reachable from its own root (the
    // path readlink names, resolved in the container, is the same inode), what `..` holds, its fds.
    const PROBE = [
      'c=$(readlink /proc/self/cwd); echo "cwd=$c"',
      '[ "$(stat -c %d:%i .)" = "$(stat -c %d:%i "$c" 2>/dev/null)" ] && echo reachable=yes || echo reachable=no',
      'echo "up=$(ls -a .. | tr "\\n" " ")"',
      'echo "fds=$(ls /proc/self/fd | tr "\\n" " ")"',
    ].join('; ');
    const parse = (out: string) => Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
    const inside = (out: string) => {
      const r = parse(out);
      expect(r.reachable, out).toBe('yes');
      // The host's data root (berthd.lock, containers/) or the canary's /tmp would show here.
      for (const host of ['berthd.lock', 'berth.sock', path.basename(canary.dir), path.basename(d.root)]) expect(r.up.split(' '), out).not.toContain(host);
      expect(r.fds.split(' ').map(Number).filter((fd) => fd > 3), out).toEqual([]);
    };

    // Naive: init (or the exec'd process) chdirs into the working dir while it still holds the runtime's fds
    // (the container dir, the host cgroup, the rootfs before pivot) and closes them only at execve, as runc
    // before 1.1.12 did: /proc/self/fd/N then names a host directory and the program starts outside its root.
    it('a container whose working_dir is /proc/self/fd/3..15 fails to start or runs inside its root', async () => {
      // The probe itself, on a container as it should be: init's fds are 0-2 (3 is ls's own directory).
      const plain = await runToEnd(cfg(['sh', '-c', PROBE]), { networkMode: 'none' });
      inside(plain.stdout);
      expect(parse(plain.stdout).fds).toBe('0 1 2 3');
      const fds = Array.from({ length: 13 }, (_, i) => i + 3);
      const results = [];
      for (const n of fds) results.push({ n, ...(await runToEnd(cfg(['sh', '-c', PROBE], { workingDir: `/proc/self/fd/${n}` }), { networkMode: 'none' })) });
      for (const r of results) {
        if (r.refused !== undefined) {
          expect(r.refused, `fd ${r.n}`).not.toMatch(new RegExp(`^${grpc.status.UNKNOWN} `));
          continue;
        }
        expect(r.exitCode, `fd ${r.n}: ${r.stderr}`).toBe(0);
        inside(r.stdout);
      }
    });

    // Naive: exec joins the mount namespace but chdirs before closing the monitor's (or berthd's) fds.
    it('exec with working_dir /proc/self/fd/3..15 is refused or runs inside the root; init and exec hold only 0-2', async () => {
      const id = await runBackground('touch /ready; exec sleep 1000');
      for (let n = 3; n <= 15; n++) {
        const r = await execIn(id, ['sh', '-c', PROBE], `/proc/self/fd/${n}`);
        if (r.error) {
          expect(r.error.code, `fd ${n}: ${r.error.details}`).not.toBe(grpc.status.UNKNOWN);
          continue;
        }
        expect(r.exit, `fd ${n}: ${r.stderr}`).toEqual({ exitCode: 0, signal: 0 });
        inside(r.stdout);
      }
      // ls's own directory fd is 3; anything else was leaked into init or the exec.
      const plain = await execIn(id, ['sh', '-c', PROBE]);
      inside(plain.stdout);
      expect(parse(plain.stdout).fds).toBe('0 1 2 3');
      const pid = await initPid(id);
      expect(fs.readdirSync(`/proc/${pid}/fd`).map(Number).sort(numeric)).toEqual([0, 1, 2]);
    });
  });

  describe('CVE-2018-15664: a path swapped for a symlink while a copy runs', () => {
    // Naive: CopyTo/CopyFrom resolve the container path on the host (FollowSymlinkInScope) and then use the
    // resolved host path, so a container that swaps /d for a symlink to / between the check and the use makes
    // the daemon write to (or read from) the host's root. Bounded by count: 40 copies in, 40 copies out.
    it('forty copies in and out while /d flips between a directory and a symlink to / never touch the host', async () => {
      const rel = canaryRel();
      const id = await runBackground([
        `mkdir -p /d/${rel} && echo container-copy > /d/${rel}/canary`, 'touch /ready',
        'i=0; while [ $i -lt 10000000 ]; do i=$((i+1)); mv /d /d2; ln -s / /d; rm /d; mv /d2 /d; done',
      ].join(' && '));
      const bytes = await tarOf([{ name: `${rel}/pwn`, body: 'x' }, { name: 'tmp/pwn', body: 'y' }]);
      const outcomes = new Map<string, number>();
      const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      for (let i = 0; i < 40; i++) {
        count(`in ${(await code(copyTo(id, { path: '/d' }, bytes))).split(' ')[0]}`);
        const out = await copyFrom(id, `/d/${rel}/canary`).then((r) => r.entries.map((e) => e.body.toString()).join(''), (e: grpc.ServiceError) => `error ${e.code}`);
        // The host's canary holds the token; the container's copy does not.
        expect(out).not.toContain(canary.token);
        count(`out ${out.startsWith('error') ? out : 'OK'}`);
        const dir = await copyFrom(id, '/d/').then((r) => r.entries.map((e) => `${e.name} ${e.body.toString()}`).join('\n'), () => '');
        expect(dir).not.toContain(canary.token);
        expect(dir).not.toContain('berthd.lock');
      }
      // The race is real: some copies met the directory.
      expect(outcomes.get('in OK') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0);
      expect(outcomes.get('out OK') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0);
      expect(strayFiles('pwn')).toEqual(pwnBefore);
    });
  });

  describe('CVE-2019-14271: nothing of the container runs during a copy', () => {
    // Naive: docker cp runs a helper inside the container (tar in an exec, or a host binary chrooted into the
    // rootfs that loads the container's libnss_*.so for user lookups). Here every program a helper could run
    // and the nss libraries are traps that leave a mark (in the container's / and at the host canary) if run
    // or loaded; the copies must work and leave no mark, and no process may join the container's cgroup.
    it('copies in and out of a container whose /bin, /usr/bin and libnss are booby-trapped', async () => {
      const rel = canaryRel();
      const trapFiles = ['/bin/busybox', '/bin/sh', '/bin/tar', '/bin/cat', '/bin/ls', '/bin/cp', '/bin/mkdir', '/usr/bin/tar', '/usr/bin/find', '/usr/bin/id', '/usr/bin/getent'];
      const script = `#!/trap/busybox sh\n/trap/busybox touch /trap-fired\n/trap/busybox mkdir -p ${canary.dir}\n/trap/busybox touch ${canary.dir}/pwn\necho trapped\n`;
      const setTraps = trapFiles.map((f) => `/trap/busybox rm -f ${f} && /trap/busybox cp /trap/script ${f} && /trap/busybox chmod 755 ${f}`);
      const id = await runBackground([
        'mkdir /trap', 'cp /bin/busybox /trap/busybox', `printf '%s' '${script.replace(/'/g, "'\\''")}' > /trap/script`,
        'mkdir -p /lib/x86_64-linux-gnu /lib64 /usr/lib/x86_64-linux-gnu', ...setTraps,
        'exec /trap/busybox sh -c "/trap/busybox touch /ready; exec /trap/busybox sleep 1000"',
      ].join(' && '));
      // A real shared object when a compiler is there: its constructor marks the same places when loaded.
      const so = compile(scratch, `trap-${crypto.randomBytes(4).toString('hex')}.so`, TRAP_SO_C, ['-shared', '-fPIC', `-DMARK="${canary.dir}/pwn"`]);
      const lib = so ? fs.readFileSync(so) : Buffer.from(script);
      const libs = ['libnss_files.so.2', 'libnss_compat.so.2', 'libnss_dns.so.2', 'libnss_systemd.so.2'];
      await copyTo(id, { path: '/' }, await tarOf(['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64']
        .flatMap((dir) => libs.map((l) => ({ name: `${dir}/${l}`, body: lib, mode: 0o755 })))));

      const procsFile = () => cgroupFile(d.root, id, ['pids', 'cgroup.procs'], 'cgroup.procs').split('\n').filter(Boolean).map(Number).sort(numeric);
      const procsBefore = procsFile();
      const top = async () => (await rpc<TopContainerResponse>('top', { containerId: id })).processes.map((p) => p.hostPid).sort(numeric);
      const topBefore = await top();
      expect(procsBefore).toEqual(topBefore);
      const seen = new Set<string>();
      let busy = true;
      const watcher = (async () => {
        while (busy) {
          seen.add(procsFile().join(','));
          await sleep(2);
        }
      })();
      try {
        const big = await tarOf([{ name: 'big', body: Buffer.alloc(16 << 20, 1), uid: 1000, gid: 1000 }, { name: 'small', body: 'hi', uid: 4242 }]);
        await copyTo(id, { path: '/tmp' }, big);
        await copyTo(id, { path: '/tmp', copyUidGid: true }, big);
        expect((await copyFrom(id, '/tmp/big')).stat.size).toBe(16 << 20);
        expect((await copyFrom(id, '/etc')).entries.map((e) => e.name)).toContain('etc/passwd');
        // The CLI too: cp in and out, and -a (owners kept, which a naive one looks up in the container).
        const local = fs.mkdtempSync(path.join(scratch, 'cp-'));
        fs.writeFileSync(path.join(local, 'in.txt'), 'from host');
        expect((await cliAsync(d, ['cp', path.join(local, 'in.txt'), `${id}:/tmp/`])).status).toBe(0);
        expect((await cliAsync(d, ['cp', '-a', path.join(local, 'in.txt'), `${id}:/tmp/in2.txt`])).status).toBe(0);
        expect((await cliAsync(d, ['cp', '-a', `${id}:/tmp/small`, local])).status).toBe(0);
        expect(fs.readFileSync(path.join(local, 'small'), 'utf8')).toBe('hi');
        expect((await cliAsync(d, ['cp', `${id}:/etc/passwd`, local])).status).toBe(0);
      } finally {
        busy = false;
        await watcher;
      }
      expect([...seen]).toEqual([procsBefore.join(',')]);
      expect(await top()).toEqual(topBefore);
      // No mark: not in the container, not at the container's copy of the canary path.
      expect(await statOf(id, '/trap-fired')).toBeUndefined();
      expect(await statOf(id, `/${rel}/pwn`)).toBeUndefined();
      expect(fs.existsSync('/trap-fired')).toBe(false);
      // The traps were in place all along (a copy that "worked" by replacing them would hide a run).
      expect(await catIn(id, '/bin/tar')).toContain('/trap/busybox touch /trap-fired');
    });
  });

  describe('CVE-2014-6407 and CVE-2014-9356: tar entries and links that climb out', () => {
    // Naive: an unpacker that joins entry names to the destination (path.join, or tar's own extraction), follows
    // symlinks already unpacked (or in the container) on the host, makes hard links to whatever path the entry
    // names, or chmods/chowns a directory entry through a symlink. Each case is fed to Import, Load, Pull and
    // CopyTo; whatever the daemon answers, the canary is untouched and no `pwn` appears outside the data root.
    type Case = (dir: string) => TarEntry[];
    const CASES: Array<[string, Case]> = [
      // path.join(dest, name) climbs out.
      ['"../" up to the canary', (c) => [{ name: `${UP}${c.slice(1)}/pwn`, body: 'pwned' }]],
      // An absolute name taken as a host path (tar -P).
      ['an absolute name', (c) => [{ name: `${c}/pwn`, body: 'pwned' }]],
      // The symlink just unpacked is followed on the host when the next entry is opened.
      ['a file through a symlink to the canary', (c) => [{ name: 'evil', type: 'symlink', linkname: c }, { name: 'evil/pwn', body: 'pwned' }]],
      // Each link checked alone looks harmless (a -> b stays inside); only resolving the chain shows the climb.
      ['a file through a symlink chain that climbs', (c) => [
        { name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: `${UP}${c.slice(1)}` }, { name: 'a/pwn', body: 'pwned' },
      ]],
      // link(2) to the host file the name gives, then a file entry of the same name opened O_TRUNC, not replaced.
      ['a hard link to the canary, then a write through it', (c) => [{ name: 'hl', type: 'link', linkname: `${c}/canary` }, { name: 'hl', body: 'pwned' }]],
      ['a climbing hard link, then a write through it', (c) => [{ name: 'hl', type: 'link', linkname: `${UP}${c.slice(1)}/canary` }, { name: 'hl', body: 'pwned' }]],
      // chmod/chown of an existing "directory" by path, following the symlink there.
      ['chmod and chown through a directory entry that is a symlink', (c) => [
        { name: 'evil', type: 'symlink', linkname: c },
        { name: 'evil/', type: 'directory', mode: 0o777, uid: 4242, gid: 4242 },
        { name: 'evil/sub/', type: 'directory', mode: 0o777, uid: 4242, gid: 4242 },
      ]],
    ];
    /** Inside the container: any file holding the host canary's token (a link that led out), then the links. */
    const CHECK = (token: string) => [
      `find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -print | xargs grep -lsF ${token}`,
      'echo ---', 'for l in /evil /a /b /hl /tmp/dest/evil /tmp/dest/a /tmp/dest/hl; do [ -L $l ] && echo "$l -> $(readlink $l)"; done; true',
    ].join('; ');
    const leaked = (out: string) => out.split('---')[0].trim();
    /** A refusal names what was refused; an UNKNOWN is a crash, not an answer. */
    const REFUSED = new RegExp(`^(?!${grpc.status.UNKNOWN} )[0-9]+ .*\\S`);
    let registry: TestRegistry | undefined;
    let busyboxEntries: TarEntry[];
    const gzipped = new Map<Buffer, Buffer>();
    const importTar = (body: Buffer, reference: string) => new Promise<ImportImageResponse>((resolve, reject) => {
      const stream = d.clients.images.import((err, r) => (err ? reject(err) : resolve(r)));
      stream.write({ part: { $case: 'header', value: { reference, config: undefined, message: '' } } });
      for (let off = 0; off < body.length; off += 1 << 20) stream.write({ part: { $case: 'chunk', value: body.subarray(off, off + (1 << 20)) } });
      stream.end();
    });
    const load = (archive: Buffer) => new Promise<LoadImageResponse>((resolve, reject) => {
      const stream = d.clients.images.load((err, r) => (err ? reject(err) : resolve(r)));
      for (let off = 0; off < archive.length; off += 1 << 20) stream.write({ chunk: archive.subarray(off, off + (1 << 20)) });
      stream.end();
    });
    const pull = async (reference: string) => {
      for await (const m of d.clients.images.pull({ reference, auth: undefined, platform: '' }) as AsyncIterable<PullImageResponse>) void m;
    };
    /** The daemon's answer: an error (fine, if it is a refusal), or an image whose containers see nothing of the host. */
    const judge = async (answer: string, image: string) => {
      expect(strayFiles('pwn')).toEqual(pwnBefore);
      if (answer !== 'OK') {
        expect(answer).toMatch(REFUSED);
        return;
      }
      const run = await runToEnd(cfg(['sh', '-c', CHECK(canary.token)], { image }), { networkMode: 'none' });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(leaked(run.stdout), run.stdout).toBe('');
    };

    beforeAll(async () => {
      if (HAVE_REGISTRY) registry = await startRegistry();
      busyboxEntries = [];
      const extract = tar.extract();
      Readable.from([busyboxLayer]).pipe(extract);
      for await (const e of extract) {
        const body: Buffer[] = [];
        for await (const c of e) body.push(c as Buffer);
        busyboxEntries.push({ ...e.header, body: Buffer.concat(body) });
      }
      gzipped.set(busyboxLayer, gzipSync(busyboxLayer));
    });
    afterAll(async () => { await registry?.stop(); });

    it.each(CASES)('Images.Import: %s', async (what, entries) => {
      const body = await tarOf([...busyboxEntries, ...entries(canary.dir)]);
      const ref = `evil-import-${CASES.findIndex(([w]) => w === what)}`;
      await judge(await code(importTar(body, ref)), ref);
    });

    it.each(CASES)('Images.Load (docker-archive): %s', async (what, entries) => {
      const ref = `evil-load-${CASES.findIndex(([w]) => w === what)}:latest`;
      const { archive } = await dockerArchive([busyboxLayer, await tarOf(entries(canary.dir))], ref);
      await judge(await code(load(archive)), ref);
    });

    it.skipIf(!HAVE_REGISTRY).each(CASES)('Images.Pull (a registry with a valid manifest): %s', async (what, entries) => {
      const repo = `evil/pull-${CASES.findIndex(([w]) => w === what)}`;
      await pushLayers(registry!.host, repo, 'v1', [busyboxLayer, await tarOf(entries(canary.dir))], gzipped);
      const ref = `${registry!.host}/${repo}:v1`;
      await judge(await code(pull(ref)), ref);
    });

    it.each(CASES)('Containers.CopyTo: %s', async (_what, entries) => {
      // The canary's path exists in the container too, so links that name it have somewhere inside to land.
      const id = await runBackground(`mkdir -p /tmp/dest ${canary.dir} && echo inside > ${canary.dir}/canary && touch /ready && exec sleep 1000`, { networkMode: 'none' });
      const answer = await code(copyTo(id, { path: '/tmp/dest' }, await tarOf(entries(canary.dir))));
      expect(strayFiles('pwn')).toEqual(pwnBefore);
      if (answer !== 'OK') {
        expect(answer).toMatch(REFUSED);
        return;
      }
      const r = await execIn(id, ['sh', '-c', CHECK(canary.token)]);
      expect(r.exit, r.stderr).toEqual({ exitCode: 0, signal: 0 });
      expect(leaked(r.stdout), r.stdout).toBe('');
    });
  });

  describe('CVE-2021-30465: a mount destination swapped through a shared volume', () => {
    // Naive: the runtime checks a mount target inside the rootfs and then mounts onto it by path (or joins
    // the path to the rootfs textually); a container sharing the volume swaps /mnt/dir for a symlink (to /,
    // /proc, /etc, or a path that climbs to the canary) in between, and the bind lands outside the rootfs: on
    // the host's canary or root in the new mount namespace (then B starts without its bind anywhere it can
    // see, or mounts made after it go into the bind source), or on the host itself if the mount propagates.
    it('twenty starts of a container with a bind under a volume that another container keeps swapping', async () => {
      const vol = `swap-${crypto.randomBytes(4).toString('hex')}`;
      const src = fs.mkdtempSync(path.join(scratch, 'bind-src-'));
      const payload = `payload-${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(path.join(src, payload), 'payload\n');
      const targets = ['/', '/proc', '/etc', `${UP}${canaryRel()}`];
      // The attacker never renames onto a directory or removes one: B's init makes /mnt/dir when it finds it
      // missing, and the kernel detaches B's bind from a directory that another namespace replaces or removes
      // (as a `mv dir.x dir` over the directory B had just made can), which looks here like a bind gone astray.
      // Each real directory is moved aside under a new name instead, and a new one made (failing where B made it).
      await runBackground([
        'mkdir -p /vol/dir', 'touch /ready',
        `n=0; while [ $n -lt 10000000 ]; do for t in ${targets.join(' ')}; do n=$((n+1)); mv /vol/dir /vol/old$n; ln -s $t /vol/dir; rm /vol/dir; mkdir /vol/dir; done; done`,
      ].join(' && '), { binds: [`${vol}:/vol`], networkMode: 'none' });
      const outcomes = new Map<string, number>();
      // Where B's bind is: its own mount table shows only what is reachable from its root, so the bind's line
      // (its root field is the source's path) is there exactly when the bind landed inside. When the bind
      // covered /proc there is no table to read, and the source's one file is found under /proc instead.
      const script = [
        'cat /proc/self/mountinfo 2>/dev/null', 'echo ---',
        `find / \\( -path /sys -o -path '/proc/[0-9]*' -o -path /proc/sys \\) -prune -o -name ${payload} -print 2>/dev/null`,
        'echo ---', `cat ${canary.dir}/canary /mnt/dir/canary 2>/dev/null`, 'true',
      ].join('; ');
      for (let i = 0; i < 20; i++) {
        const id = await create(cfg(['sh', '-c', script]), { binds: [`${vol}:/mnt`, `${src}:/mnt/dir`], networkMode: 'none' });
        const r = await startToEnd(id);
        let k: string;
        if (r.refused !== undefined) {
          expect(r.refused).not.toMatch(new RegExp(`^${grpc.status.UNKNOWN} `));
          k = `refused ${r.refused.split(':').slice(1).join(':').trim()}`;
        } else {
          const [table, found, read] = r.stdout.split('---\n');
          expect(read, 'B read the host canary').not.toContain(canary.token);
          const line = table.split('\n').map((l) => l.split(' ')).find((f) => f[3] === src);
          const file = found.trim().split('\n').find(Boolean);
          expect(line ?? file, `B started without its bind anywhere in its root:\n${r.stdout}${r.stderr}`).toBeDefined();
          k = `bind inside at ${(line?.[4] ?? path.dirname(file!)).replace(canary.dir, '<canary path>').replace(/\/old\d+$/, '/old<n>')}`;
        }
        outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
        // Nothing of it on the host: no mount on the canary, on /, /tmp, /proc..., or of our volume or bind source.
        expect(hostMountsAdded()).toEqual([]);
        await rpc('remove', { containerId: id, force: true });
      }
      // Mounts made after one that landed on a host directory would have made their targets in the bind source.
      expect(fs.readdirSync(src)).toEqual([payload]);
      // Without the race (the attacker gone, the volume tidied) the same container gets its bind where asked.
      for (const id of await listIds()) await rpc('remove', { containerId: id, force: true });
      expect((await runToEnd(cfg(['sh', '-c', 'rm -rf /vol/dir /vol/old* && mkdir /vol/dir']), { binds: [`${vol}:/vol`], networkMode: 'none' })).exitCode).toBe(0);
      const calm = await runToEnd(cfg(['cat', `/mnt/dir/${payload}`]), { binds: [`${vol}:/mnt`, `${src}:/mnt/dir`], networkMode: 'none' });
      expect(calm.stdout, JSON.stringify([...outcomes])).toBe('payload\n');
      for (const id of await listIds()) await rpc('remove', { containerId: id, force: true });
      await call(d.clients.volumes, 'remove', { name: vol, force: true });
    });
  });

  describe('CVE-2021-41089: modes changed through a symlink out of the rootfs', () => {
    // Naive: docker cp resolves the container path (or the tar's top directory entry) and applies the
    // entry's mode and owner with chmod/chown by host path after following a symlink, as Docker before
    // 20.10.9 did: a container directory that is a symlink to a host path made that host directory 0777.
    it.each([['running'], ['stopped']])('docker cp and CopyTo into, and out of, symlinks to the canary in a %s container', async (state) => {
      const c = canary.dir;
      // The container has its own copy of the canary's path, so following the links inside has somewhere to go.
      const setup = `mkdir -p ${c} && chmod 700 ${c} && echo inside > ${c}/canary && ln -s ${c} /abs && ln -s ${UP}${c.slice(1)} /rel && mkdir /dir && ln -s ${c} /dir/abs`;
      let id: string;
      if (state === 'running') {
        id = await runBackground(`${setup} && touch /ready && exec sleep 1000`, { networkMode: 'none' });
      } else {
        id = await create(cfg(['sh', '-c', setup]), { networkMode: 'none' });
        expect((await startToEnd(id)).exitCode).toBe(0);
      }
      const local = fs.mkdtempSync(path.join(scratch, 'cp41089-'));
      fs.writeFileSync(path.join(local, 'f'), 'from host');
      fs.mkdirSync(path.join(local, 'tree'));
      fs.writeFileSync(path.join(local, 'tree', 'leaf'), 'leaf');
      fs.chmodSync(path.join(local, 'tree'), 0o777);
      const answers: string[] = [];
      for (const target of ['/abs', '/rel', '/dir/abs']) {
        for (const args of [['cp', path.join(local, 'f'), `${id}:${target}/`], ['cp', '-a', path.join(local, 'tree'), `${id}:${target}`],
          ['cp', `${path.join(local, 'tree')}/.`, `${id}:${target}`], ['cp', '-a', `${path.join(local, 'tree')}/.`, `${id}:${target}/`]]) {
          answers.push(`${args.join(' ')}: ${cli(d, args).status}`);
        }
        const out = fs.mkdtempSync(path.join(scratch, 'out-'));
        cli(d, ['cp', `${id}:${target}/.`, out]);
        cli(d, ['cp', `${id}:${target}`, path.join(out, 'whole')]);
        const got = spawnSync('grep', ['-rl', canary.token, out], { encoding: 'utf8' }).stdout;
        expect(got, `cp out of ${target}`).toBe('');
        // The API: a top directory entry of mode 0777, at the link's name and as "." inside it.
        const name = target.slice(1);
        const dot = await tarOf([{ name: './', type: 'directory', mode: 0o777, uid: 4242, gid: 4242 }, { name: './x', body: 'x' }]);
        answers.push(`CopyTo ${target} ./: ${await code(copyTo(id, { path: target, copyUidGid: true }, dot))}`);
        // Last: this one may replace the link itself.
        const top = await tarOf([{ name: `${name}/`, type: 'directory', mode: 0o777, uid: 4242, gid: 4242 }]);
        answers.push(`CopyTo / ${name}/: ${await code(copyTo(id, { path: '/', copyUidGid: true }, top))}`);
        const back = await copyFrom(id, `${target}/`).then((r) => r.entries.map((e) => e.body.toString()).join(''), () => '');
        expect(back).not.toContain(canary.token);
        expect(fs.statSync(c).mode & 0o7777, answers.join('\n')).toBe(0o750);
        expect([fs.statSync(c).uid, fs.statSync(c).gid]).toEqual([0, 0]);
      }
    });
  });

  describe('CVE-2020-15257: no Berth socket reachable from a host-network container', () => {
    // Naive: berthd or the monitors listen on an abstract unix socket (containerd-shim's "@/containerd-shim/…"),
    // which belongs to the network namespace, not the filesystem: any container sharing the host's network
    // reaches it and drives the runtime. Or a socket path lies in something mounted into containers.
    const parseUnix = (text: string) => text.split('\n').slice(1).filter((l) => l.trim()).map((l) => {
      const f = l.trim().split(/\s+/);
      return { inode: f[6], path: f[7] ?? '' };
    });
    const socketInodes = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m ? [m[1]] : [];
      } catch {
        return []; // closed meanwhile
      }
    });

    it('network_mode host: none of berthd\'s or a monitor\'s sockets is abstract, and no socket path is inside', async () => {
      const id = await runBackground('touch /ready; exec sleep 1000', { networkMode: 'host' });
      const other = await runBackground('touch /ready; exec sleep 1000', { networkMode: 'none' });
      // An exec in flight, so a monitor holds a client socket too.
      const held = openExec(d, { containerId: other, cmd: ['sleep', '30'] });
      await held.ready;
      const pids = [d.process.pid!, ppidOf(await initPid(id)), ppidOf(await initPid(other))];
      const ours = new Set(pids.flatMap(socketInodes));
      const hostView = parseUnix(fs.readFileSync('/proc/net/unix', 'utf8')).filter((s) => ours.has(s.inode));
      // The mapping works: berthd's listening socket is there, with a path.
      expect(hostView.some((s) => s.path !== ''), JSON.stringify(hostView)).toBe(true);
      expect(hostView.filter((s) => s.path.startsWith('@'))).toEqual([]);

      // Inside, the same network namespace's list: it shows our sockets (so it would reach an abstract one).
      const inside = await execIn(id, ['cat', '/proc/net/unix']);
      const seen = parseUnix(inside.stdout);
      expect(seen.some((s) => ours.has(s.inode))).toBe(true);
      expect(seen.filter((s) => ours.has(s.inode) && s.path.startsWith('@'))).toEqual([]);

      // The socket paths exist on the host, not in the container's mount namespace.
      // Each monitor listens in its container's runtime directory, beside the /etc files inspect shows.
      const monitorSockets = await Promise.all([id, other].map(async (c) => {
        const hostsPath = (await rpc<InspectContainerResponse>('inspect', { containerId: c })).container!.hostsPath;
        return path.join(path.dirname(hostsPath), 'monitor.sock');
      }));
      const paths = [d.socket, ...monitorSockets];
      for (const p of paths) expect(fs.existsSync(p), p).toBe(true);
      const tested = await execIn(id, ['sh', '-c', `${paths.map((p) => `test -e ${p} && echo "exists ${p}"`).join('; ')}; true`]);
      expect(tested.stdout).toBe('');
      const uconnect = compile(scratch, 'uconnect', UCONNECT_C, ['-static']);
      if (uconnect) {
        await copyTo(id, { path: '/' }, await tarOf([{ name: 'uconnect', body: fs.readFileSync(uconnect), mode: 0o755 }]));
        // Each path, and each as an abstract name, and every abstract socket the container can see of ours.
        const names = [...paths, ...paths.map((p) => `@${p}`), ...seen.filter((s) => ours.has(s.inode) && s.path).map((s) => s.path)];
        const r = await execIn(id, ['/uconnect', ...names]);
        expect(r.stdout.trim().split('\n').filter((l) => l.endsWith(' ok'))).toEqual([]);
        expect(r.stdout.trim().split('\n')).toHaveLength(names.length);
      }
      held.signal('KILL');
      await held.done;
    });
  });

  describe('CVE-2025-31133 and CVE-2022-0811: masked paths and sysctls (needs the security options work)', () => {
    // /proc/kcore where the kernel has it (CONFIG_PROC_KCORE), else the first other masked file it has.
    const MASKED = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/interrupts'].find((f) => fs.existsSync(f))!;
    // What the container reports: the masked file's type and device, whether writes to it, to /dev/null and to
    // core_pattern went through (the value written is harmless, and put back after the test if it stuck).
    const PROBE = (value: string) => [
      `stat -c "masked=%F %t:%T" ${MASKED} 2>&1`,
      `echo ${value} 2>/dev/null > ${MASKED} && echo masked-written`,
      `echo ${value} 2>/dev/null > /dev/null`,
      `echo ${value} 2>/dev/null > /proc/sys/kernel/core_pattern && echo core-pattern-written`,
      `echo ${value} 2>/dev/null > ${canary.dir}/canary`,
      'true',
    ].join('; ');
    const value = () => `core.berth-escape-${crypto.randomBytes(4).toString('hex')}`;
    const check = (r: { refused?: string; exitCode?: number; stdout: string; stderr: string }, what: string) => {
      if (r.refused !== undefined) {
        expect(r.refused, what).not.toMatch(new RegExp(`^${grpc.status.UNKNOWN} `));
        return;
      }
      expect(fs.readFileSync(CORE_PATTERN, 'utf8'), `${what}: the host's core_pattern`).toBe(corePattern);
      expect(r.stdout, `${what}: /proc/sys is writable`).not.toContain('core-pattern-written');
      expect(r.stdout, `${what}: ${r.stderr}`).toContain('masked=character special file 1:3');
    };

    // Naive (a): masking bind-mounts /dev/null over /proc/kcore by path, following it when it is a symlink,
    // to a host file through a bind at /dev, or to /proc/sys/kernel/core_pattern in the image; the container
    // then writes that file through /proc/kcore. A swapped-in symlink from a container sharing the /dev bind
    // is the race of the CVE.
    it('masking never follows a /dev/null that is a symlink: a bind at /dev, a racing container, the image', async () => {
      const devdir = fs.mkdtempSync(path.join(scratch, 'dev-'));
      fs.symlinkSync(path.join(canary.dir, 'canary'), path.join(devdir, 'null'));
      check(await runToEnd(cfg(['sh', '-c', PROBE(value())]), { binds: [`${devdir}:/dev`], networkMode: 'none' }), 'bind at /dev');
      // The race: a container sharing that directory keeps replacing `null` with symlinks (to the canary, to
      // core_pattern, one that climbs) while the next container with the /dev bind starts.
      await runBackground([
        'touch /ready',
        `i=0; while [ $i -lt 10000000 ]; do i=$((i+1)); for t in ${canary.dir}/canary ${CORE_PATTERN} ${UP}${canaryRel()}/canary; do rm -f /xdev/null; ln -s $t /xdev/null; done; done`,
      ].join(' && '), { binds: [`${devdir}:/xdev`], networkMode: 'none' });
      for (let i = 0; i < 8; i++) check(await runToEnd(cfg(['sh', '-c', PROBE(value())]), { binds: [`${devdir}:/dev`], networkMode: 'none' }), `racing start ${i}`);
      // The image: /dev/null a symlink to core_pattern (and a /dev/zero to the canary's path).
      const layer = await tarOf([
        { name: 'dev/', type: 'directory', mode: 0o755 },
        { name: 'dev/null', type: 'symlink', linkname: CORE_PATTERN },
        { name: 'dev/zero', type: 'symlink', linkname: `${canary.dir}/canary` },
      ]);
      const { archive } = await dockerArchive([busyboxLayer, layer], 'devnull-link:latest');
      await new Promise<LoadImageResponse>((resolve, reject) => {
        const stream = d.clients.images.load((err, r) => (err ? reject(err) : resolve(r)));
        stream.write({ chunk: archive });
        stream.end();
      });
      check(await runToEnd(cfg(['sh', '-c', PROBE(value())], { image: 'devnull-link' }), { networkMode: 'none' }), 'image');
    });

    // Naive (b): sysctls are validated by key only and written as "key=value" lines (sysctl -p, or one write
    // of the joined text), so a value carrying "+key=value" or a newline sets a non-namespaced sysctl of the host.
    it.each([
      ['a "+" in the value', () => ({ 'kernel.shm_rmid_forced': `1+kernel.core_pattern=|${canary.dir}/pwn` })],
      ['a newline in the value', () => ({ 'net.ipv4.ip_forward': '1\nkernel.core_pattern=|/tmp/x' })],
      ['a host-wide key', () => ({ 'kernel.core_pattern': '|/tmp/x' })],
    ])('sysctls with %s are INVALID_ARGUMENT naming host_config.sysctls, and nothing is created', async (_what, sysctls) => {
      const before = await listIds();
      const answer = await code(create(cfg(['true']), { sysctls: sysctls() }));
      expect(answer).toMatch(new RegExp(`^${grpc.status.INVALID_ARGUMENT} .*host_config\\.sysctls`));
      expect(await listIds()).toEqual(before);
      expect(fs.readFileSync(CORE_PATTERN, 'utf8')).toBe(corePattern);
    });
  });
});

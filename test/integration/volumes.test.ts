// Volumes, binds and volumes-from through the real daemon: named volumes outlive containers, anonymous ones are
// filled from the image, ro is read-only, rm -v, in-use refusals, bad binds, and no symlink in an image can aim
// a volume at the host.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  ContainerLogsRequest, HostConfig, type Config, type Container, type CreateContainerResponse, type InspectContainerResponse,
  type ListContainersResponse, type WaitContainerResponse,
} from '../../src/gen/berth/v1/containers';
import { ImageConfig, type ImportImageResponse } from '../../src/gen/berth/v1/images';
import type { ListVolumesResponse, PruneVolumesResponse, Volume } from '../../src/gen/berth/v1/volumes';
import { cli, config, destroyDaemon, importBusybox, mountsUnder, startDaemon, stopDaemon, type TestDaemon } from '../helpers/daemon';
import { BUSYBOX_TAR, IS_ROOT } from '../helpers/paths';

const HEX64 = /^[0-9a-f]{64}$/;

describe.skipIf(!IS_ROOT)('volumes, binds and volumes-from', () => {
  let d: TestDaemon;
  let scratch: string;
  const rpc = <Res = unknown>(method: string, req: unknown) => call<typeof d.clients.containers, unknown, Res>(d.clients.containers, method as keyof typeof d.clients.containers, req);
  const vol = <Res = unknown>(method: string, req: unknown) => call<typeof d.clients.volumes, unknown, Res>(d.clients.volumes, method as keyof typeof d.clients.volumes, req);
  const inspect = async (id: string): Promise<Container> => (await rpc<InspectContainerResponse>('inspect', { containerId: id })).container!;
  const create = async (cfg: Config, host: Partial<HostConfig> = {}, name = ''): Promise<string> =>
    (await rpc<CreateContainerResponse>('create', { config: cfg, hostConfig: HostConfig.fromPartial(host), name })).id;
  const code = async (p: Promise<unknown>) => p.then(() => 'OK', (err: grpc.ServiceError) => `${err.code} ${err.details}`);
  const volumeNames = async () => (await vol<ListVolumesResponse>('list', { filters: [] })).volumes.map((v) => v.name).sort();
  const containerIds = async () => (await rpc<ListContainersResponse>('list', { all: true })).containers.map((c) => c.id).sort();
  /** Starts a container and waits for its end: its exit code and output. */
  const runToEnd = async (cfg: Config, host: Partial<HostConfig> = {}) => {
    const id = await create(cfg, host);
    await rpc('start', { containerId: id });
    const exit = await rpc<WaitContainerResponse>('wait', { containerId: id, condition: '' });
    let stdout = '';
    let stderr = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true, stderr: true }))) {
      if (e.stream === 2) stderr += e.data.toString(); else stdout += e.data.toString();
    }
    return { id, exitCode: exit.exitCode, stdout, stderr };
  };
  const importTar = (tar: string, reference: string, imageConfig: Partial<ImageConfig> = {}) => new Promise<string>((resolve, reject) => {
    const stream = d.clients.images.import((err: grpc.ServiceError | null, r: ImportImageResponse) => (err ? reject(err) : resolve(r.id)));
    stream.write({ part: { $case: 'header', value: { reference, config: ImageConfig.fromPartial({ cmd: ['sh'], ...imageConfig }), message: '' } } });
    fs.createReadStream(tar)
      .on('data', (chunk) => stream.write({ part: { $case: 'chunk', value: chunk as Buffer } }))
      .on('end', () => stream.end())
      .on('error', reject);
  });

  beforeAll(async () => {
    d = await startDaemon();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-vol-it-'));
    await importBusybox(d);
  });
  afterAll(async () => {
    if (d) await destroyDaemon(d);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('a named volume is shared by two containers and outlives both', async () => {
    const v = await vol<Volume>('create', { name: 'shared-data', driver: '', labels: { team: 'a' } });
    expect(v).toMatchObject({ name: 'shared-data', driver: 'local', scope: 'local', anonymous: false, usedBy: [], labels: { team: 'a' } });
    expect(v.mountpoint).toBe(path.join(d.root, 'volumes', 'shared-data', '_data'));
    // Creating it again returns it unchanged.
    expect(await vol<Volume>('create', { name: 'shared-data', driver: 'local', labels: {} })).toMatchObject({ labels: { team: 'a' } });
    const writer = await runToEnd(config('busybox', ['sh', '-c', 'echo hello > /data/greeting']), { binds: ['shared-data:/data'] });
    expect(writer.exitCode).toBe(0);
    const reader = await runToEnd(config('busybox', ['cat', '/srv/greeting']), { binds: ['shared-data:/srv:ro'] });
    expect(reader.stdout).toBe('hello\n');
    expect((await vol<Volume>('inspect', { name: 'shared-data' })).usedBy.sort()).toEqual([writer.id, reader.id].sort());
    expect((await inspect(reader.id)).mounts).toEqual([{ type: 'volume', name: 'shared-data', source: v.mountpoint, destination: '/srv', mode: 'ro', rw: false }]);
    await rpc('remove', { containerId: writer.id, volumes: true });
    await rpc('remove', { containerId: reader.id, volumes: true });
    // rm -v leaves named volumes alone.
    const after = await vol<Volume>('inspect', { name: 'shared-data' });
    expect(after.usedBy).toEqual([]);
    expect(fs.readFileSync(path.join(after.mountpoint, 'greeting'), 'utf8')).toBe('hello\n');
    const filtered = await vol<ListVolumesResponse>('list', { filters: ['label=team=a', 'dangling=true', 'name=shared'] });
    expect(filtered.volumes.map((x) => x.name)).toEqual(['shared-data']);
    expect(await code(vol('list', { filters: ['colour=red'] }))).toMatch(/^3 filters "colour=red"/);
    await vol('remove', { name: 'shared-data', force: false });
    expect(await code(vol('inspect', { name: 'shared-data' }))).toBe(`${grpc.status.NOT_FOUND} volume shared-data: not found`);
  });

  it('docker cp reaches into volumes and binds (a ro bind refuses), not the layer under them', async () => {
    const hostDir = fs.mkdtempSync(path.join(scratch, 'cp-bind-'));
    const made = await runToEnd(config('busybox', ['true']), { binds: ['cp-vol:/data', `${hostDir}:/ro:ro`] });
    const src = path.join(scratch, 'cp-src.txt');
    fs.writeFileSync(src, 'into the volume\n');
    expect(cli(d, ['cp', src, `${made.id}:/data/`])).toMatchObject({ status: 0 });
    const mountpoint = (await vol<Volume>('inspect', { name: 'cp-vol' })).mountpoint;
    expect(fs.readFileSync(path.join(mountpoint, 'cp-src.txt'), 'utf8')).toBe('into the volume\n');
    // Not in the container's own layer under the mount point.
    expect(fs.existsSync(path.join(d.root, 'overlay', made.id, 'upper', 'data', 'cp-src.txt'))).toBe(false);
    const out = fs.mkdtempSync(path.join(scratch, 'cp-out-'));
    expect(cli(d, ['cp', `${made.id}:/data/cp-src.txt`, out])).toMatchObject({ status: 0 });
    expect(fs.readFileSync(path.join(out, 'cp-src.txt'), 'utf8')).toBe('into the volume\n');
    // The read-only bind stays read-only for a copy too.
    const ro = cli(d, ['cp', src, `${made.id}:/ro/`]);
    expect(ro.status).not.toBe(0);
    expect(ro.stderr).toMatch(/read-only/i);
    expect(fs.readdirSync(hostDir)).toEqual([]);
    // Nothing of the copies stays mounted.
    expect(mountsUnder(path.join(d.root, 'tmp'))).toEqual([]);
  });

  it('a bind names a volume that does not exist yet: it is made, as docker run -v does', async () => {
    const r = await runToEnd(config('busybox', ['sh', '-c', 'echo made > /v/file']), { binds: ['made-on-demand:/v'] });
    expect(r.exitCode).toBe(0);
    const v = await vol<Volume>('inspect', { name: 'made-on-demand' });
    expect(fs.readFileSync(path.join(v.mountpoint, 'file'), 'utf8')).toBe('made\n');
    await rpc('remove', { containerId: r.id });
    await vol('remove', { name: 'made-on-demand' });
  });

  it('an anonymous volume is filled from the image, with its owners and modes', async () => {
    const r = await runToEnd(config('busybox', ['sh', '-c', 'ls -ln /etc /home/berth; echo data > /home/berth/mine'], { volumes: ['/etc', '/home/berth/'] }));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/-rw-r--r-- +1 0 +0 +167 .* passwd/);
    expect(r.stdout).toMatch(/-rw-r--r-- +1 0 +0 +70 .* group/);
    const c = await inspect(r.id);
    expect(c.config!.volumes).toEqual(['/etc', '/home/berth/']);
    expect(c.mounts.map((m) => m.destination)).toEqual(['/etc', '/home/berth']);
    for (const m of c.mounts) expect(m).toMatchObject({ type: 'volume', name: expect.stringMatching(HEX64), rw: true, mode: '' });
    const etc = c.mounts[0];
    expect(fs.readFileSync(path.join(etc.source, 'passwd'), 'utf8')).toContain('root:');
    // The volume's root takes the owner of the image's directory: /home/berth is 1000:1000.
    const home = fs.statSync(c.mounts[1].source);
    expect([home.uid, home.gid, home.mode & 0o777]).toEqual([1000, 1000, 0o755]);
    expect(fs.readFileSync(path.join(c.mounts[1].source, 'mine'), 'utf8')).toBe('data\n');
    expect((await vol<Volume>('inspect', { name: etc.name })).anonymous).toBe(true);
    await rpc('remove', { containerId: r.id, volumes: true });
    expect(fs.existsSync(etc.source)).toBe(false);
  });

  it('the image\'s own volumes get anonymous volumes too', async () => {
    await importTar(BUSYBOX_TAR, 'busybox-with-volume', { volumes: ['/etc'] });
    const r = await runToEnd(config('busybox-with-volume', ['cat', '/etc/group']));
    expect(r.stdout).toContain('root:');
    const c = await inspect(r.id);
    expect(c.config!.volumes).toEqual(['/etc']);
    expect(c.mounts).toHaveLength(1);
    expect(fs.readFileSync(path.join(c.mounts[0].source, 'group'), 'utf8')).toContain('root:');
    await rpc('remove', { containerId: r.id, volumes: true });
  });

  it('a rw bind writes to the host; a ro bind refuses writes with EROFS', async () => {
    const rw = fs.mkdtempSync(path.join(scratch, 'rw-'));
    const ro = fs.mkdtempSync(path.join(scratch, 'ro-'));
    fs.writeFileSync(path.join(ro, 'keep'), 'kept\n');
    const script = 'echo written > /host/out; cat /ro/keep; echo no > /ro/keep || echo refused; echo no > /ro/new || echo refused';
    const r = await runToEnd(config('busybox', ['sh', '-c', script]), { binds: [`${rw}:/host`, `${ro}:/ro:ro`] });
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(rw, 'out'), 'utf8')).toBe('written\n');
    expect(r.stdout).toBe('kept\nrefused\nrefused\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(fs.readFileSync(path.join(ro, 'keep'), 'utf8')).toBe('kept\n');
    expect(fs.existsSync(path.join(ro, 'new'))).toBe(false);
    const c = await inspect(r.id);
    expect(c.hostConfig!.binds).toEqual([`${rw}:/host`, `${ro}:/ro:ro`]);
    expect(c.mounts).toEqual([
      { type: 'bind', name: '', source: rw, destination: '/host', mode: '', rw: true },
      { type: 'bind', name: '', source: ro, destination: '/ro', mode: 'ro', rw: false },
    ]);
    // A file can be bound too, over the image's own.
    const file = path.join(scratch, 'motd');
    fs.writeFileSync(file, 'welcome\n');
    const f = await runToEnd(config('busybox', ['cat', '/etc/motd', '/etc/passwd']), { binds: [`${file}:/etc/motd:ro`] });
    expect(f.stdout).toMatch(/^welcome\nroot:/);
    await rpc('remove', { containerId: r.id });
    await rpc('remove', { containerId: f.id });
  });

  it('volumes-from takes the other container\'s mounts; :ro makes them read-only', async () => {
    const hostDir = fs.mkdtempSync(path.join(scratch, 'from-'));
    const source = await runToEnd(config('busybox', ['sh', '-c', 'echo shared > /data/x'], { volumes: ['/data'] }), { binds: [`${hostDir}:/bound`] });
    await rpc('rename', { containerId: source.id, newName: 'vol-source' });
    const rw = await runToEnd(config('busybox', ['sh', '-c', 'cat /data/x; echo more >> /data/x && echo appended; ls /bound'], { volumesFrom: 'vol-source' }));
    expect(rw.stdout).toBe('shared\nappended\n');
    const ro = await runToEnd(config('busybox', ['sh', '-c', 'cat /data/x; echo no > /data/y || echo refused; echo no > /bound/y || echo refused'], { volumesFrom: 'vol-source:ro' }));
    expect(ro.stdout).toBe('shared\nmore\nrefused\nrefused\n');
    const mine = (await inspect(source.id)).mounts;
    const theirs = (await inspect(ro.id)).mounts;
    expect(theirs.map((m) => ({ ...m }))).toEqual(mine.map((m) => ({ ...m, mode: 'ro', rw: false })));
    expect((await inspect(ro.id)).config!.volumesFrom).toBe('vol-source:ro');
    // Removing the source with -v keeps the anonymous volume the others still use.
    const data = mine.find((m) => m.destination === '/data')!;
    await rpc('remove', { containerId: source.id, volumes: true });
    expect((await vol<Volume>('inspect', { name: data.name })).usedBy.sort()).toEqual([rw.id, ro.id].sort());
    await rpc('remove', { containerId: rw.id, volumes: true });
    await rpc('remove', { containerId: ro.id, volumes: true });
    expect(await code(vol('inspect', { name: data.name }))).toMatch(/^5 /);
    expect(fs.existsSync(hostDir)).toBe(true);
  });

  it('rm -v removes the anonymous volumes only; without -v they stay', async () => {
    const id = await create(config('busybox', ['true'], { volumes: ['/anon'] }), { binds: ['kept-named:/named'] });
    const mounts = (await inspect(id)).mounts;
    const anon = mounts.find((m) => m.destination === '/anon')!;
    expect(anon.name).toMatch(HEX64);
    await rpc('remove', { containerId: id, volumes: true });
    expect(await volumeNames()).not.toContain(anon.name);
    expect(await volumeNames()).toContain('kept-named');
    const other = await create(config('busybox', ['true'], { volumes: ['/anon'] }));
    const left = (await inspect(other)).mounts[0].name;
    await rpc('remove', { containerId: other });
    expect(await volumeNames()).toContain(left);
    // Now nobody uses either: prune takes both.
    const pruned = await vol<PruneVolumesResponse>('prune', {});
    expect(pruned.volumesDeleted.sort()).toEqual(['kept-named', left].sort());
  });

  it('removing a volume a container uses is FAILED_PRECONDITION unless forced', async () => {
    const id = await create(config('busybox', ['true']), { binds: ['in-use:/x'] });
    expect(await code(vol('remove', { name: 'in-use', force: false }))).toBe(`${grpc.status.FAILED_PRECONDITION} remove volume in-use: volume is in use by container ${id.slice(0, 12)}`);
    expect((await vol<PruneVolumesResponse>('prune', {})).volumesDeleted).toEqual([]);
    expect(await volumeNames()).toContain('in-use');
    await vol('remove', { name: 'in-use', force: true });
    expect(await volumeNames()).not.toContain('in-use');
    // Its container still starts: the volume is made again, empty.
    await rpc('start', { containerId: id });
    await rpc('wait', { containerId: id, condition: '' });
    expect((await inspect(id)).state!.exitCode).toBe(0);
    await rpc('remove', { containerId: id, volumes: true });
    await vol('remove', { name: 'in-use' });
  });

  it('bad binds, volume paths and volumes-from are refused with the field and the value, and change nothing', async () => {
    const volumesBefore = await volumeNames();
    const containersBefore = await containerIds();
    const cases: [Partial<HostConfig>, Partial<Config>, RegExp][] = [
      [{ binds: [':/x'] }, {}, /^3 host_config\.binds ":\/x": the source .* is missing/],
      [{ binds: ['/nonexistent-berth-source:/x'] }, {}, /^3 host_config\.binds "\/nonexistent-berth-source:\/x": bind source path .* does not exist/],
      [{ binds: ['/tmp:relative'] }, {}, /^3 host_config\.binds "\/tmp:relative": the destination "relative" must be an absolute path/],
      [{ binds: ['/tmp:/'] }, {}, /^3 host_config\.binds "\/tmp:\/": the destination cannot be \//],
      [{ binds: ['newvol:/proc/sys'] }, {}, /^3 host_config\.binds "newvol:\/proc\/sys": the destination cannot be \/proc/],
      [{ binds: ['newvol:/sys'] }, {}, /^3 host_config\.binds "newvol:\/sys": the destination cannot be \/sys/],
      [{ binds: ['newvol:/x:rx'] }, {}, /^3 host_config\.binds "newvol:\/x:rx": bad mode "rx"/],
      [{ binds: ['newvol'] }, {}, /^3 host_config\.binds "newvol": expected SOURCE:DESTINATION/],
      [{ binds: ['new/vol:/x'] }, {}, /^3 host_config\.binds "new\/vol:\/x": the source "new\/vol" is neither/],
      [{ binds: ['newvol:/x', '/tmp:/x'] }, {}, /^3 host_config\.binds "\/tmp:\/x": duplicate mount point \/x/],
      [{ binds: ['newvol:/x'] }, { volumes: ['relative'] }, /^3 config\.volumes "relative": the destination "relative" must be an absolute path/],
      [{ binds: ['newvol:/x'] }, { volumesFrom: 'no-such-container' }, /^5 config\.volumes_from "no-such-container": container no-such-container: not found/],
      [{ binds: ['newvol:/x'] }, { volumesFrom: 'vol-x:rx' }, /^3 config\.volumes_from "vol-x:rx": bad mode "rx"/],
    ];
    for (const [host, cfg, want] of cases) {
      expect(await code(create(config('busybox', ['true'], { volumes: ['/anon'], ...cfg }), host))).toMatch(want);
    }
    expect(await volumeNames()).toEqual(volumesBefore);
    expect(await containerIds()).toEqual(containersBefore);
    expect(await code(vol('create', { name: 'x', driver: '', labels: {} }))).toMatch(/^3 name "x": a volume name is 2 or more/);
    expect(await code(vol('create', { name: 'ok-name', driver: 'nfs', labels: {} }))).toMatch(/^3 driver "nfs"/);
    expect(await volumeNames()).toEqual(volumesBefore);
  });

  it('a symlink in the image can never aim a volume or bind at the host', async () => {
    // The host side: a directory with a canary file, and a path that does not exist yet.
    const canary = fs.mkdtempSync(path.join(scratch, 'canary-'));
    fs.writeFileSync(path.join(canary, 'canary'), 'host secret\n');
    const missing = path.join(scratch, `missing-${process.pid}`);
    const other = fs.mkdtempSync(path.join(scratch, 'other-'));
    const bindSrc = fs.mkdtempSync(path.join(scratch, 'bindsrc-'));
    fs.writeFileSync(path.join(bindSrc, 'payload'), 'payload\n');
    // The image: busybox plus symlinks at the volume paths, pointing at those host paths.
    const links = fs.mkdtempSync(path.join(scratch, 'links-'));
    fs.symlinkSync(canary, path.join(links, 'evil'));
    fs.symlinkSync(missing, path.join(links, 'dangling'));
    fs.symlinkSync(`../../../../..${other}`, path.join(links, 'relative'));
    const tar = path.join(scratch, 'evil.tar');
    fs.copyFileSync(BUSYBOX_TAR, tar);
    const appended = spawnSync('tar', ['-rf', tar, '-C', links, './evil', './dangling', './relative'], { encoding: 'utf8' });
    expect(appended.status, appended.stderr).toBe(0);
    await importTar(tar, 'evil-image');
    const mountsBefore = mountsUnder('/').length;

    const script = 'ls /evil; echo pwned > /evil/pwned; echo pwned > /dangling/pwned; cat /relative/payload; echo pwned > /relative/pwned';
    const r = await runToEnd(config('evil-image', ['sh', '-c', script], { volumes: ['/evil', '/dangling'] }), { binds: [`${bindSrc}:/relative`] });
    expect(r.exitCode).toBe(0);
    // The volume was not filled from the host's directory, and the writes went into the volumes and the bind.
    expect(r.stdout).toBe('payload\n');
    const c = await inspect(r.id);
    const evil = c.mounts.find((m) => m.destination === '/evil')!;
    const dangling = c.mounts.find((m) => m.destination === '/dangling')!;
    expect(fs.readdirSync(evil.source)).toEqual(['pwned']);
    expect(fs.readdirSync(dangling.source)).toEqual(['pwned']);
    expect(fs.readFileSync(path.join(bindSrc, 'pwned'), 'utf8')).toBe('pwned\n');
    // The host is untouched: the canary alone in its directory, the missing path still missing, no new mount.
    expect(fs.readdirSync(canary)).toEqual(['canary']);
    expect(fs.readdirSync(other)).toEqual([]);
    expect(fs.existsSync(missing)).toBe(false);
    expect(mountsUnder('/').length).toBe(mountsBefore);
    await rpc('remove', { containerId: r.id, volumes: true });
  });

  it('volumes and mounts survive a daemon restart', async () => {
    const id = await create(config('busybox', ['cat', '/keep/file']), { binds: ['restart-vol:/keep'] });
    fs.writeFileSync(path.join(d.root, 'volumes', 'restart-vol', '_data', 'file'), 'still here\n');
    await stopDaemon(d);
    d = await startDaemon(d.root);
    expect((await vol<Volume>('inspect', { name: 'restart-vol' })).usedBy).toEqual([id]);
    await rpc('start', { containerId: id });
    await rpc('wait', { containerId: id, condition: '' });
    let out = '';
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true }))) out += e.data.toString();
    expect(out).toBe('still here\n');
    await rpc('remove', { containerId: id });
    await vol('remove', { name: 'restart-vol' });
  });

  it('the CLI: volume create|ls|inspect|rm|prune, run -v and --volumes-from, rm -v', async () => {
    expect(cli(d, ['volume', 'create', '--label', 'k=v', 'cli-vol']).stdout).toBe('cli-vol\n');
    expect(cli(d, ['volume', 'ls']).stdout).toMatch(/^DRIVER +VOLUME NAME\n(.*\n)*local +cli-vol\n/);
    expect(cli(d, ['volume', 'ls', '-q', '-f', 'label=k=v']).stdout).toBe('cli-vol\n');
    const view = JSON.parse(cli(d, ['volume', 'inspect', 'cli-vol']).stdout);
    expect(view[0]).toMatchObject({ Name: 'cli-vol', Driver: 'local', Labels: { k: 'v' }, Scope: 'local' });
    const host = fs.mkdtempSync(path.join(scratch, 'cli-'));
    const run = cli(d, ['run', '--name', 'cli-src', '-v', 'cli-vol:/v', '-v', `${host}:/h:ro`, '-v', '/anon', 'busybox', 'sh', '-c', 'echo x > /v/f; echo y > /anon/g; echo z > /h/n || echo ro']);
    expect(run.stdout).toBe('ro\n');
    const from = cli(d, ['run', '--volumes-from', 'cli-src:ro', 'busybox', 'cat', '/v/f', '/anon/g']);
    expect(from.stdout).toBe('x\ny\n');
    const inspected = JSON.parse(cli(d, ['inspect', 'cli-src']).stdout)[0];
    expect(inspected.Mounts.map((m: { Destination: string }) => m.Destination)).toEqual(['/v', '/h', '/anon']);
    expect(inspected.Config.Volumes).toEqual({ '/anon': {} });
    expect(cli(d, ['volume', 'rm', 'cli-vol']).status).toBe(1);
    const anon = (inspected.Mounts as { Name?: string; Destination: string }[]).find((m) => m.Destination === '/anon')!.Name!;
    for (const c of (await rpc<ListContainersResponse>('list', { all: true })).containers) {
      expect(cli(d, ['rm', '-v', c.id]).status).toBe(0);
    }
    expect(await volumeNames()).not.toContain(anon);
    expect(cli(d, ['volume', 'prune', '-f']).stdout).toMatch(/Deleted Volumes:\ncli-vol\n/);
    expect(await volumeNames()).toEqual([]);
  });
});

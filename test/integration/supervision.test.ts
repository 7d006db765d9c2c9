// Containers outlive their daemon: the restart matrix ({TERM, KILL} to berthd x {running, exited while
// down, never started, restart=always, --rm}), no lost output while berthd is away, a monitor that dies, a
// daemon killed in the middle of parallel creates and removes, and what a create makes durable.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  ContainerLogsRequest, HostConfig, PauseContainerRequest, StopContainerRequest, WaitContainerRequest,
  type Config, type Container, type CreateContainerResponse, type InspectContainerResponse, type ListContainersResponse,
} from '../../src/gen/berth/v1/containers';
import { EventsRequest, type Event } from '../../src/gen/berth/v1/system';
import { config, destroyDaemon, importBusybox, mountsUnder, startDaemon, tempRoot, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';
import { HAS_STRACE, traceSyscalls } from '../helpers/strace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => pid > 0 && fs.existsSync(`/proc/${pid}`);

describe.skipIf(!IS_ROOT)('supervision across daemon restarts', () => {
  let d: TestDaemon | undefined;
  afterEach(async () => {
    if (d) await destroyDaemon(d);
    d = undefined;
  });

  const rpc = <Res = unknown>(method: string, req: unknown) => call<TestDaemon['clients']['containers'], unknown, Res>(d!.clients.containers, method as keyof TestDaemon['clients']['containers'], req);
  const inspect = async (id: string): Promise<Container> => (await rpc<InspectContainerResponse>('inspect', { containerId: id })).container!;
  const create = async (cfg: Config, host: Partial<HostConfig> = {}, name = '') =>
    (await rpc<CreateContainerResponse>('create', { config: cfg, hostConfig: HostConfig.fromPartial(host), name })).id;
  const waitFor = async (what: string, ok: () => Promise<boolean> | boolean, ms = 10_000) => {
    for (const end = Date.now() + ms; !(await ok()); await sleep(25)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };
  /** Stops berthd the way the test says: an operator's TERM, or a crash. */
  const down = async (how: 'SIGTERM' | 'SIGKILL') => {
    d!.clients.close();
    const exited = new Promise((r) => d!.process.once('exit', r));
    d!.process.kill(how);
    await exited;
  };
  const events = async (id: string): Promise<Event[]> => {
    const out: Event[] = [];
    for await (const e of d!.clients.system.events(EventsRequest.fromPartial({ since: new Date(0), until: new Date(), filters: [`container=${id}`] }))) out.push(e as Event);
    return out;
  };
  /** A loop that ends with `code` once /tmp/<file> exists in the container. */
  const untilFile = (file: string, code: number) => config('busybox', ['sh', '-c', `while [ ! -e /tmp/${file} ]; do sleep 0.02; done; exit ${code}`]);
  const touch = (root: string, id: string, file: string) => fs.writeFileSync(path.join(root, 'overlay', id, 'merged', 'tmp', file), '');

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${how} to berthd: running, exited-while-down, never-started, restart=always and --rm containers come back true`, async () => {
      const root = tempRoot();
      d = await startDaemon(root);
      await importBusybox(d);
      const running = await create(untilFile('stop', 5), {}, 'running');
      const exits = await create(untilFile('go', 6), {}, 'exits');
      const never = await create(config('busybox', ['true']), {}, 'never');
      const always = await create(config('busybox', ['sleep', '1000']), { restartPolicy: { name: 'always', maximumRetryCount: 0 } }, 'always');
      const autoRemoved = await create(untilFile('go', 0), { autoRemove: true }, 'auto-removed');
      const neverRemoved = await create(config('busybox', ['true']), { autoRemove: true }, 'never-auto-removed');
      const runningRemoved = await create(untilFile('end', 7), { autoRemove: true }, 'running-auto-removed');
      const paused = await create(config('busybox', ['sleep', '1000']), {}, 'paused');
      for (const id of [running, exits, always, autoRemoved, paused, runningRemoved]) await rpc('start', { containerId: id });
      const runningRemovedState = (await inspect(runningRemoved)).state!;
      await rpc('pause', PauseContainerRequest.fromPartial({ containerId: paused }));
      const pids = Object.fromEntries(await Promise.all([running, exits, always, autoRemoved].map(async (id) => [id, (await inspect(id)).state!.pid])));

      await down(how);
      // While berthd is away: one container ends by itself, another is killed from outside.
      touch(root, exits, 'go');
      touch(root, autoRemoved, 'go');
      process.kill(pids[always], 'SIGKILL');
      await waitFor('three to end', () => !alive(pids[exits]) && !alive(pids[always]) && !alive(pids[autoRemoved]));
      expect(alive(pids[running])).toBe(true);

      d = await startDaemon(root);
      expect((await inspect(running)).state).toMatchObject({ status: 'running', pid: pids[running] });
      expect((await inspect(exits)).state).toMatchObject({ status: 'exited', exitCode: 6, running: false });
      expect((await inspect(never)).state).toMatchObject({ status: 'created', exitCode: 0 });
      expect((await inspect(paused)).state).toMatchObject({ status: 'paused', paused: true });
      await rpc('unpause', PauseContainerRequest.fromPartial({ containerId: paused }));
      expect((await inspect(paused)).state).toMatchObject({ status: 'running' });
      // --rm: it exited while nobody was there to remove it; the new daemon does.
      await waitFor('the auto-removed container to go', async () => (await inspect(autoRemoved).then(() => false, () => true)));
      expect(fs.existsSync(path.join(root, 'containers', autoRemoved))).toBe(false);
      // --rm and still running: back as it was, its start time included (berthd never wrote its start down;
      // the monitor tells), and removed at its exit.
      expect((await inspect(runningRemoved)).state).toMatchObject({ status: 'running', pid: runningRemovedState.pid, startedAt: runningRemovedState.startedAt });
      const removed = rpc('wait', WaitContainerRequest.fromPartial({ containerId: runningRemoved, condition: 'removed' }));
      touch(root, runningRemoved, 'end');
      expect(await removed).toEqual({ exitCode: 7, signal: 0 });
      // --rm, never started: gone too, as dockerd's restore removes every auto-remove container not running.
      await expect(inspect(neverRemoved)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect(fs.existsSync(path.join(root, 'containers', neverRemoved))).toBe(false);
      // always: its exit while away (137) is recorded, then the policy starts it again.
      await waitFor('the always container to run again', async () => (await inspect(always)).state!.status === 'running');
      const again = await inspect(always);
      expect(again.restartCount).toBe(1);
      expect(again.state!.pid).not.toBe(pids[always]);
      expect((await events(exits)).map((e) => e.action)).toContain('die');
      expect((await events(always)).filter((e) => e.action === 'die').at(-1)!.actor!.attributes.exitCode).toBe('137');
      // The reattached container still reports its own exit to this daemon.
      touch(root, running, 'stop');
      expect(await rpc('wait', WaitContainerRequest.fromPartial({ containerId: running }))).toEqual({ exitCode: 5, signal: 0 });
    });
  }

  it('keeps one zygote and one standby monitor once it has started a container; both go with berthd (TERM or KILL)', async () => {
    // Live processes of berthd's sealed monitor executable named comm (a zombie's command line is empty).
    const named = (berthd: number, comm: string) => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`/proc/${berthd}/fd/`) && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm;
      } catch {
        return false; // gone meanwhile
      }
    });
    const standbys = (berthd: number) => named(berthd, 'berth-standby');
    const zygotes = (berthd: number) => named(berthd, 'berth-zygote');
    for (const how of ['SIGTERM', 'SIGKILL'] as const) {
      d = await startDaemon();
      await importBusybox(d);
      const berthd = d.process.pid!;
      for (let i = 0; i < 3; i++) {
        const id = await create(config('busybox', ['true']));
        await rpc('start', { containerId: id });
        await rpc('wait', WaitContainerRequest.fromPartial({ containerId: id }));
      }
      await waitFor('the standby', () => standbys(berthd).length === 1);
      expect(standbys(berthd)).toHaveLength(1);
      expect(zygotes(berthd)).toHaveLength(1);
      await down(how);
      await waitFor('the standby and the zygote to go', () => standbys(berthd).length === 0 && zygotes(berthd).length === 0);
      await destroyDaemon(d);
      d = undefined;
    }
  });

  it('keeps /etc/hostname, hosts and resolv.conf on its tmpfs under the data root: there while needed, across a restart, gone with the container', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const run = path.join(root, 'run');
    // mountinfo: the mount point is field 5; the filesystem type follows the lone "-".
    const fstypeOf = (mountPoint: string) => {
      const fields = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === mountPoint) ?? [];
      return fields[fields.indexOf('-') + 1];
    };
    expect(fstypeOf(run)).toBe('tmpfs');
    const running = await create(config('busybox', ['sleep', '1000']), {}, 'runs');
    const done = await create(config('busybox', ['true']), {}, 'done');
    for (const id of [running, done]) await rpc('start', { containerId: id });
    await rpc('wait', WaitContainerRequest.fromPartial({ containerId: done }));
    const info = await inspect(running);
    expect([info.hostnamePath, info.hostsPath, info.resolvConfPath]).toEqual(['hostname', 'hosts', 'resolv.conf'].map((f) => path.join(run, running, f)));
    expect(fs.readFileSync(info.hostnamePath, 'utf8')).toBe(`${running.slice(0, 12)}\n`);
    await rpc('remove', { containerId: done });
    expect(fs.existsSync(path.join(run, done))).toBe(false);
    // What a crash in the middle of a removal could leave: swept at the next start.
    const orphan = path.join(run, 'f'.repeat(64));
    fs.mkdirSync(orphan);
    await down('SIGKILL');
    d = await startDaemon(root);
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.readFileSync(path.join(run, running, 'hosts'), 'utf8')).toContain(running.slice(0, 12));
    expect(fstypeOf(run)).toBe('tmpfs');
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === run)).toHaveLength(1);
  });

  it('an auto-remove container\'s exit file is on the tmpfs: its status reaches Wait, and one that ends while berthd is away goes at its start', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const quick = await create(config('busybox', ['sh', '-c', 'exit 7']), { autoRemove: true });
    const removed = rpc('wait', WaitContainerRequest.fromPartial({ containerId: quick, condition: 'removed' }));
    await rpc('start', { containerId: quick });
    expect(await removed).toMatchObject({ exitCode: 7 });

    const away = await create(config('busybox', ['sh', '-c', 'sleep 1; exit 5']), { autoRemove: true });
    await rpc('start', { containerId: away });
    await down('SIGKILL');
    const exitFile = path.join(root, 'run', away, 'exit');
    for (let i = 0; !fs.existsSync(exitFile) && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(fs.readFileSync(exitFile, 'utf8'))).toMatchObject({ exitCode: 5, signal: 0 });
    expect(fs.existsSync(path.join(root, 'containers', away, 'exit'))).toBe(false);
    d = await startDaemon(root);
    await expect(inspect(away)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(fs.existsSync(path.join(root, 'run', away))).toBe(false);
    expect(fs.existsSync(path.join(root, 'containers', away))).toBe(false);
  });

  it('starts containers after the directory it was started in is gone', async () => {
    const started = tempRoot();
    d = await startDaemon(tempRoot(), { cwd: started });
    await importBusybox(d);
    fs.rmSync(started, { recursive: true, force: true });
    const id = await create(config('busybox', ['true']));
    await rpc('start', { containerId: id });
    expect(await rpc<{ exitCode: number }>('wait', WaitContainerRequest.fromPartial({ containerId: id }))).toMatchObject({ exitCode: 0 });
  });

  it('a container printing while berthd is down for 5 s loses no line', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    const id = await create(config('busybox', ['sh', '-c', 'i=0; while :; do echo line $i; i=$((i+1)); sleep 0.01; done']));
    await rpc('start', { containerId: id });
    await sleep(300);
    await down('SIGKILL');
    await sleep(5000);
    d = await startDaemon(root);
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 0 }));
    const lines: string[] = [];
    let seq = 0;
    for await (const e of d.clients.containers.logs(ContainerLogsRequest.fromPartial({ containerId: id, stdout: true }))) {
      lines.push(...(e.data as Buffer).toString().split('\n').filter(Boolean));
      expect(e.seq).toBe(seq + 1);
      seq = e.seq;
    }
    expect(lines.length).toBeGreaterThan(200); // about 5.5 s at up to 100 lines a second
    lines.forEach((l, i) => expect(l).toBe(`line ${i}`));
  });

  it('a monitor that dies leaves its container exited with 255 and the reason, and nothing of it running', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const id = await create(config('busybox', ['sh', '-c', 'sleep 1000 & sleep 1000']));
    await rpc('start', { containerId: id });
    const pid = (await inspect(id)).state!.pid;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const monitor = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    process.kill(monitor, 'SIGKILL');
    await waitFor('the exit to be recorded', async () => (await inspect(id)).state!.status === 'exited');
    const state = (await inspect(id)).state!;
    expect(state).toMatchObject({ exitCode: 255, running: false });
    expect(state.error).toMatch(/monitor exited without an exit status/);
    await waitFor('init to be gone', () => !alive(pid));
  });

  it('records a container\'s own exit from its monitor\'s last word, even when the exit file cannot be written', async () => {
    d = await startDaemon();
    await importBusybox(d);
    const id = await create(config('busybox', ['sh', '-c', 'sleep 0.5; exit 7']));
    await rpc('start', { containerId: id });
    // Immutable: nothing can be made in the container's directory, so the monitor's exit file fails.
    const dir = path.join(d.root, 'containers', id);
    execFileSync('chattr', ['+i', dir]);
    try {
      const exit = await rpc<{ exitCode: number; signal: number }>('wait', WaitContainerRequest.fromPartial({ containerId: id }));
      expect(exit).toEqual({ exitCode: 7, signal: 0 });
      expect(fs.existsSync(path.join(dir, 'exit'))).toBe(false);
      const state = (await inspect(id)).state!;
      expect(state).toMatchObject({ status: 'exited', exitCode: 7, error: '' });
      expect(state.finishedAt!.getTime()).toBeGreaterThanOrEqual(state.startedAt!.getTime() + 400);
    } finally {
      execFileSync('chattr', ['-i', dir]);
    }
  });

  it('berthd killed in the middle of 20 parallel creates and removes leaves a consistent store', async () => {
    const root = tempRoot();
    d = await startDaemon(root);
    await importBusybox(d);
    // The kill lands at different points of the work each round.
    for (const [round, delayMs] of [5, 20, 60].entries()) {
      const old = await Promise.all(Array.from({ length: 10 }, (_, i) => create(config('busybox', ['true']), {}, `old-${round}-${i}`)));
      // And --rm containers, whose removal at their exit unmounts their rootfs after Wait has its answer.
      const quick = await Promise.all(Array.from({ length: 5 }, (_, i) => create(config('busybox', ['true']), { autoRemove: true }, `rm-${round}-${i}`)));
      const pending = [
        ...Array.from({ length: 20 }, (_, i) => create(config('busybox', ['true']), {}, `new-${round}-${i}`)),
        ...old.map((id) => rpc('remove', { containerId: id, force: true })),
        ...quick.map((id) => rpc('start', { containerId: id })),
      ].map((p) => p.catch(() => undefined));
      await sleep(delayMs);
      await down('SIGKILL');
      await Promise.all(pending);

      d = await startDaemon(root);
      const list = (await rpc<ListContainersResponse>('list', { all: true })).containers;
      // Every container the store shows is whole, and the store shows every directory it has.
      expect(fs.readdirSync(path.join(root, 'containers')).sort()).toEqual(list.map((c) => c.id).sort());
      for (const c of list) {
        for (const file of ['config.json', 'hostconfig.json', 'state.json']) {
          expect(() => JSON.parse(fs.readFileSync(path.join(root, 'containers', c.id, file), 'utf8'))).not.toThrow();
        }
        expect(c.name).toMatch(new RegExp(`^(old|new)-${round}-\\d+$`));
      }
      expect(new Set(list.map((c) => c.name)).size).toBe(list.length);
      // The --rm containers are gone, started or not (recovery removes those it finds), and nothing of theirs is mounted.
      expect(list.filter((c) => c.name.startsWith('rm-'))).toEqual([]);
      for (const id of quick) expect(mountsUnder(path.join(root, 'overlay', id))).toEqual([]);
      // And it works: everything can be removed, and a new container runs.
      for (const c of list) await rpc('remove', { containerId: c.id, force: true });
      expect(fs.readdirSync(path.join(root, 'containers'))).toEqual([]);
    }
    const overlay = path.join(root, 'overlay');
    expect(fs.existsSync(overlay) ? fs.readdirSync(overlay) : []).toEqual([]);
    const fresh = await create(config('busybox', ['true']));
    await rpc('start', { containerId: fresh });
    expect(await rpc('wait', WaitContainerRequest.fromPartial({ containerId: fresh }))).toEqual({ exitCode: 0, signal: 0 });
  });

  it.skipIf(!HAS_STRACE)('a create fsyncs the container before it answers; an auto-remove create, which a restart removes, does not', async () => {
    d = await startDaemon();
    await importBusybox(d);
    let kept = '', autoRemoved = '';
    const lines = await traceSyscalls(d.process.pid!, ['fsync', 'fdatasync', 'rename'], async () => {
      kept = await create(config('busybox', ['true']), {}, 'kept');
      autoRemoved = await create(config('busybox', ['true']), { autoRemove: true }, 'auto-removed');
    });
    const containers = path.join(d.root, 'containers');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    for (const file of ['config.json', 'hostconfig.json']) {
      const synced = at(new RegExp(`f(data)?sync\\(\\d+<${containers}/${kept}/\\.${file}\\.tmp-[0-9a-f]+>`));
      const renamed = at(new RegExp(`rename\\(".*/\\.${file}\\.tmp-[0-9a-f]+", "${containers}/${kept}/${file}"`));
      expect(synced, file).toBeGreaterThanOrEqual(0);
      expect(renamed, file).toBeGreaterThan(synced);
    }
    // Its directory's entries, and its own entry in containers/.
    expect(at(new RegExp(`fsync\\(\\d+<${containers}/${kept}>`))).toBeGreaterThanOrEqual(0);
    expect(at(new RegExp(`fsync\\(\\d+<${containers}>`))).toBeGreaterThanOrEqual(0);
    expect(lines.filter((l) => l.includes(`${containers}/${autoRemoved}`) && /f(data)?sync\(/.test(l))).toEqual([]);
    expect(lines.some((l) => l.includes(`"${containers}/${autoRemoved}/config.json"`))).toBe(true);
  });
});

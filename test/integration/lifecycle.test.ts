// The lifecycle through the real daemon: stop (signal, timeout, KILL), kill, pause, restart, rename,
// update, wait conditions, restart policies, auto-remove, OOM, pids limit, stats, top, prune, events.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../src/cli/client';
import {
  ContainerStatsRequest, HostConfig, KillContainerRequest, PauseContainerRequest, RenameContainerRequest, RestartContainerRequest,
  StopContainerRequest, TopContainerRequest, UnpauseContainerRequest, UpdateContainerRequest, WaitContainerRequest,
  type Config, type Container, type ContainerStats, type CreateContainerResponse, type InspectContainerResponse,
  type PruneContainersResponse, type TopContainerResponse, type WaitContainerResponse,
} from '../../src/gen/berth/v1/containers';
import { EventsRequest, type Event } from '../../src/gen/berth/v1/system';
import { cgroupDir, cgroupFile, IS_V2 } from '../helpers/cgroup-files';
import { config, destroyDaemon, importBusybox, mountsUnder, startDaemon, type TestDaemon } from '../helpers/daemon';
import { IS_ROOT } from '../helpers/paths';
import { openAttach } from '../helpers/stdio-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!IS_ROOT)('the container lifecycle', () => {
  let d: TestDaemon;
  const rpc = <Res = unknown>(method: string, req: unknown) => call<typeof d.clients.containers, unknown, Res>(d.clients.containers, method as keyof typeof d.clients.containers, req);
  const inspect = async (id: string): Promise<Container> => (await rpc<InspectContainerResponse>('inspect', { containerId: id })).container!;
  const create = async (cfg: Config, host: Partial<HostConfig> = {}, name = ''): Promise<string> =>
    (await rpc<CreateContainerResponse>('create', { config: cfg, hostConfig: HostConfig.fromPartial(host), name })).id;
  const run = async (cfg: Config, host: Partial<HostConfig> = {}, name = ''): Promise<string> => {
    const id = await create(cfg, host, name);
    await rpc('start', { containerId: id });
    return id;
  };
  const wait = (id: string, condition = '') => rpc<WaitContainerResponse>('wait', WaitContainerRequest.fromPartial({ containerId: id, condition }));
  const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 10_000) => {
    for (const end = Date.now() + ms; !(await ok()); await sleep(25)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };
  const code = async (p: Promise<unknown>) => p.then(() => grpc.status.OK, (err: grpc.ServiceError) => `${err.code} ${err.details}`);
  const cg = (id: string, v1: [string, string], v2: string) => cgroupFile(d.root, id, v1, v2);

  beforeAll(async () => {
    d = await startDaemon();
    await importBusybox(d);
  });
  afterAll(async () => { if (d) await destroyDaemon(d); });

  it('stop sends TERM and returns as soon as the container exits', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'trap "echo got term; exit 3" TERM; while :; do sleep 0.05; done']));
    await sleep(200); // the trap is set
    const t0 = Date.now();
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 10 }));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', exitCode: 3, running: false });
    // Stopping a stopped container changes nothing.
    expect(await code(rpc('stop', StopContainerRequest.fromPartial({ containerId: id })))).toBe(grpc.status.OK);
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', exitCode: 3 });
  });

  it('stop waits the timeout for a container that ignores TERM, then kills it (137)', async () => {
    // A pid 1 without a TERM handler ignores TERM.
    const id = await run(config('busybox', ['sleep', '1000']));
    const t0 = Date.now();
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 1 }));
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(8000);
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', exitCode: 137, signal: 9 });
  });

  it('kill takes a signal by name or number; illegal transitions name the current state', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'trap "exit 10" USR1; while :; do sleep 0.05; done']));
    await sleep(200);
    await rpc('kill', KillContainerRequest.fromPartial({ containerId: id, signal: 'USR1' }));
    expect(await wait(id)).toEqual({ exitCode: 10, signal: 0 });
    expect(await code(rpc('kill', KillContainerRequest.fromPartial({ containerId: id, signal: '9' })))).toBe(`${grpc.status.FAILED_PRECONDITION} kill container ${id}: status is exited`);
    expect(await code(rpc('pause', PauseContainerRequest.fromPartial({ containerId: id })))).toBe(`${grpc.status.FAILED_PRECONDITION} pause container ${id}: status is exited`);
    expect(await code(rpc('unpause', UnpauseContainerRequest.fromPartial({ containerId: id })))).toBe(`${grpc.status.FAILED_PRECONDITION} unpause container ${id}: status is exited`);
    expect(await code(rpc('kill', KillContainerRequest.fromPartial({ containerId: id, signal: 'NOPE' })))).toMatch(/^3 signal "NOPE"/);
  });

  it('pause freezes every process (no output while paused) and unpause lets it go on', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.02; done']));
    const logSize = () => fs.statSync(path.join(d.root, 'containers', id, `${id}-json.log`)).size;
    await waitFor('output', async () => logSize() > 0);
    await rpc('pause', PauseContainerRequest.fromPartial({ containerId: id }));
    expect((await inspect(id)).state).toMatchObject({ status: 'paused', paused: true, running: true });
    expect(cg(id, ['freezer', 'freezer.state'], 'cgroup.freeze')).toBe(IS_V2 ? '1' : 'FROZEN');
    const frozenAt = logSize();
    await sleep(300);
    expect(logSize()).toBe(frozenAt);
    expect(await code(rpc('pause', PauseContainerRequest.fromPartial({ containerId: id })))).toBe(`${grpc.status.FAILED_PRECONDITION} pause container ${id}: status is paused`);
    await rpc('unpause', UnpauseContainerRequest.fromPartial({ containerId: id }));
    expect((await inspect(id)).state).toMatchObject({ status: 'running', paused: false });
    await waitFor('output after unpause', async () => logSize() > frozenAt);
    // Stop reaches a paused container too.
    await rpc('pause', PauseContainerRequest.fromPartial({ containerId: id }));
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 1 }));
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', exitCode: 137 });
  });

  it('restart stops and starts again; rename renames, a taken name is ALREADY_EXISTS', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'trap "exit 0" TERM; echo run; while :; do sleep 0.05; done']), {}, 'old-name');
    const firstStart = (await inspect(id)).state!.startedAt!;
    await rpc('restart', RestartContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 5 }));
    const state = (await inspect(id)).state!;
    expect(state.status).toBe('running');
    expect(state.startedAt!.getTime()).toBeGreaterThan(firstStart.getTime());
    await rpc('rename', RenameContainerRequest.fromPartial({ containerId: 'old-name', newName: 'new-name' }));
    expect((await inspect('new-name')).id).toBe(id);
    expect(await code(inspect('old-name'))).toMatch(/^5 /);
    const other = await create(config('busybox', ['true']), {}, 'taken');
    expect(await code(rpc('rename', RenameContainerRequest.fromPartial({ containerId: id, newName: 'taken' })))).toMatch(/^6 container name "taken": already in use/);
    expect(await code(rpc('rename', RenameContainerRequest.fromPartial({ containerId: id, newName: 'bad name' })))).toMatch(/^3 new_name "bad name"/);
    await rpc('remove', { containerId: other, force: true });
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id }));
  });

  it('a long wait through many starts and stops holds one abort listener, not one per change', async () => {
    const id = await create(config('busybox', ['true']));
    // Wait for its removal while it runs twelve times: each run wakes the waiter.
    const waiting = rpc('wait', WaitContainerRequest.fromPartial({ containerId: id, condition: 'removed' }));
    for (let i = 0; i < 12; i++) {
      await rpc('start', { containerId: id });
      await rpc('wait', WaitContainerRequest.fromPartial({ containerId: id, condition: 'not-running' }));
    }
    await rpc('remove', { containerId: id });
    await waiting;
    expect(d.stderr()).not.toContain('MaxListenersExceededWarning');
  });

  it('limits land in the cgroup, update changes them on a running container, and the cgroup goes with the container', async () => {
    const id = await run(config('busybox', ['sleep', '1000'], { memory: 64 << 20, cpuShares: 512 }), { pidsLimit: 50, cpuQuota: 50_000, cpuPeriod: 100_000, cpusetCpus: '0' });
    expect(cg(id, ['memory', 'memory.limit_in_bytes'], 'memory.max')).toBe(String(64 << 20));
    // v2 has weights: shares 512 map to 1 + (512 - 2) * 9999 / 262142 = 20.
    expect(cg(id, ['cpu', 'cpu.shares'], 'cpu.weight')).toBe(IS_V2 ? '20' : '512');
    expect(cg(id, ['cpu', 'cpu.cfs_quota_us'], 'cpu.max')).toBe(IS_V2 ? '50000 100000' : '50000');
    expect(cg(id, ['cpuset', 'cpuset.cpus'], 'cpuset.cpus')).toBe('0');
    expect(cg(id, ['pids', 'pids.max'], 'pids.max')).toBe('50');
    const pid = (await inspect(id)).state!.pid;
    expect(cg(id, ['memory', 'cgroup.procs'], 'cgroup.procs')).toContain(String(pid));
    await rpc('update', UpdateContainerRequest.fromPartial({ containerId: id, resources: { memory: 128 << 20, memorySwap: 256 << 20, pidsLimit: 60 } }));
    expect(cg(id, ['memory', 'memory.limit_in_bytes'], 'memory.max')).toBe(String(128 << 20));
    expect(cg(id, ['pids', 'pids.max'], 'pids.max')).toBe('60');
    const c = await inspect(id);
    expect(c.config).toMatchObject({ memory: 128 << 20, memorySwap: 256 << 20, cpuShares: 512 });
    expect(c.hostConfig).toMatchObject({ pidsLimit: 60, cpuQuota: 50_000 });
    expect(await code(rpc('update', UpdateContainerRequest.fromPartial({ containerId: id, resources: { memory: 1000 } })))).toMatch(/^3 resources\.memory 1000: below the 6 MiB minimum/);
    await rpc('remove', { containerId: id, force: true });
    expect(fs.existsSync(cgroupDir(d.root, id))).toBe(false);
  });

  it('an OOM kill is reported: exit 137, OOMKilled, an oom event', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\\\0" a); echo survived'], { memory: 16 << 20, memorySwap: 16 << 20 }));
    const exit = await wait(id);
    expect(exit.exitCode).toBe(137);
    expect((await inspect(id)).state).toMatchObject({ status: 'exited', oomKilled: true });
    const events = await collectEvents({ since: new Date(0), filters: [`container=${id}`, 'event=oom'] }, 1);
    expect(events.map((e) => e.action)).toEqual(['oom']);
  });

  it('a fork bomb under a pids limit is held to it, and the host and the daemon stay responsive', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 1000']), { pidsLimit: 30 });
    await sleep(1000);
    expect(Number(cg(id, ['pids', 'pids.current'], 'pids.current'))).toBeLessThanOrEqual(30);
    expect(Number(cg(id, ['pids', 'pids.events'], 'pids.events').split(' ')[1])).toBeGreaterThan(0);
    const t0 = Date.now();
    await inspect(id);
    expect(Date.now() - t0).toBeLessThan(1000);
    await rpc('remove', { containerId: id, force: true });
  });

  it('stats: one sample at once with cpu, memory and pids; top: the processes with host and container pids', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'sleep 1000 & while :; do :; done']), { pidsLimit: 100 });
    const t0 = Date.now();
    const samples: ContainerStats[] = [];
    for await (const s of d.clients.containers.stats(ContainerStatsRequest.fromPartial({ containerId: id, stream: false }))) samples.push(s as ContainerStats);
    expect(Date.now() - t0).toBeLessThan(1000); // no two-second priming delay
    expect(samples).toHaveLength(1);
    expect(samples[0].cpu!.totalUsageUs).toBeGreaterThan(0);
    expect(samples[0].memory!.usageBytes).toBeGreaterThan(0);
    expect(samples[0].pids).toMatchObject({ current: 2, limit: 100 });
    expect(samples[0].networks.map((n) => n.interface)).toEqual(['lo', 'eth0']);
    const top = await rpc<TopContainerResponse>('top', TopContainerRequest.fromPartial({ containerId: id }));
    expect(top.processes.map((p) => [p.pid, p.args.join(' ')])).toEqual([[1, 'sh -c sleep 1000 & while :; do :; done'], [expect.any(Number), 'sleep 1000']]);
    expect(top.processes[0].hostPid).toBe((await inspect(id)).state!.pid);
    expect(top.processes[1].ppid).toBe(1);
    expect(top.processes[0].user).toBe('root');
    await rpc('remove', { containerId: id, force: true });
    expect(await code(rpc('top', TopContainerRequest.fromPartial({ containerId: id })))).toMatch(/^5 /);
  });

  it('restart policy on-failure:2 restarts twice with back-off, then leaves it exited', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'echo try; exit 4']), { restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } });
    await waitFor('two restarts', async () => {
      const c = await inspect(id);
      return c.restartCount === 2 && c.state!.status === 'exited';
    });
    await sleep(500); // no third
    const c = await inspect(id);
    expect(c.restartCount).toBe(2);
    expect(c.state).toMatchObject({ status: 'exited', exitCode: 4 });
    const starts = await collectEvents({ since: new Date(0), filters: [`container=${id}`, 'event=start'] }, 3);
    expect(starts).toHaveLength(3);
    // 100 ms, then 200 ms between the runs.
    expect(starts[2].time!.getTime() - starts[0].time!.getTime()).toBeGreaterThanOrEqual(250);
  });

  it('restart policy always restarts after any exit; a client stop ends that; wait next-exit sees the next one', async () => {
    const id = await run(config('busybox', ['sh', '-c', 'sleep 0.3; exit 0']), { restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    expect(await wait(id, 'next-exit')).toEqual({ exitCode: 0, signal: 0 });
    await waitFor('a restart', async () => (await inspect(id)).restartCount >= 1);
    await rpc('stop', StopContainerRequest.fromPartial({ containerId: id, timeoutSeconds: 1 }));
    await sleep(600);
    const c = await inspect(id);
    expect(c.state!.status).toBe('exited');
    const count = c.restartCount;
    await sleep(600);
    expect((await inspect(id)).restartCount).toBe(count);
  });

  it('auto_remove removes the container when it exits; wait removed returns then', async () => {
    const id = await create(config('busybox', ['sh', '-c', 'sleep 0.2; exit 2']), { autoRemove: true });
    const removed = wait(id, 'removed');
    await rpc('start', { containerId: id });
    expect(await removed).toEqual({ exitCode: 2, signal: 0 });
    expect(await code(inspect(id))).toMatch(/^5 /);
    const events = await collectEvents({ since: new Date(0), filters: [`container=${id}`] }, 4);
    expect(events.map((e) => e.action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(events[2].actor!.attributes.exitCode).toBe('2');
  });

  it('auto_remove waits for an attached client to read the output and the exit of a container that ends at once', async () => {
    const id = await create(config('busybox', ['sh', '-c', 'echo hello; exit 3']), { autoRemove: true });
    const client = openAttach(d, { containerId: id, stdout: true, stderr: true, start: true });
    const end = await client.done;
    expect(client.stdout.toString()).toBe('hello\n');
    expect(end.exit).toEqual({ exitCode: 3, signal: 0 });
    await waitFor('the removal', async () => (await code(inspect(id))) !== grpc.status.OK);
  });

  it('an auto_remove container\'s rootfs is mounted volatile (its end syncs no disk), a kept container\'s is not', async () => {
    /** The overlay's own options (mountinfo's super options) of a container's rootfs. */
    const rootfsOptions = (id: string) => {
      const target = path.join(d.root, 'overlay', id, 'merged');
      const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target);
      return line?.split(' - ')[1].split(' ')[2].split(',');
    };
    const gone = await run(config('busybox', ['sleep', '1000']), { autoRemove: true });
    const kept = await run(config('busybox', ['sleep', '1000']));
    // Linux shows it as "volatile", or as "fsync=volatile" on newer kernels (6.18 here).
    const volatile = (options: string[] | undefined) => options?.some((o) => o === 'volatile' || o === 'fsync=volatile');
    expect(rootfsOptions(gone)).toBeDefined();
    expect(volatile(rootfsOptions(gone))).toBe(true);
    expect(rootfsOptions(kept)).toBeDefined();
    expect(volatile(rootfsOptions(kept))).toBe(false);
    for (const id of [gone, kept]) await rpc('remove', { containerId: id, force: true });
  });

  it('an auto_remove container whose start failed starts again: the volatile mount\'s mark goes before the next mount', async () => {
    const id = await create(config('busybox', ['/no/such/program']), { autoRemove: true });
    const first = await code(rpc('start', { containerId: id }));
    expect(first).toMatch(/no\/such\/program/);
    // The kernel's mark of a volatile mount outlives the unmount; it would make overlayfs refuse the next one.
    expect(fs.existsSync(path.join(d.root, 'overlay', id, 'work', 'work', 'incompat', 'volatile'))).toBe(true);
    expect(await code(rpc('start', { containerId: id }))).toBe(first);
    await rpc('remove', { containerId: id, force: true });
  });

  it('a forced remove that meets the auto-remove of a container ending at that moment succeeds or finds it gone; nothing of either is left', async () => {
    // berth run --rm does this: once the exit status arrives it removes the container too, while berthd may
    // still be recording the exit and removing it.
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const id = await create(config('busybox', ['true']), { autoRemove: true });
      ids.push(id);
      expect((await openAttach(d, { containerId: id, start: true }).done).exit).toEqual({ exitCode: 0, signal: 0 });
      const answer = await code(rpc('remove', { containerId: id, force: true }));
      expect(answer === grpc.status.OK || String(answer).startsWith(`${grpc.status.NOT_FOUND} `), String(answer)).toBe(true);
      await waitFor('the removal', async () => (await code(inspect(id))) !== grpc.status.OK);
    }
    // The rootfs, the cgroup and the files go behind the answer; soon nothing of them is left.
    const leftOf = () => {
      const dirs = fs.readdirSync(path.join(d.root, 'containers'));
      return ids.filter((id) => dirs.some((e) => e.endsWith(id)) || mountsUnder(path.join(d.root, 'overlay', id)).length > 0 || fs.existsSync(cgroupDir(d.root, id)));
    };
    await waitFor('all of them to go', async () => leftOf().length === 0);
    expect(leftOf()).toEqual([]);
  });

  it('prune removes what is not running and keeps what is', async () => {
    const keep = await run(config('busybox', ['sleep', '1000']));
    const done = await run(config('busybox', ['true']));
    await wait(done);
    const never = await create(config('busybox', ['true']));
    const res = await rpc<PruneContainersResponse>('prune', {});
    expect(res.containersDeleted).toEqual(expect.arrayContaining([done, never]));
    expect(res.containersDeleted).not.toContain(keep);
    expect(res.spaceReclaimed).toBeGreaterThan(0);
    expect((await inspect(keep)).state!.status).toBe('running');
    await rpc('remove', { containerId: keep, force: true });
  });

  it('events: replay from a seq after a reconnect gives what was missed, no gap and no duplicate', async () => {
    // A client that saw everything up to now, then went away.
    const from = (await collectEvents({ since: new Date(0), until: new Date() })).at(-1)!.seq;
    const id = await run(config('busybox', ['true']), {}, 'evented');
    await wait(id);
    await rpc('remove', { containerId: id, force: false });
    const replay = await collectEvents({ sinceSeq: from, filters: ['container=evented', 'type=container'] }, 4);
    expect(replay.map((e) => e.action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(replay.every((e) => e.actor!.attributes.name === 'evented' && e.actor!.id === id)).toBe(true);
    // Unfiltered, the same four with consecutive seqs, and then nothing until `until` ends the stream.
    const all = await collectEvents({ sinceSeq: from, until: new Date(Date.now() + 300) });
    expect(all.map((e) => [e.seq, e.action])).toEqual(['create', 'start', 'die', 'destroy'].map((a, i) => [from + 1 + i, a]));
    expect(await code(collectEvents({ filters: ['colour=red'] }, 1))).toMatch(/^3 /);
    // until in the past: a replay that ends by itself.
    const past = await collectEvents({ since: new Date(0), until: new Date(Date.now() - 60_000) });
    expect(past).toEqual([]);
  });

  /** Events of a subscription: the first n, or all of a replay that ends (until in the past). */
  async function collectEvents(req: Partial<EventsRequest>, n?: number): Promise<Event[]> {
    const stream = d.clients.system.events(EventsRequest.fromPartial(req));
    const out: Event[] = [];
    try {
      for await (const e of stream) {
        out.push(e as Event);
        if (out.length === n) break;
      }
    } finally {
      stream.cancel();
    }
    return out;
  }
});

// Stats and top on real cgroups and namespaces, as root: a busy loop shows as about one CPU, the stream ticks and
// ends with its cgroup, a fresh net namespace has only lo, and processes in a new pid namespace show their own pids.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Cgroups, detectLayout, type ContainerCgroup } from '../../src/cgroups/manager';
import { sampleStats, streamStats, type StatsInput } from '../../src/containers/stats';
import { listProcesses } from '../../src/containers/top';
import { IS_ROOT } from '../helpers/paths';

const PARENT = `berth-test-${crypto.randomBytes(4).toString('hex')}`;
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n';
const children = new Set<ChildProcess>();
/** Host pids started outside `children` (the init of a pid namespace), killed even if a test fails early. */
const strays = new Set<number>();

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  children.add(child);
  return child;
}

/** Runs script in cg from its first instruction: the shell waits on stdin until its pid has joined. */
async function startIn(cg: ContainerCgroup, script: string): Promise<ChildProcess> {
  const child = start('sh', ['-c', `read _; ${script}`]);
  await cg.addProcess(child.pid!);
  child.stdin!.end('go\n');
  return child;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // the process has not started or has exited yet: the caller polls again
  }
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return ''; // the process has exited: the caller polls again and times out
  }
}

afterAll(async () => {
  if (!IS_ROOT) return;
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone with its namespace
    }
  }
  const exits = [...children].filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit'));
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(exits);
  const groups = new Cgroups(PARENT);
  for (const id of await groups.list()) {
    await groups.open(id).killAll();
    await groups.open(id).destroy();
  }
  const layout = detectLayout();
  const roots = layout.version === 2 ? [layout.root] : [...new Set([...Object.values(layout.mounts), ...(layout.unified ? [layout.unified] : [])])];
  for (const root of roots) {
    try {
      fs.rmdirSync(path.join(root, PARENT));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no test made a cgroup here
    }
  }
  for (const root of roots) expect(fs.existsSync(path.join(root, PARENT))).toBe(false);
});

describe.skipIf(!IS_ROOT)('container stats and top', () => {
  const groups = new Cgroups(PARENT);
  const inputFor = (cgroup: ContainerCgroup, startedAt: Date, pid = 0): StatsInput => ({ id: cgroup.id, name: `n-${cgroup.id}`, cgroup, pid, startedAt });

  it('sees a busy loop as about one CPU, its memory and both processes', async () => {
    const cg = await groups.create('busy', {});
    const startedAt = new Date();
    await startIn(cg, 'while :; do :; done');
    await startIn(cg, 'exec sleep 60');
    const input = inputFor(cg, startedAt);
    const first = await until('cpu usage', async () => {
      const s = await sampleStats(input);
      return s.cpu!.totalUsageUs > 0 ? s : undefined;
    });
    expect(first.cpuPercent).toBeGreaterThan(0);
    expect(first.preread).toBeUndefined();
    await sleep(1000);
    const second = await sampleStats(input, first);
    expect(second.cpu!.totalUsageUs).toBeGreaterThan(first.cpu!.totalUsageUs);
    expect(second.cpu!.systemUsageUs).toBeGreaterThan(first.cpu!.systemUsageUs);
    expect(second.preread).toBe(first.read);
    // One loop is 100% on an idle host; other load on the host takes its share, so the percent is held to the
    // loop's CPU time over the wall clock (the host's ticks add up to online CPUs x wall time) and a loose range.
    const wallUs = (second.read!.getTime() - first.read!.getTime()) * 1000;
    const share = ((second.cpu!.totalUsageUs - first.cpu!.totalUsageUs) / wallUs) * 100;
    expect(second.cpuPercent).toBeGreaterThan(share * 0.85);
    expect(second.cpuPercent).toBeLessThan(share * 1.15);
    expect(second.cpuPercent).toBeGreaterThan(20);
    expect(second.cpuPercent).toBeLessThan(250);
    expect(second.memory!.usageBytes).toBeGreaterThan(0);
    expect(second.memoryPercent).toBeGreaterThan(0);
    expect(second.pids!.current).toBe(2);
    expect(second.networks).toEqual([]);
  });

  it('streams a first sample at once, then one per interval, and ends when the cgroup is destroyed', async () => {
    const cg = await groups.create('stream', {});
    await startIn(cg, 'exec sleep 60');
    const begin = Date.now();
    const at: number[] = [];
    for await (const s of streamStats(inputFor(cg, new Date()), { intervalMs: 200 })) {
      at.push(Date.now() - begin);
      expect(s.pids!.current).toBe(1);
      if (at.length === 5) {
        await cg.killAll();
        await cg.destroy();
      }
    }
    expect(at[0]).toBeLessThan(500);
    expect(at).toHaveLength(5);
    // Samples start 200 ms apart; when each one is yielded depends on how long reading it took.
    expect(at[4] - at[0]).toBeGreaterThan(4 * 200 - 100);
    expect(at[4] - at[0]).toBeLessThan(4 * 400);
  });

  it('stops the stream when the signal aborts', async () => {
    const cg = await groups.create('abort', {});
    const controller = new AbortController();
    let count = 0;
    for await (const _ of streamStats(inputFor(cg, new Date()), { intervalMs: 50, signal: controller.signal })) {
      if (++count === 3) controller.abort();
    }
    expect(count).toBe(3);
  });

  it('shows only lo, with nothing received, for a process in a fresh network namespace', async () => {
    const cg = await groups.create('net', {});
    const child = start('unshare', ['-n', 'sleep', '60']);
    const ourNet = fs.readlinkSync('/proc/self/ns/net');
    await until('the new net namespace', () => readLink(`/proc/${child.pid}/ns/net`) !== ourNet || undefined);
    const s = await sampleStats(inputFor(cg, new Date(), child.pid!));
    expect(s.networks.map((n) => n.interface)).toEqual(['lo']);
    expect(s.networks[0].rxBytes).toBe(0);
    const gone = await sampleStats(inputFor(cg, new Date(), 2 ** 22 + 1));
    expect(gone.networks).toEqual([]);
  });

  it('lists processes of a new pid namespace with their own pids, parents, args and user', async () => {
    const cg = await groups.create('top', {});
    // The namespace's init waits on stdin until it has joined the cgroup, so the sleep it forks joins too.
    const unshare = start('unshare', ['-pf', '--mount-proc', 'sh', '-c', 'read _; sleep 60 & exec sleep 60']);
    const init = await until('the namespace init', () => Number(readOr(`/proc/${unshare.pid}/task/${unshare.pid}/children`).trim()) || undefined);
    strays.add(init);
    await cg.addProcess(init);
    unshare.stdin!.end('go\n');
    await until('two sleeps', async () => {
      const pids = await cg.pids();
      return pids.length === 2 && pids.every((pid) => readOr(`/proc/${pid}/cmdline`) === 'sleep\x0060\x00') || undefined;
    });

    const before = Date.now();
    const processes = await listProcesses([...(await cg.pids()), 2 ** 22 + 1], PASSWD);
    expect(processes.map((p) => ({ pid: p.pid, ppid: p.ppid, args: p.args, uid: p.uid, user: p.user, state: p.state }))).toEqual([
      // A sleep just started may still be running (R) on a slow machine before it sleeps (S).
      { pid: 1, ppid: 0, args: ['sleep', '60'], uid: 0, user: 'root', state: expect.stringMatching(/^[RS]$/) },
      { pid: 2, ppid: 1, args: ['sleep', '60'], uid: 0, user: 'root', state: expect.stringMatching(/^[RS]$/) },
    ]);
    expect(processes[0].hostPid).toBe(init);
    for (const p of processes) {
      expect(p.rssBytes).toBeGreaterThan(0);
      expect(p.cpuTimeMs).toBeLessThan(1000);
      // starttime has clock-tick resolution and btime whole seconds.
      expect(Math.abs(p.started!.getTime() - before)).toBeLessThan(10_000);
    }
    expect((await listProcesses(await cg.pids(), ''))[0].user).toBe('0');
  });
});

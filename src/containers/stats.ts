// Stats samples of a running container, as `docker stats` shows them: the cgroup's counters, the host's CPU
// time from /proc/stat (the base for cpu_percent) and the counters of its network namespace from /proc/<pid>/net/dev.
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerCgroup } from '../cgroups/manager';
import { kindOf, wrap } from '../errors';
import type { ContainerStats, CpuStats, NetworkStats } from '../gen/berth/v1/containers';

export interface StatsInput {
  id: string;
  name: string;
  cgroup: ContainerCgroup;
  /** The container's init on the host; 0 = unknown (then no network stats). */
  pid: number;
  /** When the container started (for the first sample's cpu_percent). */
  startedAt: Date;
}

/** Clock ticks per second in /proc/stat and /proc/<pid>/stat: USER_HZ, 100 on every Linux ABI (getconf CLK_TCK). */
export const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
const DEFAULT_INTERVAL_MS = 1000;

export interface ProcStat {
  /** CPU time of the whole host in ticks: the first "cpu" line. */
  totalTicks: number;
  /** The "cpuN" lines: proc(5) lists online CPUs only. */
  onlineCpus: number;
  /** btime: boot time in seconds since the epoch. */
  bootTimeSec: number;
}

/**
 * proc(5) /proc/stat. The total sums user..steal and leaves out guest and guest_nice: the kernel already counts
 * them in user and nice (Docker sums user..softirq; steal is time the host had but could not give us).
 */
export function parseProcStat(text: string): ProcStat {
  const stat: ProcStat = { totalTicks: 0, onlineCpus: 0, bootTimeSec: 0 };
  for (const line of text.split('\n')) {
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'cpu') stat.totalTicks = fields.slice(0, 8).reduce((sum, f) => sum + (Number(f) || 0), 0);
    else if (/^cpu\d+$/.test(key)) stat.onlineCpus++;
    else if (key === 'btime') stat.bootTimeSec = Number(fields[0]) || 0;
  }
  return stat;
}

/** /proc/<pid>/net/dev: two header lines, then "iface: rx bytes packets errs drop fifo frame compressed multicast tx ...". */
export function parseNetDev(text: string): NetworkStats[] {
  return text.split('\n').slice(2).flatMap((line) => {
    // Old kernels print big counters right after the colon, without a space.
    const colon = line.indexOf(':');
    if (colon < 0) return [];
    const n = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (n.length < 16 || n.some((v) => !Number.isFinite(v))) return [];
    return [{
      interface: line.slice(0, colon).trim(),
      rxBytes: n[0], rxPackets: n[1], rxErrors: n[2], rxDropped: n[3],
      txBytes: n[8], txPackets: n[9], txErrors: n[10], txDropped: n[11],
    }];
  });
}

/** One sample. previous: the sample before (fills preread/precpu and cpu_percent from the change); without it, cpu_percent is the average since startedAt. */
export async function sampleStats(input: StatsInput, previous?: ContainerStats): Promise<ContainerStats> {
  // The cgroup and the host counters are read back to back, so both deltas cover the same time.
  const cg = await input.cgroup.stats();
  const host = parseProcStat(await readProc('/proc/stat'));
  const read = new Date();
  const networks = input.pid > 0 ? await readNetworks(input.pid) : [];

  const us = (ns: number) => Math.floor(ns / 1000);
  const cpu: CpuStats = {
    totalUsageUs: us(cg.cpu.usageNs), userUs: us(cg.cpu.userNs), systemUs: us(cg.cpu.systemNs),
    systemUsageUs: us(host.totalTicks * NS_PER_TICK), onlineCpus: host.onlineCpus || os.cpus().length,
    throttledPeriods: cg.cpu.throttledPeriods, throttledUs: us(cg.cpu.throttledNs),
  };
  const hostMemory = os.totalmem();
  const limitBytes = cg.memory.limitBytes > 0 && cg.memory.limitBytes < hostMemory ? cg.memory.limitBytes : 0;
  // Page cache can be dropped under pressure, so the Docker CLI leaves it out of the share.
  const memoryPercent = (Math.max(0, cg.memory.usageBytes - cg.memory.cacheBytes) / (limitBytes || hostMemory)) * 100;

  return {
    id: input.id, name: input.name, read, preread: previous?.read, cpu, precpu: previous?.cpu,
    memory: { usageBytes: cg.memory.usageBytes, limitBytes, cacheBytes: cg.memory.cacheBytes, maxUsageBytes: cg.memory.maxUsageBytes },
    pids: { current: cg.pids.current, limit: cg.pids.limit },
    networks,
    blkio: { readBytes: cg.blkio.readBytes, writeBytes: cg.blkio.writeBytes, readOps: cg.blkio.readOps, writeOps: cg.blkio.writeOps },
    cpuPercent: cpuPercent(cpu, read, input.startedAt, previous?.cpu),
    memoryPercent,
  };
}

/** One sample at once, then one every intervalMs until signal aborts or the cgroup is gone (stats() throws NotFound) — ends quietly then. */
export async function* streamStats(input: StatsInput, opts: { intervalMs?: number; signal?: AbortSignal }): AsyncGenerator<ContainerStats> {
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  let previous: ContainerStats | undefined;
  while (!opts.signal?.aborted) {
    const startedMs = Date.now();
    try {
      previous = await sampleStats(input, previous);
    } catch (err) {
      if (kindOf(err) === 'NotFound') return; // the container's cgroup was removed: it has stopped
      throw err;
    }
    yield previous;
    // The interval counts from the start of the sample, so a slow sample or consumer does not stretch it.
    const waitMs = Math.max(0, startedMs + intervalMs - Date.now());
    try {
      await sleep(waitMs, undefined, { signal: opts.signal });
    } catch {
      return; // only an abort rejects the timer: the consumer is gone
    }
  }
}

/** Docker's formula: the container's share of the host's CPU time, times the CPUs; the first sample averages since start. */
function cpuPercent(cpu: CpuStats, read: Date, startedAt: Date, previous?: CpuStats): number {
  if (previous) {
    const container = cpu.totalUsageUs - previous.totalUsageUs;
    const system = cpu.systemUsageUs - previous.systemUsageUs;
    return container > 0 && system > 0 ? (container / system) * cpu.onlineCpus * 100 : 0;
  }
  const elapsedUs = (read.getTime() - startedAt.getTime()) * 1000;
  return elapsedUs > 0 ? (cpu.totalUsageUs / elapsedUs) * 100 : 0;
}

/** The interfaces of the process's network namespace; none when it has exited or its /proc is unreadable. */
async function readNetworks(pid: number): Promise<NetworkStats[]> {
  try {
    return parseNetDev(await fs.promises.readFile(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return []; // the process exited between the cgroup read and this one: the sample is still good without networks
  }
}

async function readProc(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    throw wrap(err, `read ${file}`);
  }
}

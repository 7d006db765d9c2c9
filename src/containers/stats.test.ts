import os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { CgroupStats, ContainerCgroup } from '../cgroups/manager';
import { EngineError } from '../errors';
import { parseNetDev, parseProcStat, sampleStats, streamStats, type StatsInput } from './stats';

const PROC_STAT = `cpu  255135 10 464751 1039168 2950 5 699 181 40 2
cpu0 120000 0 230623 529704 810 0 147 85 0 0
cpu1 135135 10 234127 509464 2139 5 551 96 40 2
intr 123456 0 9 0
ctxt 987654
btime 1700000000
processes 29600
procs_running 2
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0
  eth0:997542464   30397    1    2    0     0          0         0  2927856   21495    3    4    0     0       0          0
`;

describe('parseProcStat', () => {
  it('sums user..steal of the first cpu line, counts the cpuN lines and reads btime', () => {
    expect(parseProcStat(PROC_STAT)).toEqual({
      totalTicks: 255135 + 10 + 464751 + 1039168 + 2950 + 5 + 699 + 181, onlineCpus: 2, bootTimeSec: 1700000000,
    });
  });

  it('reads a kernel with fewer cpu fields and no btime as far as it goes', () => {
    expect(parseProcStat('cpu  1 2 3 4\ncpu0 1 2 3 4\n')).toEqual({ totalTicks: 10, onlineCpus: 1, bootTimeSec: 0 });
  });
});

describe('parseNetDev', () => {
  it('gives one entry per interface, lo included, with a counter glued to the colon', () => {
    expect(parseNetDev(NET_DEV)).toEqual([
      { interface: 'lo', rxBytes: 6386, rxPackets: 58, rxErrors: 0, rxDropped: 0, txBytes: 6386, txPackets: 58, txErrors: 0, txDropped: 0 },
      { interface: 'eth0', rxBytes: 997542464, rxPackets: 30397, rxErrors: 1, rxDropped: 2, txBytes: 2927856, txPackets: 21495, txErrors: 3, txDropped: 4 },
    ]);
  });

  it('skips the headers, blank and short lines', () => {
    expect(parseNetDev(`${NET_DEV.split('\n').slice(0, 2).join('\n')}\n  bad: 1 2 3\n\n`)).toEqual([]);
  });
});

const GiB = 1024 ** 3;

function fakeCgroup(stats: (call: number) => CgroupStats): ContainerCgroup {
  let calls = 0;
  return { stats: async () => stats(++calls) } as unknown as ContainerCgroup;
}

function cgStats(over: { usageNs?: number; memory?: Partial<CgroupStats['memory']> } = {}): CgroupStats {
  return {
    cpu: { usageNs: over.usageNs ?? 0, userNs: 1, systemNs: 2, periods: 3, throttledPeriods: 4, throttledNs: 5 },
    memory: { usageBytes: GiB, limitBytes: 0, cacheBytes: 0, maxUsageBytes: 2 * GiB, ...over.memory },
    pids: { current: 3, limit: 0 },
    blkio: { readBytes: 10, writeBytes: 20, readOps: 1, writeOps: 2 },
  };
}

function input(cgroup: ContainerCgroup, startedAt = new Date()): StatsInput {
  return { id: 'abc', name: 'web', cgroup, pid: 0, startedAt };
}

describe('sampleStats', () => {
  it('averages the first sample over the time since start, as percent of one CPU', async () => {
    const s = await sampleStats(input(fakeCgroup(() => cgStats({ usageNs: 0.5e9 })), new Date(Date.now() - 1000)));
    expect(s.cpuPercent).toBeGreaterThan(45);
    expect(s.cpuPercent).toBeLessThanOrEqual(50);
    expect(s.preread).toBeUndefined();
    expect(s.precpu).toBeUndefined();
    expect(s.networks).toEqual([]);
    expect(s.pids).toEqual({ current: 3, limit: 0 });
    expect(s.blkio).toEqual({ readBytes: 10, writeBytes: 20, readOps: 1, writeOps: 2 });
  });

  it('takes later samples from the change since the previous one, times the online CPUs', async () => {
    const cgroup = fakeCgroup((call) => cgStats({ usageNs: call * 1e8 }));
    const first = await sampleStats(input(cgroup));
    const second = await sampleStats(input(cgroup), first);
    expect(second.preread).toBe(first.read);
    expect(second.precpu).toBe(first.cpu);
    const systemUs = second.cpu!.systemUsageUs - first.cpu!.systemUsageUs;
    expect(second.cpuPercent).toBe(systemUs > 0 ? (1e5 / systemUs) * second.cpu!.onlineCpus * 100 : 0);
    expect(second.cpu!.onlineCpus).toBeGreaterThan(0);
  });

  it('reports a limit below host memory and the share of it without cache', async () => {
    const memory = { usageBytes: 600 * 1024 ** 2, cacheBytes: 100 * 1024 ** 2, limitBytes: 1000 * 1024 ** 2 };
    const s = await sampleStats(input(fakeCgroup(() => cgStats({ memory }))));
    expect(s.memory).toEqual({ ...memory, maxUsageBytes: 2 * GiB });
    expect(s.memoryPercent).toBeCloseTo(50);
  });

  it('reports no limit at or above host memory and takes the share of host memory', async () => {
    const memory = { usageBytes: GiB, cacheBytes: 0, limitBytes: os.totalmem() };
    const s = await sampleStats(input(fakeCgroup(() => cgStats({ memory }))));
    expect(s.memory!.limitBytes).toBe(0);
    expect(s.memoryPercent).toBeCloseTo((GiB / os.totalmem()) * 100);
  });
});

describe('streamStats', () => {
  it('ends quietly when the cgroup is gone', async () => {
    const cgroup = fakeCgroup((call) => {
      if (call > 3) throw new EngineError('NotFound', 'cgroup x: does not exist');
      return cgStats({ usageNs: call });
    });
    const samples = [];
    for await (const s of streamStats(input(cgroup), { intervalMs: 5 })) samples.push(s);
    expect(samples).toHaveLength(3);
    expect(samples[2].precpu).toBe(samples[1].cpu);
  });

  it('passes on other errors', async () => {
    const cgroup = fakeCgroup(() => {
      throw new EngineError('PermissionDenied', 'read cpuacct.usage: permission denied');
    });
    await expect(streamStats(input(cgroup), { intervalMs: 5 }).next()).rejects.toThrow(/permission denied/);
  });

  it('ends when the signal aborts, also during the wait', async () => {
    const controller = new AbortController();
    const samples = [];
    for await (const s of streamStats(input(fakeCgroup(() => cgStats())), { intervalMs: 60_000, signal: controller.signal })) {
      samples.push(s);
      setTimeout(() => controller.abort(), 10);
    }
    expect(samples).toHaveLength(1);
  });
});

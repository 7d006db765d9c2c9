import { describe, expect, it } from 'vitest';
import { v1Writes, v2Writes, validateResources, type Resources } from './resources';

const MiB = 1024 * 1024;

describe('validateResources', () => {
  it.each<Resources>([
    {},
    { memoryBytes: 0, memorySwapBytes: 0, cpuShares: 0, cpuQuotaUs: 0, cpuPeriodUs: 0, pidsLimit: 0 },
    { memoryBytes: 6 * MiB, memorySwapBytes: 6 * MiB },
    { memoryBytes: 64 * MiB, memorySwapBytes: -1 },
    { memorySwapBytes: -1 },
    { cpuShares: 2 }, { cpuShares: 262144 },
    { cpuQuotaUs: 1000, cpuPeriodUs: 1000 }, { cpuQuotaUs: -1, cpuPeriodUs: 1_000_000 },
    { cpusetCpus: '0', cpusetMems: '0' }, { cpusetCpus: '0-3,5,7-7' }, { cpusetCpus: '' },
    { pidsLimit: -1 }, { pidsLimit: 1 },
  ])('accepts %j', (r) => expect(validateResources(r)).toBeUndefined());

  it.each<[Resources, string]>([
    [{ memoryBytes: 1000 }, 'memoryBytes 1000: below the 6 MiB minimum'],
    [{ memoryBytes: -1 }, 'memoryBytes -1: below the 6 MiB minimum'],
    [{ memoryBytes: 1.5 }, 'memoryBytes 1.5: not an integer'],
    [{ memoryBytes: Number.NaN }, 'memoryBytes NaN: not an integer'],
    [{ memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB }, `memorySwapBytes ${32 * MiB}: below memoryBytes ${64 * MiB}`],
    [{ memorySwapBytes: 64 * MiB }, `memorySwapBytes ${64 * MiB}: needs memoryBytes set`],
    [{ memoryBytes: 64 * MiB, memorySwapBytes: -2 }, 'memorySwapBytes -2: must be -1 (unlimited), 0 (default) or a byte count'],
    [{ cpuShares: 1 }, 'cpuShares 1: outside 2..262144'],
    [{ cpuShares: 262145 }, 'cpuShares 262145: outside 2..262144'],
    [{ cpuQuotaUs: 999 }, 'cpuQuotaUs 999: below the 1000 (1ms) minimum'],
    [{ cpuQuotaUs: -2 }, 'cpuQuotaUs -2: below the 1000 (1ms) minimum'],
    [{ cpuPeriodUs: 999 }, 'cpuPeriodUs 999: outside 1000..1000000'],
    [{ cpuPeriodUs: 1_000_001 }, 'cpuPeriodUs 1000001: outside 1000..1000000'],
    [{ cpusetCpus: '0-' }, 'cpusetCpus "0-": not a list such as "0-2,4"'],
    [{ cpusetCpus: '3-1' }, 'cpusetCpus "3-1": not a list such as "0-2,4"'],
    [{ cpusetCpus: '0, 1' }, 'cpusetCpus "0, 1": not a list such as "0-2,4"'],
    [{ cpusetMems: 'all' }, 'cpusetMems "all": not a list such as "0-2,4"'],
    [{ pidsLimit: -2 }, 'pidsLimit -2: below -1'],
  ])('refuses %j naming the field and value', (r, message) => expect(validateResources(r)).toBe(message));
});

describe('v1Writes', () => {
  it('writes nothing for no limits, so update leaves the others alone', () => {
    expect(v1Writes({})).toEqual([]);
  });

  it('writes every limit in order, memory before memsw', () => {
    expect(v1Writes({
      memoryBytes: 64 * MiB, memorySwapBytes: 96 * MiB, cpuShares: 512, cpuQuotaUs: 50_000, cpuPeriodUs: 200_000,
      cpusetCpus: '0-1', cpusetMems: '0', pidsLimit: 10,
    })).toEqual([
      { controller: 'memory', file: 'memory.limit_in_bytes', value: String(64 * MiB) },
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(96 * MiB) },
      { controller: 'cpu', file: 'cpu.shares', value: '512' },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '200000' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '50000' },
      { controller: 'cpuset', file: 'cpuset.cpus', value: '0-1' },
      { controller: 'cpuset', file: 'cpuset.mems', value: '0' },
      { controller: 'pids', file: 'pids.max', value: '10' },
    ]);
  });

  it('defaults memsw to twice memory, skippable where swap accounting is off (as Docker)', () => {
    expect(v1Writes({ memoryBytes: 64 * MiB })).toEqual([
      { controller: 'memory', file: 'memory.limit_in_bytes', value: String(64 * MiB) },
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(128 * MiB), optional: true },
    ]);
  });

  it('an explicit swap limit is not optional; -1 is unlimited', () => {
    expect(v1Writes({ memoryBytes: 64 * MiB, memorySwapBytes: -1 })[1]).toEqual(
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '-1' });
    expect(v1Writes({ memorySwapBytes: -1 })).toEqual([{ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '-1' }]);
  });

  it('0 resets each limit to unlimited or the default', () => {
    expect(v1Writes({ memoryBytes: 0, cpuShares: 0, cpuQuotaUs: 0, cpuPeriodUs: 0, pidsLimit: 0 }).map((w) => `${w.file}=${w.value}`)).toEqual([
      'memory.limit_in_bytes=-1', 'memory.memsw.limit_in_bytes=-1', 'cpu.shares=1024', 'cpu.cfs_period_us=100000',
      'cpu.cfs_quota_us=-1', 'pids.max=max',
    ]);
    expect(v1Writes({ cpuQuotaUs: -1, pidsLimit: -1 }).map((w) => w.value)).toEqual(['-1', 'max']);
  });
});

describe('v2Writes', () => {
  it('writes nothing for no limits', () => {
    expect(v2Writes({})).toEqual([]);
  });

  it('writes swap alone into memory.swap.max (runc: total - memory)', () => {
    expect(v2Writes({ memoryBytes: 64 * MiB, memorySwapBytes: 96 * MiB })).toEqual([
      { file: 'memory.max', value: String(64 * MiB) },
      { file: 'memory.swap.max', value: String(32 * MiB) },
    ]);
    expect(v2Writes({ memoryBytes: 64 * MiB, memorySwapBytes: 64 * MiB })[1]).toEqual({ file: 'memory.swap.max', value: '0' });
    expect(v2Writes({ memoryBytes: 64 * MiB, memorySwapBytes: -1 })[1]).toEqual({ file: 'memory.swap.max', value: 'max' });
  });

  it('defaults swap to as much as memory, optional', () => {
    expect(v2Writes({ memoryBytes: 64 * MiB })[1]).toEqual({ file: 'memory.swap.max', value: String(64 * MiB), optional: true });
    expect(v2Writes({ memoryBytes: 0 })).toEqual([{ file: 'memory.max', value: 'max' }, { file: 'memory.swap.max', value: 'max', optional: true }]);
  });

  it.each([[2, '1'], [1024, '39'], [262144, '10000'], [0, '100']])('converts %i cpu shares to cpu.weight %s', (shares, weight) => {
    expect(v2Writes({ cpuShares: shares })).toEqual([{ file: 'cpu.weight', value: weight }]);
  });

  it.each<[Resources, string]>([
    [{ cpuQuotaUs: 50_000 }, '50000 100000'],
    [{ cpuQuotaUs: 50_000, cpuPeriodUs: 200_000 }, '50000 200000'],
    [{ cpuPeriodUs: 200_000 }, 'max 200000'],
    [{ cpuQuotaUs: 0 }, 'max 100000'],
    [{ cpuQuotaUs: -1 }, 'max 100000'],
  ])('writes cpu.max for %j as %s', (r, value) => {
    expect(v2Writes(r)).toEqual([{ file: 'cpu.max', value }]);
  });

  it('writes cpuset and pids', () => {
    expect(v2Writes({ cpusetCpus: '0,1', cpusetMems: '0', pidsLimit: 10 })).toEqual([
      { file: 'cpuset.cpus', value: '0,1' }, { file: 'cpuset.mems', value: '0' }, { file: 'pids.max', value: '10' },
    ]);
    expect(v2Writes({ pidsLimit: -1 })).toEqual([{ file: 'pids.max', value: 'max' }]);
  });
});

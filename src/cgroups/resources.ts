// Resource limits as Docker spells them, checked and turned into the cgroup file writes each version needs.
// Pure: manager.ts performs the writes. A field left undefined is not written, so the same writes serve
// create (a new cgroup already has the defaults) and update (only the named limits change).

export interface Resources {
  /** 0 = unlimited. */
  memoryBytes?: number;
  /** Docker's meaning: memory + swap. -1 = unlimited swap; 0 = default, twice memoryBytes when that is set. */
  memorySwapBytes?: number;
  /** 0 = the kernel's default weight. */
  cpuShares?: number;
  /** 0 or -1 = unlimited. */
  cpuQuotaUs?: number;
  /** 0 = 100000. */
  cpuPeriodUs?: number;
  /** A CPU list such as "0-1" or "0,2"; "" = unset. */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** 0 or -1 = unlimited. */
  pidsLimit?: number;
}

/** `optional` marks a limit we chose, not the caller: skipped where the host lacks its file (swap accounting off). */
export interface V1Write { controller: string; file: string; value: string; optional?: boolean }
export interface V2Write { file: string; value: string; optional?: boolean }

export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
const DEFAULT_PERIOD_US = 100_000;
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** The first problem found, as `${field} ${value}: ${why}`; undefined when r is acceptable (Docker's rules). */
export function validateResources(r: Resources): string | undefined {
  for (const field of ['memoryBytes', 'memorySwapBytes', 'cpuShares', 'cpuQuotaUs', 'cpuPeriodUs', 'pidsLimit'] as const) {
    const v = r[field];
    if (v !== undefined && !Number.isSafeInteger(v)) return `${field} ${v}: not an integer`;
  }
  const memory = r.memoryBytes ?? 0;
  const swap = r.memorySwapBytes ?? 0;
  if (memory !== 0 && memory < MIN_MEMORY_BYTES) return `memoryBytes ${memory}: below the 6 MiB minimum`;
  if (swap < -1) return `memorySwapBytes ${swap}: must be -1 (unlimited), 0 (default) or a byte count`;
  if (swap > 0 && memory === 0) return `memorySwapBytes ${swap}: needs memoryBytes set`;
  if (swap > 0 && swap < memory) return `memorySwapBytes ${swap}: below memoryBytes ${memory}`;
  const shares = r.cpuShares ?? 0;
  if (shares !== 0 && (shares < 2 || shares > 262144)) return `cpuShares ${shares}: outside 2..262144`;
  const quota = r.cpuQuotaUs ?? 0;
  if (quota !== 0 && quota !== -1 && quota < 1000) return `cpuQuotaUs ${quota}: below the 1000 (1ms) minimum`;
  const period = r.cpuPeriodUs ?? 0;
  if (period !== 0 && (period < 1000 || period > 1_000_000)) return `cpuPeriodUs ${period}: outside 1000..1000000`;
  for (const field of ['cpusetCpus', 'cpusetMems'] as const) {
    const list = r[field];
    if (list && !isCpuList(list)) return `${field} ${JSON.stringify(list)}: not a list such as "0-2,4"`;
  }
  if ((r.pidsLimit ?? 0) < -1) return `pidsLimit ${r.pidsLimit}: below -1`;
  return undefined;
}

export function v1Writes(r: Resources): V1Write[] {
  const writes: V1Write[] = [];
  const add = (controller: string, file: string, value: string | number, optional = false) =>
    writes.push({ controller, file, value: String(value), ...(optional && { optional }) });
  // memory.limit_in_bytes may never exceed memsw: manager.ts writes memsw first when raising (see applyV1).
  if (r.memoryBytes !== undefined) add('memory', 'memory.limit_in_bytes', r.memoryBytes > 0 ? r.memoryBytes : -1);
  const total = swapTotal(r);
  if (total) add('memory', 'memory.memsw.limit_in_bytes', total.bytes, total.optional);
  if (r.cpuShares !== undefined) add('cpu', 'cpu.shares', r.cpuShares || 1024);
  if (r.cpuPeriodUs !== undefined) add('cpu', 'cpu.cfs_period_us', r.cpuPeriodUs || DEFAULT_PERIOD_US);
  if (r.cpuQuotaUs !== undefined) add('cpu', 'cpu.cfs_quota_us', r.cpuQuotaUs > 0 ? r.cpuQuotaUs : -1);
  if (r.cpusetCpus) add('cpuset', 'cpuset.cpus', r.cpusetCpus);
  if (r.cpusetMems) add('cpuset', 'cpuset.mems', r.cpusetMems);
  if (r.pidsLimit !== undefined) add('pids', 'pids.max', r.pidsLimit > 0 ? r.pidsLimit : 'max');
  return writes;
}

/**
 * cgroup v2 files. memory.swap.max holds swap alone (runc: total - memory). cpu.max holds quota and period
 * together, so naming either one writes both, the other at its default.
 */
export function v2Writes(r: Resources): V2Write[] {
  const writes: V2Write[] = [];
  const add = (file: string, value: string | number, optional = false) =>
    writes.push({ file, value: String(value), ...(optional && { optional }) });
  if (r.memoryBytes !== undefined) add('memory.max', r.memoryBytes > 0 ? r.memoryBytes : 'max');
  const total = swapTotal(r);
  if (total) add('memory.swap.max', total.bytes === -1 ? 'max' : total.bytes - (r.memoryBytes ?? 0), total.optional);
  // runc's linear map of shares [2, 262144] onto weight [1, 10000]; 0 restores the kernel's default of 100.
  if (r.cpuShares !== undefined) add('cpu.weight', r.cpuShares ? 1 + Math.floor(((r.cpuShares - 2) * 9999) / 262142) : 100);
  if (r.cpuQuotaUs !== undefined || r.cpuPeriodUs !== undefined) {
    const quota = r.cpuQuotaUs && r.cpuQuotaUs > 0 ? r.cpuQuotaUs : 'max';
    add('cpu.max', `${quota} ${r.cpuPeriodUs || DEFAULT_PERIOD_US}`);
  }
  if (r.cpusetCpus) add('cpuset.cpus', r.cpusetCpus);
  if (r.cpusetMems) add('cpuset.mems', r.cpusetMems);
  if (r.pidsLimit !== undefined) add('pids.max', r.pidsLimit > 0 ? r.pidsLimit : 'max');
  return writes;
}

/** Memory + swap to write (-1 = unlimited), or undefined to leave it; Docker doubles memory when swap is unset. */
function swapTotal(r: Resources): { bytes: number; optional: boolean } | undefined {
  const swap = r.memorySwapBytes ?? 0;
  if (swap !== 0) return { bytes: swap, optional: false };
  if (r.memoryBytes === undefined) return undefined;
  return { bytes: r.memoryBytes > 0 ? 2 * r.memoryBytes : -1, optional: true };
}

function isCpuList(list: string): boolean {
  if (!CPU_LIST.test(list)) return false;
  return list.split(',').every((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return from <= to;
  });
}

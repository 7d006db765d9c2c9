// Resource limits from the API (Config's memory fields, HostConfig's cpu and pids fields, Update's
// Resources) to the domain's Resources; every problem names the proto field and its value.
import fs from 'node:fs';
import os from 'node:os';
import { validateResources, type Resources } from '../cgroups/resources';
import { EngineError, invalidArgument } from '../errors';

/** The API's fields; undefined = not given. */
export interface ResourceFields {
  memory?: number;
  memorySwap?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  nanoCpus?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
}

/** The proto field each of ResourceFields comes from, for error messages. */
export type FieldNames = Record<keyof ResourceFields, string>;

const DOMAIN_NAMES: Record<string, keyof ResourceFields> = {
  memoryBytes: 'memory', memorySwapBytes: 'memorySwap', cpuShares: 'cpuShares', cpuQuotaUs: 'cpuQuota',
  cpuPeriodUs: 'cpuPeriod', cpusetCpus: 'cpusetCpus', cpusetMems: 'cpusetMems', pidsLimit: 'pidsLimit',
};
const NANO = 1e9;
const DEFAULT_PERIOD_US = 100_000;

export function resourcesFromFields(f: ResourceFields, names: FieldNames): Resources {
  if (f.nanoCpus !== undefined && f.nanoCpus !== 0) {
    if (f.cpuQuota || f.cpuPeriod) throw invalidArgument(names.nanoCpus, f.nanoCpus, `conflicts with ${names.cpuQuota} and ${names.cpuPeriod}: give one or the other`);
    const cpus = os.cpus().length;
    if (f.nanoCpus < 0.01 * NANO || f.nanoCpus > cpus * NANO) {
      throw invalidArgument(names.nanoCpus, f.nanoCpus, `CPUs must be from 0.01 to ${cpus} (times 1e9)`);
    }
  }
  const r: Resources = {
    memoryBytes: f.memory, memorySwapBytes: f.memorySwap, cpuShares: f.cpuShares,
    cpuQuotaUs: f.nanoCpus ? Math.round((f.nanoCpus * DEFAULT_PERIOD_US) / NANO) : f.cpuQuota,
    cpuPeriodUs: f.nanoCpus ? DEFAULT_PERIOD_US : f.cpuPeriod,
    cpusetCpus: f.cpusetCpus, cpusetMems: f.cpusetMems, pidsLimit: f.pidsLimit,
  };
  const problem = validateResources(r);
  if (problem) {
    // "memoryBytes 1000: below ..." -> "config.memory 1000: below ..."
    const [domain] = problem.split(' ', 1);
    const field = DOMAIN_NAMES[domain];
    throw new EngineError('InvalidArgument', field ? `${names[field]}${problem.slice(domain.length)}` : problem);
  }
  // As Docker, CPUs and memory nodes the host does not have are refused now rather than at start.
  // Asked only when the request names some: os.cpus() reads /proc (0.1 ms a create).
  const max = r.cpusetCpus ? os.cpus().length - 1 : 0;
  if (r.cpusetCpus && Math.max(...r.cpusetCpus.split(/[,-]/).map(Number)) > max) {
    throw invalidArgument(names.cpusetCpus, r.cpusetCpus, `this host has CPUs 0-${max}`);
  }
  const nodes = r.cpusetMems ? onlineNodes() : undefined;
  if (r.cpusetMems && nodes !== undefined && Math.max(...r.cpusetMems.split(/[,-]/).map(Number)) > nodes) {
    throw invalidArgument(names.cpusetMems, r.cpusetMems, `this host has memory nodes 0-${nodes}`);
  }
  return r;
}

/** The highest memory node the host has online; undefined where the kernel does not say (no NUMA support). */
export function onlineNodes(file = '/sys/devices/system/node/online'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const ids = text.split(/[,-]/).map(Number);
  return ids.every(Number.isInteger) ? Math.max(...ids) : undefined;
}

/** Only the limits that are set, for a record: zero values of a create are "not given". */
export function nonZero(r: Resources): Resources {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== 0 && v !== '')) as Resources;
}

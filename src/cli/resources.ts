// Resource and restart flags shared by `berth run`/`create` and `berth update`, read as docker reads them:
// sizes like "512m" (binary units), --cpus as a decimal, --restart as "on-failure:3".
import { UsageError, type FlagSpec } from './args';
import type { Resources, RestartPolicy } from '../gen/berth/v1/containers';

export const RESOURCE_FLAGS: Record<string, FlagSpec> = {
  memory: { short: 'm', kind: 'string' },
  'memory-swap': { kind: 'string' },
  'cpu-shares': { short: 'c', kind: 'string' },
  cpus: { kind: 'string' },
  'cpu-quota': { kind: 'string' },
  'cpu-period': { kind: 'string' },
  'cpuset-cpus': { kind: 'string' },
  'cpuset-mems': { kind: 'string' },
  'pids-limit': { kind: 'string' },
  restart: { kind: 'string' },
};

function invalid(flag: string, value: string, expected: string): UsageError {
  return new UsageError(`invalid argument ${JSON.stringify(value)} for --${flag}: expected ${expected}`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * Bytes from "1024", "1024b", "100k", "512m", "1.5g", "1GiB" (docker's RAMInBytes: the units are binary,
 * whatever the spelling, and a fraction of a byte is dropped).
 */
export function parseBytes(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?$/i.exec(value);
  if (!m) throw invalid(flag, value, 'a size like 1024, 100k, 512m or 1g');
  const bytes = Math.trunc(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw invalid(flag, value, 'a size below 8 PiB');
  return bytes;
}

/** --memory-swap: a size, or -1 for unlimited swap. */
export function parseSwap(value: string, flag: string): number {
  return value === '-1' ? -1 : parseBytes(value, flag);
}

/** --cpus 1.5 -> 1500000000 nano CPUs; more than nine decimals is an error, as docker's "too precise". */
export function parseNanoCpus(value: string, flag: string): number {
  const m = /^(\d*)(?:\.(\d+))?$/.exec(value);
  if (!m || (!m[1] && !m[2])) throw invalid(flag, value, 'a number of CPUs like 1.5');
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw invalid(flag, value, 'at most nine decimals');
  const nano = Number(m[1] || '0') * 1e9 + Number(fraction.padEnd(9, '0'));
  if (!Number.isSafeInteger(nano)) throw invalid(flag, value, 'fewer CPUs');
  return nano;
}

export function parseInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw invalid(flag, value, 'an integer');
  return n;
}

/** "no", "always", "unless-stopped", "on-failure" or "on-failure:N"; only on-failure takes a count. */
export function parseRestartPolicy(value: string, flag = 'restart'): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
  if (!m) throw invalid(flag, value, 'no, always, unless-stopped, on-failure or on-failure:N');
  if (m[2] !== undefined && m[1] !== 'on-failure') {
    throw new UsageError(`invalid argument ${JSON.stringify(value)} for --${flag}: only on-failure takes a maximum retry count`);
  }
  const maximumRetryCount = Number(m[2] ?? 0);
  if (maximumRetryCount > 2 ** 31 - 1) throw invalid(flag, value, 'a smaller retry count');
  return { name: m[1], maximumRetryCount };
}

/** The resource flags that were given, and only those (Update changes only the fields that are set). */
export function parseResources(flags: Record<string, unknown>): Resources {
  const text = (name: string) => flags[name] as string | undefined;
  const read = <T>(name: string, parse: (value: string, flag: string) => T): T | undefined => {
    const value = text(name);
    return value === undefined ? undefined : parse(value, name);
  };
  const resources: Resources = {
    memory: read('memory', parseBytes),
    memorySwap: read('memory-swap', parseSwap),
    cpuShares: read('cpu-shares', parseInteger),
    nanoCpus: read('cpus', parseNanoCpus),
    cpuQuota: read('cpu-quota', parseInteger),
    cpuPeriod: read('cpu-period', parseInteger),
    cpusetCpus: text('cpuset-cpus'),
    cpusetMems: text('cpuset-mems'),
    pidsLimit: read('pids-limit', parseInteger),
  };
  // Unset keys stay out of the object, so a test (or a log line) sees exactly what was asked for.
  return Object.fromEntries(Object.entries(resources).filter(([, v]) => v !== undefined)) as Resources;
}

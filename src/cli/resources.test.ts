import { describe, expect, it } from 'vitest';
import { UsageError } from './args';
import { parseBytes, parseInteger, parseNanoCpus, parseResources, parseRestartPolicy, parseSwap } from './resources';

describe('parseBytes', () => {
  it.each([
    ['1024', 1024], ['1024b', 1024], ['100k', 102_400], ['100K', 102_400], ['512m', 512 * 2 ** 20], ['512MB', 512 * 2 ** 20],
    ['1g', 2 ** 30], ['1GiB', 2 ** 30], ['1.5g', 1.5 * 2 ** 30], ['2 m', 2 * 2 ** 20], ['0.5k', 512], ['1t', 2 ** 40],
  ])('%s is %i bytes', (text, bytes) => expect(parseBytes(text, 'memory')).toBe(bytes));

  it.each(['', 'abc', '-1', '12x', 'm', '1.2.3m', '1kk', '99999999p'])('%j is a usage error naming the flag and value', (text) => {
    expect(() => parseBytes(text, 'memory')).toThrow(UsageError);
    expect(() => parseBytes(text, 'memory')).toThrow(`invalid argument ${JSON.stringify(text)} for --memory`);
  });

  it('takes -1 as unlimited swap, and only for swap', () => {
    expect(parseSwap('-1', 'memory-swap')).toBe(-1);
    expect(parseSwap('1g', 'memory-swap')).toBe(2 ** 30);
    expect(() => parseBytes('-1', 'memory')).toThrow(UsageError);
  });
});

describe('parseNanoCpus', () => {
  it.each([
    ['1', 1e9], ['1.5', 1.5e9], ['0.5', 5e8], ['.25', 2.5e8], ['2.000000001', 2_000_000_001], ['1.0000000000', 1e9], ['0', 0],
  ])('%s CPUs is %i nano CPUs', (text, nano) => expect(parseNanoCpus(text, 'cpus')).toBe(nano));

  it.each(['', '.', 'one', '-1', '1.5.1', '1e3', '0.0000000001'])('%j is a usage error', (text) => {
    expect(() => parseNanoCpus(text, 'cpus')).toThrow(`for --cpus`);
  });
});

describe('parseRestartPolicy', () => {
  it.each([
    ['no', { name: 'no', maximumRetryCount: 0 }],
    ['always', { name: 'always', maximumRetryCount: 0 }],
    ['unless-stopped', { name: 'unless-stopped', maximumRetryCount: 0 }],
    ['on-failure', { name: 'on-failure', maximumRetryCount: 0 }],
    ['on-failure:3', { name: 'on-failure', maximumRetryCount: 3 }],
  ])('%s', (text, policy) => expect(parseRestartPolicy(text)).toEqual(policy));

  it.each(['', 'sometimes', 'always:3', 'no:1', 'on-failure:', 'on-failure:-1', 'on-failure:x', 'on-failure:99999999999'])('%j is a usage error', (text) => {
    expect(() => parseRestartPolicy(text)).toThrow(UsageError);
  });
});

describe('parseResources', () => {
  it('sets only the fields given', () => {
    expect(parseResources({ memory: '64m' })).toEqual({ memory: 64 * 2 ** 20 });
    expect(parseResources({})).toEqual({});
  });

  it('reads every resource flag', () => {
    expect(parseResources({
      memory: '1g', 'memory-swap': '-1', 'cpu-shares': '512', cpus: '1.5', 'cpu-quota': '-1', 'cpu-period': '100000',
      'cpuset-cpus': '0-1', 'cpuset-mems': '0', 'pids-limit': '100',
    })).toEqual({
      memory: 2 ** 30, memorySwap: -1, cpuShares: 512, nanoCpus: 1.5e9, cpuQuota: -1, cpuPeriod: 100_000,
      cpusetCpus: '0-1', cpusetMems: '0', pidsLimit: 100,
    });
  });

  it('names the flag of a bad integer', () => {
    expect(() => parseResources({ 'pids-limit': '1.5' })).toThrow('invalid argument "1.5" for --pids-limit: expected an integer');
    expect(() => parseInteger('12a', 'cpu-shares')).toThrow(UsageError);
  });
});

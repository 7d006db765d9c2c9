// Resource fields from a request: each problem names the proto field, and the host's CPUs and memory nodes bound the sets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlineNodes, resourcesFromFields, type FieldNames } from './resources';

const NAMES: FieldNames = {
  memory: 'resources.memory', memorySwap: 'resources.memory_swap', cpuShares: 'resources.cpu_shares', cpuQuota: 'resources.cpu_quota',
  cpuPeriod: 'resources.cpu_period', nanoCpus: 'resources.nano_cpus', cpusetCpus: 'resources.cpuset_cpus', cpusetMems: 'resources.cpuset_mems',
  pidsLimit: 'resources.pids_limit',
};

describe('resourcesFromFields', () => {
  it.each<[Record<string, unknown>, RegExp]>([
    [{ memory: -1 }, /^resources\.memory -1: below the 6 MiB minimum/],
    [{ cpuShares: 1 }, /^resources\.cpu_shares 1/],
    [{ pidsLimit: -2 }, /^resources\.pids_limit -2/],
    [{ cpusetCpus: `0-${os.cpus().length}` }, /^resources\.cpuset_cpus "0-\d+": this host has CPUs/],
    [{ nanoCpus: 1 }, /^resources\.nano_cpus 1/],
  ])('%j names its field', (fields, message) => {
    expect(() => resourcesFromFields(fields, NAMES)).toThrow(message);
  });

  it.skipIf(onlineNodes() === undefined)('refuses memory nodes the host does not have', () => {
    expect(() => resourcesFromFields({ cpusetMems: String(onlineNodes()! + 1) }, NAMES)).toThrow(/^resources\.cpuset_mems "\d+": this host has memory nodes 0-/);
    expect(resourcesFromFields({ cpusetMems: '0' }, NAMES).cpusetMems).toBe('0');
  });
});

describe('onlineNodes', () => {
  it('reads the kernel\'s list, and says nothing where there is none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-nodes-'));
    try {
      fs.writeFileSync(path.join(dir, 'online'), '0-3,6\n');
      expect(onlineNodes(path.join(dir, 'online'))).toBe(6);
      fs.writeFileSync(path.join(dir, 'odd'), 'x\n');
      expect(onlineNodes(path.join(dir, 'odd'))).toBeUndefined();
      expect(onlineNodes(path.join(dir, 'missing'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

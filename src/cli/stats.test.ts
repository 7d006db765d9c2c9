import { describe, expect, it } from 'vitest';
import { ContainerStats } from '../gen/berth/v1/containers';
import { statsRow, statsTable } from './stats';

const GIB = 2 ** 30;

function sample(patch: Partial<ContainerStats> = {}): ContainerStats {
  return {
    id: '5f3c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f', name: 'web', read: undefined, preread: undefined,
    cpu: undefined, precpu: undefined,
    memory: { usageBytes: 1.5 * 2 ** 20, limitBytes: GIB, cacheBytes: 0, maxUsageBytes: 0 },
    pids: { current: 3, limit: 0 },
    networks: [
      { interface: 'eth0', rxBytes: 1000, txBytes: 648, rxPackets: 0, rxErrors: 0, rxDropped: 0, txPackets: 0, txErrors: 0, txDropped: 0 },
      { interface: 'eth1', rxBytes: 200, txBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 0, txPackets: 0, txErrors: 0, txDropped: 0 },
    ],
    blkio: { readBytes: 12_345_678, writeBytes: 0, readOps: 0, writeOps: 0 },
    cpuPercent: 12.345, memoryPercent: 0.146484375,
    ...patch,
  };
}

describe('stats rows', () => {
  it('shows memory in binary units and I/O in decimal ones, as docker stats', () => {
    expect(statsRow(sample(), 8 * GIB)).toEqual([
      '5f3c1a2b3c4d', 'web', '12.35%', '1.5MiB / 1GiB', '0.15%', '1.2kB / 648B', '12.3MB / 0B', '3',
    ]);
  });

  it('shows the host memory as the limit when there is none below it', () => {
    const row = statsRow(sample({ memory: { usageBytes: 8_036_352, limitBytes: 0, cacheBytes: 0, maxUsageBytes: 0 } }), 7.5 * GIB);
    expect(row[3]).toBe('7.664MiB / 7.5GiB');
  });

  it('copes with an empty sample and a leading slash in the name', () => {
    expect(statsRow(sample({ name: '/db', memory: undefined, pids: undefined, networks: [], blkio: undefined, cpuPercent: 0, memoryPercent: 0 }), GIB))
      .toEqual(['5f3c1a2b3c4d', 'db', '0.00%', '0B / 1GiB', '0.00%', '0B / 0B', '0B / 0B', '0']);
  });

  it('lays the table out under docker stats\' header', () => {
    expect(statsTable([sample()], GIB)).toBe([
      'CONTAINER ID   NAME   CPU %    MEM USAGE / LIMIT   MEM %   NET I/O        BLOCK I/O     PIDS',
      '5f3c1a2b3c4d   web    12.35%   1.5MiB / 1GiB       0.15%   1.2kB / 648B   12.3MB / 0B   3',
      '',
    ].join('\n'));
    expect(statsTable([], GIB)).toBe('CONTAINER ID   NAME   CPU %   MEM USAGE / LIMIT   MEM %   NET I/O   BLOCK I/O   PIDS\n');
  });
});

import { describe, expect, it } from 'vitest';
import type { ContainerProcess } from '../gen/berth/v1/containers';
import { cpuTime, startTime, topTable } from './top';

const NOW = new Date(2026, 10, 30, 15, 0, 0);

function proc(patch: Partial<ContainerProcess>): ContainerProcess {
  return { hostPid: 0, pid: 0, ppid: 0, uid: 0, user: 'root', state: 'S', cpuTimeMs: 0, started: NOW, rssBytes: 0, args: [], ...patch };
}

describe('top', () => {
  it('shows host pids as PID and PPID, the container pid as CPID', () => {
    const text = topTable([
      proc({ hostPid: 4242, pid: 1, ppid: 0, args: ['sh', '-c', 'sleep 1000'], started: new Date(2026, 10, 30, 14, 5), cpuTimeMs: 1500 }),
      proc({ hostPid: 4250, pid: 7, ppid: 1, uid: 65534, user: '', args: ['sleep', '1000'], started: new Date(2026, 10, 29, 9, 0) }),
    ], NOW);
    expect(text).toBe([
      'UID     PID    PPID   CPID   STIME   TIME       CMD',
      'root    4242   -      1      14:05   00:00:01   sh -c sleep 1000',
      '65534   4250   4242   7      Nov29   00:00:00   sleep 1000',
      '',
    ].join('\n'));
  });

  it('prints STIME as ps does', () => {
    expect(startTime(new Date(2026, 10, 30, 0, 7), NOW)).toBe('00:07');
    expect(startTime(new Date(2026, 0, 3, 23, 0), NOW)).toBe('Jan03');
    expect(startTime(new Date(2025, 11, 31), NOW)).toBe('2025');
    expect(startTime(undefined, NOW)).toBe('-');
  });

  it.each([[0, '00:00:00'], [59_999, '00:00:59'], [3_723_000, '01:02:03'], [90_061_000, '1-01:01:01']])('%i ms of CPU is %s', (ms, text) => {
    expect(cpuTime(ms)).toBe(text);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCmdline, parsePidStat, parsePidStatus } from './top';

describe('parsePidStat', () => {
  it('reads state, ppid, utime + stime and starttime', () => {
    const stat = '29595 (bash) S 29593 29593 28025 0 -1 4194368 102 133 0 2 70 30 0 0 20 0 1 0 893742 4595712 404 18446744073709551615 0 0\n';
    expect(parsePidStat(stat)).toEqual({ comm: 'bash', state: 'S', ppid: 29593, cpuTicks: 100, startTicks: 893742 });
  });

  it('counts fields after the last parenthesis when comm holds spaces and parentheses', () => {
    const stat = '42 (a) b (c) R 7 42 42 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1234 0 0';
    expect(parsePidStat(stat)).toEqual({ comm: 'a) b (c', state: 'R', ppid: 7, cpuTicks: 11, startTicks: 1234 });
  });

  it('refuses a line without a comm', () => {
    expect(() => parsePidStat('42 S 1')).toThrow(/malformed stat line/);
  });
});

describe('parsePidStatus', () => {
  const status = (lines: string[]) => `Name:\tsleep\nState:\tS (sleeping)\n${lines.join('\n')}\nThreads:\t1\n`;

  it('takes the innermost NSpid, the real uid and VmRSS in bytes', () => {
    const text = status(['Pid:\t31002', 'PPid:\t31001', 'Uid:\t1000\t0\t0\t0', 'NSpid:\t31002\t2', 'VmRSS:\t    1804 kB']);
    expect(parsePidStatus(text)).toEqual({ nsPid: 2, uid: 1000, rssBytes: 1804 * 1024 });
  });

  it('falls back to Pid without NSpid and to 0 bytes without VmRSS (zombies, kernel threads)', () => {
    expect(parsePidStatus(status(['Pid:\t2', 'Uid:\t0\t0\t0\t0']))).toEqual({ nsPid: 2, uid: 0, rssBytes: 0 });
  });
});

describe('parseCmdline', () => {
  it.each([
    ['sleep\x0060\x00', ['sleep', '60']],
    ['sh\x00-c\x00echo a  b\x00\x00', ['sh', '-c', 'echo a  b', '']],
    ['', []],
  ])('%j is %j', (text, args) => {
    expect(parseCmdline(text)).toEqual(args);
  });
});

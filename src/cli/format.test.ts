import { describe, expect, it } from 'vitest';
import type { Container } from '../gen/berth/v1/containers';
import { binarySize, decimalSize, duration, statusText, table } from './format';

describe('format', () => {
  it('aligns columns', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1'], ['p', '22']])).toBe('A     LONGER\nxyz   1\np     22\n');
  });

  it.each([[500, 'Less than a second'], [1000, '1 second'], [59_000, '59 seconds'], [90_000, '2 minutes'], [3_600_000, 'About an hour']])(
    '%i ms reads %s', (ms, text) => expect(duration(ms)).toBe(text),
  );

  it.each([[0, '0B'], [648, '648B'], [999, '999B'], [1000, '1kB'], [1200, '1.2kB'], [12_345_678, '12.3MB'], [1.5e9, '1.5GB'], [999_600, '1000kB']])(
    '%i bytes in decimal units is %s', (bytes, text) => expect(decimalSize(bytes)).toBe(text),
  );

  it('gives prune four digits, as docker HumanSize', () => {
    expect(decimalSize(12_345_678, 4)).toBe('12.35MB');
  });

  it.each([[0, '0B'], [1023, '1023B'], [1024, '1KiB'], [1.5 * 2 ** 20, '1.5MiB'], [8_036_352, '7.664MiB'], [2 ** 30, '1GiB'], [2 ** 40 * 3, '3TiB']])(
    '%i bytes in binary units is %s', (bytes, text) => expect(binarySize(bytes)).toBe(text),
  );

  it('shows paused and restarting containers as docker ps does', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const state = {
      status: 'paused', running: true, paused: true, restarting: false, oomKilled: false, pid: 1, exitCode: 0, signal: 0, error: '',
      startedAt: new Date(now - 120_000), finishedAt: new Date(now - 5000),
    };
    expect(statusText({ state } as Container, now)).toBe('Up 2 minutes (Paused)');
    expect(statusText({ state: { ...state, status: 'restarting', running: false, paused: false, restarting: true, exitCode: 1 } } as Container, now))
      .toBe('Restarting (1) 5 seconds ago');
  });
});

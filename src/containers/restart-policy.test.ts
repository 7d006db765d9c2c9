import { describe, expect, it } from 'vitest';
import { initialState } from './model';
import { FIRST_DELAY_MS, MAX_DELAY_MS, nextDelay, parseRestartPolicy, restartsAtDaemonStart, shouldRestart } from './restart-policy';

describe('restart policy', () => {
  it('parses the four names; a retry count only with on-failure', () => {
    expect(parseRestartPolicy('', 0, 'p')).toBeUndefined();
    expect(parseRestartPolicy('no', 0, 'p')).toBeUndefined();
    expect(parseRestartPolicy('always', 0, 'p')).toEqual({ name: 'always', maxRetries: 0 });
    expect(parseRestartPolicy('on-failure', 3, 'p')).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(() => parseRestartPolicy('sometimes', 0, 'p')).toThrow(/p.name "sometimes"|sometimes/);
    expect(() => parseRestartPolicy('always', 2, 'p')).toThrow(/only on-failure/);
    expect(() => parseRestartPolicy('on-failure', -1, 'p')).toThrow(/maximum_retry_count/);
  });

  it('decides after an exit: on-failure only for non-zero and within its count; never after a client stop', () => {
    const s = (exitCode: number, restartCount = 0, manuallyStopped = false) => ({ exitCode, restartCount, manuallyStopped });
    expect(shouldRestart(undefined, s(1))).toBe(false);
    expect(shouldRestart({ name: 'always', maxRetries: 0 }, s(0))).toBe(true);
    expect(shouldRestart({ name: 'unless-stopped', maxRetries: 0 }, s(0))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 0 }, s(0))).toBe(false);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 0 }, s(3, 100))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 2 }, s(3, 1))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 2 }, s(3, 2))).toBe(false);
    expect(shouldRestart({ name: 'always', maxRetries: 0 }, s(137, 0, true))).toBe(false);
  });

  it('at daemon start: always even after a stop, unless-stopped not after one, nothing that never ran', () => {
    const ran = { ...initialState(), status: 'exited' as const, startedAt: '2026-01-01T00:00:00Z', manuallyStopped: true };
    expect(restartsAtDaemonStart({ name: 'always', maxRetries: 0 }, ran)).toBe(true);
    expect(restartsAtDaemonStart({ name: 'unless-stopped', maxRetries: 0 }, ran)).toBe(false);
    expect(restartsAtDaemonStart({ name: 'unless-stopped', maxRetries: 0 }, { ...ran, manuallyStopped: false })).toBe(true);
    expect(restartsAtDaemonStart({ name: 'always', maxRetries: 0 }, initialState())).toBe(false);
  });

  it('backs off from 100 ms, doubling to a minute, and starts over after a run of 10 s', () => {
    expect(nextDelay(0, 0)).toBe(FIRST_DELAY_MS);
    expect(nextDelay(100, 50)).toBe(200);
    expect(nextDelay(400, 50)).toBe(800);
    expect(nextDelay(MAX_DELAY_MS, 50)).toBe(MAX_DELAY_MS);
    expect(nextDelay(50_000, 50)).toBe(MAX_DELAY_MS);
    expect(nextDelay(6400, 10_000)).toBe(FIRST_DELAY_MS);
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError } from './args';
import { parseSince, parseTime } from './time-flag';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

describe('parseTime', () => {
  it.each([
    ['10m', NOW - 600_000], ['1h30m', NOW - 5_400_000], ['30s', NOW - 30_000], ['1.5h', NOW - 5_400_000], ['250ms', NOW - 250],
  ])('%s is that long before now', (text, ms) => expect(parseTime(text, '--since', NOW)!.getTime()).toBe(ms));

  it('reads Unix seconds, with a fraction too', () => {
    expect(parseTime('1700000000', '--since', NOW)!.getTime()).toBe(1_700_000_000_000);
    expect(parseTime('1700000000.25', '--since', NOW)!.getTime()).toBe(1_700_000_000_250);
  });

  it('reads RFC 3339', () => {
    expect(parseTime('2026-11-30T02:19:42Z', '--since', NOW)!.toISOString()).toBe('2026-11-30T02:19:42.000Z');
    expect(parseTime('2026-11-30T02:19:42.5+01:00', '--since', NOW)!.toISOString()).toBe('2026-11-30T01:19:42.500Z');
  });

  it('leaves an absent flag undefined and rejects nonsense', () => {
    expect(parseTime(undefined, '--since', NOW)).toBeUndefined();
    expect(() => parseTime('yesterday', '--until', NOW)).toThrow(UsageError);
    expect(() => parseTime('10m5', '--until', NOW)).toThrow('--until 10m5');
  });
});

describe('parseSince', () => {
  it('maps seq:N to since_seq', () => {
    expect(parseSince('seq:42', '--since', NOW)).toEqual({ sinceSeq: 42, since: undefined });
  });

  it('asks for everything with seq:0, which since_seq alone cannot say', () => {
    expect(parseSince('seq:0', '--since', NOW)).toEqual({ sinceSeq: 0, since: new Date(0) });
  });

  it('reads anything else as a time', () => {
    expect(parseSince('10m', '--since', NOW)).toEqual({ sinceSeq: 0, since: new Date(NOW - 600_000) });
    expect(parseSince(undefined, '--since', NOW)).toEqual({ sinceSeq: 0, since: undefined });
  });

  it.each(['seq:', 'seq:-1', 'seq:1.5', 'seq:x'])('%j is a usage error', (text) => {
    expect(() => parseSince(text, '--since', NOW)).toThrow(UsageError);
  });
});

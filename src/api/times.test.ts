// Timestamps from requests: set or not, a time a Date holds, until not before since.
import { describe, expect, it } from 'vitest';
import { timeRange, timestamp } from './times';

describe('timestamp', () => {
  it('passes a real time and an unset one through', () => {
    expect(timestamp(new Date(1000), 'since')).toEqual(new Date(1000));
    expect(timestamp(undefined, 'since')).toBeUndefined();
  });

  it('refuses a Timestamp past what a Date holds (it decodes as an invalid Date)', () => {
    expect(() => timestamp(new Date(NaN), 'until')).toThrow(/^until "Invalid Date": not a time/);
  });
});

describe('timeRange', () => {
  it('takes either bound alone, or both in order', () => {
    expect(timeRange(new Date(1), undefined)).toEqual({ since: new Date(1), until: undefined });
    expect(timeRange(undefined, new Date(1))).toEqual({ since: undefined, until: new Date(1) });
    expect(timeRange(new Date(1), new Date(1))).toEqual({ since: new Date(1), until: new Date(1) });
  });

  it('refuses until before since, and either one invalid', () => {
    expect(() => timeRange(new Date(2000), new Date(1000))).toThrow(/^until "1970-01-01T00:00:01.000Z": is before since 1970-01-01T00:00:02.000Z/);
    expect(() => timeRange(new Date(NaN), undefined)).toThrow(/^since /);
  });
});

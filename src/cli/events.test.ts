import { describe, expect, it } from 'vitest';
import type { Event } from '../gen/berth/v1/system';
import { eventLine, rfc3339Nano } from './events';

const ID = '5f3c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f';

function event(patch: Partial<Event> = {}): Event {
  return {
    seq: 42, time: new Date(Date.UTC(2026, 10, 30, 2, 19, 42, 801)), type: 'container', action: 'start',
    actor: { id: ID, attributes: { name: 'web', image: 'busybox' } }, ...patch,
  };
}

describe('event lines', () => {
  it('prints time, type, action, id, the attributes sorted, and the seq', () => {
    expect(eventLine(event())).toBe(`2026-11-30T02:19:42.801000000Z container start ${ID} (image=busybox, name=web) seq=42`);
  });

  it('leaves out the parentheses when there are no attributes', () => {
    expect(eventLine(event({ type: 'image', action: 'delete', actor: { id: 'sha256:ab', attributes: {} } })))
      .toBe('2026-11-30T02:19:42.801000000Z image delete sha256:ab seq=42');
  });

  it('sorts attributes by key, values with spaces and commas as they are', () => {
    expect(eventLine(event({ action: 'die', actor: { id: ID, attributes: { signal: '9', exitCode: '137', name: 'a b,c' } } })))
      .toMatch(/ \(exitCode=137, name=a b,c, signal=9\) seq=42$/);
  });

  it('always prints nine digits of the second', () => {
    expect(rfc3339Nano(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02T03:04:05.000000000Z');
    expect(rfc3339Nano(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7)))).toBe('2026-01-02T03:04:05.007000000Z');
  });
});

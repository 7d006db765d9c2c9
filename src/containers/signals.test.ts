import { describe, expect, it } from 'vitest';
import { parseSignal } from './signals';

describe('parseSignal', () => {
  it.each([['', 9], ['KILL', 9], ['sigterm', 15], ['SIGHUP', 1], ['10', 10], ['64', 64]])('%j is %i', (text, n) => {
    expect(parseSignal(text)).toBe(n);
  });

  it.each(['0', '65', 'NOPE', '-1', '9x'])('%j is refused naming the field', (text) => {
    expect(() => parseSignal(text)).toThrow(/^signal /);
  });
});

import { describe, expect, it } from 'vitest';
import { duration, table } from './format';

describe('format', () => {
  it('aligns columns', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1'], ['p', '22']])).toBe('A     LONGER\nxyz   1\np     22\n');
  });

  it.each([[500, 'Less than a second'], [1000, '1 second'], [59_000, '59 seconds'], [90_000, '2 minutes'], [3_600_000, 'About an hour']])(
    '%i ms reads %s', (ms, text) => expect(duration(ms)).toBe(text),
  );
});

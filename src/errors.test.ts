// invalidArgument's message: the field, the value as JSON (cut when long), and why.
import { describe, expect, it } from 'vitest';
import { invalidArgument, kindOf, wrap } from './errors';

describe('invalidArgument', () => {
  it('names the field and shows the value as JSON', () => {
    const err = invalidArgument('config.env', '=x', 'must be KEY=value');
    expect(err.message).toBe('config.env "=x": must be KEY=value');
    expect(kindOf(err)).toBe('InvalidArgument');
  });

  it('cuts a long value, so the status fits in the header a client accepts', () => {
    const err = invalidArgument('container_id', 'a'.repeat(100_000), 'not a container id or name');
    expect(err.message).toBe(`container_id "${'a'.repeat(1023)}... (100002 characters): not a container id or name`);
  });

  it('shows what JSON cannot hold', () => {
    expect(invalidArgument('size', 10n, 'too big').message).toBe('size 10: too big');
  });
});

describe('kindOf', () => {
  it('a name too long for the kernel is the input\'s fault, also when wrapped', () => {
    const tooLong = Object.assign(new Error('ENAMETOOLONG: name too long, open'), { code: 'ENAMETOOLONG' });
    expect(kindOf(tooLong)).toBe('InvalidArgument');
    expect(wrap(tooLong, 'extract layer').kind).toBe('InvalidArgument');
    expect(kindOf(Object.assign(new Error('EIO'), { code: 'EIO' }))).toBeUndefined();
  });
});

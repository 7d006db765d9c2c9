import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from './args';

const spec = {
  rm: { kind: 'bool' as const },
  interactive: { short: 'i', kind: 'bool' as const },
  tty: { short: 't', kind: 'bool' as const },
  env: { short: 'e', kind: 'list' as const },
  name: { kind: 'string' as const },
};

describe('parseFlags', () => {
  it('stops at the first positional so the command keeps its own flags', () => {
    const p = parseFlags(['--rm', '-e', 'A=1', '--env=B=2', '-eC=3', '--name', 'web', 'busybox', 'ls', '-l'], spec);
    expect(p.flags).toEqual({ rm: true, env: ['A=1', 'B=2', 'C=3'], name: 'web' });
    expect(p.positionals).toEqual(['busybox', 'ls', '-l']);
  });

  it('groups short booleans', () => {
    expect(parseFlags(['-it', 'x'], spec).flags).toMatchObject({ interactive: true, tty: true });
  });

  it('takes flags between positionals when interspersed', () => {
    expect(parseFlags(['a', '--rm', 'b'], spec, { interspersed: true })).toEqual({ flags: { rm: true, env: [] }, positionals: ['a', 'b'] });
  });

  it.each([[['--nope']], [['-x']], [['--name']]])('%j is a usage error', (argv) => {
    expect(() => parseFlags(argv, spec)).toThrow(UsageError);
  });
});

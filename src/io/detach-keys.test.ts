import { describe, expect, it } from 'vitest';
import { DetachScanner, parseDetachKeys } from './detach-keys';

describe('parseDetachKeys', () => {
  it.each([['ctrl-p,ctrl-q', [0x10, 0x11]], ['ctrl-a,x', [0x01, 0x78]], ['ctrl-@', [0]], ['ctrl-[', [0x1b]], ['ctrl-_', [0x1f]]])('%s', (spec, bytes) => {
    expect([...parseDetachKeys(spec)]).toEqual(bytes);
  });

  it.each(['ctrl-', 'alt-x', 'ab', 'ctrl-1'])('%j is refused', (spec) => {
    expect(() => parseDetachKeys(spec)).toThrow(/^detach_keys /);
  });
});

describe('DetachScanner', () => {
  const keys = parseDetachKeys('ctrl-p,ctrl-q');

  it('passes ordinary input through', () => {
    expect(new DetachScanner(keys).push(Buffer.from('hello'))).toEqual({ forward: Buffer.from('hello'), detached: false });
  });

  it('detaches on the sequence, even split across chunks, and drops what follows', () => {
    const s = new DetachScanner(keys);
    expect(s.push(Buffer.from('ab\x10'))).toEqual({ forward: Buffer.from('ab'), detached: false });
    expect(s.push(Buffer.from('\x11rest'))).toEqual({ forward: Buffer.alloc(0), detached: true });
  });

  it('releases held bytes when the sequence breaks', () => {
    const s = new DetachScanner(keys);
    expect(s.push(Buffer.from('\x10'))).toEqual({ forward: Buffer.alloc(0), detached: false });
    expect(s.push(Buffer.from('x'))).toEqual({ forward: Buffer.from('\x10x'), detached: false });
    expect(s.push(Buffer.from('\x10\x10\x11'))).toEqual({ forward: Buffer.from('\x10'), detached: true });
  });

  it('never detaches with no keys', () => {
    expect(new DetachScanner(Buffer.alloc(0)).push(Buffer.from('\x10\x11'))).toEqual({ forward: Buffer.from('\x10\x11'), detached: false });
  });
});

// Status details: what grpc-js can put in a trailer and a client will take.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors';
import { statusDetails, toStatus } from './status';

describe('status details', () => {
  it('leaves an ordinary message as it is', () => {
    expect(toStatus(new EngineError('NotFound', 'image busybox: not found'))).toMatchObject({ code: status.NOT_FOUND, details: 'image busybox: not found' });
  });

  it('replaces a lone surrogate (encodeURI would throw in grpc-js) and keeps pairs', () => {
    const details = statusDetails('os "\ud800" and \udc00 but 😀');
    expect(details).toBe('os "\ufffd" and \ufffd but 😀');
    expect(() => encodeURI(details)).not.toThrow();
  });

  it('cuts a long message to what a client takes, never inside a surrogate pair', () => {
    for (const unit of ['a', 'é', '😀']) {
      const details = statusDetails(`entry "${unit.repeat(300_000)}": too long`);
      expect(encodeURI(details).length).toBeLessThan(8 * 1024);
      expect(details).toMatch(/… \([0-9]+ bytes\)$/);
    }
  });
});

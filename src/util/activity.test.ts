// The activity clock that housekeeping waits on: a call's start and a stream's output both set it.
import { describe, expect, it } from 'vitest';
import { clientActivity, msSinceActivity } from './activity';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('activity', () => {
  it('counts from the last call begun or output carried, whichever came later', async () => {
    clientActivity();
    await sleep(60);
    expect(msSinceActivity()).toBeGreaterThanOrEqual(55);
    clientActivity();
    expect(msSinceActivity()).toBeLessThan(50);
    await sleep(60);
    expect(msSinceActivity()).toBeGreaterThanOrEqual(55);
    clientActivity();
    expect(msSinceActivity()).toBeLessThan(50);
  });
});

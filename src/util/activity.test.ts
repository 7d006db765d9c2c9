// The activity clock that housekeeping waits on: a call's start and a stream's output both set it.
import { describe, expect, it } from 'vitest';
import { callBegan, msSinceActivity, outputCarried } from './activity';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('activity', () => {
  it('counts from the last call begun or output carried, whichever came later', async () => {
    callBegan();
    await sleep(60);
    expect(msSinceActivity()).toBeGreaterThanOrEqual(55);
    outputCarried();
    expect(msSinceActivity()).toBeLessThan(50);
    await sleep(60);
    expect(msSinceActivity()).toBeGreaterThanOrEqual(55);
    callBegan();
    expect(msSinceActivity()).toBeLessThan(50);
  });
});

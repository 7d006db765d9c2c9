// A small seeded PRNG for the fuzz tests (sfc32, seeded through splitmix32), so that a seed printed by a failing
// run makes the same inputs again. Each input gets its own generator, derived from (seed, category, index).
import crypto from 'node:crypto';

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    let x = 0x9e3779b9;
    for (const s of seeds) x = splitmix(x ^ (s >>> 0));
    this.a = x = splitmix(x);
    this.b = x = splitmix(x);
    this.c = x = splitmix(x);
    this.d = splitmix(x);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Lengths skewed small: most inputs short, a few long. */
  size(max: number): number {
    return Math.min(max, Math.floor(Math.exp(this.next() / 0x1_0000_0000 * Math.log(max + 1))) - 1 + this.int(2));
  }
}

function splitmix(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The suite's own runs (npm test, CI) use one fixed seed, so that a failure there is the code's and replays
 * exactly; BERTH_FUZZ_SEED=random explores with a fresh seed each run, BERTH_FUZZ_SEED=<n> replays run n.
 */
export const DEFAULT_FUZZ_SEED = 4213683168;

export function fuzzSeed(): number {
  const given = process.env.BERTH_FUZZ_SEED;
  if (given === undefined || given === '') return DEFAULT_FUZZ_SEED;
  if (given !== 'random') {
    const n = Number(given);
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`BERTH_FUZZ_SEED ${JSON.stringify(given)}: expected an integer 0..4294967295`);
    return n;
  }
  return crypto.randomBytes(4).readUInt32BE(0);
}

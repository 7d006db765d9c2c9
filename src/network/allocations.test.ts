import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AllocationStore } from './allocations';

describe('AllocationStore', () => {
  const roots: string[] = [];
  afterEach(() => { for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true }); });

  it('applies overlapping sets and deletes one after another, losing none (on disk too)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-alloc-'));
    roots.push(root);
    const store = new AllocationStore(root);
    await store.load();
    await Promise.all([0, 1, 2, 3].map((i) => store.set(`old${i}`, { ip: `10.0.0.${i + 2}`, ports: [] })));
    // Starts and exits at once: each change must see the ones before it.
    await Promise.all([
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => store.set(`new${i}`, { ip: `10.0.1.${i + 2}`, ports: [] })),
      ...[0, 1, 2, 3].map((i) => store.delete(`old${i}`)),
    ]);
    const want = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `new${i}`);
    expect(store.ids().sort()).toEqual(want);
    const again = new AllocationStore(root);
    await again.load();
    expect(again.ids().sort()).toEqual(want);
  });
});

import { describe, expect, it } from 'vitest';
import { cgroup2Mount, enableFavorDynMods, favorOptions } from './favor';

const HYBRID = [
  '35 26 0:30 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755',
  '41 35 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  '42 35 0:39 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
].join('\n');

describe('favordynmods', () => {
  it('finds the cgroup2 mount and keeps its other options on the remount', () => {
    expect(cgroup2Mount(HYBRID)).toEqual({ mountPoint: '/sys/fs/cgroup/unified', options: ['rw', 'nsdelegate'] });
    expect(favorOptions(['rw', 'nsdelegate', 'memory_recursiveprot'])).toBe('nsdelegate,memory_recursiveprot,favordynmods');
    expect(cgroup2Mount('42 35 0:39 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu')).toBeUndefined();
  });

  it('remounts only when the option is off, and says whether it did', () => {
    const calls: unknown[] = [];
    const native = { mount: (o: unknown) => { calls.push(o); } };
    expect(enableFavorDynMods(native, HYBRID)).toBe(true);
    expect(calls).toEqual([{ source: 'cgroup2', target: '/sys/fs/cgroup/unified', fstype: 'cgroup2', flags: ['remount'], data: 'nsdelegate,favordynmods' }]);
    expect(enableFavorDynMods(native, HYBRID.replace('rw,nsdelegate', 'rw,nsdelegate,favordynmods'))).toBe(false);
    expect(calls).toHaveLength(1);
    expect(() => enableFavorDynMods(native, '')).toThrow('no cgroup2 mount');
  });
});

// berthd --cgroup-favordynmods: the kernel's switch for hosts that create cgroups and move processes
// into them often. Every move of a process between cgroups (v1 or v2) takes one global lock for
// writing, and by default that waits for an RCU grace period: 0.5 to 20 ms of each container start
// here (bench/README.md). With favordynmods on the cgroup2 mount the lock skips that wait, and fork
// and exit take a slightly slower path instead. It is a host-wide setting and outlives berthd, so
// Berth turns it on only when asked.
import fs from 'node:fs';
import { EngineError } from '../errors';
import type { Native } from '../native';

export interface Cgroup2Mount {
  mountPoint: string;
  /** The superblock options (the part of a mountinfo line after the source). */
  options: string[];
}

/** The first cgroup2 mount in a mountinfo text, if there is one. */
export function cgroup2Mount(mountinfo: string): Cgroup2Mount | undefined {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || fields[dash + 1] !== 'cgroup2') continue;
    const mountPoint = fields[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    return { mountPoint, options: (fields[dash + 3] ?? '').split(',').filter(Boolean) };
  }
  return undefined;
}

/** The options a remount must pass: cgroup2 takes its flags anew at each remount, so the others go along. */
export function favorOptions(current: string[]): string {
  return [...current.filter((o) => o !== 'rw' && o !== 'ro' && o !== 'favordynmods'), 'favordynmods'].join(',');
}

/** Turns favordynmods on; false when it was on already. Throws Unavailable without a cgroup2 mount. */
export function enableFavorDynMods(native: Pick<Native, 'mount'>, mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): boolean {
  const m = cgroup2Mount(mountinfo);
  if (!m) throw new EngineError('Unavailable', '--cgroup-favordynmods: there is no cgroup2 mount on this host');
  if (m.options.includes('favordynmods')) return false;
  native.mount({ source: 'cgroup2', target: m.mountPoint, fstype: 'cgroup2', flags: ['remount'], data: favorOptions(m.options) });
  return true;
}

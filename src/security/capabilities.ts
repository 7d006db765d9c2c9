// Capability names and the set a container gets: Docker's default set, adjusted by cap-add/cap-drop,
// or every capability the kernel knows for a privileged container. Pure, but for lastCap().
import * as fs from 'node:fs';
import { invalidArgument } from '../errors';

/** Linux capability numbers (linux/capability.h), without the CAP_ prefix. */
const NUMBERS: Record<string, number> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7,
  SETPCAP: 8, LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13,
  IPC_LOCK: 14, IPC_OWNER: 15, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20,
  SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23, SYS_RESOURCE: 24, SYS_TIME: 25, SYS_TTY_CONFIG: 26, MKNOD: 27,
  LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31, MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34,
  WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
};

/** What an unprivileged container keeps (Docker's default: CapBnd 00000000a80425fb). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

let kernelLastCap: number | undefined;

/**
 * The highest capability this kernel knows; names above it cannot be granted here. Read once: the
 * running kernel's number does not change, and every start asks (twice).
 */
export function lastCap(): number {
  if (kernelLastCap === undefined) {
    try {
      kernelLastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      kernelLastCap = NUMBERS.CHECKPOINT_RESTORE;
    }
  }
  return kernelLastCap;
}

/** Every capability name up to `last`, in number order. */
export function allCapabilities(last = lastCap()): string[] {
  return Object.entries(NUMBERS).filter(([, n]) => n <= last).map(([name]) => `CAP_${name}`);
}

/** "net_admin", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL"; an unknown name is INVALID_ARGUMENT. */
export function canonicalCapability(name: string, field: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (!(bare in NUMBERS)) throw invalidArgument(field, name, 'unknown capability');
  return `CAP_${bare}`;
}

export function capabilityNumber(name: string): number {
  return NUMBERS[name.replace(/^CAP_/, '')];
}

/**
 * Docker's rules: with ALL added, every capability but those dropped; otherwise the default set (none
 * with ALL dropped) minus the drops, plus the adds: an add wins over a drop of the same name.
 */
export function effectiveCapabilities(add: string[], drop: string[], privileged: boolean, last = lastCap()): string[] {
  const all = allCapabilities(last);
  if (privileged) return all;
  const adds = add.map((n) => canonicalCapability(n, 'host_config.cap_add'));
  const drops = drop.map((n) => canonicalCapability(n, 'host_config.cap_drop'));
  let kept: Set<string>;
  if (adds.includes('ALL')) {
    kept = new Set(all.filter((n) => !drops.includes(n)));
  } else {
    kept = new Set(drops.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((n) => !drops.includes(n)));
    for (const n of adds) kept.add(n);
  }
  for (const n of kept) {
    if (capabilityNumber(n) > last) throw invalidArgument('host_config.cap_add', n, `not known to this kernel (the last is ${last})`);
  }
  return all.filter((n) => kept.has(n));
}

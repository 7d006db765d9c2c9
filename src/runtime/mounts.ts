// A container's volumes and binds -> the bind mounts of its runtime spec. Pure.
import type { MountOp } from './spec';

export interface UserMount {
  /** Host path (a bind's source, or a volume's data directory). */
  source: string;
  destination: string;
  rw: boolean;
  /** What the source is: a file is bound onto a file. */
  kind: 'dir' | 'file';
}

/**
 * Read-write binds are recursive (docker's rbind), so mounts under a bound host directory come along.
 * Read-only ones are not: a bind's remount with MS_RDONLY covers only its top mount, and a writable
 * submount under a read-only bind would be a hole.
 */
export function userMountOps(mounts: UserMount[]): MountOp[] {
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  // Parents before children (a stable sort keeps the given order among equals), as Docker sorts them.
  return [...mounts]
    .sort((a, b) => depth(a.destination) - depth(b.destination))
    .map((m) => ({
      source: m.source, target: m.destination, fstype: '', data: '', kind: m.kind,
      flags: m.rw ? ['bind', 'rec'] : ['bind', 'ro'],
    }));
}

/** Our own mounts minus those a user mount replaces at the same path (a bind over /etc/hosts wins). */
export function withoutReplaced(ours: MountOp[], user: MountOp[]): MountOp[] {
  const taken = new Set(user.map((m) => m.target));
  return ours.filter((m) => !taken.has(m.target));
}

// A container's mounts at create, as Docker decides them: volumes-from first, binds over them at the same
// destination, then an anonymous volume for every volume path still free. Checking (plan) and making
// (realize) are apart so that a bad request fails before any volume exists.
import fsp from 'node:fs/promises';
import { EngineError, invalidArgument, kindOf, wrap } from '../errors';
import type { ContainerRecord, MountRecord } from '../containers/model';
import { log } from '../util/logger';
import { cleanVolumePaths, parseBind, parseVolumesFrom } from './specs';
import type { VolumeClaim, VolumeStore } from './store';

export interface MountRequest {
  volumes: string[];
  binds: string[];
  volumesFrom: string;
}

/** A mount decided but not made: `named` volumes are created when missing, `anonymous` ones always. */
export type PlannedMount =
  | { kind: 'bind'; source: string; destination: string; mode: string; rw: boolean }
  | { kind: 'named'; name: string; destination: string; mode: string; rw: boolean }
  | { kind: 'anonymous'; destination: string }
  | { kind: 'from'; mount: MountRecord };

export interface PlanDeps {
  /** Throws NotFound for an unknown container. */
  findContainer(ref: string): ContainerRecord;
}

/** Checks every bind, volumes-from entry and volume path; touches nothing but stat(2) of bind sources. */
export async function planMounts(req: MountRequest, deps: PlanDeps): Promise<PlannedMount[]> {
  const byDest = new Map<string, PlannedMount>();
  for (const from of parseVolumesFrom(req.volumesFrom)) {
    let other: ContainerRecord;
    try {
      other = deps.findContainer(from.container);
    } catch (err) {
      if (kindOf(err) !== 'NotFound') throw err;
      throw new EngineError('NotFound', `config.volumes_from ${JSON.stringify(from.container)}: container ${from.container}: not found`, { cause: err });
    }
    for (const m of other.hostConfig.mounts ?? []) {
      const rw = m.rw && from.mode !== 'ro';
      byDest.set(m.destination, { kind: 'from', mount: { ...m, mode: from.mode || m.mode, rw } });
    }
  }
  const bindDests = new Set<string>();
  for (const text of req.binds) {
    const b = parseBind(text);
    if (bindDests.has(b.destination)) throw invalidArgument('host_config.binds', text, `duplicate mount point ${b.destination}`);
    bindDests.add(b.destination);
    const rw = b.mode !== 'ro';
    if (b.isVolume) {
      byDest.set(b.destination, { kind: 'named', name: b.source, destination: b.destination, mode: b.mode, rw });
      continue;
    }
    try {
      await fsp.stat(b.source);
    } catch (err) {
      throw invalidArgument('host_config.binds', text, `bind source path ${b.source} does not exist (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    byDest.set(b.destination, { kind: 'bind', source: b.source, destination: b.destination, mode: b.mode, rw });
  }
  for (const dest of cleanVolumePaths(req.volumes)) {
    if (!byDest.has(dest)) byDest.set(dest, { kind: 'anonymous', destination: dest });
  }
  return [...byDest.values()];
}

export interface RealizedMounts {
  mounts: MountRecord[];
  /** Volumes this call made: a failed create removes them again. */
  created: string[];
  /** Volumes to fill from the image when empty: every one but those taken from another container. */
  fill: { name: string; destination: string }[];
}

/** Makes the volumes a plan needs, each held by claim; on failure removes those it made. */
export async function realizeMounts(plan: PlannedMount[], volumes: VolumeStore, claim: VolumeClaim): Promise<RealizedMounts> {
  const out: RealizedMounts = { mounts: [], created: [], fill: [] };
  try {
    for (const p of plan) {
      switch (p.kind) {
        case 'from':
          if (p.mount.type === 'volume') claim.add(p.mount.name);
          out.mounts.push(p.mount);
          break;
        case 'bind':
          out.mounts.push({ type: 'bind', name: '', source: p.source, destination: p.destination, mode: p.mode, rw: p.rw });
          break;
        case 'named':
        case 'anonymous': {
          const { volume, created } = await volumes.create(p.kind === 'named' ? { name: p.name, claim } : { anonymous: true, claim });
          if (created) out.created.push(volume.name);
          const mode = p.kind === 'named' ? p.mode : '';
          out.mounts.push({ type: 'volume', name: volume.name, source: volumes.dataPath(volume.name), destination: p.destination, mode, rw: p.kind === 'named' ? p.rw : true });
          out.fill.push({ name: volume.name, destination: p.destination });
          break;
        }
      }
    }
  } catch (err) {
    await removeVolumes(volumes, out.created);
    throw wrap(err, 'create volumes');
  }
  return out;
}

/** Best effort: what is left is prunable, and the caller's error is the one that matters. */
export async function removeVolumes(volumes: VolumeStore, names: string[]): Promise<void> {
  for (const name of names) {
    await volumes.remove(name).catch((err) => log.warn('removing a volume failed', { name, error: String(err) }));
  }
}

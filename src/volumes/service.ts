// What clients do with volumes (docker volume create|ls|inspect|rm|prune): the store plus who uses what.
import { EngineError, invalidArgument } from '../errors';
import type { EventJournal } from '../events/journal';
import type { VolumeRecord, VolumeStore } from './store';

export interface VolumeView extends VolumeRecord {
  mountpoint: string;
  /** Ids of the containers whose mounts name it. */
  usedBy: string[];
}

export interface VolumeFilter {
  dangling?: boolean;
  names: string[];
  /** [key, value]; value undefined matches any value. */
  labels: [string, string | undefined][];
}

/** "dangling=true|false|1|0", "name=x" (a substring, as Docker's), "label=k" or "label=k=v". */
export function parseVolumeFilters(filters: string[], field = 'filters'): VolumeFilter {
  const out: VolumeFilter = { names: [], labels: [] };
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq) : '';
    const value = f.slice(eq + 1);
    if (key === 'dangling' && ['true', 'false', '1', '0'].includes(value)) out.dangling = value === 'true' || value === '1';
    else if (key === 'name' && value) out.names.push(value);
    else if (key === 'label' && value) {
      const k = value.indexOf('=');
      out.labels.push(k > 0 ? [value.slice(0, k), value.slice(k + 1)] : [value, undefined]);
    } else if (eq < 0 || !['dangling', 'name', 'label'].includes(key)) {
      throw invalidArgument(field, f, `unknown key ${JSON.stringify(eq < 0 ? f : key)}: expected dangling=true|false, name=NAME or label=KEY[=VALUE]`);
    } else throw invalidArgument(field, f, 'expected dangling=true|false, name=NAME or label=KEY[=VALUE]');
  }
  return out;
}

export class VolumeService {
  constructor(
    readonly store: VolumeStore,
    /** The containers (ids) whose records mount the named volume. */
    private readonly usersOf: (name: string) => string[],
    private readonly events?: EventJournal,
  ) {}

  async create(name: string, labels: Record<string, string>): Promise<VolumeView> {
    const { volume, created } = await this.store.create({ name, labels });
    if (created) this.events?.append({ type: 'volume', action: 'create', actorId: volume.name, attributes: { driver: 'local', ...volume.labels } });
    return this.view(volume);
  }

  inspect(name: string): VolumeView {
    return this.view(this.store.find(name));
  }

  list(filter: VolumeFilter): VolumeView[] {
    return this.store.list().map((v) => this.view(v)).filter((v) => {
      if (filter.dangling !== undefined && (v.usedBy.length === 0) !== filter.dangling) return false;
      if (filter.names.length && !filter.names.some((n) => v.name.includes(n))) return false;
      return filter.labels.every(([k, val]) => k in v.labels && (val === undefined || v.labels[k] === val));
    });
  }

  /** A volume some container mounts (running or not) stays unless forced. */
  async remove(name: string, force: boolean): Promise<number> {
    const v = this.store.find(name);
    const users = this.users(v.name);
    if (users.length && !force) {
      throw new EngineError('FailedPrecondition', `remove volume ${v.name}: volume is in use by container${users.length > 1 ? 's' : ''} ${users.map((u) => u.slice(0, 12)).join(', ')}`);
    }
    if (this.store.isClaimed(v.name)) throw new EngineError('FailedPrecondition', `remove volume ${v.name}: a container using it is being created`);
    const bytes = await this.store.remove(v.name);
    this.events?.append({ type: 'volume', action: 'destroy', actorId: v.name, attributes: { driver: 'local' } });
    return bytes;
  }

  /** Removes every volume no container uses; returns their names and the bytes freed. */
  async prune(): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    for (const v of this.store.list()) {
      if (this.users(v.name).length || this.store.isClaimed(v.name)) continue;
      bytes += await this.remove(v.name, false);
      removed.push(v.name);
    }
    return { removed, bytes };
  }

  private users(name: string): string[] {
    return this.usersOf(name);
  }

  private view(v: VolumeRecord): VolumeView {
    return { ...v, mountpoint: this.store.dataPath(v.name), usedBy: this.users(v.name) };
  }
}

// The volume store: <root>/volumes/<name>/_data holds a volume's files and volume.json its record.
// A volume appears whole (made in a temp directory, then renamed into place) and goes with one rename,
// so a crash leaves either all of it or nothing that load() keeps.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError, invalidArgument, wrap } from '../errors';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file';
import { randomId } from '../util/ids';
import { log } from '../util/logger';

export interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  /** Made for a container's volume path without a name: `rm -v` removes it with the container. */
  anonymous: boolean;
}

export interface CreateVolumeOptions {
  /** Empty: a generated 64-hex name. */
  name?: string;
  labels?: Record<string, string>;
  anonymous?: boolean;
  /** Holds the volume for a container being created, from before create() returns. */
  claim?: VolumeClaim;
}

/** Volumes a container create is about to record mounts of: Remove and Prune count them as in use. */
export interface VolumeClaim {
  add(name: string): void;
  release(): void;
}

/** Docker's volume names: two or more of [a-zA-Z0-9_.-], starting with a letter or digit. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const RECORD = 'volume.json';
const DATA = '_data';
const TMP = '.tmp-';
const REMOVING = '.removing-';

export function validateVolumeName(name: string, field = 'name'): void {
  if (!VOLUME_NAME.test(name) || name.length > 255) {
    throw invalidArgument(field, name, 'a volume name is 2 or more of [a-zA-Z0-9_.-], starting with a letter or digit');
  }
}

export class VolumeStore {
  readonly dir: string;
  private readonly volumes = new Map<string, VolumeRecord>();
  /** Creates in flight, by name: a second create of the same name waits for the first. */
  private readonly creating = new Map<string, Promise<VolumeRecord>>();
  /** Names a container create is about to record a mount of: Remove treats them as in use. */
  private readonly claims = new Map<string, number>();

  constructor(root: string) {
    this.dir = path.join(root, 'volumes');
  }

  async load(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const entry of await fsp.readdir(this.dir)) {
      const dir = path.join(this.dir, entry);
      // A create that never reached its rename, or a remove that did: neither is a volume.
      if (entry.startsWith(TMP) || entry.startsWith(REMOVING)) { await fsp.rm(dir, { recursive: true, force: true }); continue; }
      if (!VOLUME_NAME.test(entry)) continue;
      const record = await readJsonFile<VolumeRecord>(path.join(dir, RECORD)).catch((err) => {
        log.warn('skipping a volume whose record does not read', { name: entry, error: String(err) });
        return undefined;
      });
      if (record && record.name === entry) this.volumes.set(entry, { ...record, labels: record.labels ?? {}, anonymous: Boolean(record.anonymous) });
    }
  }

  get(name: string): VolumeRecord | undefined {
    return this.volumes.get(name);
  }

  find(name: string, field = 'name'): VolumeRecord {
    if (!name) throw invalidArgument(field, name, 'a volume name is required');
    const v = this.volumes.get(name);
    if (!v) {
      // "../x" or a NUL is a bad request, not a volume that happens to be missing.
      validateVolumeName(name, field);
      throw new EngineError('NotFound', `volume ${name}: not found`);
    }
    return v;
  }

  list(): VolumeRecord[] {
    return [...this.volumes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Where the volume's files are on the host (its Mountpoint). */
  dataPath(name: string): string {
    return path.join(this.dir, name, DATA);
  }

  /** A private directory beside _data, on the same filesystem, that no container sees. */
  scratchPath(name: string): string {
    return path.join(this.dir, name, `${TMP}${randomBytes(6).toString('hex')}`);
  }

  /** Creates a volume; an existing name is returned as it is (created: false), as Docker does. */
  async create(opts: CreateVolumeOptions = {}): Promise<{ volume: VolumeRecord; created: boolean }> {
    const name = opts.name || randomId();
    validateVolumeName(name);
    const known = this.volumes.get(name);
    if (known) {
      opts.claim?.add(name);
      return { volume: known, created: false };
    }
    const pending = this.creating.get(name);
    // Checked before any await: two creates of one name in the same tick must not both make it.
    if (pending) {
      await pending.catch(() => undefined); // if that create failed, this one tries again
      return this.create(opts);
    }
    const record: VolumeRecord = { name, createdAt: new Date().toISOString(), labels: opts.labels ?? {}, anonymous: Boolean(opts.anonymous) };
    const making = this.make(record);
    this.creating.set(name, making);
    try {
      await making;
    } finally {
      this.creating.delete(name);
    }
    opts.claim?.add(name);
    this.volumes.set(name, record);
    return { volume: record, created: true };
  }

  private async make(record: VolumeRecord): Promise<VolumeRecord> {
    const tmp = path.join(this.dir, `${TMP}${randomBytes(8).toString('hex')}`);
    try {
      await fsp.mkdir(tmp, { mode: 0o700 });
      await fsp.mkdir(path.join(tmp, DATA), { mode: 0o755 });
      // mkdir(2) applies the umask; an empty volume is 0755 as Docker's.
      await fsp.chmod(path.join(tmp, DATA), 0o755);
      await writeFileAtomic(path.join(tmp, RECORD), JSON.stringify(record, null, 2));
      await fsp.rename(tmp, path.join(this.dir, record.name));
      return record;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw wrap(err, `create volume ${record.name}`);
    }
  }

  /** Takes the volume out with one rename, then deletes its files; returns the bytes they held. */
  async remove(name: string): Promise<number> {
    this.find(name);
    const doomed = path.join(this.dir, `${REMOVING}${name}-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.rename(path.join(this.dir, name), doomed);
    } catch (err) {
      throw wrap(err, `remove volume ${name}`);
    }
    this.volumes.delete(name);
    const bytes = await diskUsage(path.join(doomed, DATA)).catch(() => 0);
    await fsp.rm(doomed, { recursive: true, force: true });
    return bytes;
  }

  async isEmpty(name: string): Promise<boolean> {
    return (await fsp.readdir(this.dataPath(name))).length === 0;
  }

  /** A claim for one container create: release it once the container is recorded (or not). */
  claim(): VolumeClaim {
    const names: string[] = [];
    let released = false;
    return {
      add: (name) => {
        if (released) return;
        names.push(name);
        this.claims.set(name, (this.claims.get(name) ?? 0) + 1);
      },
      release: () => {
        if (released) return;
        released = true;
        for (const n of names) {
          const left = (this.claims.get(n) ?? 1) - 1;
          if (left > 0) this.claims.set(n, left); else this.claims.delete(n);
        }
      },
    };
  }

  isClaimed(name: string): boolean {
    return this.claims.has(name);
  }
}

/** Bytes of the regular files under dir (each inode once), without following symlinks. */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await fsp.lstat(p);
    if (st.isDirectory()) {
      for (const e of await fsp.readdir(p)) await walk(path.join(p, e));
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      if (!seen.has(key)) { seen.add(key); total += st.size; }
    }
  };
  await walk(dir);
  return total;
}
